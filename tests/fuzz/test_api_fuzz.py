"""Fuzzing the API over real HTTP on a private server:

* schemathesis, driven by the API's own ``/openapi.json``, with every check it has (as
  ``schemathesis run --checks all``): its examples, coverage, fuzzing and stateful phases, on an
  API with every chat bot configured (so their signed routes are documented and fuzzed too; the
  run without bots is the issue's command, in the README). No 5xx; every answer matches its
  documented status, content type, headers and schema; every request the document allows is
  accepted (a 403 for a target refused by the delivery policy), every one it forbids refused
  (``/v1/stream`` is an endless SSE stream: its query is fuzzed below instead);
* hypothesis: any method, path, query, header and body, with or without a token, even to routes
  nobody documented: never a 5xx, and every error is a problem document.

The API runs in a thread of its own (its own event loop and Redis client), since schemathesis
calls it synchronously.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from notifier.api.app import init_app
from notifier.bus.connect import connect
from notifier.settings import Settings
from notifier.settings.channels import BotsSettings
from tests.counts import tried
from tests.integration.api.chat.fixtures import DISCORD_KEY, SLACK_SECRET, TG_SECRET, TG_TOKEN
from tests.integration.deliver.test_delivery_support import settings_for

AUTH = {"Authorization": "Bearer token-a"}
EXAMPLES = 10  # per operation and phase: what keeps the run near half a minute
TIMEOUT = 10
BOTS = BotsSettings(
    telegram={
        "token": SecretStr(TG_TOKEN),
        "mode": "webhook",
        "secret_token": SecretStr(TG_SECRET),
        "webhook_url": "https://bots.example.org/v1/telegram/webhook",
    },
    discord={"public_key": DISCORD_KEY.verify_key.encode().hex()},
    slack={"signing_secret": SecretStr(SLACK_SECRET)},
)


@contextlib.contextmanager
def api_in_thread(settings: Settings) -> Iterator[str]:
    """The API on a free loopback port, served from a thread; its base URL."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        r = connect(settings.redis_url or "")
        runner = web.AppRunner(init_app(settings, r), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        box["url"] = f"http://127.0.0.1:{runner.addresses[0][1]}"
        box["stop"] = stop = asyncio.Event()
        box["loop"] = asyncio.get_running_loop()
        ready.set()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            await r.aclose()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(10), "the API did not start"
    try:
        yield box["url"]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(10)


@pytest.fixture
def live_api(redis_url: str) -> Iterator[str]:
    # Per test: two APIs of one process share a heartbeat key (host-pid), so none may outlive
    # its test into another module's.
    config = settings_for(redis_url, resolve_timeout_s=0.2).model_copy(update={"bots": BOTS})
    with api_in_thread(config) as url:
        yield url


def _failures(event: events.EngineEvent) -> list[str]:
    """The failed checks (with a way to reproduce each) and errors an engine event reports."""
    if isinstance(event, events.NonFatalError):
        return [f"{event.label}: {event.info.message}"]
    if isinstance(event, events.FatalError):
        return [f"fatal: {event.exception!r}"]
    if not isinstance(event, events.ScenarioFinished):
        return []
    found = []
    for checks in event.recorder.checks.values():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure, sample = check.failure_info.failure, check.failure_info.code_sample
                found.append(f"{failure.operation}: {failure.title}\n{failure.message}\n{sample}")
    return found


@pytest.mark.one_server
def test_schemathesis_with_every_check(live_api: str) -> None:
    doc = requests.get(live_api + "/openapi.json", headers=AUTH, timeout=TIMEOUT).json()
    assert {"/v1/telegram/webhook", "/v1/slack/commands"} <= set(doc["paths"])
    seed = random.getrandbits(64)  # reported with a failure: schemathesis run --seed replays
    config = SchemathesisConfig.from_dict(
        {
            "base-url": live_api,
            "headers": AUTH,
            "seed": seed,
            "checks": {"enabled": True},  # --checks all
            "generation": {"max-examples": EXAMPLES, "database": "none"},
            "cache": {"enabled": False},  # no crash replays from an earlier run's directory
            "request-timeout": TIMEOUT,
        }
    )
    schema = schemathesis.openapi.from_dict(doc, config=config).exclude(path="/v1/stream")
    failures: list[str] = []
    phases: dict[str, Status] = {}
    for event in from_schema(schema).execute():
        failures += _failures(event)
        if isinstance(event, events.ScenarioFinished):
            tried("api: schemathesis scenarios (every check)")
        if isinstance(event, events.PhaseFinished):
            phases[event.phase.name.value] = event.status
    assert not failures, f"seed {seed}:\n" + "\n\n".join(failures[:5])
    ran = {name for name, status in phases.items() if status == Status.SUCCESS}
    assert {"examples", "coverage", "fuzzing", "stateful"} <= ran, (seed, phases)


METHODS = st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"])
SEGMENTS = st.sampled_from(
    ["v1", "subscriptions", "stream", "live", "ties", "matches", "openapi.json", "healthz",
     "readyz", "metrics", "static", "push", "key", "email", "unsubscribe", "..", "%2e%2e",
     "sub_0123456789abcdef0123", "", "x" * 300]
)  # fmt: skip
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["channel", "url", "secret", "teams", "matches", "ties", "competitions", "kinds", "options",
     "enabled", "rotate_secret", "description"]
)  # fmt: skip
BODIES = st.one_of(
    st.none(),
    st.binary(max_size=200),
    st.dictionaries(FIELDS, JSON, max_size=6),
    JSON,
)
TOKENS = st.sampled_from([AUTH, {}, {"Authorization": "Bearer wrong"}, {"Authorization": "x"}])
QUERIES = st.dictionaries(
    st.sampled_from(["team", "match", "tie", "competition", "kinds", "token", "last_event_id"]),
    st.text(max_size=30),
    max_size=3,
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    method=METHODS,
    path=st.lists(SEGMENTS, min_size=1, max_size=4),
    query=QUERIES,
    auth=TOKENS,
    body=BODIES,
)
def test_any_request_is_never_a_server_error(
    live_api: str,
    method: str,
    path: list[str],
    query: dict[str, str],
    auth: dict[str, str],
    body: Any,
) -> None:
    tried("api: random requests (method, path, query, token, body)")
    url = live_api + "/" + "/".join(path)
    kwargs: dict[str, Any] = {"params": query, "headers": auth, "timeout": TIMEOUT}
    kwargs["data" if isinstance(body, bytes) else "json"] = body
    with requests.request(method, url, stream=True, allow_redirects=False, **kwargs) as resp:
        # /readyz (however the path is spelt) is 503 by design here: no worker runs
        not_ready = resp.status_code == 503 and resp.headers.get("Content-Type", "").startswith(
            "application/json"
        )
        assert resp.status_code < 500 or not_ready, (method, url, resp.status_code, resp.text[:300])
        if 400 <= resp.status_code < 500 and method != "HEAD":
            kind = resp.headers.get("Content-Type", "")
            assert kind.startswith("application/problem+json"), (
                method,
                url,
                resp.status_code,
                kind,
            )
