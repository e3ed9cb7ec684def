"""Atomic commits as Lua scripts. Each touches keys of one partition only (one cluster slot).

* ``commit_poll``: if the poll lease is still ours, XADD the events and store the snapshot —
  both or neither, so a crashed or paused poller never publishes twice or out of turn; and only
  if the stored snapshot is the one diffed against (a server restarted from an AOF that lost its
  last second must not have those events skipped: the next diff re-derives them).
* ``commit_fold``: if the partition lease is still ours and the event was not folded before,
  store the match state, XADD the alerts, mark the event seen and XACK it — all at once.
* ``commit_fold_batch``: the same for a batch of events of one partition in one call (one round
  trip and one script run instead of one per event); already-folded events are only acked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import NamedTuple

import orjson
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError

from notifier.bus.lease import LEASE_CHECK_LUA, is_lease_lost
from notifier.errors import NotifierError

_LEASE_CHECK = LEASE_CHECK_LUA + "\ncheck_lease(KEYS[1], ARGV[1])\n"

_XADD_ALL = """
local function xadd_all(stream, maxlen, first)
  local n = tonumber(ARGV[first])
  local i = first + 1
  local ids = {}
  for _ = 1, n do
    local count = tonumber(ARGV[i])
    local fields = {}
    for f = 1, count do fields[f] = ARGV[i + f] end
    i = i + count + 1
    ids[#ids + 1] = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(fields))
  end
  return ids
end
"""

COMMIT_POLL = (
    _XADD_ALL
    + _LEASE_CHECK
    + """
-- KEYS: lease, snapshot, events stream. ARGV: lease value, snapshot, maxlen, the digest of the
-- stored snapshot the events were diffed against ('' none, '*' unchecked), entries...
if ARGV[4] ~= '*' then
  local stored = redis.call('GET', KEYS[2])
  if (stored and redis.sha1hex(stored) or '') ~= ARGV[4] then
    return redis.error_reply('STALE the stored snapshot is not the one diffed against')
  end
end
local ids = xadd_all(KEYS[3], ARGV[3], 5)
redis.call('SET', KEYS[2], ARGV[2])
return ids
"""
)

COMMIT_FOLD = (
    _XADD_ALL
    + _LEASE_CHECK
    + """
-- KEYS: lease, state, seen, events stream, alerts stream.
-- ARGV: lease value, group, entry id, state, seen ttl, maxlen, entries...
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('XACK', KEYS[4], ARGV[2], ARGV[3])
  return -1
end
redis.call('SET', KEYS[2], ARGV[4])
local ids = xadd_all(KEYS[5], ARGV[6], 7)
redis.call('SET', KEYS[3], '1', 'EX', ARGV[5])
redis.call('XACK', KEYS[4], ARGV[2], ARGV[3])
return #ids
"""
)

COMMIT_FOLD_BATCH = (
    _LEASE_CHECK
    + """
-- KEYS: lease, events stream, alerts stream, then per event its seen key, then the state keys
-- to write (each once). ARGV: lease value, group, seen ttl, maxlen, and the folds as one JSON
-- array (one argument, not thousands: packing arguments is what costs the client most): per
-- event its entry id, its state ('' = leave it), its alerts, each a flat [field, value, ...]
-- list, and the index in KEYS of its state key (0 when it leaves the state).
-- Returns per event its alert count, -1 if it was folded before (then it is only acked).
local folds = cjson.decode(ARGV[5])
local out, acks = {}, {}
for e, fold in ipairs(folds) do
  acks[e] = fold[1]
  if redis.call('EXISTS', KEYS[3 + e]) == 1 then
    out[e] = -1
  else
    if fold[2] ~= '' then redis.call('SET', KEYS[fold[4]], fold[2]) end
    for _, fields in ipairs(fold[3]) do
      redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', unpack(fields))
    end
    redis.call('SET', KEYS[3 + e], '1', 'EX', ARGV[3])
    out[e] = #fold[3]
  end
end
redis.call('XACK', KEYS[2], ARGV[2], unpack(acks))
return out
"""
)


class LeaseLostError(NotifierError):
    """The lease this replica relied on is held by another (or expired): nothing was written."""


class StaleSnapshotError(NotifierError):
    """The stored snapshot is not the one the events were diffed against (the server came back
    from its AOF without its last writes): nothing was written; diff against the stored one."""


STALE = "STALE"


def digest(stored: bytes | str | None) -> str:
    """What ``commit_poll`` compares: the SHA-1 of a stored value ('' when there is none)."""
    if not stored:
        return ""
    return hashlib.sha1(stored.encode() if isinstance(stored, str) else stored).hexdigest()


Fields = Mapping[str, str]


def flatten(entries: Sequence[Fields]) -> list[str]:
    """Entries as ARGV: count of entries, then per entry its field count and the pairs."""
    out = [str(len(entries))]
    for fields in entries:
        pairs = [x for kv in fields.items() for x in kv]
        out += [str(len(pairs)), *pairs]
    return out


_SHA = {
    script: hashlib.sha1(script.encode()).hexdigest()
    for script in (COMMIT_POLL, COMMIT_FOLD, COMMIT_FOLD_BATCH)
}


async def run(
    r: aioredis.Redis, script: str, keys: Sequence[str], args: Sequence[str | bytes]
) -> object:
    """EVALSHA a script (EVAL if the server lacks it); a lost lease is ``LeaseLostError``."""
    try:
        try:
            return await r.evalsha(_SHA[script], len(keys), *keys, *args)
        except NoScriptError:
            return await r.eval(script, len(keys), *keys, *args)
    except ResponseError as exc:
        if is_lease_lost(exc):
            raise LeaseLostError(str(exc)) from exc
        if str(exc).startswith(STALE):
            raise StaleSnapshotError(str(exc)) from exc
        raise


async def commit_poll(
    r: aioredis.Redis,
    *,
    lease: str,
    lease_value: str,
    snapshot_key: str,
    snapshot: str,
    stream: str,
    maxlen: int,
    entries: Sequence[Fields],
    expected: str | None = None,
) -> object:
    """Publish a poll's events and its snapshot atomically, fenced by the poll lease and, given
    ``expected`` (:func:`digest` of the snapshot diffed against), by the stored snapshot."""
    keys = [lease, snapshot_key, stream]
    check = "*" if expected is None else expected
    args = [lease_value, snapshot, str(maxlen), check, *flatten(entries)]
    return await run(r, COMMIT_POLL, keys, args)


async def commit_fold(
    r: aioredis.Redis,
    *,
    keys: Sequence[str],
    lease_value: str,
    group: str,
    entry_id: str,
    state: str,
    seen_ttl: int,
    maxlen: int,
    alerts: Sequence[Fields],
) -> int:
    """Store state, publish alerts, mark seen and ack, atomically; -1 if already folded."""
    args = [lease_value, group, entry_id, state, str(seen_ttl), str(maxlen), *flatten(alerts)]
    result = await run(r, COMMIT_FOLD, keys, args)
    return int(str(result))


class FoldCommit(NamedTuple):
    """One folded event of a batch: its entry, its keys, the new state and its alerts."""

    entry_id: str
    state_key: str
    seen_key: str
    state: str
    alerts: Sequence[Fields]


async def commit_fold_batch(
    r: aioredis.Redis,
    *,
    lease: str,
    lease_value: str,
    events_stream: str,
    alerts_stream: str,
    group: str,
    seen_ttl: int,
    maxlen: int,
    folds: Sequence[FoldCommit],
) -> list[int]:
    """Commit a batch of folds of one partition atomically; per fold its alert count or -1."""
    keys = [lease, events_stream, alerts_stream]
    keys += [fold.seen_key for fold in folds]
    slots: dict[str, int] = {}  # state key -> its index in KEYS (Lua's, from 1)
    payload: list[object] = []
    for fold in folds:
        slot = 0
        if fold.state:
            slot = slots.setdefault(fold.state_key, len(keys) + len(slots) + 1)
        alerts = [[*chain.from_iterable(fields.items())] for fields in fold.alerts]
        payload.append([fold.entry_id, fold.state, alerts, slot])
    keys += slots
    args: list[str | bytes] = [lease_value, group, str(seen_ttl), str(maxlen)]
    args.append(orjson.dumps(payload))
    result = await run(r, COMMIT_FOLD_BATCH, keys, args)
    return [int(x) for x in result] if isinstance(result, list) else []
