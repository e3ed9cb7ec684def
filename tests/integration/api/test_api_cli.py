"""The delivery commands: ``notifier subscribe`` / ``subscriptions`` through a real API, and
``notifier dlq list|replay`` on a real Redis.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from redis.asyncio import Redis

from notifier.bus import keys
from tests.integration.api.test_api import serving
from tests.integration.deliver.test_delivery_support import make_alert, settings_for
from tests.recordings import NO_SETTINGS
from workers.cli.main import main
from workers.deliver.dlq import park_delivery

NO_CONFIG = ["--config", str(NO_SETTINGS), "--log-level", "ERROR"]


async def _cli(*argv: str) -> int:
    return await asyncio.to_thread(main, [*NO_CONFIG, *argv])


async def test_subscribe_list_get_delete(
    redis: Redis,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with serving(settings_for(redis_url), redis) as (base, _):
        monkeypatch.setenv("NOTIFIER_API__URL", base)
        monkeypatch.setenv("NOTIFIER_API__CLIENT_TOKEN", "token-a")
        code = await _cli(
            "subscribe", "--channel", "ntfy", "--team", "Dortmund", "--option", "topic=goals",
            "--option", "priority=4", "--kinds", "goal,result",
        )  # fmt: skip
        made = json.loads(capsys.readouterr().out)
        assert code == 0 and made["options"] == {"topic": "goals", "priority": 4}
        assert await _cli("subscriptions", "list") == 0
        listed = json.loads(capsys.readouterr().out)["subscriptions"]
        assert [s["id"] for s in listed] == [made["id"]]
        assert await _cli("subscriptions", "get", made["id"]) == 0
        assert json.loads(capsys.readouterr().out)["kinds"] == ["goal", "result"]
        assert await _cli("subscriptions", "delete", made["id"]) == 0
        assert await _cli("subscriptions", "get", made["id"]) == 1
        assert "404" in capsys.readouterr().err
        code = await _cli("subscribe", "--channel", "webhook", "--url", "ftp://x", "--team", "X")
        assert code == 1 and "url:" in capsys.readouterr().err
        monkeypatch.setenv("NOTIFIER_API__CLIENT_TOKEN", "wrong")
        assert await _cli("subscriptions", "list") == 1
        assert "401" in capsys.readouterr().err


async def test_dlq_list_and_replay(
    redis: Redis,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = settings_for(redis_url)
    alert = make_alert()
    await park_delivery(
        redis, settings, p=0, alert=alert, sub_id="sub_1", channel="webhook", attempts=8,
        reason="gave up after 8 tries: HTTP 500",
    )  # fmt: skip
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert await _cli("dlq", "list") == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["alert_id"] == alert.id and row["sub"] == "sub_1" and "500" in row["reason"]
    assert await _cli("dlq", "replay", "--stage", "delivery") == 0
    assert "replayed 1" in capsys.readouterr().out
    assert await redis.xlen(keys.dlq("delivery")) == 0
    assert await redis.zscore(keys.retry_due(0), "sub_1") is not None  # back in line
    assert await _cli("dlq", "replay", "1-0") == 1  # an id that is not there
    assert "not in nf:dlq:delivery" in capsys.readouterr().err


async def test_subscribe_with_no_api_says_how_to_start_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NOTIFIER_API__URL", "http://127.0.0.1:9")  # discard: nothing listens
    assert await _cli("subscribe", "--channel", "ntfy", "--option", "topic=goals") == 2
    err = capsys.readouterr().err
    assert "no API answers at http://127.0.0.1:9" in err and "notifier run" in err
