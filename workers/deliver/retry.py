"""Deliveries that wait for another try, kept in Redis per partition: they survive restarts.

Per partition ``{p}``: a sorted set of subscription ids by due time (``keys.retry_due``), the
delivery each is retrying (``keys.retry_jobs``: the *head* of that subscription), a list of
alert ids queued behind the head (``keys.retry_queue``: so a subscription gets its alerts in
order), and each alert's JSON (``keys.retry_alert``, with a TTL). Deliveries done are marked in
``keys.delivered`` (a hash per alert), so nothing is sent twice. Every change is one Lua script
on keys of one slot.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from notifier.bus import keys
from notifier.bus.codec import text
from notifier.bus.connect import translate_errors
from notifier.bus.scripts.delivery import ADVANCE, CLAIM, DROP, ENQUEUE, SCHEDULE
from notifier.bus.scripts.leases import fenced, is_lease_lost
from notifier.domain.alerts import ALERT, Alert
from notifier.errors import LeaseLostError, StoreError

IO_LIMIT = 16  # Redis commands of one dispatcher's deliveries at once (the pool holds 100)

Fence = tuple[str, str]  # a partition lease key and the value it must hold for a write to go


@dataclass(frozen=True, slots=True)
class RetryJob:
    """The head delivery of one subscription: which alert, tries so far, since when, why."""

    sub_id: str
    alert_id: str
    attempt: int = 0
    first_ms: int = 0
    error: str = ""

    def dump(self) -> bytes:
        """The JSON stored in ``keys.retry_jobs``."""
        return orjson.dumps(
            {
                "alert": self.alert_id,
                "attempt": self.attempt,
                "first_ms": self.first_ms,
                "error": self.error,
            }
        )

    @classmethod
    def load(cls, sub_id: str, raw: bytes | str) -> RetryJob | None:
        """The job from its JSON, or None if it is unreadable."""
        try:
            data = orjson.loads(raw)
            return cls(
                sub_id,
                str(data["alert"]),
                int(data.get("attempt", 0)),
                int(data.get("first_ms", 0)),
                str(data.get("error", "")),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None


def retry_delay(
    schedule: Sequence[float],
    attempt: int,
    *,
    retry_after: float | None = None,
    cap: float,
    jitter: float = 0.0,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds before try ``attempt + 1`` after ``attempt`` failed tries; None when exhausted.

    The receiver's ``Retry-After`` wins over the schedule; either is capped at ``cap``.
    """
    if attempt < 1 or attempt > len(schedule):
        return None
    if retry_after is not None:
        return min(cap, max(0.0, retry_after))
    base = schedule[attempt - 1]
    spread = base * jitter * (2 * rand() - 1)
    return min(cap, max(0.0, base + spread))


class _Marks:
    """Delivery marks written together: every mark made in one loop turn, one pipeline."""

    __slots__ = ("done", "items")

    def __init__(self) -> None:
        self.items: list[tuple[str, str, int]] = []
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done.add_done_callback(lambda f: f.cancelled() or f.exception())


async def run_fenced(
    scripts: tuple[Any, Any], ks: Sequence[str], args: Sequence[Any], fence: Fence | None, what: str
) -> Any:
    """Run the plain script, or with ``fence`` its fenced twin (the lease key and value added
    last); a lost lease is ``LeaseLostError``. Shared by the retry and held lines."""
    plain, with_fence = scripts
    script, ks, args = plain, list(ks), list(args)
    if fence is not None:
        script = with_fence
        ks, args = [*ks, fence[0]], [*args, fence[1]]
    with translate_errors(what):
        try:
            return await script(keys=ks, args=args)
        except ResponseError as exc:
            if is_lease_lost(exc):
                raise LeaseLostError(str(exc)) from exc
            raise


