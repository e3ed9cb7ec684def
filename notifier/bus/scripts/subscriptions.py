"""The subscription store's writes that must be one step (``notifier.bus.subscriptions``)."""

from __future__ import annotations

# The per-owner cap, checked and the subscription written in one step: 300 concurrent creates
# at 9,900 of 10,000 stored made 10,028 when the count and the write were separate commands.
# KEYS: owner set, record, version, then the index sets; ARGV: limit, id, record.
CREATE_CAPPED = """
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[1], ARGV[2])
for i = 4, #KEYS do redis.call('SADD', KEYS[i], ARGV[2]) end
redis.call('INCR', KEYS[3])
return 1
"""
