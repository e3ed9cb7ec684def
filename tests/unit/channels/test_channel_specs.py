"""What subscriptions to the MQTT, Web Push and email channels must give (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from notifier.channels.mqtt import parse_url
from notifier.channels.subscriptions import SubscriptionSpec, mask_url
from notifier.settings import EmailSettings
from tests.pushservice import Browser

KEYS = Browser().subscription("https://push.example/x")["keys"]


def spec(**fields: Any) -> SubscriptionSpec:
    return SubscriptionSpec.model_validate({"teams": ["Dortmund"], **fields})


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channel": "mqtt", "url": "http://broker"}, "url"),
        ({"channel": "mqtt", "url": "mqtt://b/path"}, "url"),
        (
            {"channel": "mqtt", "url": "mqtt://b", "options": {"base_topic": "a/#"}},
            "options.base_topic",
        ),
        ({"channel": "mqtt", "url": "mqtt://b", "options": {"colour": "red"}}, "options.colour"),
        ({"channel": "webpush", "url": "", "options": KEYS}, "url"),
        (
            {"channel": "webpush", "url": "https://p/x", "options": {**KEYS, "auth": "short"}},
            "options.auth",
        ),
        (
            {"channel": "webpush", "url": "https://p/x", "options": {"auth": KEYS["auth"]}},
            "options.p256dh",
        ),
        (
            {"channel": "webpush", "url": "https://p/x", "options": {**KEYS, "lang": "english!"}},
            "options.lang",
        ),
        ({"channel": "email", "url": "fan@example.org"}, "url"),
        ({"channel": "email", "url": "mailto:a@b.org, c@d.org"}, "url"),
        (
            {"channel": "email", "url": "mailto:a@b.org", "options": {"digest": "yes"}},
            "options.digest",
        ),
        ({"channel": "email", "url": "mailto:a@b.org", "secret": "x"}, "secret"),
    ],
)
def test_bad_targets_name_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        spec(**fields)
    assert caught.value.errors()[0]["msg"].startswith(f"Value error, {field}:")


def test_good_targets() -> None:
    spec(channel="mqtt", url="mqtts://user:pw@broker.example:8883", options={"team": "Dortmund"})
    spec(
        channel="webpush",
        url="https://fcm.googleapis.com/fcm/send/abc",
        options={**KEYS, "lang": "pt-BR"},
    )
    spec(channel="email", url="mailto:fan@example.org", options={"digest": True, "lang": "de"})


def test_broker_urls_and_their_masks() -> None:
    assert parse_url("mqtt://b.example") == (False, "b.example", 1883, None, None)
    assert parse_url("mqtts://u:p@b.example:1") == (True, "b.example", 1, "u", "p")
    assert mask_url("mqtt", "mqtts://u:secret@b.example:1") == "mqtts://b.example:1"
    with pytest.raises(ValueError, match="mqtt://host:port") as caught:
        parse_url("ws://u:secret@b")
    assert "secret" not in str(caught.value)


def test_plain_smtp_only_to_a_local_relay() -> None:
    EmailSettings(host="127.0.0.1", security="none")
    with pytest.raises(ValidationError, match="loopback only"):
        EmailSettings(host="smtp.example.org", security="none")
