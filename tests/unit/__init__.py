"""Unit tests of the pure core and the adapters: no I/O, no server."""
