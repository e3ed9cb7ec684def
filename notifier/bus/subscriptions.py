"""Subscriptions in Redis: one JSON record each, a set per owner, and a set per followed thing.

Every key shares the hash tag of ``keys.SUB_TAG``, so a change (record, owner set, indexes) is
one MULTI, guarded by WATCH on the record, even on a cluster. Matching an alert is one SUNION of
the few index sets it falls under and one MGET of the ids found: O(matching subscriptions).
Every change also bumps the store's version (``keys.subscriptions_version``), so what the
indexes and records said may be kept while it stays the same: a process holding eight fan-out
shards reads and splits an alert's ids once, not once per shard, and reads the records again
only after a change.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import WatchError

from notifier.bus import keys
from notifier.bus.codec import text
from notifier.bus.connect import translate_errors
from notifier.bus.scripts.subscriptions import CREATE_CAPPED
from notifier.channels.subscriptions import Subscription, alert_index
from notifier.domain.alerts import Alert
from notifier.errors import StoreError

log = logging.getLogger("notifier.subscription_store")
UPDATE_TRIES = 5
PAGE_STEP = 50  # records decoded between two yields to the loop
OWNED_CACHE = 1000  # owners whose sorted ids are kept
MATCH_CACHE = 16  # index unions (an alert's teams, match, tie...) kept, split per shard
MATCH_TTL_S = 60.0  # how long a kept union is trusted while the version stays the same
Change = Callable[[Subscription], Subscription | None]
_Parsed = tuple[bytes | str, Subscription, frozenset[tuple[str, str]]]  # raw, record, its index


@dataclass(slots=True)
class _Union:
    """One index union as ``SubscriptionStore._union`` keeps it."""

    version: bytes | str | None  # the store's version, read before the rest
    until: float  # monotonic time it is kept until, whatever the version says
    ids: list[list[str]]  # per shard, sorted
    records: list[list[_Parsed] | None] = field(init=False)  # per shard, once read

    def __post_init__(self) -> None:
        self.records = [None] * len(self.ids)


def _decode(raw: bytes | str | None) -> Subscription | None:
    if raw is None:
        return None
    try:
        return Subscription.model_validate_json(raw)
    except ValidationError:
        log.error("subscription_unreadable")
        return None


def _dump(sub: Subscription) -> str:
    return sub.model_dump_json()  # the secret included: repr hides it, the record keeps it


class SubscriptionStore:
    """CRUD and matching of subscriptions; parsed records are cached while unchanged."""

    def __init__(self, r: aioredis.Redis, *, aliases: Mapping[str, str] | None = None) -> None:
        self.r = r
        self.aliases = dict(aliases or {})
        self._cache: dict[str, _Parsed] = {}
        self._create_capped = r.register_script(CREATE_CAPPED)
        self._owned: dict[str, tuple[bytes | str | None, list[str]]] = {}  # owner -> (version, ids)
        self._unions: dict[tuple[tuple[str, ...], int], _Union] = {}  # see ``_union``
        # Told of every record matching parses (the dispatcher: the send's target and host
        # made with it, once per record, not at the record's first send).
        self.on_parse: Callable[[Subscription], None] | None = None

    async def create_capped(self, sub: Subscription, limit: int) -> bool:
        """Store and index a new subscription unless its owner has ``limit`` already (False)."""
        index = [keys.subscription_index(f, v) for f, v in sub.index()] if sub.enabled else []
        owned = keys.subscriptions_of(sub.owner)
        record, version = keys.subscription(sub.id), keys.subscriptions_version()
        with translate_errors("subscription create"):
            made = await self._create_capped(
                keys=[owned, record, version, *index], args=[limit, sub.id, _dump(sub)]
            )
        return bool(made)

    async def page_owned(
        self, owner: str, after: str, limit: int
    ) -> tuple[list[Subscription], str | None]:
        """Up to ``limit`` subscriptions of ``owner`` by id, after the id ``after`` (``""``:
        from the first); and the cursor of the next page (None on the last).

        The loop is given back between steps (``PAGE_STEP`` records at a time): four clients
        listing 10,000 subscriptions must not hold up ``/healthz`` for a whole page each."""
        with translate_errors("subscription list"):
            ids = await self._owned_ids(owner)
            start = bisect.bisect_right(ids, after) if after else 0
            chosen = ids[start : start + limit]
            raws = await self.r.mget([keys.subscription(i) for i in chosen]) if chosen else []
        subs: list[Subscription] = []
        for at in range(0, len(raws), PAGE_STEP):
            await asyncio.sleep(0)
            step = zip(chosen[at : at + PAGE_STEP], raws[at : at + PAGE_STEP], strict=True)
            decoded = (self._parse_cached(i, raw) for i, raw in step)
            subs += [s for s in decoded if s is not None and s.owner == owner]
        more = start + limit < len(ids)
        return subs, (chosen[-1] if more and chosen else None)

    async def _owned_ids(self, owner: str) -> list[str]:
        """The sorted ids of ``owner``, kept while the store's version stays the same (every
        change bumps it): a client paging through 10,000 reads them once, not per page."""
        version = await self.r.get(keys.subscriptions_version())
        hit = self._owned.get(owner)
        if hit is not None and hit[0] == version:
            return hit[1]
        members = await self.r.smembers(keys.subscriptions_of(owner))
        await asyncio.sleep(0)
        ids = sorted(text(i) for i in members)
        if len(self._owned) >= OWNED_CACHE:
            self._owned.clear()
        self._owned[owner] = (version, ids)
        return ids

    async def create(self, sub: Subscription) -> None:
        """Store a new subscription and index it."""
        with translate_errors("subscription create"):
            async with self.r.pipeline(transaction=True) as pipe:
                pipe.set(keys.subscription(sub.id), _dump(sub))
                pipe.sadd(keys.subscriptions_of(sub.owner), sub.id)
                self._index(pipe, sub.id, None, sub)
                pipe.incr(keys.subscriptions_version())
                await pipe.execute()

    async def get(self, sub_id: str) -> Subscription | None:
        """A subscription by id, or None."""
        with translate_errors("subscription get"):
            return _decode(await self.r.get(keys.subscription(sub_id)))

    async def get_owned(self, owner: str, sub_id: str) -> Subscription | None:
        """A subscription if ``owner`` owns it; None otherwise (as if it did not exist)."""
        sub = await self.get(sub_id)
        return sub if sub is not None and sub.owner == owner else None

    async def list_owned(self, owner: str) -> list[Subscription]:
        """Every subscription of ``owner``, oldest first."""
        with translate_errors("subscription list"):
            ids = sorted(text(i) for i in await self.r.smembers(keys.subscriptions_of(owner)))
            raws = await self.r.mget([keys.subscription(i) for i in ids]) if ids else []
        subs = [s for s in map(_decode, raws) if s is not None and s.owner == owner]
        return sorted(subs, key=lambda s: (s.created_at, s.id))

    async def count_owned(self, owner: str) -> int:
        """How many subscriptions ``owner`` has."""
        with translate_errors("subscription count"):
            return int(await self.r.scard(keys.subscriptions_of(owner)))

    async def update(self, sub_id: str, change: Change) -> Subscription | None:
        """Apply ``change`` to the stored record atomically (WATCH); the new record or None.

        ``change`` returns the replacement, or None to leave the record alone.
        """
        key = keys.subscription(sub_id)
        for _ in range(UPDATE_TRIES):
            try:
                return await self._update_once(key, change)
            except WatchError:
                continue
        raise StoreError(f"subscription {sub_id}: too many concurrent updates")

    async def _update_once(self, key: str, change: Change) -> Subscription | None:
        with translate_errors("subscription update"):
            async with self.r.pipeline(transaction=True) as pipe:
                await pipe.watch(key)
                old = _decode(await pipe.get(key))
                new = change(old) if old is not None else None
                if old is None or new is None:
                    return None  # leaving the block resets the pipeline (and the WATCH)
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(key, _dump(new))
                self._index(pipe, new.id, old, new)
                pipe.incr(keys.subscriptions_version())
                await pipe.execute()
                return new

    async def delete(self, sub: Subscription) -> bool:
        """Remove a subscription and its index entries; False if it was already gone."""
        with translate_errors("subscription delete"):
            async with self.r.pipeline(transaction=True) as pipe:
                pipe.delete(keys.subscription(sub.id))
                pipe.srem(keys.subscriptions_of(sub.owner), sub.id)
                self._index(pipe, sub.id, sub, None)
                pipe.incr(keys.subscriptions_version())
                deleted, *_ = await pipe.execute()
        self._cache.pop(sub.id, None)
        return bool(deleted)

    async def disable(self, sub_id: str, reason: str, now: datetime | None = None) -> bool:
        """Stop delivering to a subscription (its target is gone); False if none was enabled."""
        at = now or datetime.now(UTC)

        def off(sub: Subscription) -> Subscription | None:
            if not sub.enabled:
                return None
            spec = sub.spec.model_copy(update={"enabled": False})
            return sub.model_copy(
                update={"spec": spec, "disabled_reason": reason, "updated_at": at}
            )

        return await self.update(sub_id, off) is not None

    async def matching(
        self, alert: Alert, shard: tuple[int, int] | None = None
    ) -> list[Subscription]:
        """The enabled subscriptions that want ``alert``, by id; with ``shard`` = (shard,
        shards), those of that fan-out shard only (the others' records are not read)."""
        pairs = alert_index(alert, self.aliases)
        index = tuple(keys.subscription_index(f, v) for f, v in pairs)
        at, shards = shard or (0, 1)
        with translate_errors("subscription match"):
            union = await self._union(index, shards)
            records = union.records[at]
            if records is None:
                ids = union.ids[at]
                raws = await self.r.mget([keys.subscription(i) for i in ids]) if ids else []
                found = (self._parsed(i, raw) for i, raw in zip(ids, raws, strict=True))
                records = union.records[at] = [hit for hit in found if hit is not None]
        kind = alert.kind
        return [sub for _, sub, mine in records if sub.wants_pairs(kind, pairs, mine)]

    async def _union(self, index: tuple[str, ...], shards: int) -> _Union:
        """The ids in the union of the ``index`` sets, sorted and split by shard, and each
        shard's records once read (parsed, with their index sets).

        Kept while the store's version stays the same (and ``MATCH_TTL_S`` at most): the
        version is read before the sets and the records, and every change of a record or an
        index set bumps it in the same step (MULTI or script), so what is kept is never older
        than the version it is kept under, and any change after it makes the next match read
        them again. A process holding eight shards reads the union once per alert, and the
        records once per change of any subscription, not once per alert."""
        version = await self.r.get(keys.subscriptions_version())
        now = time.monotonic()
        hit = self._unions.get((index, shards))
        if hit is not None and hit.version == version and now < hit.until:
            return hit
        members = await self.r.sunion(list(index))
        split: list[list[str]] = [[] for _ in range(shards)]
        for sub_id in sorted(text(i) for i in members):
            split[keys.shard_of(sub_id, shards) if shards > 1 else 0].append(sub_id)
        if len(self._unions) >= MATCH_CACHE:
            del self._unions[next(iter(self._unions))]  # the oldest
        union = self._unions[(index, shards)] = _Union(version, now + MATCH_TTL_S, split)
        return union

    def _parse_cached(self, sub_id: str, raw: bytes | str | None) -> Subscription | None:
        hit = self._parsed(sub_id, raw)
        return hit[1] if hit is not None else None

    def _parsed(self, sub_id: str, raw: bytes | str | None) -> _Parsed | None:
        """The record parsed, and its index as a set (for matching), kept while unchanged."""
        if raw is None:
            self._cache.pop(sub_id, None)
            return None
        hit = self._cache.get(sub_id)
        if hit is not None and hit[0] == raw:
            return hit
        sub = _decode(raw)
        if sub is None:
            return None
        parsed = self._cache[sub_id] = (raw, sub, frozenset(sub.index()))
        if self.on_parse is not None:
            self.on_parse(sub)
        return parsed

    @staticmethod
    def _index(
        pipe: aioredis.client.Pipeline,
        sub_id: str,
        old: Subscription | None,
        new: Subscription | None,
    ) -> None:
        before = set(old.index()) if old is not None and old.enabled else set()
        after = set(new.index()) if new is not None and new.enabled else set()
        for name, value in before - after:
            pipe.srem(keys.subscription_index(name, value), sub_id)
        for name, value in after - before:
            pipe.sadd(keys.subscription_index(name, value), sub_id)
