"""The live page's "Notify me" in headless Chromium (Debian's, through Playwright), as far as a
browser goes without its vendor's push service.

What runs for real: the page shows the button for the tie it shows; a click asks for permission
(granted by the test, as a person would), registers ``/sw.js`` (its scope the whole site) and
fetches the VAPID key from ``/v1/push/key``. Where it stops: ``pushManager.subscribe`` needs the
browser vendor's push service (Chromium's is Google's FCM, which Debian's build has no key for
and this machine cannot reach), so it fails, and the page says so (``no-push-service``). The
test then goes on past that point by other means: it delivers a push message straight into the
registered service worker through the DevTools protocol (``ServiceWorker.deliverPushMessage``,
what the push service's connection would do) and checks the notification the worker shows; and
it has the page post a PushSubscription made with a test key pair (what ``subscribe`` would have
returned) through the page's own code, which the server stores with what the page follows.
The encryption and VAPID signing of real pushes are checked against a local push service in
tests/integration/test_webpush.py and tests/e2e/test_replay_home.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from notifier.api.auth import owner_of
from notifier.bus import keys
from notifier.bus.subscriptions import SubscriptionStore
from notifier.bus.watches import save_tie
from notifier.domain.tie import TieSpec, parse_first_leg
from tests.e2e.test_live_page import CHROMIUM_ARGS, chromium  # noqa: F401 (the fixture)
from tests.integration.api.test_api import serving
from tests.integration.deliver.test_delivery_support import settings_for
from tests.pushservice import Browser

pytestmark = pytest.mark.e2e
TIE = "replay:api-football:424242"
TOKEN = "token-a"  # one of settings_for's API tokens
PUSH = {"title": "⚽ Goal: Atalanta 1-0 Dortmund", "body": "GOAL Atalanta 1-0", "tag": "a1"}
FAKE_SUBSCRIPTION = """(sub) => window.matchNotifierPush.postSubscription({toJSON: () => sub})"""
NOTIFICATIONS = """async () => {
  const reg = await navigator.serviceWorker.getRegistration();
  const shown = await reg.getNotifications();
  return shown.map((n) => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url}));
}"""


@pytest.fixture
async def page_url(redis: Redis, redis_url: str) -> AsyncIterator[str]:
    spec = TieSpec(id=TIE, first_leg=parse_first_leg("Borussia Dortmund 2-0 Atalanta"))
    await save_tie(redis, spec, keys.partition_of(TIE, 1))
    async with serving(settings_for(redis_url), redis) as (base, _):
        yield base


async def _registration_id(cdp: Any) -> str:
    """The service worker's registration id, as DevTools reports it once enabled."""
    found: list[str] = []
    seen = asyncio.Event()

    def note(event: dict[str, Any]) -> None:
        found.extend(r["registrationId"] for r in event["registrations"])
        if found:
            seen.set()

    cdp.on("ServiceWorker.workerRegistrationUpdated", note)
    await cdp.send("ServiceWorker.enable")
    async with asyncio.timeout(10):
        await seen.wait()
    return found[0]


async def test_notify_me_registers_the_worker_and_shows_pushes(
    chromium: str,  # noqa: F811
    page_url: str,
    redis: Redis,
) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                bypass_csp=True
            )  # wait_for_function evaluates strings
            await context.grant_permissions(["notifications"], origin=page_url)
            page = await context.new_page()
            await page.goto(f"{page_url}/ties/{TIE}?token={TOKEN}")
            button = page.locator("#notify")
            assert await button.text_content() == "Notify me" and await button.is_visible()
            await button.click()
            await page.wait_for_function(
                "['no-push-service', 'subscribed', 'error'].includes("
                "document.getElementById('notify').dataset.state)"
            )
            state = await button.get_attribute("data-state")
            assert state == "no-push-service", await page.text_content("#notify-status")
            script = await page.evaluate(
                "async () => (await navigator.serviceWorker.getRegistration()).active.scriptURL"
            )
            assert script == f"{page_url}/sw.js"

            cdp = await context.new_cdp_session(page)
            registration = await _registration_id(cdp)
            data = '{"title": "%(title)s", "body": "%(body)s", "tag": "%(tag)s", "url": "/ties/x"}'
            await cdp.send(
                "ServiceWorker.deliverPushMessage",
                {"origin": page_url, "registrationId": registration, "data": data % PUSH},
            )
            await page.wait_for_function(f"({NOTIFICATIONS})().then((n) => n.length > 0)")
            [shown] = await page.evaluate(NOTIFICATIONS)
            assert shown == {**PUSH, "url": "/ties/x"}

            user_agent = Browser()
            sub = user_agent.subscription("http://127.0.0.1:9/push/page")
            made = await page.evaluate(FAKE_SUBSCRIPTION, sub)
            assert made["follows"] == [["tie", TIE]]
        finally:
            await browser.close()
    stored = await SubscriptionStore(redis).list_owned(owner_of(TOKEN))
    assert [(s.spec.channel, s.spec.url, s.spec.ties) for s in stored] == [
        ("webpush", sub["endpoint"], [TIE])
    ]
