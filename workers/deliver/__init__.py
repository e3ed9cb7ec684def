"""The deliver stage: alerts -> subscriptions -> channels, with retries and DLQ."""
