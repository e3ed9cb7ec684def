"""The aggregator's latency histogram, observed a batch at a time, reads as prometheus_client's
own histogram does with the same values one by one; and alerts are counted by kind."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from notifier import metrics
from notifier.metrics import LATENCY_BUCKETS, BulkHistogram

values = st.lists(
    st.one_of(st.sampled_from([0.0, *LATENCY_BUCKETS]), st.floats(0, 4000, allow_nan=False)),
    max_size=50,
)


@given(batches=st.lists(values, max_size=5))
def test_bulk_histogram_reads_as_prometheus_own(batches: list[list[float]]) -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    bulk = BulkHistogram("h_seconds", "doc", LATENCY_BUCKETS)
    ours.register(bulk)  # type: ignore[arg-type]
    one_by_one = Histogram("h_seconds", "doc", buckets=LATENCY_BUCKETS, registry=theirs)
    for batch in batches:
        bulk.observe_many(batch)
        for v in batch:
            one_by_one.observe(v)
    assert generate_latest(ours) == generate_latest(theirs)


def _sample(name: str, **labels: str) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return value or 0.0


def test_emitted_counts_each_alert_and_its_latency() -> None:
    now = datetime.now(UTC)
    before = _sample("notifier_alerts_total", kind="goal")
    count = _sample("notifier_event_to_alert_seconds_count")
    fast = _sample("notifier_event_to_alert_seconds_bucket", le="0.005")
    metrics.emitted(
        [
            ("goal", now, now),
            ("goal", now, now + timedelta(seconds=2)),
            ("result", now, now - timedelta(seconds=1)),  # a clock step back counts as 0 s
        ]
    )
    assert _sample("notifier_alerts_total", kind="goal") == before + 2
    assert _sample("notifier_event_to_alert_seconds_count") == count + 3
    assert _sample("notifier_event_to_alert_seconds_bucket", le="0.005") == fast + 2


@given(batches=st.lists(st.tuples(st.sampled_from(["webhook", "slack"]), values), max_size=5))
def test_labelled_bulk_histogram_reads_as_prometheus_own(
    batches: list[tuple[str, list[float]]],
) -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    bulk = BulkHistogram("h_seconds", "doc", LATENCY_BUCKETS, ["channel"])
    ours.register(bulk)  # type: ignore[arg-type]
    one_by_one = Histogram(
        "h_seconds", "doc", ["channel"], buckets=LATENCY_BUCKETS, registry=theirs
    )
    for channel, batch in batches:
        bulk.observe_many(batch, (channel,))
        child = one_by_one.labels(channel)  # a series from its first batch, empty or not
        for v in batch:
            child.observe(v)
    assert generate_latest(ours) == generate_latest(theirs)


async def test_tallied_deliveries_are_counted_and_timed_within_a_flush() -> None:
    tally = metrics.DeliveryTally()
    emitted = datetime.now(UTC) - timedelta(seconds=3)
    before = _sample("notifier_deliveries_total", channel="tally", outcome="delivered")
    slow = _sample("notifier_alert_to_delivery_seconds_bucket", channel="tally", le="2.5")
    for _ in range(3):
        tally.delivered("tally", emitted)
    assert _sample("notifier_deliveries_total", channel="tally", outcome="delivered") == before
    tally.flush()
    assert _sample("notifier_deliveries_total", channel="tally", outcome="delivered") == before + 3
    assert _sample("notifier_alert_to_delivery_seconds_count", channel="tally") >= 3
    # 3 s late: in no bucket up to 2.5 s
    assert _sample("notifier_alert_to_delivery_seconds_bucket", channel="tally", le="2.5") == slow
    for _ in range(metrics.DeliveryTally.FLUSH_AT):  # a full batch goes at once
        tally.delivered("tally", emitted)
    total = before + 3 + metrics.DeliveryTally.FLUSH_AT
    assert _sample("notifier_deliveries_total", channel="tally", outcome="delivered") == total
    tally.delivered("tally", emitted)  # and what is left, within FLUSH_S on the loop
    await asyncio.sleep(metrics.DeliveryTally.FLUSH_S + 0.2)
    assert _sample("notifier_deliveries_total", channel="tally", outcome="delivered") == total + 1
