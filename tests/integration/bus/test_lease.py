"""Leases with fencing tokens: one holder at a time, and a stale holder cannot write."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from notifier.bus import keys
from notifier.bus.lease import Lease, holds, lease_value
from notifier.bus.scripts.leases import fenced, is_lease_lost

pytestmark = pytest.mark.integration

NAME = keys.lease("poll", "m1")
FENCED_WRITE = fenced(
    """
redis.call('SET', KEYS[2], ARGV[2])
return 1
""",
    key="KEYS[1]",
    value="ARGV[1]",
)


async def _fenced_write(r: Redis, owner: str, token: int, value: str) -> object:
    return await r.eval(FENCED_WRITE, 2, NAME, "nf:fenced", lease_value(owner, token), value)


async def _acquire_when_expired(r: Redis, owner: str) -> int:
    """Try until the previous holder's TTL runs out (bounded: a lost expiry fails the test)."""
    async with asyncio.timeout(5):
        for _ in itertools.count():
            token = await Lease.acquire(r, NAME, owner, 10_000)
            if token is not None:
                return token
            await asyncio.sleep(0.005)
    raise AssertionError("unreachable")


async def test_only_one_of_two_owners_acquires(redis: Redis) -> None:
    tokens = await asyncio.gather(
        Lease.acquire(redis, NAME, "a", 10_000), Lease.acquire(redis, NAME, "b", 10_000)
    )
    assert sorted(tokens, key=lambda t: t is None) == [1, None]
    winner = "a" if tokens[0] else "b"
    assert await holds(redis, NAME, winner, 1)
    assert await redis.get(NAME) == f"{winner}:1".encode()
    # Even the holder cannot acquire again: it renews instead.
    assert await Lease.acquire(redis, NAME, winner, 10_000) is None


async def test_renew_only_by_the_holder(redis: Redis) -> None:
    token = await Lease.acquire(redis, NAME, "a", 1000)
    assert token is not None
    assert not await Lease.renew(redis, NAME, "b", token, 60_000)
    assert not await Lease.renew(redis, NAME, "a", token + 1, 60_000)
    assert await redis.pttl(NAME) <= 1000
    assert await Lease.renew(redis, NAME, "a", token, 60_000)
    assert await redis.pttl(NAME) > 1000


async def test_expiry_hands_over_with_a_bigger_token_and_fences_the_old_holder(
    redis: Redis,
) -> None:
    old = await Lease.acquire(redis, NAME, "a", 30)
    assert old is not None
    assert await _fenced_write(redis, "a", old, "from a") == 1
    new = await _acquire_when_expired(redis, "b")
    assert new > old
    assert not await holds(redis, NAME, "a", old)
    assert await holds(redis, NAME, "b", new)
    # "a" woke up late: every move it makes fails, and it cannot disturb "b".
    assert not await Lease.renew(redis, NAME, "a", old, 10_000)
    assert not await Lease.release(redis, NAME, "a", old)
    with pytest.raises(ResponseError) as err:
        await _fenced_write(redis, "a", old, "stale write")
    assert is_lease_lost(err.value)
    assert await redis.get("nf:fenced") == b"from a"
    assert await _fenced_write(redis, "b", new, "from b") == 1
    assert await redis.get("nf:fenced") == b"from b"


async def test_release_frees_the_lease_for_the_next_owner(redis: Redis) -> None:
    first = await Lease.acquire(redis, NAME, "a", 10_000)
    assert first is not None
    assert await Lease.release(redis, NAME, "a", first)
    assert not await holds(redis, NAME, "a", first)
    second = await Lease.acquire(redis, NAME, "b", 10_000)
    assert second is not None and second > first
    assert await redis.pttl(keys.lease_token(NAME)) > 0


def test_token_counter_shares_the_lease_hash_tag() -> None:
    lease_key = keys.lease("aggregator", keys.tag(7))
    assert keys.lease_token(lease_key).startswith(lease_key)
    assert not is_lease_lost(ValueError("LEASELOST"))
