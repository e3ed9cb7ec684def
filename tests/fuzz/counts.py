"""How many inputs each fuzz target was given in this session (printed at the end of the run)."""

from __future__ import annotations

from collections import Counter

TRIED: Counter[str] = Counter()


def tried(target: str, n: int = 1) -> None:
    """Count ``n`` inputs given to ``target``."""
    TRIED[target] += n
