"""Subscriptions, matching, retry timing, SSE positions and token checks: the pure parts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from notifier.api.auth import Auth, is_loopback, owner_of
from notifier.api.sse import AlertInfo, Filter, encode_position, id_key, parse_position
from notifier.channels.subscriptions import (
    DEFAULT_KINDS,
    FieldError,
    Subscription,
    SubscriptionPatch,
    SubscriptionSpec,
    alert_index,
    mask_url,
    merge_patch,
    team_names,
)
from notifier.domain.alerts import Alert
from notifier.domain.models import MatchStatus, Score
from notifier.errors import ChannelError, DeliveryError
from workers.deliver.retry import RetryJob, retry_delay
from workers.deliver.send import classify

NOW = datetime(2025, 2, 18, 20, 0, tzinfo=UTC)
TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUV"
ALIASES = {"Borussia Dortmund": "Dortmund"}


def alert(**overrides: Any) -> Alert:
    fields: dict[str, Any] = {
        "id": "a1",
        "kind": "goal",
        "text": "GOAL",
        "match": "api-football:1",
        "tie": "t1",
        "event": "e1",
        "competition": "UEFA Champions League",
        "home": "Atalanta",
        "away": "Dortmund",
        "status": MatchStatus.FIRST_HALF,
        "score": Score(home=1, away=0),
        "occurred_at": NOW,
        "detected_at": NOW,
        "emitted_at": NOW,
    }
    return Alert(**(fields | overrides))


def sub(**spec: Any) -> Subscription:
    spec.setdefault("channel", "ntfy")
    spec.setdefault("options", {"topic": "t"})
    return Subscription(
        id="sub_0", owner="o", spec=SubscriptionSpec(**spec), created_at=NOW, updated_at=NOW
    )


def field_of(exc: ValidationError) -> str:
    err = exc.errors()[0]
    cause = (err.get("ctx") or {}).get("error")
    return cause.field if isinstance(cause, FieldError) else ".".join(map(str, err["loc"]))


VALID = [
    {"channel": "webhook", "url": "https://example.com/h", "teams": ["Dortmund"]},
    {"channel": "slack", "url": "/services/T/B/x", "ties": ["t1"]},
    {"channel": "discord", "url": "https://discord.com/api/webhooks/1/x", "matches": ["m"]},
    {"channel": "telegram", "secret": TOKEN, "options": {"chat_id": "@goals"}, "teams": ["X"]},
    {"channel": "telegram", "secret": TOKEN, "options": {"chat_id": -100123}, "teams": ["X"]},
    {"channel": "ntfy", "options": {"topic": "goals", "priority": 5}, "competitions": ["UCL"]},
]


@pytest.mark.parametrize("spec", VALID)
def test_valid_specs(spec: dict[str, Any]) -> None:
    made = SubscriptionSpec(**spec)
    assert tuple(made.kinds) == DEFAULT_KINDS and "status" not in made.kinds


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"channel": "ntfy", "options": {"topic": "t"}}, "teams"),
        ({"channel": "webhook", "url": "/relative", "teams": ["X"]}, "url"),
        ({"channel": "webhook", "url": "https://x.io", "secret": "nope", "teams": ["X"]}, "secret"),
        ({"channel": "slack", "url": "/s", "secret": "x", "teams": ["X"]}, "secret"),
        ({"channel": "telegram", "url": "https://x.io", "teams": ["X"]}, "url"),
        ({"channel": "telegram", "secret": TOKEN, "options": {"chat_id": True}, "teams": ["X"]},
         "options.chat_id"),
        ({"channel": "telegram", "secret": TOKEN, "teams": ["X"],
          "options": {"chat_id": 1, "message_thread_id": "x"}}, "options.message_thread_id"),
        ({"channel": "ntfy", "options": {"topic": "t", "priority": 9}, "teams": ["X"]},
         "options.priority"),
        ({"channel": "ntfy", "url": "ntfy.sh", "options": {"topic": "t"}, "teams": ["X"]}, "url"),
        ({"channel": "ntfy", "options": {"topic": "t"}, "teams": [" "]}, "teams.0"),
        ({"channel": "ntfy", "options": {"topic": "t"}, "teams": ["X"] * 51}, "teams"),
    ],
)  # fmt: skip
def test_invalid_specs_name_the_field(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        SubscriptionSpec(**spec)
    assert field_of(err.value) == field


@pytest.mark.parametrize(
    ("channel", "url", "shown"),
    [
        ("slack", "https://hooks.slack.com/services/T0/B0/secret", "https://hooks.slack.com/***"),
        ("discord", "/api/webhooks/1/secret", "/***"),
        ("webhook", "https://example.com/h?token=s3cret", "https://example.com/h?***"),
        ("webhook", "https://example.com/h", "https://example.com/h"),
        ("ntfy", "", ""),
    ],
)
def test_urls_carrying_tokens_are_masked(channel: str, url: str, shown: str) -> None:
    assert mask_url(channel, url) == shown


def test_a_team_is_found_by_any_of_its_names() -> None:
    assert team_names("Dortmund", aliases=ALIASES) == ["borussia dortmund", "dortmund"]
    index = alert_index(alert(), ALIASES)
    assert ("team", "borussia dortmund") in index and ("tie", "t1") in index
    assert ("competition", "uefa champions league") in index


@pytest.mark.parametrize(
    ("spec", "the_alert", "wanted"),
    [
        ({"teams": ["Borussia  DORTMUND"]}, alert(), True),
        ({"teams": ["Inter"]}, alert(), False),
        ({"ties": ["t1"], "kinds": ["result"]}, alert(), False),
        ({"ties": ["t1"], "kinds": ["goal"]}, alert(), True),
        ({"matches": ["api-football:1"]}, alert(tie=None), True),
        ({"competitions": ["uefa champions league"]}, alert(), True),
        ({"teams": ["Dortmund"], "enabled": False}, alert(), False),
    ],
)
def test_what_a_subscription_wants(spec: dict[str, Any], the_alert: Alert, wanted: bool) -> None:
    assert sub(**spec).wants(the_alert, ALIASES) is wanted


def test_a_patch_is_validated_with_the_whole_spec() -> None:
    spec = SubscriptionSpec(channel="ntfy", options={"topic": "t"}, teams=["X"])
    merged = merge_patch(spec, SubscriptionPatch(kinds=["goal"], teams=[], ties=["t"]), None)
    assert merged.kinds == ["goal"] and merged.teams == [] and merged.ties == ["t"]
    with pytest.raises(ValidationError):  # nothing followed any more
        merge_patch(spec, SubscriptionPatch(teams=[]))
    with pytest.raises(ValidationError):
        SubscriptionPatch.model_validate({"secret": None})
    assert "secret" not in repr(SubscriptionSpec(**VALID[3]))


@pytest.mark.parametrize(
    ("attempt", "retry_after", "rand", "expected"),
    [
        (1, None, 0.5, 5.0),
        (2, None, 0.5, 300.0),
        (2, None, 1.0, 330.0),  # +10% jitter
        (2, None, 0.0, 270.0),  # -10% jitter
        (7, None, 0.5, 36000.0),
        (8, None, 0.5, None),  # exhausted
        (0, None, 0.5, None),
        (1, 120.0, 0.5, 120.0),  # Retry-After wins
        (1, 10**9, 0.5, 36000.0),  # capped
    ],
)
def test_retry_delay(
    attempt: int, retry_after: float | None, rand: float, expected: float | None
) -> None:
    schedule = [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    got = retry_delay(
        schedule, attempt, retry_after=retry_after, cap=36000.0, jitter=0.1, rand=lambda: rand
    )
    assert got == (pytest.approx(expected) if expected is not None else None)


def test_retry_job_round_trip() -> None:
    job = RetryJob("sub_1", "a|b", 3, 123, "HTTP 500")
    assert RetryJob.load("sub_1", job.dump()) == job
    assert RetryJob.load("sub_1", b"{nope") is None


@pytest.mark.parametrize(
    ("exc", "outcome", "counts"),
    [
        (ChannelError("HTTP 500", status=500), "retry", True),
        (ChannelError("HTTP 429", status=429, retry_after=3.0), "retry", True),
        (ChannelError("rate limited", retry_after=1.0), "retry", False),  # our own limiter
        (ChannelError("HTTP 410", gone=True, status=410), "gone", True),
        (ChannelError("HTTP 400", permanent=True, status=400), "dead", True),
        (DeliveryError("refused", permanent=True), "dead", True),
    ],
)
def test_classify(exc: DeliveryError, outcome: str, counts: bool) -> None:
    result = classify(exc)
    assert (result.outcome, result.counts) == (outcome, counts)


@pytest.mark.parametrize(
    ("text", "partitions", "expected"),
    [
        ("5-1", 1, ["5-1"]),
        ("5-1", 3, ["5-1", "5-1", "5-1"]),
        ("0:5-1,1:7-0,2:9-3", 3, ["5-1", "7-0", "9-3"]),
        ("1:7-0", 3, ["7-0", "7-0", "7-0"]),
        ("0:9-0,2:3-0", 3, ["9-0", "3-0", "3-0"]),
    ],
)
def test_sse_positions(text: str, partitions: int, expected: list[str]) -> None:
    assert parse_position(text, partitions) == expected
    assert parse_position(encode_position(expected), partitions) == expected


@pytest.mark.parametrize("text", ["", "abc", "3:1-0", "0:x", "0-1-2", "1:"])
def test_bad_sse_positions(text: str) -> None:
    with pytest.raises(ValueError):
        parse_position(text, 2)


def test_entry_ids_compare_as_numbers() -> None:
    assert id_key("10-0") > id_key("9-5") and id_key("5") == (5, 0)


def test_sse_filter() -> None:
    info = AlertInfo("goal", "m1", "t1", "ucl", frozenset({"dortmund"}), b"{}")
    assert Filter().wants(info)
    assert Filter(teams=frozenset({"dortmund"}), kinds=frozenset({"goal"})).wants(info)
    assert not Filter(teams=frozenset({"inter"})).wants(info)
    assert Filter(teams=frozenset({"inter"}), ties=frozenset({"t1"})).wants(info)
    assert not Filter(kinds=frozenset({"result"})).wants(info)


def test_tokens_are_known_by_their_hash() -> None:
    auth = Auth.of(["s3cret"])
    assert auth.owner("s3cret") == owner_of("s3cret") != "s3cret"
    assert auth.owner("other") is None and auth.owner(None) is None
    assert Auth.of([]).owner(None) == "local"
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "10.0.0.1")] == [
        True,
        True,
        True,
        False,
        False,
    ]
