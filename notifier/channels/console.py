"""The console channel: prints each alert, for ``notifier run`` and the demo; never fails."""

from __future__ import annotations

import sys
from typing import TextIO

import orjson

from notifier.channels.base import Delivered, Target
from notifier.channels.ratelimit import SYSTEM_CLOCK, Clock
from notifier.domain.alerts import Alert


class ConsoleChannel:
    """Writes ``alert.text`` (or the JSON object, one line) to a text stream."""

    name = "console"

    def __init__(
        self, stream: TextIO | None = None, *, json: bool = False, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self._stream = stream
        self._json = json
        self._clock = clock

    async def send(self, alert: Alert, target: Target, *, idempotency_key: str) -> Delivered:
        """Print one line and flush."""
        stream = self._stream if self._stream is not None else sys.stdout
        line = orjson.dumps(alert.public()).decode() if self._json else alert.text
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken console must not fail a delivery
        return Delivered(channel=self.name, status=None, delivered_at=self._clock.now())
