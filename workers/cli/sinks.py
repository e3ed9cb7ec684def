"""Sinks of this process: the console (one line per alert, text or JSON)."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from notifier.domain.alerts import Alert


class ConsoleSink:
    """Prints every alert: its text, or its JSON object (``--json``), one line each."""

    name = "console"

    def __init__(self, out: TextIO | None = None, *, as_json: bool = False) -> None:
        self.out = out or sys.stdout
        self.as_json = as_json

    def wants(self, alert: Alert) -> bool:
        """The console follows everything."""
        return True

    async def deliver(self, alert: Alert) -> None:
        """Print one line and flush, so a pipe sees it at once."""
        line = json.dumps(alert.public(), ensure_ascii=False) if self.as_json else alert.text
        self.out.write(line + "\n")
        self.out.flush()
