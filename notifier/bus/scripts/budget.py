"""A provider's shared request budget and pause (``notifier.bus.budget``)."""

from __future__ import annotations

TAKE = """
-- KEYS: minute counter, day counter, pause. ARGV: per minute, per day, ms left in the minute,
-- ms left in the day. Returns 0 (taken) or the ms to wait.
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return paused end
local minute = tonumber(redis.call('GET', KEYS[1]) or '0')
if minute >= tonumber(ARGV[1]) then return tonumber(ARGV[3]) end
local day = tonumber(redis.call('GET', KEYS[2]) or '0')
if day >= tonumber(ARGV[2]) then return tonumber(ARGV[4]) end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3] + 1000)
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4] + 1000)
return 0
"""

PAUSE = """
-- KEYS: pause. ARGV: ms. Keeps the longer of the current and the new pause.
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
"""
