"""Fuzzing the API over real HTTP on a private server:

* schemathesis, driven by the API's own ``/openapi.json``: no 5xx, and every answer matches its
  documented status, content type, headers and schema (``/v1/stream`` is an endless SSE stream:
  its query is fuzzed below instead);
* hypothesis: any method, path, query, header and body, with or without a token, even to routes
  nobody documented: never a 5xx, and every error is a problem document.

The API runs in a thread of its own (its own event loop and Redis client), since schemathesis
calls it synchronously.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from notifier.api.app import init_app
from notifier.bus.connect import connect
from notifier.settings import Settings
from tests.counts import tried
from tests.integration.deliver.test_delivery_support import settings_for

AUTH = {"Authorization": "Bearer token-a"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
PER_OPERATION = 60
TIMEOUT = 10


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
    settings = settings_for(redis_url, resolve_timeout_s=0.2)
    with api_in_thread(settings) as url:
        yield url


def fuzz_operation(operation: Any, base: str) -> None:
    """Run schemathesis' cases of one operation against the API."""
    label = f"api: schemathesis {operation.method.upper()} {operation.path}"

    @settings(
        max_examples=PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=operation.as_strategy())
    def check(case: schemathesis.Case) -> None:
        tried(label)
        case.call_and_validate(base_url=base, headers=AUTH, checks=CHECKS, timeout=TIMEOUT)

    check()


def test_schemathesis_against_the_openapi_document(live_api: str) -> None:
    doc = requests.get(live_api + "/openapi.json", headers=AUTH, timeout=TIMEOUT).json()
    schema = schemathesis.openapi.from_dict(doc).exclude(path="/v1/stream")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    for operation in operations:
        fuzz_operation(operation, live_api)


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
