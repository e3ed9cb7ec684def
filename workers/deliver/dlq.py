"""Dead letters: deliveries that exhausted their retries (``nf:dlq:delivery``), and replaying them.

A delivery dead letter holds the alert, the subscription id, the partition, the tries made and
the reason; never the target URL or secret. Replaying one puts it back in line for its
subscription (behind any delivery already waiting), where the dispatcher picks it up; replaying
an entry of another stage re-publishes it on the stream it came from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError

from notifier import metrics
from notifier.bus import keys, streams
from notifier.bus.codec import text
from notifier.bus.connect import translate_errors
from notifier.domain.alerts import ALERT, Alert
from notifier.settings import Settings
from workers.deliver.retry import RetryStore

STAGES = ("delivery", "dispatcher", "aggregator", "feed")
PARKING_FIELDS = frozenset({"reason", "source", "source_id", "failed_at"})
_SOURCE = re.compile(r"^nf:(events|alerts):\{([0-9]+)\}$")


async def park_delivery(
    r: aioredis.Redis,
    settings: Settings,
    *,
    p: int,
    alert: Alert,
    sub_id: str,
    channel: str,
    attempts: int,
    reason: str,
) -> str:
    """Add a failed delivery to ``nf:dlq:delivery``; its entry id."""
    metrics.dead_lettered("delivery")
    fields = streams.encode_entry(
        alert_id=alert.id,
        sub=sub_id,
        channel=channel,
        partition=p,
        attempts=attempts,
        body=alert.model_dump_json(),
    )
    return await streams.dead_letter(
        r,
        "delivery",
        source_stream=keys.alerts(p),
        entry_id=alert.id,
        fields=fields,
        reason=reason[:500],
        maxlen=settings.streams.maxlen,
    )


async def list_entries(r: aioredis.Redis, stage: str, count: int = 100) -> list[dict[str, str]]:
    """The oldest ``count`` entries of a dead-letter stream, each with its ``entry`` id."""
    with translate_errors(f"XRANGE {keys.dlq(stage)}"):
        rows: list[Any] = await r.xrange(keys.dlq(stage), count=count) or []
    out = []
    for entry_id, fields in rows:
        row = streams.decode_fields(fields)
        row["entry"] = text(entry_id)
        out.append(row)
    return out


async def replay(
    r: aioredis.Redis,
    settings: Settings,
    stage: str,
    *,
    ids: Sequence[str] = (),
    now: datetime | None = None,
) -> tuple[int, list[str]]:
    """Replay the given entries (all if none given): (how many replayed, problems met)."""
    rows = await list_entries(r, stage, count=100_000)
    wanted = set(ids)
    done, problems = 0, []
    at_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    for row in rows:
        if wanted and row["entry"] not in wanted:
            continue
        try:
            await _replay_one(r, settings, stage, row, at_ms)
        except (ValueError, ValidationError, KeyError) as exc:
            problems.append(f"{row['entry']}: {type(exc).__name__}: {exc}"[:300])
            continue
        with translate_errors(f"XDEL {keys.dlq(stage)}"):
            await r.xdel(keys.dlq(stage), row["entry"])
        done += 1
    missing = wanted - {row["entry"] for row in rows}
    problems.extend(f"{entry}: not in {keys.dlq(stage)}" for entry in sorted(missing))
    return done, problems


async def _replay_one(
    r: aioredis.Redis, settings: Settings, stage: str, row: dict[str, str], at_ms: int
) -> None:
    if stage == "delivery":
        p = int(row["partition"])
        if not 0 <= p < settings.streams.partitions:
            raise ValueError(f"partition {p} is not configured")
        retries = RetryStore(r, alert_ttl_s=settings.streams.seen_ttl_s, mark_ttl_s=0)
        await retries.enqueue(p, ALERT.validate_json(row["body"]), row["sub"], at_ms)
        return
    source = row.get("source", "")
    found = _SOURCE.match(source)
    if found is None or int(found.group(2)) >= settings.streams.partitions:
        raise ValueError(f"source {source!r} is not one of our streams")
    fields: dict[str, Any] = {k: v for k, v in row.items() if k not in PARKING_FIELDS | {"entry"}}
    await streams.publish(r, source, fields, maxlen=settings.streams.maxlen)
