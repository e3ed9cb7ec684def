"""match-notifier: live football feeds -> Redis streams -> two-legged tie aggregates -> alerts."""

__version__ = "0.1.0"
