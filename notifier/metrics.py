"""Prometheus metrics of every stage: what the workers count, and gauges read off Redis.

Counters and histograms live in the process that does the work (``notifier run`` or one worker);
the API serves them at ``/metrics`` together with gauges it refreshes from Redis at each scrape
(consumer lag and pending per group, dead-letter sizes), which are the same whichever process
reads them. A worker running alone exposes its own counters on ``metrics_port``.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from notifier.bus import keys, streams
from notifier.settings import Settings

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
DLQ_STAGES = ("feed", "aggregator", "dispatcher", "delivery")
GROUPS = ((keys.GROUP_AGGREGATOR, keys.events), (keys.GROUP_DISPATCHER, keys.alerts))
# Seconds: from a few milliseconds in-process to a poll interval and a retry schedule.
disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: noise
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)

POLLS = Counter(
    "notifier_polls_total", "Feed polls, by provider and outcome", ["provider", "outcome"]
)
POLL_SECONDS = Histogram(
    "notifier_poll_duration_seconds", "Time of one poll (fetch, parse, commit)", ["provider"]
)
EVENTS = Counter("notifier_events_total", "Events published, by type", ["type"])
ALERTS = Counter("notifier_alerts_total", "Alerts emitted, by kind", ["kind"])
DELIVERIES = Counter(
    "notifier_deliveries_total", "Delivery attempts, by channel and outcome", ["channel", "outcome"]
)
RETRIES = Counter("notifier_delivery_retries_total", "Deliveries scheduled again", ["channel"])
DEAD_LETTERS = Counter("notifier_dead_letters_total", "Entries dead-lettered", ["stage"])
FEED_TO_EVENT = Histogram(
    "notifier_feed_to_event_seconds",
    "From the feed's time of a change (or its poll) to the event's publication",
    buckets=LATENCY_BUCKETS,
)


class BulkHistogram:
    """A histogram observed a batch at a time: one lock per batch, not two per value
    (``Histogram.observe``), for the aggregator's one latency per alert and the dispatcher's
    one per delivery. Exposed as ``prometheus_client``'s own histogram is (``_bucket`` per
    ``le``, ``_count``, ``_sum``, per label values)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Sequence[float],
        labelnames: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = list(labelnames)
        self.bounds = [*buckets, math.inf]
        self._series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}
        if not self.labelnames:  # a histogram without labels shows zeros before any value
            self._state(())
        self._lock = threading.Lock()

    def _state(self, labels: tuple[str, ...]) -> tuple[list[int], list[float]]:
        state = self._series.get(labels)
        if state is None:
            state = self._series[labels] = ([0] * len(self.bounds), [0.0])
        return state

    def observe_many(self, values: Iterable[float], labels: tuple[str, ...] = ()) -> None:
        """Observe each value (a bucket is the first whose bound is at least the value)."""
        bounds = self.bounds
        with self._lock:  # the sum in the same order as one by one: floats, not reals
            counts, total = self._state(labels)
            running = total[0]
            for value in values:
                counts[bisect.bisect_left(bounds, value)] += 1
                running += value
            total[0] = running

    def collect(self) -> Iterator[HistogramMetricFamily]:
        """The histogram as a scrape reads it (cumulative buckets)."""
        with self._lock:
            series = [(k, list(c), t[0]) for k, (c, t) in self._series.items()]
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, counts, total in series:
            cumulative, running = [], 0
            for bound, n in zip(self.bounds, counts, strict=True):
                running += n
                cumulative.append((floatToGoString(bound), running))  # type: ignore[no-untyped-call]
            family.add_metric(list(labels), cumulative, total)
        yield family


EVENT_TO_ALERT = BulkHistogram(
    "notifier_event_to_alert_seconds",
    "From an event's detection to its alert's emission",
    LATENCY_BUCKETS,
)
REGISTRY.register(EVENT_TO_ALERT)
ALERT_TO_DELIVERY = BulkHistogram(
    "notifier_alert_to_delivery_seconds",
    "From an alert's emission to its delivery, by channel",
    LATENCY_BUCKETS,
    ["channel"],
)
REGISTRY.register(ALERT_TO_DELIVERY)
LAG = Gauge("notifier_consumer_lag", "Entries not yet read by a consumer group", ["group"])
PENDING = Gauge("notifier_consumer_pending", "Entries read but not acked, by group", ["group"])
SSE_CLIENTS = Gauge("notifier_sse_clients", "Event-stream clients connected to this API")
SSE_DROPPED = Gauge(
    "notifier_sse_dropped", "Event-stream clients dropped as too slow since this API started"
)
DLQ_SIZE = Gauge("notifier_dlq_entries", "Entries in a dead-letter stream", ["stage"])


def _seconds(since: datetime, now: datetime | None = None) -> float:
    return max(0.0, ((now or datetime.now(UTC)) - since).total_seconds())


def polled(provider: str, outcome: str, seconds: float) -> None:
    """Count one poll of ``provider``: ok, error, parse_error, anomaly, lease_lost."""
    POLLS.labels(provider, outcome).inc()
    POLL_SECONDS.labels(provider).observe(seconds)


