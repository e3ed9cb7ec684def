"""The fenced commits of poll and fold (run by :mod:`notifier.bus.scripts`).

* ``COMMIT_POLL``: if the poll lease is still ours, XADD the events and store the snapshot —
  both or neither, so a crashed or paused poller never publishes twice or out of turn; and only
  if the stored snapshot is the one diffed against (a server restarted from an AOF that lost its
  last second must not have those events skipped: the next diff re-derives them).
* ``COMMIT_FOLD``: if the partition lease is still ours and the event was not folded before,
  store the match state, XADD the alerts, mark the event seen and XACK it — all at once.
* ``COMMIT_FOLD_BATCH``: the same for a batch of events of one partition in one call (one round
  trip and one script run instead of one per event); already-folded events are only acked.

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

COMMIT_FOLD = fenced(
    XADD_ALL
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
""",
    key="KEYS[1]",
    value="ARGV[1]",
)

COMMIT_FOLD_BATCH = fenced(
    """
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
""",
    key="KEYS[1]",
    value="ARGV[1]",
)
