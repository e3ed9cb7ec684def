"""The deliver stage: alerts -> subscriptions -> channels, with retries, DLQ and fair slots."""
