"""Alerts held back for a spoiler delay, kept in Redis per partition: they survive restarts.

Per partition ``{p}``: a sorted set of recipients by the due time of their first held alert
(``keys.held_due``), each recipient's line of held alerts in order (``keys.held_line``), a mark
per alert and recipient once it was held (``keys.held_marks``, so a fan-out redone after a crash
holds nothing twice), and the alert's JSON (``keys.retry_alert``, shared with retries).

Holding is where :mod:`notifier.domain.holdback`'s rule runs: an alert that takes back the last
held one (a VAR-cancelled goal, a glitch put right) removes it and is not held itself. A due
alert of a subscription is *moved* into the retry structure (``workers.deliver.retry``) in the
same script: it becomes the subscription's head due now, or queues behind the head there, so
sending, retries, marks and the DLQ are the retry engine's, exactly once and in order. A sink's
(the console's) due alerts are popped and printed. Every write is fenced by the partition lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from notifier.bus import keys
from notifier.bus.codec import text
from notifier.bus.connect import translate_errors
from notifier.bus.lease import is_lease_lost
from notifier.bus.scripts import LeaseLostError
from notifier.domain import holdback
from notifier.domain.alerts import ALERT, Alert
from workers.deliver.retry import Fence, fenced

SINK_PREFIX = "sink:"

# KEYS: due, line, marks, alert.  ARGV: recipient, alert id, alert json, ttl s, due ms,
# item json, undoes, match, how far back to look.  -1: held before; 2: took back the last held
# alert of its match (ARGV[8]); 1: held.
_HOLD = """
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return -1 end
redis.call('HSET', KEYS[3], ARGV[1], 1)
redis.call('EXPIRE', KEYS[3], ARGV[4])
local len = redis.call('LLEN', KEYS[2])
for i = len - 1, math.max(0, len - tonumber(ARGV[9])), -1 do
  local item = cjson.decode(redis.call('LINDEX', KEYS[2], i))
  if item['g'] == ARGV[8] then
    if ARGV[7] ~= '' and item['m'] == ARGV[7] then
      redis.call('LSET', KEYS[2], i, '__elided__')
      redis.call('LREM', KEYS[2], 1, '__elided__')
      if len == 1 then redis.call('ZREM', KEYS[1], ARGV[1]) end
      return 2
    end
    break
  end
