"""Every Lua script of the notifier, one module per concern; and the poll and fold commits.

Each script touches keys of one partition (one cluster slot) only. The Lua is here and nowhere
else; the modules that run a script keep a thin Python wrapper next to the data they own:

* :mod:`.leases`: acquire, renew, release a lease, and ``fenced()``, the lease check every
  fenced write starts with (``notifier.bus.lease``).
* :mod:`.commits`: the fenced commits of poll and fold, and the fold's batch read (their
  wrappers are below: :func:`commit_poll`, :func:`commit_fold_batch`, :func:`read_fold_batch`).
* :mod:`.budget`: a provider's request budget and pause (``notifier.bus.budget``).
* :mod:`.subscriptions`: a subscription created under its owner's cap
  (``notifier.bus.subscriptions``).
* :mod:`.delivery`: shard routes (``notifier.bus.shards``), retry lines and held lines
  (``workers.deliver.retry``, ``workers.deliver.hold``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import orjson
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError

from notifier.bus.scripts.commits import COMMIT_FOLD_BATCH, COMMIT_POLL, READ_FOLD_BATCH, STALE
from notifier.bus.scripts.leases import is_lease_lost
from notifier.errors import LeaseLostError, StaleSnapshotError


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
    for script in (COMMIT_POLL, COMMIT_FOLD_BATCH, READ_FOLD_BATCH)
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


class FoldCommit(NamedTuple):
    """One folded event of a batch: its entry, its keys, the new state and its alerts (each a
    stream entry's pairs, flat: ``bus.entries.values_row``). A state, or an alert's last value
    (its body), given as bytes is passed to the script raw (see :func:`commit_fold_batch`)."""

    entry_id: str
    state_key: str
    marks_key: str  # keys.folded of its match
    event_id: str
    state: str | bytes  # '' = leave it
    alerts: Sequence[Sequence[str | bytes]]


async def commit_fold_batch(
    r: aioredis.Redis,
    *,
    lease: str,
    lease_value: str,
    events_stream: str,
    alerts_stream: str,
    group: str,
    marks_ttl: int,
    maxlen: int,
    folds: Sequence[FoldCommit],
) -> list[int]:
    """Commit a batch of folds of one partition atomically; per fold its alert count or -1.
    ``marks_ttl``: the marks of a match that never ends (or is never swept) go after it.

    The folds go as one JSON argument; the values given as bytes (states and alert bodies,
    JSON documents themselves) go after it as one more, concatenated, each replaced in the
    folds' JSON by its slice ``[start, length]`` (orjson's ``default`` is called for each, in
    order): escaping a kilobyte of quotes into the folds' JSON and ``cjson`` decoding it again
    cost both sides more than the slice costs the script."""
    keys = [lease, events_stream, alerts_stream]
    marks: dict[str, int] = {}  # a match's marks key -> its index in KEYS (Lua's, from 1)
    for fold in folds:
        marks.setdefault(fold.marks_key, len(keys) + len(marks) + 1)
    keys += marks
    slots: dict[str, int] = {}  # state key -> its index in KEYS
    payload: list[object] = []
    for fold in folds:
        slot = 0
        if fold.state:
            slot = slots.setdefault(fold.state_key, len(keys) + len(slots) + 1)
        payload.append(
            [fold.entry_id, fold.state, fold.alerts, slot, marks[fold.marks_key], fold.event_id]
        )
    keys += slots
    raw = _Raw()
    args: list[str | bytes] = [lease_value, group, str(marks_ttl), str(maxlen)]
    args += [orjson.dumps(payload, default=raw.slice), b"".join(raw.parts)]
    result = await run(r, COMMIT_FOLD_BATCH, keys, args)
    return [int(x) for x in result] if isinstance(result, list) else []


class _Raw:
    """Bytes values in the order orjson meets them, each as its slice of their concatenation
    (from 1, as Lua counts)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def slice(self, value: object) -> list[int]:
        if type(value) is not bytes:
            raise TypeError(f"{type(value).__name__} is not passed raw")
        self.parts.append(value)
        start = self.size + 1
        self.size += len(value)
        return [start, len(value)]


class FoldRead(NamedTuple):
    """What folding a batch needs of one match: its state (None: none yet), whether each of its
    batch's event ids is marked folded, and its tie's JSON (read only when it has no state)."""

    state: bytes | None
    marked: list[bool]
    tie: bytes | None


async def read_fold_batch(
    r: aioredis.Redis, matches: Sequence[tuple[str, str, Sequence[str], str | None]]
) -> list[FoldRead]:
    """Per match (its marks key, its state key, its event ids, its tie key or None), in one
    call: its state, its marks of those ids, its tie when it has no state."""
    keys = [k for marks, state, _, _ in matches for k in (marks, state)]
    ties: dict[str, int] = {}  # tie key -> its index in KEYS (Lua's, from 1)
    reads: list[object] = []
    for _, _, ids, tie in matches:
        slot = ties.setdefault(tie, len(keys) + len(ties) + 1) if tie else 0
        reads.append([ids, slot])
    result = await run(r, READ_FOLD_BATCH, [*keys, *ties], [orjson.dumps(reads)])
    assert isinstance(result, list)
    return [FoldRead(state, [hit is not None for hit in hits], tie) for state, hits, tie in result]
