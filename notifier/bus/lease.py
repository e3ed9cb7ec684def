"""A Redis lease with fencing tokens: one replica at a time polls a match or consumes a partition.

The lease key holds ``"owner:token"`` with a TTL; ``token`` comes from INCR of a counter next to
it (:func:`notifier.bus.keys.lease_token`), so each new holder gets a bigger token than every holder
before it. Leases are named by their full key (``keys.lease(kind, name)``,
``keys.match_lease(p, match)``, ...): a key carrying a partition's hash tag keeps the lease and
its counter in the partition's cluster slot, so a script may check it next to the data.

Fencing a write: a holder that paused (GC, network) may still believe it holds the lease after
it expired. Every write it makes must therefore check the lease *atomically with the write*,
inside the same script: :func:`notifier.bus.scripts.leases.fenced` puts the check in front of a
script (by default the lease is its last key and the lease value its last argument)::

    SCRIPT = fenced('''
    redis.call('SET', KEYS[1], ARGV[1])      -- reached only while the lease is ours
    ''')

The check raises a Redis error whose message starts with ``LEASELOST``: the script stops
before writing anything (scripts are not rolled back, hence "before any write"), and redis-py
raises ``ResponseError``; :func:`~notifier.bus.scripts.leases.is_lease_lost` recognises it.
The Lua of the lease itself (acquire, renew, release) is in :mod:`notifier.bus.scripts.leases`.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from notifier.bus import keys
from notifier.bus.connect import translate_errors
from notifier.bus.scripts.leases import ACQUIRE, RELEASE, RENEW, RETIRE

# The counter outlives every lease by far; it only has to grow while anyone may hold a token.
TOKEN_TTL_MS = 30 * 86_400_000


def lease_value(owner: str, token: int) -> str:
    """What the lease key holds while ``owner`` holds it with ``token``."""
    return f"{owner}:{token}"


async def _run(
    r: aioredis.Redis, source: str, key_names: Sequence[str], args: Sequence[str]
) -> object:
    # register_script: EVALSHA, loading the script on NOSCRIPT (e.g. after a server restart).
    script = r.register_script(source)
    with translate_errors(f"lease {key_names[0]}"):
        return await script(keys=list(key_names), args=list(args))


async def holds(r: aioredis.Redis, name: str, owner: str, token: int) -> bool:
    """Whether ``owner`` still holds lease ``name`` with ``token`` (a stale token does not)."""
    with translate_errors(f"lease {name}"):
        current = await r.get(name)
    return current == lease_value(owner, token).encode()


class Lease:
    """Acquire, renew and release leases by key; all state lives in Redis (no instance needed)."""

    @staticmethod
    async def acquire(r: aioredis.Redis, name: str, owner: str, ttl_ms: int) -> int | None:
        """Take lease ``name`` for ``ttl_ms`` if free (SET NX PX); the fencing token, or None."""
        args = [owner, str(ttl_ms), str(TOKEN_TTL_MS)]
        token = await _run(r, ACQUIRE, [name, keys.lease_token(name)], args)
        return None if token is None else int(str(token))

    @staticmethod
    async def renew(r: aioredis.Redis, name: str, owner: str, token: int, ttl_ms: int) -> bool:
        """Extend the lease to ``ttl_ms`` from now, only if it is still ours."""
        args = [lease_value(owner, token), str(ttl_ms)]
        return await _run(r, RENEW, [name], args) == 1

    @staticmethod
    async def release(r: aioredis.Redis, name: str, owner: str, token: int) -> bool:
        """Give the lease up, only if it is still ours (a successor's lease is left alone)."""
        return await _run(r, RELEASE, [name], [lease_value(owner, token)]) == 1

    @staticmethod
    async def retire(r: aioredis.Redis, name: str, margin_ms: int) -> bool:
        """Forget the token counter of a lease nobody will take again (a swept match's): now if
        the lease is free, else ``margin_ms`` after it lapses; True if it went now."""
        return await _run(r, RETIRE, [name, keys.lease_token(name)], [str(margin_ms)]) == 1

    holds = staticmethod(holds)
