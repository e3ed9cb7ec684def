"""The pieces a chaos run is set up from: the secrets, the held replay clock, the API and the
subscriptions made through it, the followed matches, and the checks that the run is over."""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from notifier.api.app import init_app
from notifier.bus import keys
from notifier.bus.shards import shard_partitions
from notifier.bus.watches import add_watch, reset_match, save_tie
from notifier.channels.subscriptions import Subscription, SubscriptionSpec
from notifier.domain.alerts import ALERT_KINDS
from notifier.settings import Settings
from tests.chaos.receivers import Receivers
from tests.chaos.scenario import MatchPlan
from workers.deliver import dispatcher, shards
from workers.fold import aggregator

LATE_S = 300  # seconds of match time the delayed subscribers are behind


@dataclass(frozen=True)
class Secrets:
    """Every secret of a run: none may appear in a log line or an API answer."""

    redis_password: str = field(default_factory=lambda: "pw-" + secrets.token_urlsafe(18))
    api_token: str = field(default_factory=lambda: "tok-" + secrets.token_hex(16))
    feed_key: str = field(default_factory=lambda: "feedkey-" + secrets.token_hex(16))
    bot_token: str = field(default_factory=lambda: "7301:" + secrets.token_urlsafe(30))
    webhook: dict[str, str] = field(default_factory=dict)  # subscriber -> whsec_...

    def named(self) -> dict[str, str]:
        """Name -> value of each."""
        found = {
            "redis password": self.redis_password,
            "API token": self.api_token,
            "feed API key": self.feed_key,
            "telegram bot token": self.bot_token,
        }
        found.update({f"webhook secret of {k}": v for k, v in self.webhook.items()})
        return found


class Gate:
    """A ``time_fn`` for the replay clock that stands still until :meth:`open`."""

    def __init__(self) -> None:
        self._opened: float | None = None

    def __call__(self) -> float:
        return 0.0 if self._opened is None else time.monotonic() - self._opened

    def open(self) -> None:
        """Let the clock run from now on."""
        if self._opened is None:
            self._opened = time.monotonic()


async def serve_api(settings: Settings, r: Redis, stack: contextlib.AsyncExitStack) -> str:
    """The API on a free loopback port, for the run; its base URL."""
    runner = web.AppRunner(init_app(settings, r), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}"


def subscription_specs(
    plans: list[MatchPlan], receivers: Receivers, bot_token: str
) -> dict[str, dict[str, Any]]:
    """What each subscriber follows: every match; some teams; the ties' decisive moments."""
    hooks = receivers.url + "/hook/"
    every = [k for k in ALERT_KINDS if k != "status"]
    ties = sorted({p.tie.id for p in plans if p.tie is not None})
    specs: dict[str, dict[str, Any]] = {
        "every-match": {"url": hooks + "every-match", "matches": [p.watch.key for p in plans]},
        "teams": {"url": hooks + "teams", "teams": ["Spain", "Portugal", "Dortmund"]},
        "ties": {
            "url": hooks + "ties",
            "ties": ties or ["none"],
            "kinds": ["goal", "goal_cancelled", "full_time", "shootout", "result"],
        },
    }
    # Spoiler delays (match clock): long enough that a VAR review (a minute) and the pauses
    # and take-overs of the run fall inside them; their goal and cancellation are never sent.
    specs["every-match-late"] = specs["every-match"] | {
        "url": hooks + "every-match-late",
        "delay_s": LATE_S,
    }
    specs["ties-late"] = specs["ties"] | {"url": hooks + "ties-late", "delay_s": 2 * LATE_S}
    for spec in specs.values():
        spec.update({"channel": "webhook"})
        spec.setdefault("kinds", every)
    specs["telegram"] = {
        "channel": "telegram",
        "secret": bot_token,
        "options": {"chat_id": -1001234567},
        "teams": ["Croatia"],
    }
    return specs


