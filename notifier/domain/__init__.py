"""The pure core: models, events, alerts, diff, tie, fold engine, render. No I/O, no clock."""
