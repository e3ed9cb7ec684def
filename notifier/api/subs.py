"""``/v1/subscriptions``: create, list, get, update and delete the caller's subscriptions.

A subscription belongs to the token that created it: any other token gets a 404 for it, as if it
did not exist. Secrets (a webhook's ``whsec_…``, a Telegram bot token) are in the answer to the
creation (or a rotation) only.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel, ValidationError

from notifier.api.auth import OWNER
from notifier.api.problems import ProblemError, field_errors, read_model, unprocessable
from notifier.api.schemas import SubscriptionList, created, view
from notifier.api.state import SETTINGS, SUBSCRIPTIONS
from notifier.api.targets import check_target
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

BASE = "/v1/subscriptions"


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
    if not ID_PATTERN.match(sub_id):
        raise _not_found()
    return sub_id


async def _checked(spec: SubscriptionSpec, request: web.Request) -> None:
    try:
        await check_target(spec, request.app[SETTINGS].delivery)
    except FieldError as exc:
        raise unprocessable([{"field": exc.field, "message": exc.message}]) from None


async def create(request: web.Request) -> web.Response:
    """``POST /v1/subscriptions``: 201 with the subscription and its secret (shown once)."""
    settings = request.app[SETTINGS]
    store = request.app[SUBSCRIPTIONS]
    owner = request[OWNER]
    spec = await read_model(request, SubscriptionSpec, settings.api.max_body_bytes)
    limit = settings.api.max_subscriptions_per_token
    if await store.count_owned(owner) >= limit:
        raise ProblemError(403, f"at most {limit} subscriptions per token")
    if spec.channel == "webhook" and spec.secret is None:
        spec = spec.model_copy(update={"secret": generate_secret()})
    await _checked(spec, request)
    now = datetime.now(UTC)
    sub = Subscription(id=new_id(), owner=owner, spec=spec, created_at=now, updated_at=now)
    await store.create(sub)
    location = f"{BASE}/{sub.id}"
    return _json(created(sub, spec.secret), 201, {"Location": location})


async def list_all(request: web.Request) -> web.Response:
    """``GET /v1/subscriptions``: the caller's subscriptions."""
    subs = await request.app[SUBSCRIPTIONS].list_owned(request[OWNER])
    return _json(SubscriptionList(subscriptions=[view(s) for s in subs]))


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
        raise unprocessable([{"field": "rotate_secret", "message": "only webhooks have one"}])
    secret = generate_secret() if patch.rotate_secret else None
    try:
        spec = merge_patch(current.spec, patch, secret)
    except ValidationError as exc:
        raise unprocessable(field_errors(exc)) from None
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
    app.router.add_post(BASE, create)
    app.router.add_get(BASE, list_all, allow_head=False)
    app.router.add_get(BASE + "/{id}", get_one, allow_head=False)
    app.router.add_patch(BASE + "/{id}", update)
    app.router.add_delete(BASE + "/{id}", delete)