async def subscribe(
    api: str, secrets_: Secrets, plans: list[MatchPlan], receivers: Receivers, flaky: float
) -> dict[str, Subscription]:
    """Create the subscriptions through the API; the webhook ones, by subscriber name."""
    out: dict[str, Subscription] = {}
    auth = {"Authorization": f"Bearer {secrets_.api_token}"}
    specs = subscription_specs(plans, receivers, secrets_.bot_token)
    async with aiohttp.ClientSession(api, headers=auth) as http:
        for name, body in specs.items():
            async with http.post("/v1/subscriptions", json=body) as resp:
                made = await resp.json()
                assert resp.status == 201, made
            if body["channel"] != "webhook":
                continue
            secrets_.webhook[name] = made["secret"]
            receivers.add(name, flaky=flaky if name == "every-match" else 0.0).secret = made[
                "secret"
            ]
            spec = SubscriptionSpec(**(body | {"secret": made["secret"]}))
            now = datetime.now(UTC)
            out[name] = Subscription(
                id=made["id"], owner="chaos", spec=spec, created_at=now, updated_at=now
            )
    return out


async def follow(r: Redis, settings: Settings, plans: list[MatchPlan]) -> None:
    """Follow every match (and store its tie), as ``notifier replay`` does."""
    for plan in plans:
        watch = plan.watch
        p = keys.partition_of(watch.tie or watch.key, settings.streams.partitions)
        await reset_match(r, p, watch.key)
        if plan.tie is not None:
            await save_tie(r, plan.tie, p)
        await add_watch(r, watch)


def partition(settings: Settings, plan: MatchPlan) -> int:
    """The partition of a match."""
    return keys.partition_of(plan.watch.tie or plan.watch.key, settings.streams.partitions)


async def first_polls_stored(r: Redis, settings: Settings, plans: list[MatchPlan]) -> bool:
    """Whether every match has a stored snapshot."""
    found = [await r.exists(keys.snapshot(partition(settings, p), p.watch.key)) for p in plans]
    return all(found)


async def idle(r: Redis, settings: Settings, plans: list[MatchPlan]) -> bool:
    """Every match over, every event folded, every alert dispatched, no retry waiting."""
    with contextlib.suppress(Exception):
        for plan in plans:
            if not await r.exists(keys.match_done(partition(settings, plan), plan.watch.key)):
                return False
        if await aggregator.pending_work(r, settings) or await dispatcher.pending_work(r, settings):
            return False
        if await shards.pending_work(r, settings):
            return False
        for p in [*range(settings.streams.partitions), *shard_partitions(settings.delivery.shards)]:
            if await r.zcard(keys.retry_due(p)):
                return False
        return True
    return False


def find_leaks(workdir: Path, named: dict[str, str]) -> dict[str, list[str]]:
    """Secret name -> the files under ``workdir`` (logs, server log) that contain it."""
    files = [p for p in workdir.rglob("*.log") if p.is_file()]
    leaks: dict[str, list[str]] = {}
    for path in files:
        text = path.read_bytes()
        for name, value in named.items():
            if value.encode() in text:
                leaks.setdefault(name, []).append(str(path.relative_to(workdir)))
    return leaks


NOTEWORTHY = (
    "claimed_pending",
    "adopted_strays",
    "partition_lost",
    "partition_released",
    "group_lost",
    "group_acquired",
    "lease_lost",
    "delivery_retry",
    "fan_out_fenced",
    "retry_fenced",
    "store_unavailable",
    "feed_failing",
)


def count_events(workdir: Path) -> dict[str, int]:
    """How often each noteworthy log event occurred over the run (takeovers, retries, ...)."""
    counts = dict.fromkeys(NOTEWORTHY, 0)
    for path in (workdir / "logs").glob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            for name in NOTEWORTHY:
                if f'"event": "{name}"' in line:
                    counts[name] += 1
    return counts
