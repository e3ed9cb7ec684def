"""How many inputs each fuzz target, and how many requests each security check, tried in this
session (printed at the end of the run by tests/conftest.py)."""

from __future__ import annotations

from collections import Counter

TRIED: Counter[str] = Counter()


def tried(target: str, n: int = 1) -> None:
    """Count ``n`` inputs given to ``target``."""
    TRIED[target] += n
