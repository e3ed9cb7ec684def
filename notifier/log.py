"""Structured logging: one line per event, JSON when not on a terminal.

Use ``log.info("event_name", extra={"fields": {...}})`` via :func:`event`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event, and the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as one JSON line."""
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        out.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """``level logger event key=value ...`` for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as one readable line."""
        extra = " ".join(f"{k}={v}" for k, v in record.__dict__.items() if k not in _RESERVED)
        line = f"{record.levelname.lower():7} {record.name}: {record.getMessage()} {extra}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line.rstrip()


def setup(fmt: str = "auto", level: str = "INFO") -> None:
    """Configure the root logger once: to stderr, JSON unless stderr is a terminal."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
