"""The floor under the aggregator: the same Redis work with no engine in it.

A stub that reads the same entries in the same group with the same batch, decodes each body
with orjson (no validation), makes one alert per event (a fixed-size JSON, near the real
alerts' mean size), stores one state per match per batch and commits each partition's batch
with one Lua call (alert XADDs, state SETs, one XACK) — the stream and commit work the real
aggregator does, without the tie engine, rendering, validation, idempotency marks and lease
fence. What the real aggregator reaches against this stub is what those cost; what this stub
reaches against the bare loop is about as far as this design (redis-py, one Lua commit per
partition batch) can go, whatever the engine.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import redis.asyncio as aioredis

from bench.common import group_rate
from notifier.bus import keys
from notifier.settings import Settings

_COMMIT = """
-- KEYS: events stream, alerts stream, state keys. ARGV: group, maxlen, folds as JSON: per
-- event its entry id, its alert's fields and the index in KEYS of the state it writes (0: none).
local folds = cjson.decode(ARGV[3])
local acks = {}
for e, fold in ipairs(folds) do
  acks[e] = fold[1]
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(fold[2]))
  if fold[4] > 0 then redis.call('SET', KEYS[fold[4]], fold[3]) end
end
redis.call('XACK', KEYS[1], ARGV[1], unpack(acks))
return #acks
"""
_PAD = "x" * 700  # the real alerts' body is ~1 KB: text, names, score, aggregate, times


def _fold(p: int, rows: list[Any]) -> tuple[list[str], list[Any]]:
    """Keys and payload of one partition's batch: an alert per event, a state per match."""
    folds: list[Any] = []
    slots: dict[str, int] = {}
    last: dict[str, int] = {}
    for entry_id, fields in rows:
        ev = orjson.loads(fields[b"body"])
        alert = {"id": ev["id"], "kind": ev["type"], "match": ev["match"], "score": ev["score"]}
        body = orjson.dumps({**alert, "at": ev["at"], "text": _PAD}).decode()
        state = orjson.dumps({"match": ev["match"], "score": ev["score"], "pad": _PAD}).decode()
        last[ev["match"]] = len(folds)
        routing = ["id", ev["id"], "kind", ev["type"], "match", ev["match"], "body", body]
        folds.append([entry_id.decode(), routing, state, 0])
    for match, i in last.items():  # each match's state once, with its last event
        folds[i][3] = slots.setdefault(keys.match_state(p, match), len(slots) + 3)
    return [keys.events(p), keys.alerts(p), *slots], folds


async def floor_rate(r: aioredis.Redis, settings: Settings, total: int) -> float:
    """Events/s of the stub over every partition, until all ``total`` entries are read."""
    names = {keys.events(p): ">" for p in range(settings.streams.partitions)}
    sha = await r.script_load(_COMMIT)
    maxlen = str(settings.streams.maxlen)

    async def commit(stream: bytes, rows: list[Any]) -> int:
        p = int(stream.decode().rsplit("{", 1)[1].rstrip("}"))
        names_, folds = _fold(p, rows)
        args = (keys.GROUP_AGGREGATOR, maxlen, orjson.dumps(folds))
        return int(await r.evalsha(sha, len(names_), *names_, *args))

    async def commit_all(reply: Any) -> int:
        return sum(await asyncio.gather(*(commit(s, rows) for s, rows in reply)))

    return await group_rate(r, names, "floor", settings.streams.batch, total, commit_all)
