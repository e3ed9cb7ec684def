"""The pure core: no I/O, no clock; ``now`` and prior state are arguments."""
