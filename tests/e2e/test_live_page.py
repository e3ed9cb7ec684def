"""The live tie page in a real browser: the demo second leg replayed through the whole pipeline
(poller, aggregator, dispatcher, API with its SSE stream), the page open in headless Chromium
(Debian's ``chromium`` driven by Playwright; ``make browser`` installs it), checking that what a
person reads follows the replay. Saves a screenshot of the final state under ``artifacts/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from notifier.bus.connect import cancel
from notifier.domain.alerts import Alert
from notifier.settings import Settings
from tests.tools import missing
from workers.cli.commands import demo_options, replay

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
SPEED = 600.0  # the 130-minute scenario in about 13 s
DELAY_S = 300  # "my stream is 5 minutes behind" (match clock: half a second here)
TIE = "replay:api-football:900001"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RESULT = "Atalanta win 5-4 on penalties (2-2 on aggregate). Atalanta reach the round of 16"
# Records every text the headline shows, from the moment the script runs.
WATCH_HEADLINE = """() => {
  window.__headlines = [];
  const node = document.getElementById("headline");
  const note = () => {
    const text = node.textContent;
    if (text && window.__headlines[window.__headlines.length - 1] !== text) {
      window.__headlines.push(text);
    }
  };
  note();
  new MutationObserver(note).observe(node, {childList: true, characterData: true, subtree: true});
}"""


class Collect:
    """A sink that keeps what it is given (so the dispatcher delivers, and counts it)."""

    name = "collect"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def wants(self, alert: Alert) -> bool:
        return True

    async def deliver(self, alert: Alert) -> None:
        self.alerts.append(alert)


def find_browser() -> str | None:
    """A Chromium binary: $CHROMIUM, else the first on PATH."""
    named = os.environ.get("CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


@pytest.fixture
def chromium() -> str:
    """The browser binary; else a skip that says why (printed with ``-rs``), or a failure
    where ``make test`` installs it (:func:`tests.tools.missing`)."""
    path = find_browser()
    if path is None:
        reason = "no Chromium found (apt-get install chromium, or `make browser` as root)"
        print(f"SKIP browser test: {reason}")
        missing(reason)
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:  # a dev dependency every `make` target installs: a broken install
        pytest.fail("playwright is not installed: pip install -e '.[dev]'")
    return path


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 if absent)."""
    want = {f'{k}="{v}"' for k, v in labels.items()}
    for line in exposition.splitlines():
        series, _, value = line.rpartition(" ")
        metric, _, rest = series.partition("{")
        if metric == name and set(filter(None, rest.rstrip("}").split(","))) == want:
            return float(value)
    return 0.0


async def scrape(url: str) -> str:
    """GET ``url`` as text."""
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200
        return await resp.text()


