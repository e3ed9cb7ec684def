"""What a subscription to the MQTT, Web Push and email channels must give (url, secret, options).

Pure; ``notifier.channels.subscriptions`` turns a :class:`TargetError` into its ``FieldError``
(a 422).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from notifier.errors import TargetError

OptionValue = str | int | float | bool
_TOPIC = re.compile(r"^[^#+\x00]{1,100}$")
_USER = re.compile(r"^[^\x00-\x1f]{1,100}$")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_MAILBOX = re.compile(r"^[^@\s<>\"(),;:]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


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
        if value is not None and not (isinstance(value, str) and _TOPIC.match(value)):
            raise TargetError(f"options.{name}", "a topic of 1-100 characters, no # or +")
    for name in ("username", "team"):
        value = options.get(name)
        if value is not None and not (isinstance(value, str) and _USER.match(value)):
            raise TargetError(f"options.{name}", "1-100 printable characters")


def _b64url(value: OptionValue | None, size: int) -> bool:
    if not isinstance(value, str):
        return False
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return False
    return len(raw) == size


def check_webpush(url: str, secret: str | None, options: Mapping[str, OptionValue]) -> None:
    """The push service's endpoint (an absolute URL) and the browser's keys (RFC 8291)."""
    if "://" not in url:
        raise TargetError("url", "the push subscription's endpoint (an https URL) is required")
    if secret is not None:
        raise TargetError("secret", "the webpush channel takes no secret")
    if not _b64url(options.get("p256dh"), 65):
        raise TargetError("options.p256dh", "the subscription's P-256 key (65 bytes, base64url)")
    if not _b64url(options.get("auth"), 16):
        raise TargetError("options.auth", "the subscription's auth secret (16 bytes, base64url)")


def check_email(url: str, secret: str | None, options: Mapping[str, OptionValue]) -> None:
    """``mailto:someone@example.org``: one mailbox, nothing else."""
    address = url.removeprefix("mailto:")
    if not url.startswith("mailto:") or not _MAILBOX.match(address):
        raise TargetError("url", "mailto: and one address, such as mailto:fan@example.org")
    if secret is not None:
        raise TargetError("secret", "the email channel takes no secret")
    digest = options.get("digest")
    if digest is not None and not isinstance(digest, bool):
        raise TargetError("options.digest", "true (one mail per match) or false")


def _check_lang(options: Mapping[str, OptionValue]) -> None:
    lang = options.get("lang")
    if lang is not None and not (isinstance(lang, str) and _LANG.match(lang)):
        raise TargetError("options.lang", "a language tag such as en, de or pt-BR")
