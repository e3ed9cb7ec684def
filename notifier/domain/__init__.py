"""Pure football and pacing logic: no I/O, no clock, nothing of ours outside this package."""
