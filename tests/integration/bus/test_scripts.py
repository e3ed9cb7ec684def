"""Every Lua script of notifier.bus.scripts compiles on the server, and the retry line's head
is made one way whether an alert is moved from a held line or advanced from the queue."""

from __future__ import annotations

import importlib
import pkgutil

import orjson
import pytest
from redis.asyncio import Redis

from notifier.bus import scripts
from notifier.bus.scripts import delivery

pytestmark = pytest.mark.integration


def _every_script() -> dict[str, str]:
    out = {}
    for info in pkgutil.iter_modules(scripts.__path__):
        module = importlib.import_module(f"{scripts.__name__}.{info.name}")
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str) and "redis.call" in value:
                out[f"{info.name}.{name}"] = value
    return out


def test_the_package_holds_the_scripts() -> None:
    found = _every_script()
    assert {"leases.ACQUIRE", "commits.COMMIT_POLL", "delivery.BUNDLE", "budget.TAKE"} <= set(found)


async def test_every_script_compiles(redis: Redis) -> None:
    for name, source in _every_script().items():
        assert await redis.script_load(source), name


async def test_a_moved_alert_and_an_advanced_one_make_the_same_head(redis: Redis) -> None:
    due, jobs, queue, line, held = "t:due", "t:jobs", "t:queue", "t:line", "t:held"
    item = orjson.dumps({"a": "a1", "d": 10, "g": "m", "m": ""})
    await redis.rpush(line, item)
    await redis.zadd(held, {"s1": 10})
    moved = await redis.eval(delivery.MOVE, 5, held, line, due, jobs, queue, "s1", "20", "10")
    assert moved == [b"a1"]
    head = orjson.loads(await redis.hget(jobs, "s1"))
    assert head == {"alert": "a1", "attempt": 0, "first_ms": 20, "error": ""}
    assert await redis.zscore(due, "s1") == 20
    await redis.rpush(queue, "a2")
    nxt = await redis.eval(delivery.ADVANCE, 3, due, jobs, queue, "s1", "a1", "30")
    assert nxt == b"a2"
    head = orjson.loads(await redis.hget(jobs, "s1"))
    assert head == {"alert": "a2", "attempt": 0, "first_ms": 30, "error": ""}
    assert await redis.zscore(due, "s1") == 30
