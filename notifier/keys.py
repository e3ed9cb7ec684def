"""Every Redis key and stream name, in one place. Nothing else formats them.

Keys that one atomic script touches together share a hash tag ``{p}`` (the partition), so the
same code runs on a Redis/Valkey Cluster: a match's events, its state, its alerts and its
idempotency marks all live in one slot.
"""

from __future__ import annotations

import zlib

PREFIX = "nf"
GROUP_AGGREGATOR = "aggregator"
GROUP_DISPATCHER = "dispatcher"


def partition_of(routing_key: str, partitions: int) -> int:
    """Stable partition of a tie or match key (crc32, not Python's salted hash)."""
    return zlib.crc32(routing_key.encode()) % partitions


def tag(p: int) -> str:
    """The hash tag of partition p."""
    return "{" + str(p) + "}"


def events(p: int) -> str:
    """Event stream of partition p."""
    return f"{PREFIX}:events:{tag(p)}"


def alerts(p: int) -> str:
    """Alert stream of partition p."""
    return f"{PREFIX}:alerts:{tag(p)}"


def dlq(stage: str) -> str:
    """Dead-letter stream of a stage (feed, aggregator, dispatcher, delivery)."""
    return f"{PREFIX}:dlq:{stage}"


def snapshot(p: int, match: str) -> str:
    """Last accepted snapshot of a match (JSON)."""
    return f"{PREFIX}:match:{tag(p)}:{match}:snapshot"


def match_state(p: int, match: str) -> str:
    """Folded state of a match, tie context included (JSON)."""
    return f"{PREFIX}:state:{tag(p)}:{match}"


def tie(p: int, tie_id: str) -> str:
    """Definition of a two-legged tie (JSON)."""
    return f"{PREFIX}:tie:{tag(p)}:{tie_id}"


def seen(p: int, stage: str, item_id: str) -> str:
    """Idempotency mark: item already processed by stage (with TTL)."""
    return f"{PREFIX}:seen:{tag(p)}:{stage}:{item_id}"


def lease(kind: str, name: str) -> str:
    """Lease held by one replica (a match being polled, a partition being consumed)."""
    return f"{PREFIX}:lease:{kind}:{name}"


def lease_token(lease_key: str) -> str:
    """Fencing-token counter of a lease key (same hash tag, so same cluster slot)."""
    return f"{lease_key}:token"


def watch() -> str:
    """Hash of tracked matches: match key -> JSON watch spec."""
    return f"{PREFIX}:watch"


def ties_index() -> str:
    """Hash of tie id -> JSON definition (for listing; the per-partition key is authoritative)."""
    return f"{PREFIX}:ties"


def heartbeat(worker: str, instance: str) -> str:
    """Heartbeat of one worker instance (with TTL)."""
    return f"{PREFIX}:heartbeat:{worker}:{instance}"


def heartbeats_pattern() -> str:
    """Pattern matching every heartbeat key."""
    return f"{PREFIX}:heartbeat:*"


def heartbeat_id(key: str | bytes) -> str:
    """``worker:instance`` of a heartbeat key (the inverse of :func:`heartbeat`)."""
    text = key.decode() if isinstance(key, bytes) else key
    return text.removeprefix(f"{PREFIX}:heartbeat:")


def budget(provider: str, window: str) -> str:
    """Request counter of a provider for a time window."""
    return f"{PREFIX}:budget:{provider}:{window}"


def match_lease(p: int, match: str) -> str:
    """Lease of the replica polling one match (same slot as the match's snapshot and events)."""
    return f"{PREFIX}:lease:{tag(p)}:poll:{match}"


def partition_lease(p: int, worker: str) -> str:
    """Lease of the replica consuming one partition for a worker (aggregator, dispatcher)."""
    return f"{PREFIX}:lease:{tag(p)}:{worker}"


def match_done(p: int, match: str) -> str:
    """Set when a match is over and its poller has published its last event."""
    return f"{PREFIX}:done:{tag(p)}:{match}"


def match_seen_pattern(p: int, match: str) -> str:
    """Pattern of every idempotency mark of one match's events, alerts and deliveries."""
    return f"{PREFIX}:seen:{tag(p)}:*{match}:*"