end
redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[4])
redis.call('RPUSH', KEYS[2], ARGV[6])
redis.call('ZADD', KEYS[1], 'LT', ARGV[5], ARGV[1])  -- the earliest due of the line
return 1
"""
# The due alerts at the head of a line (up to ARGV[3]), popped; the line's next due time kept.
_POP = """
local function pop_due(due, line, who, now, count)
  local out = {}
  while #out < count do
    local raw = redis.call('LINDEX', line, 0)
    if not raw then break end
    local item = cjson.decode(raw)
    if item['d'] > now then break end
    redis.call('LPOP', line)
    out[#out + 1] = item['a']
  end
  local nxt = redis.call('LINDEX', line, 0)
  if nxt then
    redis.call('ZADD', due, cjson.decode(nxt)['d'], who)
  else
    redis.call('ZREM', due, who)
  end
  return out
end
"""
# KEYS: due, line.  ARGV: recipient, now ms, count.  A sink's due alert ids, popped.
_TAKE = (
    _POP
    + """
return pop_due(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
"""
)
# KEYS: due, line, retry due, retry jobs, retry queue.  ARGV: subscription, now ms, count.
# A subscription's due alerts moved into its retry line (head due now, or queued behind it).
_MOVE = (
    _POP
    + """
local ids = pop_due(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  if redis.call('ZSCORE', KEYS[3], ARGV[1]) then
    redis.call('RPUSH', KEYS[5], id)
  else
    local head = cjson.encode({alert=id, attempt=0, first_ms=tonumber(ARGV[2]), error=''})
    redis.call('HSET', KEYS[4], ARGV[1], head)
    redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
  end
end
return ids
"""
)

# KEYS: due, line, retry due, retry jobs, retry queue, bundle alert.  ARGV: recipient, now ms,
# n, first id, last id, bundle id, bundle json, ttl s, subscription.  The first n alerts of a
# bundle line (if they still are those) leave it as one message, moved into the subscription's
# retry line; the line's earliest due is kept.  n = 0: only that.  1 if moved.
_BUNDLE = """
local n = tonumber(ARGV[3])
local moved = 0
if n > 0 then
  local items = redis.call('LRANGE', KEYS[2], 0, n - 1)
  if #items == n and cjson.decode(items[1])['a'] == ARGV[4]
      and cjson.decode(items[n])['a'] == ARGV[5] then
    redis.call('LTRIM', KEYS[2], n, -1)
    redis.call('SET', KEYS[6], ARGV[7], 'EX', ARGV[8])
    if redis.call('ZSCORE', KEYS[3], ARGV[9]) then
      redis.call('RPUSH', KEYS[5], ARGV[6])
    else
      local head = cjson.encode({alert=ARGV[6], attempt=0, first_ms=tonumber(ARGV[2]), error=''})
      redis.call('HSET', KEYS[4], ARGV[9], head)
      redis.call('ZADD', KEYS[3], ARGV[2], ARGV[9])
    end
    moved = 1
  end
end
local soonest = nil
for _, raw in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local d = cjson.decode(raw)['d']
  if soonest == nil or d < soonest then soonest = d end
end
if soonest then redis.call('ZADD', KEYS[1], soonest, ARGV[1])
else redis.call('ZREM', KEYS[1], ARGV[1]) end
return moved
"""
PEEK = 200  # alerts of a bundle line looked at, and sent as one message, at most

Held = Literal["held", "elided", "already"]
_VERDICT: dict[int, Held] = {1: "held", 2: "elided", -1: "already"}


def sink_id(name: str) -> str:
    """The recipient id of a sink of this process (the console)."""
    return SINK_PREFIX + name


@dataclass(frozen=True, slots=True)
class Released:
    """Alerts a recipient's line let go."""

    recipient: str
    alert_ids: list[str]


class HoldStore:
    """The Redis side of held alerts, for one dispatcher."""

    def __init__(self, r: aioredis.Redis, *, ttl_s: int) -> None:
        self.r = r
        self.ttl_s = ttl_s
        self._scripts = {
            name: (r.register_script(script), r.register_script(fenced(script)))
            for name, script in (
                ("hold", _HOLD),
                ("take", _TAKE),
                ("move", _MOVE),
                ("bundle", _BUNDLE),
            )
        }

    async def hold(
        self, p: int, alert: Alert, recipient: str, due_ms: int, *, fence: Fence | None
    ) -> Held:
        """Hold ``alert`` for ``recipient`` until ``due_ms`` (or elide it with the last held)."""
        ks = [
            keys.held_due(p),
            keys.held_line(p, recipient),
            keys.held_marks(p, alert.id),
            keys.retry_alert(p, alert.id),
        ]
        item = {"a": alert.id, "d": due_ms, "m": holdback.mark(alert), "g": alert.match}
        args: list[Any] = [recipient, alert.id, alert.model_dump_json(), self.ttl_s, due_ms]
        tail = [orjson.dumps(item), holdback.undoes(alert), alert.match, holdback.SCAN]
        code = await self._run("hold", ks, [*args, *tail], fence)
        return _VERDICT[int(code)]

    async def due(self, p: int, now_ms: int, count: int) -> list[str]:
        """Recipients of partition p with a held alert due by ``now_ms``."""
        with translate_errors("held due"):
            ids: list[Any] = await self.r.zrangebyscore(keys.held_due(p), "-inf", now_ms, 0, count)
        return [text(i) for i in ids]

    async def holding(self, p: int) -> set[str]:
        """Every recipient of partition p with alerts held."""
        with translate_errors("held list"):
            members: list[Any] = await self.r.zrange(keys.held_due(p), 0, -1)
        return {text(m) for m in members}

    async def release(
        self, p: int, recipient: str, now_ms: int, count: int, *, fence: Fence | None
    ) -> Released:
        """Let a recipient's due alerts go: a subscription's into its retry line (the retry
        pump sends them), a sink's popped for the caller to deliver."""
        line = [keys.held_due(p), keys.held_line(p, recipient)]
        if recipient.startswith(SINK_PREFIX):
            ids = await self._run("take", line, [recipient, now_ms, count], fence)
        else:
            retry = [keys.retry_due(p), keys.retry_jobs(p), keys.retry_queue(p, recipient)]
            ids = await self._run("move", line + retry, [recipient, now_ms, count], fence)
        return Released(recipient, [text(i) for i in ids or []])

    async def due_bundle(self, p: int, recipient: str, now_ms: int) -> list[str]:
        """A bundle line's alert ids up to its last one due by ``now_ms`` (all due with it: a
        phase's end lets its digest go)."""
        with translate_errors("held peek"):
            raw: list[Any] = await self.r.lrange(keys.held_line(p, recipient), 0, PEEK - 1)
        items = [orjson.loads(i) for i in raw]
        last = max((n for n, i in enumerate(items) if i["d"] <= now_ms), default=-1)
        return [str(i["a"]) for i in items[: last + 1]]

    async def bundle(
        self,
        p: int,
        recipient: str,
        sub_id: str,
        ids: Sequence[str],
        message: Alert | None,
        now_ms: int,
        *,
        fence: Fence | None,
    ) -> bool:
        """Send the first ``ids`` of a bundle line as ``message``: moved into the retry line of
        ``sub_id`` (True), unless the line changed meanwhile. No ids: keep its due time right."""
        ks = [
            keys.held_due(p),
            keys.held_line(p, recipient),
            keys.retry_due(p),
            keys.retry_jobs(p),
            keys.retry_queue(p, sub_id),
            keys.retry_alert(p, message.id if message else "-"),
        ]
        first, last = (ids[0], ids[-1]) if ids else ("", "")
        body = message.model_dump_json() if message else ""
        args = [recipient, now_ms, len(ids), first, last, message.id if message else "", body]
        moved = await self._run("bundle", ks, [*args, self.ttl_s, sub_id], fence)
        return bool(moved)

    async def alert(self, p: int, alert_id: str) -> Alert | None:
        """A held alert's JSON, or None if it expired."""
        with translate_errors("held alert"):
            raw = await self.r.get(keys.retry_alert(p, alert_id))
        return ALERT.validate_json(raw) if raw else None

    async def _run(self, name: str, ks: list[str], args: Sequence[Any], fence: Fence | None) -> Any:
        plain, with_fence = self._scripts[name]
        script, args = plain, list(args)
        if fence is not None:
            script = with_fence
            ks, args = [*ks, fence[0]], [*args, fence[1]]
        with translate_errors(f"held {name}"):
            try:
                return await script(keys=ks, args=args)
            except ResponseError as exc:
                if is_lease_lost(exc):
                    raise LeaseLostError(str(exc)) from exc
                raise
