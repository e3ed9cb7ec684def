"""Prints how many inputs each fuzz target was given."""

from __future__ import annotations

import pytest

from tests.fuzz.counts import TRIED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per fuzz target, and the total."""
    if not TRIED:
        return
    terminalreporter.section("fuzz inputs tried")
    for target, n in sorted(TRIED.items()):
        terminalreporter.write_line(f"{n:8d}  {target}")
    terminalreporter.write_line(f"{sum(TRIED.values()):8d}  in all")
