"""The aggregator's latency histogram, observed a batch at a time, reads as prometheus_client's
own histogram does with the same values one by one; and alerts are counted by kind."""

from __future__ import annotations

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
