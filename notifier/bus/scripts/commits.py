"""The fenced commits of poll and fold (run by :mod:`notifier.bus.scripts`).

* ``COMMIT_POLL``: if the poll lease is still ours, XADD the events and store the snapshot —
  both or neither, so a crashed or paused poller never publishes twice or out of turn; and only
  if the stored snapshot is the one diffed against (a server restarted from an AOF that lost its
  last second must not have those events skipped: the next diff re-derives them).
* ``COMMIT_FOLD_BATCH``: if the partition lease is still ours, for each event of a batch of one
  partition not folded before: store the match state, XADD the alerts, mark the event folded
  (in its match's marks, ``keys.folded``: with how many alerts it made, and the stream id of
  the match's last alert, which the retention reads); then XACK the batch — all at once, in
  one round trip. Already-folded events are only acked. A match's marks are read and written
  once per call (one HMGET, one HSET), not once per event.

Each is fenced by the lease in KEYS[1], whose value is ARGV[1].

* ``READ_FOLD_BATCH`` (a read, not fenced): what folding a batch needs, in one call: per match
  its state, which of its batch's event ids its marks hold, and its tie's definition when it
  has no state yet. A pipeline of single-key reads did the same in one round trip, but each of
  its commands cost the client more than the script costs the server.
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
-- KEYS: lease, events stream, alerts stream, then the marks of each match of the batch
-- (keys.folded), then the state keys to write (each once). ARGV: lease value, group, marks ttl,
-- maxlen, the folds as one JSON array (one argument, not thousands: packing arguments is
-- what costs the client most), and the raw values: per event its entry id, its state ('' =
-- leave it), its alerts, each a flat [field, value, ...] list, the index in KEYS of its state
-- key (0 when it leaves the state), the index in KEYS of its match's marks, and its event id.
-- A state, or an alert's last value (its body), given as {start, length} is that slice of
-- ARGV[6]: JSON documents passed as they are, not escaped into the folds' JSON and decoded
-- from it again.
-- Returns per event its alert count, -1 if it was folded before (then it is only acked).
-- A match's marks are read with one HMGET and written with one HSET (and one EXPIRE) per call,
-- not one command per event: a call into Redis is most of what a small command costs here.
local folds = cjson.decode(ARGV[5])
local function raw(v)
  if type(v) == 'table' then return string.sub(ARGV[6], v[1], v[1] + v[2] - 1) end
  return v
end
local ids = {}
for _, fold in ipairs(folds) do
  local of = ids[fold[5]]
  if not of then of = {}; ids[fold[5]] = of end
  of[#of + 1] = fold[6]
end
local seen = {}
for m, of in pairs(ids) do
  local found, marked = redis.call('HMGET', KEYS[m], unpack(of)), {}
  for i, id in ipairs(of) do
    if found[i] then marked[id] = true end
  end
  seen[m] = marked
end
local out, acks, writes, lasts = {}, {}, {}, {}
for e, fold in ipairs(folds) do
  acks[e] = fold[1]
  local m, id = fold[5], fold[6]
  if seen[m][id] then
    out[e] = -1
  else
    seen[m][id] = true  -- the same event twice in one call: the second was folded before
    if fold[2] ~= '' then redis.call('SET', KEYS[fold[4]], raw(fold[2])) end
    for _, fields in ipairs(fold[3]) do
      fields[#fields] = raw(fields[#fields])
      lasts[m] = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', unpack(fields))
    end
    local w = writes[m]
    if not w then w = {}; writes[m] = w end
    w[#w + 1] = id
    w[#w + 1] = #fold[3]
    out[e] = #fold[3]
  end
end
for m, w in pairs(writes) do
  if lasts[m] then
    w[#w + 1] = '^'
    w[#w + 1] = lasts[m]
  end
  redis.call('HSET', KEYS[m], unpack(w))
  redis.call('EXPIRE', KEYS[m], ARGV[3])
end
redis.call('XACK', KEYS[2], ARGV[2], unpack(acks))
return out
""",
    key="KEYS[1]",
    value="ARGV[1]",
)

READ_FOLD_BATCH = """
-- KEYS: per match of the batch its marks (keys.folded) and its state (keys.match_state), in
-- pairs, then the tie keys (keys.tie). ARGV[1]: per match (in the order of KEYS) the event ids
-- of the batch and the index in KEYS of its tie key (0: none), as JSON.
-- Returns per match {state or nil, the HMGET of its ids, its tie's JSON or nil: read only when
-- it has no state}.
local reads = cjson.decode(ARGV[1])
local out = {}
for i, read in ipairs(reads) do
  local state = redis.call('GET', KEYS[2 * i])
  local tie = false
  if (not state or state == '') and read[2] > 0 then tie = redis.call('GET', KEYS[read[2]]) end
  out[i] = {state, redis.call('HMGET', KEYS[2 * i - 1], unpack(read[1])), tie}
end
return out
"""
