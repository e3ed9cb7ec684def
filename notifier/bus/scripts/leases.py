"""The lease's own scripts, and the check every fenced write embeds (``notifier.bus.lease``).

A fenced script starts with :func:`fenced`: ``check_lease`` raises a Redis error whose message
starts with ``LEASELOST`` before anything is written (scripts are not rolled back, hence "before
any write"); redis-py raises it as ``ResponseError``, and :func:`is_lease_lost` recognises it.
"""

from __future__ import annotations

from redis.exceptions import ResponseError

LEASE_LOST = "LEASELOST"

CHECK_LEASE = """
local function check_lease(key, expected)
  if redis.call('GET', key) ~= expected then
    error({err = 'LEASELOST lease ' .. key .. ' is no longer held as ' .. tostring(expected)})
  end
end
"""
"""Lua defining ``check_lease(lease_key, expected_value)``: raises LEASELOST unless it matches."""

# KEYS: lease, token counter. ARGV: owner, ttl ms, counter ttl ms. The new token, or false.
ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return token
"""

# KEYS: lease. ARGV: lease value, ttl ms. 1 if still ours (and extended), else 0.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS: lease. ARGV: lease value. 1 if it was ours (and is gone), else 0.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: lease, token counter. ARGV: margin ms. The counter of a lease nobody takes again: gone
# when the lease is free, else lapsing ARGV[1] after the lease (whose holder's token it must
# outlive); a new acquire sets its long TTL again. 1 if the counter went, 0 if it lapses later.
RETIRE = """
local left = redis.call('PTTL', KEYS[1])
if left == -2 then
  redis.call('DEL', KEYS[2])
  return 1
end
if left >= 0 then redis.call('PEXPIRE', KEYS[2], left + tonumber(ARGV[1])) end
return 0
"""


def fenced(script: str, *, key: str = "KEYS[#KEYS]", value: str = "ARGV[#ARGV]") -> str:
    """``script`` run only while the lease named by ``key`` holds ``value`` (Lua expressions:
    by default the last key and the last argument), checked before the script writes anything.
    A writer that lost its lease (paused, cut off) cannot write behind the new owner's back."""
    return CHECK_LEASE + f"check_lease({key}, {value})\n" + script


def is_lease_lost(exc: BaseException) -> bool:
    """Whether a script failed because :data:`CHECK_LEASE` found the lease lost."""
    return isinstance(exc, ResponseError) and str(exc).startswith(LEASE_LOST)
