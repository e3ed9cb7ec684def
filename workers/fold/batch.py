"""Folding a batch of events of one partition: the states it needs in one round trip, the pure
fold in order, one fenced Lua commit for the whole batch.

Every batch reads the current state of its matches from Redis (one MGET), so whatever wrote
them (another replica, a reset) is seen; what is *cached* is only the parsed state of the JSON
this replica last wrote, reused while Redis still holds exactly those bytes, which saves parsing
a state per event without ever trusting a stale one. Events, states and alerts are the fold's
structs and values (:mod:`notifier.domain.structs`, :mod:`notifier.domain.fold`), not models.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import redis.asyncio as aioredis

from notifier.bus import keys
from notifier.bus.connect import translate_errors
from notifier.bus.entries import alert_rows
from notifier.bus.scripts import FoldCommit, read_fold_batch
from notifier.domain.fold import AlertValues, begin, step
from notifier.domain.structs import STATES, Event, State, state_json
from notifier.domain.tie import TieSpec
from notifier.settings import Settings

CACHE_LIMIT = 20_000  # match states kept per aggregator (a few KB each)
COMMIT_CHUNK = 200  # folds per Lua call (its arguments stay well under a megabyte)


class StateCache:
    """Parsed match states by (partition, match), with the JSON they were parsed from or written
    as; least recently used dropped past ``limit``."""

    def __init__(self, limit: int = CACHE_LIMIT) -> None:
        self.limit = limit
        self._states: OrderedDict[tuple[int, str], tuple[bytes, State]] = OrderedDict()

    def get(self, p: int, match: str, raw: bytes) -> State | None:
        """The cached state if it was parsed from (or written as) exactly ``raw``, else None."""
        hit = self._states.get((p, match))
        if hit is None or hit[0] != raw:
            return None
        self._states.move_to_end((p, match))
        return hit[1]

    def put(self, p: int, match: str, raw: bytes, state: State) -> None:
        """Remember a state and its JSON."""
        self._states[(p, match)] = (raw, state)
        self._states.move_to_end((p, match))
        while len(self._states) > self.limit:
            self._states.popitem(last=False)

    def drop(self, p: int, match: str) -> None:
        """Forget one match."""
        self._states.pop((p, match), None)

    def drop_partition(self, p: int) -> None:
        """Forget every match of a partition."""
        for key in [k for k in self._states if k[0] == p]:
            del self._states[key]


@dataclass
class Folded:
    """The outcome of folding a batch in memory: what to commit, what is left for one by one."""

    commits: list[FoldCommit] = field(default_factory=list)
    alerts: list[list[AlertValues]] = field(default_factory=list)
    states: dict[str, State] = field(default_factory=dict)
    written: dict[str, bytes] = field(default_factory=dict)  # last state JSON sent per match
    failed_at: int | None = None  # index of the first event that could not be folded


class BatchFolder:
    """Loads the states a batch needs (cache first) and folds its events in order."""

    def __init__(self, r: aioredis.Redis, settings: Settings, cache: StateCache) -> None:
        self.r = r
        self.settings = settings
        self.cache = cache

    async def prepare(self, p: int, events: Sequence[Event]) -> tuple[set[str], dict[str, State]]:
        """Ids already folded (the marks of their matches) and the current state of every match
        of the batch, with the ties of matches without a state yet: one call of one script
        (``scripts.read_fold_batch``; the keys of one partition share its slot, so a cluster
        takes it too)."""
        first = list({e.match: e for e in reversed(events)}.values())  # first event per match
        ids: dict[str, list[str]] = {}
        for e in events:
            ids.setdefault(e.match, []).append(e.id)
        wanted = [
            (
                keys.folded(p, e.match),
                keys.match_state(p, e.match),
                ids[e.match],
                keys.tie(p, e.tie) if e.tie else None,
            )
            for e in first
        ]
        with translate_errors("fold: load"):
            found = await read_fold_batch(self.r, wanted)
        seen = {
            event_id
            for e, read in zip(first, found, strict=True)
            for event_id, marked in zip(ids[e.match], read.marked, strict=True)
            if marked
        }
        states = {}
        for e, read in zip(first, found, strict=True):
            if read.state:
                states[e.match] = self._parsed(p, e.match, read.state)
            else:
                tie = TieSpec.model_validate_json(read.tie) if read.tie else None
                states[e.match] = begin(e, tie, self.settings.aliases)
        return seen, states

    def _parsed(self, p: int, match: str, raw: bytes | str) -> State:
        data = raw.encode() if isinstance(raw, str) else raw
        cached = self.cache.get(p, match, data)
        if cached is not None:
            return cached
        state = STATES.decode(data)
        self.cache.put(p, match, data, state)
        return state

    def fold(
        self,
        p: int,
        batch: Sequence[tuple[str, Event]],
        seen: set[str],
        states: dict[str, State],
        now: Callable[[], datetime],
        *,
        strict: bool,
    ) -> Folded:
        """Fold the events in order; stop at the first that raises (re-raised if ``strict``).

        Each commit chunk stores a match's state once, with its last event in the chunk (the
        chunk is one atomic Lua call, so the states in between need not be written or even
        serialised)."""
        out = Folded(states=states)
        after: list[State | None] = []
        folded: set[str] = set()  # a re-published event may come twice in one batch
        match_keys: dict[str, tuple[str, str]] = {}  # match -> its state key and marks key
        for i, (entry_id, event) in enumerate(batch):
            match = event.match
            state_key, marks_key = match_keys.get(match) or match_keys.setdefault(
                match, (keys.match_state(p, match), keys.folded(p, match))
            )
            if event.id in seen or event.id in folded:
                out.commits.append(FoldCommit(entry_id, state_key, marks_key, event.id, "", ()))
                out.alerts.append([])
                after.append(None)
                continue
            try:
                new, alerts = step(states[match], event, now())
            except Exception:
                if strict:
                    raise
                out.failed_at = i
                break
            states[match] = new
            folded.add(event.id)
            rows = alert_rows(alerts)
            out.commits.append(FoldCommit(entry_id, state_key, marks_key, event.id, "", rows))
            out.alerts.append(alerts)
            after.append(new)
        self._write_states(out, after)
        return out

    def _write_states(self, out: Folded, after: list[State | None]) -> None:
        """Give the last fold of each match in each commit chunk the state it leaves."""
        for first in range(0, len(out.commits), COMMIT_CHUNK):
            done: set[str] = set()
            for i in range(min(len(out.commits), first + COMMIT_CHUNK) - 1, first - 1, -1):
                state = after[i]
                commit = out.commits[i]
                if state is None or commit.state_key in done:
                    continue
                done.add(commit.state_key)
                raw = state_json(state)
                out.commits[i] = commit._replace(state=raw)  # passed on raw
                out.written[state.match] = raw
