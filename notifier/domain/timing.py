"""When each alert reaches a subscriber: a spoiler delay, quiet hours, digests. Pure.

Every alert for a subscription gets a *plan*: send it (after the spoiler delay, if any), drop
it (quiet hours with ``held = "drop"``), or put it in a *bundle* that goes as one message: the
quiet-hours summary (due when the quiet hours end) or a digest (due at the end of a phase, or
of each N-minute slot). Bundles live in their own held lines (``<sub>#quiet``, ``<sub>#digest``),
so an alert that passes quiet hours (by default the result) is not stuck behind them.

Times are epoch milliseconds; an alert's moment is its emission plus the spoiler delay, and
quiet hours are read in the subscription's IANA time zone (``zoneinfo``).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from notifier.domain import digests
from notifier.domain.alerts import Alert, AlertKind
from notifier.domain.holdback import due_ms

CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
PHASE_ENDS: frozenset[str] = frozenset({"half_time", "full_time", "result"})
DIGEST_HOLD_MS = 6 * 3600 * 1000  # a phase digest whose phase never ends goes out after this
QUIET = "#quiet"
DIGEST = "#digest"


def _result_only() -> list[AlertKind]:
    return ["result"]


@functools.cache
def zones() -> frozenset[str]:
    """The IANA time zones this host knows (what ``tz`` may name, and the document lists)."""
    return frozenset(available_timezones())


def _zone_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = sorted(zones())


class QuietHours(BaseModel):
    """No alerts between ``start`` and ``end`` (local time in ``tz``; over midnight if end <
    start; the whole day if they are equal), but the kinds in ``passing``; the rest is dropped
    or sent as one summary at the end (``held``).

    Every rule is one the document's schema states (a pattern, a list of zones), so a request
    the document allows is never refused here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = Field(
        description="HH:MM, local time",
        examples=["22:30"],
        json_schema_extra={"pattern": CLOCK.pattern},
    )
    end: str = Field(
        description="HH:MM, local time (before start: the next day; equal: the whole day)",
        json_schema_extra={"pattern": CLOCK.pattern},
    )
    tz: str = Field(
        default="UTC",
        max_length=64,
        description="IANA time zone, e.g. Europe/Rome",
        json_schema_extra=_zone_enum,
    )
    passing: list[AlertKind] = Field(
        default_factory=_result_only, max_length=32, description="kinds that still pass"
    )
    held: Literal["drop", "summary"] = Field(
        default="drop", description="what was held back: dropped, or one summary at the end"
    )

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not CLOCK.fullmatch(value):
            raise ValueError("must be a time of day as HH:MM (00:00-23:59)")
        return value

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value not in zones():
            raise ValueError(f"not an IANA time zone: {value[:64]!r}")
        return value

    def ends_after(self, at_ms: int) -> int | None:
        """If ``at_ms`` falls in quiet hours, when they end (epoch ms); else None."""
        zone = ZoneInfo(self.tz)
        local = datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(zone)
        start, end = _clock(self.start), _clock(self.end)
        now = local.time().replace(tzinfo=None)
        inside = start <= now < end if start < end else (now >= start or now < end)
        if not inside:
            return None
        day = local.date() if now < end else local.date() + timedelta(days=1)
        ends = datetime.combine(day, end, tzinfo=zone)
        return int(ends.timestamp() * 1000)


class Digest(BaseModel):
    """One message per phase (half-time, end of normal time, result) or every N minutes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: Literal["phase", "minutes"] = "phase"
    minutes: int = Field(default=15, ge=1, le=120, strict=True, description="with by=minutes")


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


Route = Literal["send", "drop", "quiet", "digest"]


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with one alert for one subscription, and from when (epoch ms)."""

    route: Route
    due: int = 0


def plan(
    alert: Alert,
    *,
    delay_s: int = 0,
    rate: float = 1.0,
    quiet: QuietHours | None = None,
    digest: Digest | None = None,
) -> Plan:
    """The plan of ``alert`` for a subscription with these settings."""
    base = due_ms(alert.emitted_at, delay_s, rate)
    if quiet is not None and alert.kind not in quiet.passing:
        ends = quiet.ends_after(base)
        if ends is not None:
            return Plan("drop") if quiet.held == "drop" else Plan("quiet", ends)
    if digest is None:
        return Plan("send", base)
    if digest.by == "minutes":  # slots of the match clock
        slot = max(1, int(digest.minutes * 60_000 / rate))
        return Plan("digest", (base // slot + 1) * slot)
    if alert.kind in PHASE_ENDS:
        return Plan("digest", base)
    return Plan("digest", base + int(DIGEST_HOLD_MS / rate))


def line_of(sub_id: str, route: Route, match: str) -> str:
    """The held line of a subscription's bundle of one match (``sub#digest:match``)."""
    return f"{sub_id}{QUIET if route == 'quiet' else DIGEST}:{match}"


def bundle_of(recipient: str) -> tuple[str, Route] | None:
    """(subscription id, route) of a bundle line; None for a plain line."""
    sub_id, sep, rest = recipient.partition("#")
    if not sep:
        return None
    return sub_id, "quiet" if rest.startswith("quiet") else "digest"


def bundle(sub_id: str, route: Route, alerts: Sequence[Alert], digest: Digest | None) -> Alert:
    """One message for ``alerts`` (one match's, in order): what happened, then the score and
    aggregate as they stand after the last. Its id is the subscription's own."""
    last = alerts[-1]
    if route == "quiet":
        reason = "quiet"
    elif digest is not None and digest.by == "minutes":
        reason = "minutes"
    else:
        reason = last.kind if last.kind in PHASE_ENDS else "minutes"
    heading = digests.digest_heading(reason, digest.minutes if digest else None)
    standing = digests.digest_standing(
        last.home, last.away, last.score, last.aggregate, last.leader
    )
    ids = "|".join(a.id for a in alerts)
    digest_id = f"{last.match}:{route}:{sub_id}:{hashlib.sha1(ids.encode()).hexdigest()[:16]}"
    data = {
        "route": route,
        "alerts": [{"id": a.id, "kind": a.kind, "text": a.text} for a in alerts],
    }
    text = digests.digest(heading, standing, [a.text for a in alerts])
    return last.model_copy(update={"id": digest_id, "kind": "digest", "text": text, "data": data})
