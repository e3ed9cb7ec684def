"""Every Redis key and stream name, in one place. Nothing else formats them.

Keys that one atomic script touches together share a hash tag ``{p}`` (the partition), so the
same code runs on a Redis/Valkey Cluster: a match's events, its state, its alerts and its
idempotency marks all live in one slot.
"""

from __future__ import annotations

import functools
import zlib

from notifier.bus.codec import text

PREFIX = "nf"
GROUP_AGGREGATOR = "aggregator"
GROUP_DISPATCHER = "dispatcher"
GROUP_DELIVERER = "deliverer"
SHARD_BASE = 1024  # fan-out shard s is consumed as partition SHARD_BASE + s (partitions: < 1024)


def partition_of(routing_key: str, partitions: int) -> int:
    """Stable partition of a tie or match key (crc32, not Python's salted hash)."""
    return zlib.crc32(routing_key.encode()) % partitions


@functools.lru_cache(maxsize=4096)
def partition_of_stream(stream: str) -> int:
    """The partition of a stream name (``nf:events:{p}``): parsed once a name, not per entry."""
    return int(stream.rsplit("{", 1)[1].rstrip("}"))


def tag(p: int) -> str:
    """The hash tag of partition p."""
    return "{" + str(p) + "}"


def events(p: int) -> str:
    """Event stream of partition p."""
    return f"{PREFIX}:events:{tag(p)}"


def alerts(p: int) -> str:
    """Alert stream of partition p."""
    return f"{PREFIX}:alerts:{tag(p)}"


def deliver(p: int) -> str:
    """Fan-out shard stream (``p``: ``SHARD_BASE`` + shard): alerts for its subscribers."""
    return f"{PREFIX}:deliver:{tag(p)}"


def shard_of(sub_id: str, shards: int) -> int:
    """The fan-out shard of a subscription (crc32 of its id, stable across processes)."""
    return zlib.crc32(sub_id.encode()) % shards


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


def folded(p: int, match: str) -> str:
    """Hash of one match's folded events, the aggregator's idempotency marks: event id -> how
    many alerts it made (``"^"``: the alert stream id of the match's last alert). One key per
    match, so the retention deletes a match's marks with the match (with TTL besides)."""
    return seen(p, "fold", match)


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


def finished() -> str:
    """Sorted set of finished matches by the time (ms) they ended: the retention's queue."""
    return f"{PREFIX}:finished"


def heartbeat(worker: str, instance: str) -> str:
    """Heartbeat of one worker instance (with TTL)."""
    return f"{PREFIX}:heartbeat:{worker}:{instance}"


def heartbeats_pattern() -> str:
    """Pattern matching every heartbeat key."""
    return f"{PREFIX}:heartbeat:*"


def heartbeat_id(key: str | bytes) -> str:
    """``worker:instance`` of a heartbeat key (the inverse of :func:`heartbeat`)."""
    return text(key).removeprefix(f"{PREFIX}:heartbeat:")


def budget(provider: str, window: str) -> str:
    """Request counter of a provider for a time window (one slot per provider, with its pause)."""
    return f"{PREFIX}:budget:{{{provider}}}:{window}"


def provider_pause(provider: str) -> str:
    """Set (with a TTL) while every replica must leave a provider alone (429, Retry-After)."""
    return f"{PREFIX}:budget:{{{provider}}}:pause"


def poll_group_lease(provider: str, group: str) -> str:
    """Lease of the replica polling one group of a provider's matches (one bulk request)."""
    return f"{PREFIX}:lease:{{pollgroup}}:{provider}:{group}"


def poll_cadence() -> str:
    """Hash of ``provider:group`` -> JSON: the group's live interval now and why (status)."""
    return f"{PREFIX}:poll:cadence"


def pending_drop(p: int, match: str) -> str:
    """A score decrease seen without VAR evidence, waiting for confirmation (JSON, with TTL)."""
    return f"{PREFIX}:match:{tag(p)}:{match}:pending"


def match_lease(p: int, match: str) -> str:
    """Lease of the replica polling one match (same slot as the match's snapshot and events)."""
    return f"{PREFIX}:lease:{tag(p)}:poll:{match}"


@functools.lru_cache(maxsize=4096)  # asked before every send (the fence): made once
def partition_lease(p: int, worker: str) -> str:
    """Lease of the replica consuming one partition for a worker (aggregator, dispatcher)."""
    return f"{PREFIX}:lease:{tag(p)}:{worker}"


def members(worker: str) -> str:
    """Sorted set of a worker's live replicas, by last-seen time (ms): their fair share."""
    return f"{PREFIX}:members:{worker}"


def match_done(p: int, match: str) -> str:
    """Set when a match is over and its poller has published its last event."""
    return f"{PREFIX}:done:{tag(p)}:{match}"


