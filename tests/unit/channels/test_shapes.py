"""The channel forms of the API's document are ones the rules accept: every string a pattern
allows (drawn by hypothesis from the pattern itself) passes the check that pattern stands for,
and the patterns read the same in Python's re, Rust's regex (pydantic) and ECMA-262.
"""

from __future__ import annotations

import base64
import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from notifier.channels import shapes
from notifier.channels.mqtt import parse_url
from notifier.channels.specs import check_email
from notifier.channels.subscriptions import Name
from notifier.channels.webhook import secret_key
from notifier.net import AddressPolicy, check_target_url
from tests.counts import tried

EVERYWHERE = AddressPolicy.of(["0.0.0.0/0", "::/0"])  # the policy is the 403's, not the form's
FAST = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
ECMA_SPACES = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
ECMA_SPACES += "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def _from(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(re.compile(pattern), fullmatch=True)


def test_spaces_are_every_engines_spaces() -> None:
    spaces = re.compile(f"[{shapes.SPACES}]")
    python = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    assert all(spaces.fullmatch(c) for c in python + list(ECMA_SPACES))
    assert not spaces.fullmatch("\u200b") and not spaces.fullmatch("x")


class _Named(BaseModel):
    name: Name = Field()


@pytest.mark.parametrize("value", ["\x1c", "\ufeff", " \u3000 ", "\u0085"])
def test_a_name_of_spaces_is_refused_by_pydantic_too(value: str) -> None:
    # pydantic reads the pattern with Rust's regex: the spelt-out class means the same there
    with pytest.raises(ValidationError):
        _Named(name=value)


@FAST
@given(url=_from(shapes.HTTP_URL))
def test_every_documented_http_url_passes_the_url_check(url: str) -> None:
    tried("channels: documented URLs checked against the rules")
    check_target_url(url, allow_http=True, allow_networks=EVERYWHERE)


@FAST
@given(url=_from(shapes.MQTT_URL))
def test_every_documented_broker_url_parses(url: str) -> None:
    tried("channels: documented URLs checked against the rules")
    parse_url(url)


@FAST
@given(url=_from(shapes.MAILTO))
def test_every_documented_mailbox_is_one(url: str) -> None:
    check_email(url, None, {})


@FAST
@given(secret=_from(shapes.WEBHOOK_SECRET))
def test_every_documented_webhook_secret_is_24_to_64_bytes(secret: str) -> None:
    assert 24 <= len(secret_key(secret)) <= 64


@FAST
@given(key=_from(shapes.P256DH), auth=_from(shapes.AUTH_SECRET))
def test_every_documented_push_key_decodes(key: str, auth: str) -> None:
    def size(value: str) -> int:
        return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))

    assert (size(key), size(auth)) == (65, 16)


@pytest.mark.parametrize(
    "url",
    ["https://2130706433/x", "https://0x7f.1/", "https://127.1/", "https://a b/",
     "https://a.com/\n", "https://[::1%25eth0]/", "https://a.com:65536/", "ftp://a.com/",
     "https://user@a.com/", "https://a.com/%zz"],
)  # fmt: skip
def test_malformed_urls_are_not_documented(url: str) -> None:
    assert not shapes.matches(shapes.HTTP_URL, url)


def test_apprise_schemes_come_from_the_installed_apprise() -> None:
    schemes = shapes.apprise_schemes()
    assert {"json", "jsons", "tgram", "ntfys"} <= set(schemes)
    assert shapes.matches(shapes.apprise_url(), "jsons://example.com/h")
    assert not shapes.matches(shapes.apprise_url(), "jsons://a.com/h, json://b.com")