def published(types: Iterable[str], occurred: Iterable[datetime], now: datetime) -> None:
    """Count published events and observe feed→event latency of each."""
    for kind in types:
        EVENTS.labels(kind).inc()
    for at in occurred:
        FEED_TO_EVENT.observe(_seconds(at, now))


_ALERT_KINDS: dict[str, Any] = {}  # kind -> its child counter (labels() costs a lock a call)


def emitted(alerts: Iterable[tuple[str, datetime, datetime]]) -> None:
    """Count alerts (kind, detected at, emitted at) and observe each one's event→alert latency:
    a batch at a time (the aggregator's commit chunk), each counter touched once a kind."""
    kinds: dict[str, int] = {}
    seconds = []
    for kind, detected_at, emitted_at in alerts:
        kinds[kind] = kinds.get(kind, 0) + 1
        s = (emitted_at - detected_at).total_seconds()
        seconds.append(s if s > 0.0 else 0.0)
    for kind, n in kinds.items():
        child = _ALERT_KINDS.get(kind)
        if child is None:
            child = _ALERT_KINDS[kind] = ALERTS.labels(kind)
        child.inc(n)
    EVENT_TO_ALERT.observe_many(seconds)


_DELIVERIES: dict[tuple[str, str], Any] = {}  # (channel, outcome) -> its child counter


def delivered(
    channel: str, outcome: str, emitted_at: datetime | None = None, now: datetime | None = None
) -> None:
    """Count one delivery attempt (delivered, failed, dead, skipped); time it when delivered."""
    _count(channel, outcome, 1)
    if emitted_at is not None and outcome == "delivered":
        ALERT_TO_DELIVERY.observe_many([_seconds(emitted_at, now)], (channel,))


def _count(channel: str, outcome: str, n: int) -> None:
    child = _DELIVERIES.get((channel, outcome))
    if child is None:  # labels() costs a lock a call: each child looked up once
        child = _DELIVERIES[(channel, outcome)] = DELIVERIES.labels(channel, outcome)
    child.inc(n)


class DeliveryTally:
    """Deliveries counted and timed a batch at a time (``delivered`` then ``flush``): one alert
    to 100,000 subscriptions is as many deliveries, and counting each in the counter and the
    histogram (two locks, a bucket search in Python, a datetime) cost 4 % of a delivery. What
    is tallied reaches the metrics within ``FLUSH_S`` (a timer on the running loop), or at once
    once ``FLUSH_AT`` deliveries wait."""

    FLUSH_S = 1.0
    FLUSH_AT = 1024

    def __init__(self) -> None:
        self._seconds: dict[str, list[float]] = {}  # channel -> latencies not yet observed
        self._waiting = 0
        self._since: tuple[datetime, float] = (datetime.min, 0.0)  # emitted_at, its timestamp
        self._timer: asyncio.TimerHandle | None = None

    def delivered(self, channel: str, emitted_at: datetime) -> None:
        """One delivery of an alert emitted at ``emitted_at``, counted and timed soon."""
        since = self._since
        if since[0] is not emitted_at:  # the alerts of a fan-out share it
            since = self._since = (emitted_at, emitted_at.timestamp())
        s = time.time() - since[1]
        seconds = self._seconds.get(channel)
        if seconds is None:
            seconds = self._seconds[channel] = []
        seconds.append(s if s > 0.0 else 0.0)
        self._waiting += 1
        if self._waiting >= self.FLUSH_AT:
            self.flush()
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(self.FLUSH_S, self.flush)
            except RuntimeError:  # no loop to flush later: now
                self.flush()

    def flush(self) -> None:
        """Count and time everything tallied so far."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        tallied, self._seconds, self._waiting = self._seconds, {}, 0
        for channel, seconds in tallied.items():
            _count(channel, "delivered", len(seconds))
            ALERT_TO_DELIVERY.observe_many(seconds, (channel,))


TALLY = DeliveryTally()


def retried(channel: str) -> None:
    """Count one delivery scheduled for another try."""
    RETRIES.labels(channel).inc()


def dead_lettered(stage: str) -> None:
    """Count one entry parked in a dead-letter stream."""
    DEAD_LETTERS.labels(stage).inc()


async def refresh(r: aioredis.Redis, settings: Settings) -> None:
    """Read lag, pending and dead-letter sizes off Redis into the gauges."""
    for group, stream_of in GROUPS:
        waiting = pending = 0
        for p in range(settings.streams.partitions):
            w, n = await streams.lag(r, stream_of(p), group)
            waiting, pending = waiting + w, pending + n
        LAG.labels(group).set(waiting)
        PENDING.labels(group).set(pending)
    for stage in DLQ_STAGES:
        DLQ_SIZE.labels(stage).set(int(await r.xlen(keys.dlq(stage))))


def exposition(registry: CollectorRegistry = REGISTRY) -> bytes:
    """The registry in the Prometheus text format."""
    return generate_latest(registry)


_served: set[int] = set()
_lock = threading.Lock()


def serve(port: int, host: str = "127.0.0.1") -> bool:
    """Expose this process's metrics on ``host:port`` (a daemon thread); once per port."""
    with _lock:
        if port in _served:
            return False
        start_http_server(port, addr=host)
        _served.add(port)
    log.info("metrics_serving", extra={"host": host, "port": port})
    return True
