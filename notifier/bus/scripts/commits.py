"""The fenced commits of poll and fold (run by :mod:`notifier.bus.scripts`).

* ``COMMIT_POLL``: if the poll lease is still ours, XADD the events and store the snapshot —
  both or neither, so a crashed or paused poller never publishes twice or out of turn; and only
  if the stored snapshot is the one diffed against (a server restarted from an AOF that lost its
  last second must not have those events skipped: the next diff re-derives them).
* ``COMMIT_FOLD_BATCH``: if the partition lease is still ours, for a batch of events of one
  partition: store the match states, XADD the alerts, mark the events folded and XACK them — all
  at once, in one round trip; an event folded before is only acked, and one the client folded
  without knowing so sends the batch back unwritten.

Each is fenced by the lease in KEYS[1], whose value is ARGV[1].
"""

from __future__ import annotations

from notifier.bus.scripts.leases import fenced

STALE = "STALE"  # the error COMMIT_POLL raises when the stored snapshot is not the expected one

XADD_ALL = """
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
"""Lua defining ``xadd_all(stream, maxlen, first)``: XADD the entries flattened from ARGV[first]
on (a count, then per entry its field count and its pairs: ``scripts.flatten``)."""

COMMIT_POLL = fenced(
    XADD_ALL
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
""",
    key="KEYS[1]",
    value="ARGV[1]",
)

COMMIT_FOLD_BATCH = fenced(
    """
-- KEYS: lease, events stream, alerts stream, the partition's folded set (event id -> when it
-- was folded, ms), then the state keys to write (each once).
-- ARGV: lease value, group, seen ttl (ms), maxlen, now (ms), and the folds as one JSON array
-- (one argument, not thousands: packing arguments is what costs the client most): per event
-- its entry id, its event id, its state ('' = leave it), its alerts, each a flat
-- [field, value, ...] list, the index in KEYS of its state key (0 when it leaves the state),
-- and 1 if it was folded (0: the client knows it was folded before, or it is a repeat).
-- An event folded by the client but marked in the set (folded before: re-published, or
-- redelivered) makes the whole call write nothing and return {'seen', its ids...}: the client
-- folds again knowing them. Else returns per event its alert count, -1 if it is only acked.
local folds = cjson.decode(ARGV[6])
local ids = {}
for e, fold in ipairs(folds) do ids[e] = fold[2] end
local since = tonumber(ARGV[5]) - tonumber(ARGV[3])
local at = redis.call('ZMSCORE', KEYS[4], unpack(ids))
local again = {'seen'}
for e, fold in ipairs(folds) do
  if at[e] and tonumber(at[e]) > since then
    at[e] = true
    if fold[6] == 1 then again[#again + 1] = fold[2] end
  else
    at[e] = false
  end
end
if #again > 1 then return again end
local out, acks, marks = {}, {}, {}
for e, fold in ipairs(folds) do
  acks[e] = fold[1]
  if at[e] or fold[6] == 0 then
    out[e] = -1
  else
    if fold[3] ~= '' then redis.call('SET', KEYS[fold[5]], fold[3]) end
    for _, fields in ipairs(fold[4]) do
      redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', unpack(fields))
    end
    marks[#marks + 1] = ARGV[5]
    marks[#marks + 1] = fold[2]
    out[e] = #fold[4]
  end
end
if #marks > 0 then redis.call('ZADD', KEYS[4], unpack(marks)) end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', since)
redis.call('XACK', KEYS[2], ARGV[2], unpack(acks))
return out
""",
    key="KEYS[1]",
    value="ARGV[1]",
)