# Subscriptions: every key shares one hash tag, so a change (record, owner set, indexes) is one
# MULTI even on a cluster, and matching an alert is one SUNION.
SUB_TAG = "{sub}"


def subscription(sub_id: str) -> str:
    """One subscription (JSON, secret included: only the dispatcher reads it back)."""
    return f"{PREFIX}:sub:{SUB_TAG}:id:{sub_id}"


def subscriptions_of(owner: str) -> str:
    """Set of the subscription ids of one owner (a token's hash)."""
    return f"{PREFIX}:sub:{SUB_TAG}:owner:{owner}"


def subscription_index(field: str, value: str) -> str:
    """Set of the enabled subscription ids following ``value`` (a team, match, tie, ...)."""
    return f"{PREFIX}:sub:{SUB_TAG}:idx:{field}:{value}"


def subscriptions_version() -> str:
    """Counter bumped on every subscription change (lets readers keep a cache)."""
    return f"{PREFIX}:sub:{SUB_TAG}:version"


def vapid_key() -> str:
    """The Web Push VAPID private key (PEM), made once and shared by every replica."""
    return f"{PREFIX}:webpush:vapid"


def email_key() -> str:
    """The key email unsubscribe links are signed with."""
    return f"{PREFIX}:email:key"


def email_digest(subscription: str, match: str) -> str:
    """Hash of alert id -> alert JSON: a subscription's digest of one match, until it is sent."""
    return f"{PREFIX}:email:digest:{subscription}:{match}"


def delivered(p: int, alert_id: str) -> str:
    """Hash of subscription id (or ``sink:<name>``) -> delivery time: an alert's deliveries
    done (with TTL; deleted with its match by the retention)."""
    return seen(p, "delivery", alert_id)


def retry_due(p: int) -> str:
    """Sorted set of subscription ids with a delivery waiting to be retried, by due time (ms)."""
    return f"{PREFIX}:retry:{tag(p)}:due"


def retry_jobs(p: int) -> str:
    """Hash of subscription id -> JSON of its delivery being retried (alert id, attempt, ...)."""
    return f"{PREFIX}:retry:{tag(p)}:jobs"


def retry_queue(p: int, sub_id: str) -> str:
    """List of alert ids waiting behind a subscription's retried delivery (keeps its order)."""
    return f"{PREFIX}:retry:{tag(p)}:queue:{sub_id}"


def retry_alert(p: int, alert_id: str) -> str:
    """An alert's JSON kept for its deliveries still to be retried (with TTL)."""
    return f"{PREFIX}:retry:{tag(p)}:alert:{alert_id}"


def held_due(p: int) -> str:
    """Sorted set of recipients (subscription ids, ``sink:<name>``) with alerts held back for a
    spoiler delay, by the due time (ms) of the first."""
    return f"{PREFIX}:held:{tag(p)}:due"


def held_line(p: int, recipient: str) -> str:
    """List of one recipient's held alerts, in order: JSON {a: alert id, d: due ms, m: mark}."""
    return f"{PREFIX}:held:{tag(p)}:line:{recipient}"


def held_marks(p: int, alert_id: str) -> str:
    """Hash of recipient -> 1: an alert already held (or elided) for them (with TTL)."""
    return f"{PREFIX}:held:{tag(p)}:mark:{alert_id}"


def live_board(sub_id: str, scope: str) -> str:
    """A live message of a subscription for one tie or match: its id and what it shows (JSON)."""
    return f"{PREFIX}:live:{SUB_TAG}:{sub_id}:{scope}"


def bot_chat(owner: str) -> str:
    """Hash of one chat's bot preferences (delay, language), by its owner id."""
    return f"{PREFIX}:bot:chat:{owner}"


def bot_offset(bot: str) -> str:
    """The next ``getUpdates`` offset of a long-polling bot (one per bot token's fingerprint)."""
    return f"{PREFIX}:bot:offset:{bot}"


def bot_seen(platform: str, request_id: str) -> str:
    """A signed request (or update) already answered: replays are refused (with TTL)."""
    return f"{PREFIX}:bot:seen:{platform}:{request_id}"


def bot_rate(scope: str, window: int) -> str:
    """Commands counted for a chat or a team (workspace, guild) in one minute (with TTL)."""
    return f"{PREFIX}:bot:rate:{scope}:{window}"


def follows() -> str:
    """What is followed beyond the settings file (``notifier follow``, ``/v1/follows``): a hash
    ``provider:league`` -> the follow (JSON)."""
    return f"{PREFIX}:follows"


def follows_version() -> str:
    """Bumped on every change of :func:`follows`: a running poller looks again when it moves."""
    return f"{PREFIX}:follows:version"


def poll_status(provider: str) -> str:
    """A provider's last poll: when, its outcome, when the next is due (a hash)."""
    return f"{PREFIX}:polls:{provider}"