class RetryStore:
    """The Redis side of retries and delivery marks, for one dispatcher."""

    def __init__(self, r: aioredis.Redis, *, alert_ttl_s: int, mark_ttl_s: int) -> None:
        self.r = r
        self.alert_ttl_s = alert_ttl_s
        self.mark_ttl_s = mark_ttl_s
        self.io = asyncio.Semaphore(IO_LIMIT)
        self._marks: _Marks | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._pending: set[_Marks] = set()  # batches made and not yet written (settled)
        # The scripts a dispatcher runs under its partition lease: (unfenced, fenced) each.
        self._scripts = {
            name: (r.register_script(script), r.register_script(fenced(script)))
            for name, script in (
                ("enqueue", ENQUEUE),
                ("advance", ADVANCE),
                ("schedule", SCHEDULE),
            )
        }
        self._claim = r.register_script(CLAIM)
        self._drop = r.register_script(DROP)

    async def state(
        self, p: int, alert_id: str, sub_ids: Sequence[str]
    ) -> tuple[set[str], set[str]]:
        """(done, waiting): subscriptions that already have the alert, and those with a head.

        Asked per fan-out (12,500 subscriptions a shard at 100,000 followers): the marks are
        read by id only when the alert has any (a redelivery), and the heads of the partition,
        usually few, are read whole rather than looked up per subscription (ZMSCORE with every
        id: only when there are more heads than ids)."""
        if not sub_ids:
            return set(), set()
        marks_key, due_key = keys.delivered(p, alert_id), keys.retry_due(p)
        async with self.io:
            with translate_errors("delivery state"):
                async with self.r.pipeline(transaction=False) as pipe:
                    pipe.exists(marks_key)
                    pipe.zrange(due_key, 0, len(sub_ids))  # at most one more than the ids
                    marked, heads = await pipe.execute()
                done, waiting = set(), {text(h) for h in heads}
                if marked:
                    marks = await self.r.hmget(marks_key, list(sub_ids))
                    done = {s for s, m in zip(sub_ids, marks, strict=True) if m is not None}
                if len(heads) > len(sub_ids):  # more heads than ids: look the ids up
                    scores = await self.r.zmscore(due_key, list(sub_ids))
                    waiting = {s for s, sc in zip(sub_ids, scores, strict=True) if sc is not None}
                elif waiting:
                    waiting &= set(sub_ids)
        return done, waiting

    async def waiting(self, p: int) -> set[str]:
        """Every subscription of partition p with a head (delivery being retried)."""
        async with self.io:
            with translate_errors("retry list"):
                members: list[Any] = await self.r.zrange(keys.retry_due(p), 0, -1)
        return {text(s) for s in members}

    async def queued(self, p: int, sub_id: str) -> int:
        """How many alerts wait behind the subscription's head."""
        async with self.io:
            with translate_errors("retry queue"):
                return int(await self.r.llen(keys.retry_queue(p, sub_id)))

    async def is_done(self, p: int, alert_id: str, sub_id: str) -> bool:
        """Whether the alert was delivered to the subscription."""
        async with self.io:
            with translate_errors("delivery mark"):
                return bool(await self.r.hexists(keys.delivered(p, alert_id), sub_id))

    async def mark(self, p: int, alert_id: str, sub_id: str, at_ms: int) -> None:
        """Record a delivery (the idempotency mark of alert id + subscription id).

        Returns once the mark is in Redis. Marks made meanwhile share one round trip: those
        of one loop turn, and all those made while the previous round trip was on the wire.
        """
        await asyncio.shield(self.mark_soon(p, alert_id, sub_id, at_ms))

    def mark_soon(self, p: int, alert_id: str, sub_id: str, at_ms: int) -> asyncio.Future[None]:
        """:meth:`mark` without the wait: the future of the mark's round trip (StoreError if
        it failed). Whoever decides from the marks first waits for :meth:`settled`."""
        batch = self._marks
        if batch is None:
            batch = self._marks = _Marks()
            self._pending.add(batch)
            if not self._flushes:  # else it goes when the one on the wire is back
                asyncio.get_running_loop().call_soon(self._flush_soon, batch)
        batch.items.append((keys.delivered(p, alert_id), sub_id, at_ms))
        return batch.done

    async def settled(self) -> None:
        """Wait until every mark made so far is in Redis (StoreError if one could not be)."""
        for batch in list(self._pending):
            await asyncio.shield(batch.done)

    def _flush_soon(self, batch: _Marks) -> None:
        if self._marks is batch:
            self._marks = None
        task = asyncio.get_running_loop().create_task(self._flush(batch))
        self._flushes.add(task)
        task.add_done_callback(lambda t: self._flushed(t, batch))

    def _flushed(self, task: asyncio.Task[None], batch: _Marks) -> None:
        self._flushes.discard(task)
        self._pending.discard(batch)
        if not batch.done.done():  # cancelled before it ran: so are its marks
            batch.done.cancel()
        if self._marks is not None and not self._flushes:
            self._flush_soon(self._marks)

    async def _flush(self, batch: _Marks) -> None:
        by_key: defaultdict[str, dict[str, int]] = defaultdict(dict)
        for key, sub_id, at_ms in batch.items:
            by_key[key][sub_id] = at_ms
        try:
            async with self.io:
                with translate_errors("delivery mark"):
                    async with self.r.pipeline(transaction=False) as pipe:
                        for key, fields in by_key.items():
                            pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
                            pipe.expire(key, self.mark_ttl_s)
                        await pipe.execute()
        except StoreError as exc:
            batch.done.set_exception(exc)
        except BaseException:  # cancelled: so are the marks that waited for it
            batch.done.cancel()
            raise
        else:
            batch.done.set_result(None)

    async def enqueue(
        self, p: int, alert: Alert, sub_id: str, now_ms: int, *, fence: Fence | None = None
    ) -> bool:
        """Queue a delivery behind the subscription's head, or make it the head due now.

        True when it became the head. ``fence``: only while that partition lease is held
        (``LeaseLostError`` otherwise, nothing written).
        """
        job = RetryJob(sub_id, alert.id, 0, now_ms).dump()
        ks = [
            keys.retry_due(p),
            keys.retry_jobs(p),
            keys.retry_queue(p, sub_id),
            keys.retry_alert(p, alert.id),
        ]
        args: list[Any] = [sub_id, alert.id, alert.model_dump_json(), self.alert_ttl_s]
        return bool(await self._run("enqueue", ks, [*args, now_ms, job], fence))

    async def schedule(
        self, p: int, alert: Alert, job: RetryJob, due_ms: int, *, fence: Fence | None = None
    ) -> None:
        """Make ``job`` the subscription's head, due at ``due_ms`` (``fence``: see enqueue)."""
        ks = [keys.retry_due(p), keys.retry_jobs(p), keys.retry_alert(p, alert.id)]
        args = [job.sub_id, job.dump(), alert.model_dump_json(), self.alert_ttl_s, due_ms]
        await self._run("schedule", ks, args, fence)

    async def _run(self, name: str, ks: list[str], args: list[Any], fence: Fence | None) -> Any:
        """One of the retry scripts, fenced by a partition lease when given one."""
        async with self.io:
            return await run_fenced(self._scripts[name], ks, args, fence, f"retry {name}")

    async def claim_due(
        self, p: int, now_ms: int, count: int, invisible_ms: int
    ) -> list[tuple[str, RetryJob | None]]:
        """Up to ``count`` due heads, hidden until ``now + invisible_ms`` while they are tried."""
        ks = [keys.retry_due(p), keys.retry_jobs(p)]
        async with self.io:
            with translate_errors("retry claim"):
                flat = await self._claim(keys=ks, args=[now_ms, count, now_ms + invisible_ms])
        pairs = list(zip(flat[::2], flat[1::2], strict=True))
        return [(text(s), RetryJob.load(text(s), j) if j else None) for s, j in pairs]

    async def reveal(self, p: int, sub_id: str, due_ms: int) -> None:
        """Make a claimed head due again at ``due_ms`` (it was not tried after all)."""
        async with self.io:
            with translate_errors("retry reveal"):
                await self.r.zadd(keys.retry_due(p), {sub_id: due_ms}, xx=True)

    async def alert(self, p: int, alert_id: str) -> Alert | None:
        """A kept alert, or None if it expired."""
        async with self.io:
            with translate_errors("retry alert"):
                raw = await self.r.get(keys.retry_alert(p, alert_id))
        return ALERT.validate_json(raw) if raw else None

    async def advance(
        self, p: int, sub_id: str, alert_id: str, now_ms: int, *, fence: Fence | None = None
    ) -> str | None:
        """The head ``alert_id`` is settled: the next queued alert becomes the head (its id)."""
        ks = [keys.retry_due(p), keys.retry_jobs(p), keys.retry_queue(p, sub_id)]
        nxt = await self._run("advance", ks, [sub_id, alert_id, now_ms], fence)
        return text(nxt) if nxt else None

    async def drop(self, p: int, sub_id: str) -> list[str]:
        """Forget the subscription's head and queue; the alert ids they held, in order."""
        ks = [keys.retry_due(p), keys.retry_jobs(p), keys.retry_queue(p, sub_id)]
        async with self.io:
            with translate_errors("retry drop"):
                ids = await self._drop(keys=ks, args=[sub_id])
        return [text(i) for i in ids]
