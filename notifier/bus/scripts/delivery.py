"""What the deliver stage keeps in Redis, one script per change: shard routes, retry lines and
held lines (``notifier.bus.shards``, ``workers.deliver.retry``, ``workers.deliver.hold``).

A subscription's *retry line* is its head (``keys.retry_jobs``, due in ``keys.retry_due``) and
the alert ids queued behind it (``keys.retry_queue``). Held alerts that fall due leave their
*held line* (``keys.held_line``, due in ``keys.held_due``) straight into the retry line, in the
same script, through :data:`TO_LINE`: a head and its JSON are made in one place. The retry and
hold scripts are run fenced (``leases.fenced``: the partition lease is the last key and its
value the last argument) by a dispatcher that holds the partition.
"""

from __future__ import annotations

# An alert added to a shard stream once: the route mark lives in the shard's slot.
ROUTE = """
-- KEYS: shard stream, route mark. ARGV: mark ttl, maxlen, then the alert's fields and values.
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
return 1
"""

TO_LINE = """
local function new_head(due, jobs, sub, id, now)
  local head = cjson.encode({alert=id, attempt=0, first_ms=now, error=''})
  redis.call('HSET', jobs, sub, head)
  redis.call('ZADD', due, now, sub)
end
local function to_line(due, jobs, queue, sub, id, now)
  if redis.call('ZSCORE', due, sub) then
    redis.call('RPUSH', queue, id)
  else
    new_head(due, jobs, sub, id, now)
  end
end
"""
"""Lua defining ``new_head(due, jobs, sub, alert_id, now_ms)`` (the alert becomes the line's
head, due now, first tried now) and ``to_line(due, jobs, queue, sub, alert_id, now_ms)`` (the
head, or queued behind the head there is)."""

# -- retry lines ------------------------------------------------------------------------------

# KEYS: due, jobs, queue, alert.  ARGV: sub, alert id, alert json, ttl s, due ms, job json.
# The job becomes the head due at ARGV[5], unless the subscription already has a head:
# then the alert waits in its queue.
ENQUEUE = """
redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[4])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('RPUSH', KEYS[3], ARGV[2])
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[6])
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
return 1
"""
# KEYS: due, jobs, alert.  ARGV: sub, job json, alert json, ttl s, due ms.
# The job becomes the subscription's head (a retry of the delivery it names), due at ARGV[5].
SCHEDULE = """
redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
return 1
"""
# KEYS: due, jobs, queue.  ARGV: sub, alert id of the head that is done, now ms.
# The next queued alert becomes the head, due now; the id returned, or false if none.
ADVANCE = (
    TO_LINE
    + """
local job = redis.call('HGET', KEYS[2], ARGV[1])
if job and cjson.decode(job)['alert'] ~= ARGV[2] then return false end
local nxt = redis.call('LPOP', KEYS[3])
if nxt then
  new_head(KEYS[1], KEYS[2], ARGV[1], nxt, tonumber(ARGV[3]))
  return nxt
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return false
"""
)
# KEYS: due, jobs.  ARGV: now ms, count, invisible-until ms.
# Due heads, each pushed back to ARGV[3] so a crash mid-try retries it later; [sub, job]*.
CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[3], id)
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
end
return out
"""
# KEYS: due, jobs, queue.  ARGV: sub.  Removes the head and the queue; returns their alert ids.
DROP = """
local ids = {}
local job = redis.call('HGET', KEYS[2], ARGV[1])
if job then ids[1] = cjson.decode(job)['alert'] end
for _, id in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do ids[#ids + 1] = id end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return ids
"""

# -- held lines -------------------------------------------------------------------------------

# KEYS: due, line, marks, alert.  ARGV: recipient, alert id, alert json, ttl s, due ms,
# item json, undoes, match, how far back to look.  -1: held before; 2: took back the last held
# alert of its match (ARGV[8]); 1: held.
HOLD = """
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
POP_DUE = """
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
TAKE = (
    POP_DUE
    + """
return pop_due(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
"""
)
# KEYS: due, line, retry due, retry jobs, retry queue.  ARGV: subscription, now ms, count.
# A subscription's due alerts moved into its retry line (head due now, or queued behind it).
MOVE = (
    POP_DUE
    + TO_LINE
    + """
local now = tonumber(ARGV[2])
local ids = pop_due(KEYS[1], KEYS[2], ARGV[1], now, tonumber(ARGV[3]))
for _, id in ipairs(ids) do to_line(KEYS[3], KEYS[4], KEYS[5], ARGV[1], id, now) end
return ids
"""
)
# KEYS: due, line, retry due, retry jobs, retry queue, bundle alert.  ARGV: recipient, now ms,
# n, first id, last id, bundle id, bundle json, ttl s, subscription.  The first n alerts of a
# bundle line (if they still are those) leave it as one message, moved into the subscription's
# retry line; the line's earliest due is kept.  n = 0: only that.  1 if moved.
BUNDLE = (
    TO_LINE
    + """
local n = tonumber(ARGV[3])
local moved = 0
if n > 0 then
  local items = redis.call('LRANGE', KEYS[2], 0, n - 1)
  if #items == n and cjson.decode(items[1])['a'] == ARGV[4]
      and cjson.decode(items[n])['a'] == ARGV[5] then
    redis.call('LTRIM', KEYS[2], n, -1)
    redis.call('SET', KEYS[6], ARGV[7], 'EX', ARGV[8])
    to_line(KEYS[3], KEYS[4], KEYS[5], ARGV[9], ARGV[6], tonumber(ARGV[2]))
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
)
