"""What a subscription to the MQTT, Web Push and email channels must give (url, secret, options).

Pure; ``notifier.channels.subscriptions`` turns a :class:`TargetError` into its ``FieldError``
(a 422).
"""

from __future__ import annotations

from collections.abc import Mapping

from notifier.channels.shapes import (
    AUTH_SECRET,
    LANG_TAG,
    MAILTO,
    MQTT_TOPIC,
    MQTT_USER,
    P256DH,
    matches,
)
from notifier.errors import TargetError

OptionValue = str | int | float | bool


def check(channel: str, url: str, secret: str | None, options: Mapping[str, OptionValue]) -> None:
    """Refuse (TargetError) a target the channel could never deliver to."""
    if channel == "mqtt":
        check_mqtt(url, options)
    elif channel == "webpush":
        check_webpush(url, secret, options)
    elif channel == "email":
        check_email(url, secret, options)
    _check_lang(options)


def check_mqtt(url: str, options: Mapping[str, OptionValue]) -> None:
    """A broker URL, and topics without wildcards."""
    from notifier.channels.mqtt import parse_url

    try:
        parse_url(url)
    except ValueError as exc:
        raise TargetError("url", str(exc)) from None
    for name in ("base_topic", "discovery_prefix"):
        value = options.get(name)
        if value is not None and not matches(MQTT_TOPIC, value):
            raise TargetError(f"options.{name}", "a topic of 1-100 characters, no # or +")
    for name in ("username", "team"):
        value = options.get(name)
        if value is not None and not matches(MQTT_USER, value):
            raise TargetError(f"options.{name}", "1-100 printable characters")


def check_webpush(url: str, secret: str | None, options: Mapping[str, OptionValue]) -> None:
    """The push service's endpoint (an absolute URL) and the browser's keys (RFC 8291)."""
    if "://" not in url:
        raise TargetError("url", "the push subscription's endpoint (an https URL) is required")
    if secret is not None:
        raise TargetError("secret", "the webpush channel takes no secret")
    if not matches(P256DH, options.get("p256dh")):
        raise TargetError("options.p256dh", "the subscription's P-256 key (65 bytes, base64url)")
    if not matches(AUTH_SECRET, options.get("auth")):
        raise TargetError("options.auth", "the subscription's auth secret (16 bytes, base64url)")


def check_email(url: str, secret: str | None, options: Mapping[str, OptionValue]) -> None:
    """``mailto:someone@example.org``: one mailbox, nothing else."""
    if not matches(MAILTO, url):
        raise TargetError("url", "mailto: and one address, such as mailto:fan@example.org")
    if secret is not None:
        raise TargetError("secret", "the email channel takes no secret")
    digest = options.get("digest")
    if digest is not None and not isinstance(digest, bool):
        raise TargetError("options.digest", "true (one mail per match) or false")


def _check_lang(options: Mapping[str, OptionValue]) -> None:
    lang = options.get("lang")
    if lang is not None and not matches(LANG_TAG, lang):
        raise TargetError("options.lang", "a language tag such as en, de or pt-BR")
