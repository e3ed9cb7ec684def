"""What a fan-out learns of its subscriptions before sending (RetryStore.state), on the suite's
Redis-protocol server: the marks of an alert already delivered, and the subscriptions with a
delivery waiting (a head), whether the partition has few heads (read whole) or more than the
fan-out has subscriptions (looked up by id)."""

from __future__ import annotations

from redis.asyncio import Redis

from tests.integration.deliver.test_delivery_support import make_alert
from workers.deliver.retry import RetryJob, RetryStore

P = 0


async def test_marks_and_heads_are_found_however_many_heads_there_are(redis: Redis) -> None:
    store = RetryStore(redis, alert_ttl_s=60, mark_ttl_s=60)
    alert = make_alert()
    ids = [f"sub_{i:020x}" for i in range(10)]
    assert await store.state(P, alert.id, ids) == (set(), set())
    await store.mark(P, alert.id, ids[0], 1)
    await store.mark(P, alert.id, ids[1], 1)
    for sub_id in (ids[2], ids[3], "sub_elsewhere"):
        await store.schedule(P, alert, RetryJob(sub_id, alert.id, 1, 1), 10_000)
    done, waiting = await store.state(P, alert.id, ids)
    assert done == {ids[0], ids[1]} and waiting == {ids[2], ids[3]}, "few heads: read whole"
    for i in range(30):  # more heads than the fan-out has subscriptions
        await store.schedule(P, alert, RetryJob(f"sub_other{i}", alert.id, 1, 1), 10_000)
    done, waiting = await store.state(P, alert.id, ids)
    assert done == {ids[0], ids[1]} and waiting == {ids[2], ids[3]}, "many heads: by id"
    assert await store.state(P, "another-alert", ids[2:4]) == (set(), {ids[2], ids[3]})
