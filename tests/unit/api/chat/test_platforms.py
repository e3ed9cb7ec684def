"""Verification and rendering per platform, checked against the platforms' own libraries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.signing import SigningKey
from slack_sdk.signature import Clock, SignatureVerifier

from notifier.api.chat import discord, slack
from notifier.api.chat.telegram import keyboard
from notifier.api.chat.texts import Answer, Choice, problem
from notifier.errors import SignatureError

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
KEY = SigningKey(bytes(range(32)))
PUBLIC = KEY.verify_key.encode().hex()
NOW = 1_700_000_000


class Fixed(Clock):
    """slack_sdk's clock, stopped."""

    def now(self) -> float:
        return float(NOW)


@given(st.text(max_size=512), st.integers(min_value=NOW - 300, max_value=NOW + 300))
def test_slack_signature_is_slack_sdks(text: str, stamp: int) -> None:
    body = text.encode()  # Slack posts UTF-8 form bodies (slack_sdk decodes them so)
    verifier = SignatureVerifier(SECRET, clock=Fixed())
    ours = slack.signature(SECRET, str(stamp), body)
    assert ours == verifier.generate_signature(timestamp=str(stamp), body=body)
    assert verifier.is_valid(body, str(stamp), ours)
    slack.verify(SECRET, str(stamp), ours, body, NOW)


@pytest.mark.parametrize(
    ("stamp", "sig_of", "why"),
    [
        (NOW - 301, None, "stale"),
        (NOW + 301, None, "stale"),
        (NOW, "other", "bad signature"),
        (NOW, "v0=", "bad signature"),
    ],
)
def test_slack_refusals_agree_with_slack_sdk(stamp: int, sig_of: str | None, why: str) -> None:
    body = b"command=%2Ffooty&text=score"
    sig = slack.signature(SECRET, str(stamp), body) if sig_of is None else sig_of
    if sig_of == "other":
        sig = slack.signature("another-secret", str(stamp), body)
    assert not SignatureVerifier(SECRET, clock=Fixed()).is_valid(body, str(stamp), sig)
    with pytest.raises(SignatureError, match=why):
        slack.verify(SECRET, str(stamp), sig, body, NOW)


def test_discord_verify_takes_pynacl_signatures_only() -> None:
    body = b'{"type":1}'
    sig = KEY.sign(str(NOW).encode() + body).signature.hex()
    discord.verify(PUBLIC, sig, str(NOW), body, NOW, 300)
    other = SigningKey(bytes(32)).sign(str(NOW).encode() + body).signature.hex()
    for args in (
        (other, str(NOW), body, NOW),  # another key
        (sig, str(NOW), body + b" ", NOW),  # the body changed
        (sig, str(NOW + 1), body, NOW),  # the timestamp changed
        ("zz", str(NOW), body, NOW),  # not hex
        (sig, str(NOW), body, NOW + 301),  # stale
    ):
        with pytest.raises(SignatureError):
            discord.verify(PUBLIC, *args, 300)


ANSWER = Answer(
    "Several matches for 't': pick one.",
    choices=(
        Choice("Atalanta", "/follow team:Atalanta"),
        Choice("Too long", "/follow tie:" + "x" * 100),
    ),
)


def test_renderings() -> None:
    assert keyboard(ANSWER) == {
        "inline_keyboard": [[{"text": "Atalanta", "callback_data": "/follow team:Atalanta"}]]
    }
    assert keyboard(Answer("no choices")) is None
    body = discord.embed(ANSWER)["data"]
    assert [b["custom_id"] for b in body["components"][0]["components"]] == [
        "/follow team:Atalanta"
    ]
    assert "flags" not in body and discord.embed(problem("no"))["data"]["flags"] == 64
    actions = slack.blocks(ANSWER)["blocks"][-1]
    assert actions["type"] == "actions" and actions["elements"][0]["value"] == (
        "/follow team:Atalanta"
    )
    blocks = slack.blocks(Answer("<b>", ("a & b",)))
    assert blocks["blocks"][0]["text"]["text"] == "*&lt;b&gt;*"
    assert blocks["blocks"][1]["text"]["text"] == "a &amp; b"


def test_command_texts() -> None:
    assert slack.command_text({"command": "/score", "text": ""}) == "/score"
    assert slack.command_text({"command": "/footy", "text": "follow Dortmund"}) == "follow Dortmund"
    assert slack.command_text({"command": "/footy", "text": ""}) == "help"
    option = {"name": "what", "type": 4, "value": 30}
    slash = {"type": 2, "data": {"name": "delay", "options": [option]}}
    assert discord.command_text(slash) == "/delay 30"
    assert discord.command_text({"type": 3, "data": {"custom_id": "/follow team:X"}}) == (
        "/follow team:X"
    )
    assert discord.command_text({"type": 2}) is None
    names = [c["name"] for c in discord.slash_commands()]
    assert len(names) == len(set(names)) == 11
    assert all(1 <= len(c["description"]) <= 100 for c in discord.slash_commands())
