"""``/v1/subscriptions``: create, list, get, update and delete the caller's subscriptions.

A subscription belongs to the token that created it: any other token gets a 404 for it, as if it
did not exist. Secrets (a webhook's ``whsec_…``, a Telegram bot token) are in the answer to the
creation (or a rotation) only.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel, ValidationError

from notifier.api.auth import OWNER
from notifier.api.problems import field_errors, read_model, unprocessable
from notifier.api.schemas import SubscriptionList, created, view
from notifier.api.state import SETTINGS, SUBSCRIPTIONS
from notifier.api.targets import check_target, refused_target
from notifier.channels.subscriptions import (
    ID_PATTERN,
    FieldError,
    Subscription,
    SubscriptionPatch,
    SubscriptionSpec,
    merge_patch,
    new_id,
)
from notifier.channels.webhook import generate_secret
from notifier.errors import ProblemError

BASE = "/v1/subscriptions"
# Pages are built one at a time per process: four clients paging through 10,000 subscriptions
# at once kept the loop from /healthz for a page each; in turn, for one page at most.
LISTING = web.AppKey("listing", asyncio.Semaphore)
VIEW_STEP = 50
MAX_PAGE = 200  # a page is built in one go on the event loop: kept short


def _json(
    model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=model.model_dump_json(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _not_found() -> ProblemError:
    return ProblemError(404, "no such subscription")


def _sub_id(request: web.Request) -> str:
    sub_id = request.match_info["id"]
    if not ID_PATTERN.fullmatch(sub_id):
        raise _not_found()
    return sub_id


async def _checked(spec: SubscriptionSpec, request: web.Request) -> None:
    try:
        await check_target(spec, request.app[SETTINGS].delivery)
    except FieldError as exc:
        raise refused_target(exc.field, exc.message) from None


def _conflict(errors: list[dict[str, str]]) -> ProblemError:
    """A 409: the patch is valid, but not for this subscription as it is (its channel)."""
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return ProblemError(409, f"{first['field']}: {first['message']}", errors=errors)


async def create(request: web.Request) -> web.Response:
    """``POST /v1/subscriptions``: 201 with the subscription and its secret (shown once)."""
    settings = request.app[SETTINGS]
    store = request.app[SUBSCRIPTIONS]
    owner = request[OWNER]
    spec = await read_model(request, SubscriptionSpec, settings.api.max_body_bytes)
    limit = settings.api.max_subscriptions_per_token
    if await store.count_owned(owner) >= limit:  # early: no DNS check for a refused create
        raise _too_many(limit)
    if spec.channel == "webhook" and spec.secret is None:
        spec = spec.model_copy(update={"secret": generate_secret()})
    await _checked(spec, request)
    now = datetime.now(UTC)
    sub = Subscription(id=new_id(), owner=owner, spec=spec, created_at=now, updated_at=now)
    if not await store.create_capped(sub, limit):  # the count and the write in one step
        raise _too_many(limit)
    location = f"{BASE}/{sub.id}"
    return _json(created(sub, spec.secret), 201, {"Location": location})


def _too_many(limit: int) -> ProblemError:
    return ProblemError(403, f"at most {limit} subscriptions per token")


def _page_args(request: web.Request) -> tuple[str, int]:
    """``cursor`` (a subscription id; none or empty: the first page) and ``limit`` (1 to
    MAX_PAGE; none: api.list_page_size) of a list, as the document's parameters say."""
    cursor = request.query.get("cursor", "")
    if cursor and not ID_PATTERN.fullmatch(cursor):
        raise unprocessable([{"field": "cursor", "message": "not a cursor of this list"}])
    raw = request.query.get("limit")
    if raw is None:
        return cursor, request.app[SETTINGS].api.list_page_size
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise unprocessable([{"field": "limit", "message": f"an integer from 1 to {MAX_PAGE}"}])
    return cursor, int(raw)


async def list_all(request: web.Request) -> web.Response:
    """``GET /v1/subscriptions``: a page of the caller's subscriptions, by id.

    ``next_cursor`` (null on the last page) is the ``cursor`` of the next; a client that reads
    only ``subscriptions`` gets the first ``api.list_page_size``: 10,000 at once were 4.8 MB.
    """
    cursor, limit = _page_args(request)
    async with request.app[LISTING]:  # one page built at a time: the others wait their turn
        subs, after = await request.app[SUBSCRIPTIONS].page_owned(request[OWNER], cursor, limit)
        views = []
        for at in range(0, len(subs), VIEW_STEP):  # the loop is given back between steps
            await asyncio.sleep(0)
            views += [view(s) for s in subs[at : at + VIEW_STEP]]
        return _json(SubscriptionList(subscriptions=views, next_cursor=after))


async def get_one(request: web.Request) -> web.Response:
    """``GET /v1/subscriptions/{id}``."""
    sub = await request.app[SUBSCRIPTIONS].get_owned(request[OWNER], _sub_id(request))
    if sub is None:
        raise _not_found()
    return _json(view(sub))


async def update(request: web.Request) -> web.Response:
    """``PATCH /v1/subscriptions/{id}``: change what is given; ``rotate_secret`` makes one."""
    settings = request.app[SETTINGS]
    store = request.app[SUBSCRIPTIONS]
    owner, sub_id = request[OWNER], _sub_id(request)
    patch = await read_model(request, SubscriptionPatch, settings.api.max_body_bytes)
    current = await store.get_owned(owner, sub_id)
    if current is None:
        raise _not_found()
    if patch.rotate_secret and current.spec.channel != "webhook":
        raise _conflict([{"field": "rotate_secret", "message": "only webhooks have one"}])
    secret = generate_secret() if patch.rotate_secret else None
    try:
        spec = merge_patch(current.spec, patch, secret)
    except ValidationError as exc:
        raise _conflict(field_errors(exc)) from None
    if spec.url != current.spec.url:
        await _checked(spec, request)
    now = datetime.now(UTC)

    def change(old: Subscription) -> Subscription | None:
        if old.owner != owner:
            return None
        if old.spec.url != current.spec.url:
            raise ProblemError(409, "the subscription changed meanwhile: try again")
        reason = None if spec.enabled else old.disabled_reason
        return old.model_copy(update={"spec": spec, "updated_at": now, "disabled_reason": reason})

    new = await store.update(sub_id, change)
    if new is None:
        raise _not_found()
    shown = spec.secret if (secret is not None or patch.secret is not None) else None
    return _json(created(new, shown) if shown is not None else view(new))


async def delete(request: web.Request) -> web.Response:
    """``DELETE /v1/subscriptions/{id}``: 204."""
    store = request.app[SUBSCRIPTIONS]
    sub = await store.get_owned(request[OWNER], _sub_id(request))
    if sub is None or not await store.delete(sub):
        raise _not_found()
    return web.Response(status=204)


def setup_subscriptions(app: web.Application) -> None:
    """Add the subscription routes."""
    app[LISTING] = asyncio.Semaphore(1)
    app.router.add_post(BASE, create)
    app.router.add_get(BASE, list_all, allow_head=False)
    app.router.add_get(BASE + "/{id}", get_one, allow_head=False)
    app.router.add_patch(BASE + "/{id}", update)
    app.router.add_delete(BASE + "/{id}", delete)