def free_port() -> int:
    """A loopback port free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until_up(url: str, task: asyncio.Task[None]) -> None:
    """Until ``url`` answers 200 (or the replay task fails), at most 20 s."""
    async with aiohttp.ClientSession() as session, asyncio.timeout(20.0):
        while True:
            if task.done():
                task.result()
                raise AssertionError("the replay ended before the API answered")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_demo(redis_url: str, port: int) -> AsyncIterator[asyncio.Task[None]]:
    """The demo replay with the API on ``port``, kept serving until the block ends."""
    settings = Settings.load(None, redis_url=redis_url)
    opts = dataclasses.replace(
        demo_options(SPEED, as_json=False), api=f"127.0.0.1:{port}", stay=True
    )
    task = asyncio.create_task(replay(settings, opts, sinks=[Collect()]))
    try:
        yield task
    finally:
        await cancel(task)


async def struck_goals(page: Any) -> list[tuple[str, str]]:
    """(text, text-decoration-line) of every cancelled goal in the timeline."""
    found: list[tuple[str, str]] = await page.eval_on_selector_all(
        "#timeline li.goal.cancelled del",
        "nodes => nodes.map(n => [n.textContent, getComputedStyle(n).textDecorationLine])",
    )
    return found


async def behind(page: Any, delay_s: int) -> list[tuple[str, str]]:
    """Set "my stream is N s behind": the page starts over from the stream, N s behind, and
    ends where the tie ended; the goals VAR ruled out within N s never showed (returned)."""
    from playwright.async_api import expect

    await page.fill("#delay", str(delay_s))
    await page.dispatch_event("#delay", "change")
    await expect(page.locator("#conn-text")).to_have_text(f"Live · {delay_s} s behind")
    await expect(page.locator("#headline")).to_have_text(RESULT, timeout=20_000)
    assert await page.evaluate("localStorage.getItem('nf_delay_s')") == str(delay_s)
    return await struck_goals(page)


@pytest.mark.parametrize("server_binary", ["valkey"], indirect=True)  # one server is enough
async def test_live_page_follows_the_replay(redis: Redis, redis_url: str, chromium: str) -> None:
    from playwright.async_api import async_playwright, expect

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 412, "height": 915})  # a phone
            async with running_demo(redis_url, port) as task:
                await wait_until_up(f"{base}/healthz", task)
                await page.goto(f"{base}/ties/{TIE}")
                await page.wait_for_selector("#board:not([hidden])")
                await page.evaluate(WATCH_HEADLINE)
                await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
                headline = page.locator("#headline")
                await expect(headline).to_have_text(RESULT, timeout=60_000)
                seen: list[str] = await page.evaluate("window.__headlines")
                await expect(page.locator("#pens")).to_have_text("Penalties 5–4")
                await expect(page.locator("#agg-home")).to_have_text("2")
                await expect(page.locator("#agg-away")).to_have_text("2")
                await expect(page.locator("#kicks-home li")).to_have_count(5)
                await expect(page.locator("#kicks-away li.missed")).to_have_count(1)
                struck = await struck_goals(page)
                exposition = await scrape(f"{base}/metrics")
                await page.screenshot(path=str(ARTIFACTS / "live-page.png"), full_page=True)
                await page.set_viewport_size({"width": 1280, "height": 900})
                await page.screenshot(path=str(ARTIFACTS / "live-page-desktop.png"))
                late = await behind(page, DELAY_S)
            # The server is gone: the page says so, and keeps trying.
            await expect(page.locator("#conn")).to_have_attribute("data-state", "offline")
            await expect(page.locator("#offline")).to_be_visible()
        finally:
            await browser.close()
    print(f"screenshot: {ARTIFACTS / 'live-page.png'}; headlines seen: {seen}")
    first_goal = seen.index("Dortmund lead 2-1 on aggregate")
    assert "Dortmund lead 3-1 on aggregate" in seen[first_goal:], seen  # Guirassy's, then VAR
    assert "2-2 on aggregate" in seen[first_goal:], seen
    assert seen[-1] == RESULT
    polls = sample(exposition, "notifier_polls_total", provider="api-football", outcome="ok")
    assert polls > 0
    assert sample(exposition, "notifier_events_total", type="goal") >= 4
    assert sample(exposition, "notifier_alerts_total", kind="goal_cancelled") >= 2
    assert sample(exposition, "notifier_deliveries_total", channel="collect", outcome="delivered")
    for stage in ("feed_to_event", "event_to_alert"):
        assert sample(exposition, f"notifier_{stage}_seconds_count") > 0, stage
    assert sample(exposition, "notifier_alert_to_delivery_seconds_count", channel="collect") > 0
    assert "notifier_consumer_lag{" in exposition and "notifier_dlq_entries{" in exposition
    assert [(text.split(" ·")[0], style) for text, style in struck] == [
        ("Beier", "line-through"),  # newest first
        ("Guirassy", "line-through"),
    ]
    assert late == []  # five minutes behind, neither ruled-out goal was ever shown
