"""``/v1/email/unsubscribe``: the signed link in every mail's ``List-Unsubscribe`` header.

Mail clients POST ``List-Unsubscribe=One-Click`` to it (RFC 8058) without any token: the link's
own signature (``t``, an HMAC of the subscription id) is the authentication, so the route is
anonymous. A GET (the link opened in a browser) only shows a button that POSTs: a link
prefetched by a mail scanner unsubscribes nobody.
"""

from __future__ import annotations

from aiohttp import web

from notifier.api.state import REDIS, SUBSCRIPTIONS
from notifier.channels.smtp import UNSUBSCRIBE_PATH, check_unsubscribe, unsubscribe_key
from notifier.channels.subscriptions import ID_PATTERN
from notifier.errors import ProblemError

FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Unsubscribe · match-notifier</title></head><body>
<form method="post"><button type="submit" name="List-Unsubscribe" value="One-Click">
Unsubscribe from these alerts</button></form></body></html>"""


async def _verified(request: web.Request) -> str:
    sub_id, token = request.query.get("s", ""), request.query.get("t", "")
    if not ID_PATTERN.match(sub_id) or not token:
        raise ProblemError(404, "no such subscription")
    key = await unsubscribe_key(request.app[REDIS])
    if not check_unsubscribe(key, sub_id, token):
        raise ProblemError(404, "no such subscription")
    return sub_id


async def confirm(request: web.Request) -> web.Response:
    """``GET``: a one-button form (nothing changes on a GET)."""
    await _verified(request)
    return web.Response(text=FORM, content_type="text/html", headers={"Cache-Control": "no-store"})


async def unsubscribe(request: web.Request) -> web.Response:
    """``POST`` (one-click): remove the subscription; 200 even if it was already gone."""
    sub_id = await _verified(request)
    store = request.app[SUBSCRIPTIONS]
    sub = await store.get(sub_id)
    if sub is not None and sub.spec.channel == "email":
        await store.delete(sub)
    return web.Response(text="Unsubscribed.\n", content_type="text/plain")


def setup_unsubscribe(app: web.Application) -> None:
    """Add the unsubscribe routes."""
    app.router.add_get(UNSUBSCRIBE_PATH, confirm)
    app.router.add_post(UNSUBSCRIBE_PATH, unsubscribe)
