"""Web Push from the live page: the VAPID public key, and the browser's push subscriptions.

``GET /v1/push/key`` gives the key the page subscribes with (``applicationServerKey``);
``POST /v1/push/subscriptions`` stores the browser's PushSubscription (endpoint and keys) with
what it follows (a tie, match or team) and its language, as a ``webpush`` subscription of the
caller; posting the same endpoint again replaces it (the id derives from the endpoint);
``DELETE /v1/push/subscriptions`` with the endpoint removes it. The endpoint is checked against
the SSRF rules of every target. ``/sw.js`` is the page's service worker, served from the root so
that its scope covers every page.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from notifier.api.auth import OWNER
from notifier.api.page import STATIC
from notifier.api.problems import field_errors, read_model, unprocessable
from notifier.api.state import REDIS, SETTINGS, SUBSCRIPTIONS
from notifier.api.targets import check_target, refused_target
from notifier.channels.shapes import AUTH_SECRET, HTTP_URL, LANG_TAG, P256DH
from notifier.channels.subscriptions import FieldError, Name, Subscription, SubscriptionSpec
from notifier.channels.webpush import available, load_vapid
from notifier.domain.texts import LANGS, language
from notifier.errors import ProblemError

BASE = "/v1/push"
FOLLOWS = ("teams", "matches", "ties")


class PushKeys(BaseModel):
    """``PushSubscription.toJSON().keys``."""

    p256dh: str = Field(pattern=P256DH, description="base64url of the 65-byte P-256 key")
    auth: str = Field(pattern=AUTH_SECRET, description="base64url of the 16-byte secret")


class PushSubscriptionJSON(BaseModel):
    """``PushSubscription.toJSON()`` as the browser gives it."""

    endpoint: str = Field(max_length=2048, pattern=HTTP_URL)
    keys: PushKeys
    expirationTime: float | None = None  # noqa: N815 (the browser's own name)


def _push_schema(schema: dict[str, Any]) -> None:
    """Something followed, in the document too."""
    schema["anyOf"] = [{"required": [f], "properties": {f: {"minItems": 1}}} for f in FOLLOWS]


class PushRequest(BaseModel):
    """What the page sends: the browser's subscription, what it follows, its language. Each
    rule of the webpush subscription it becomes is in the schema, so the document's requests
    are all stored (a 403 only for what the target check refuses: see targets.py)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_push_schema)

    subscription: PushSubscriptionJSON
    teams: list[Name] = Field(default_factory=list, max_length=10)
    matches: list[Name] = Field(default_factory=list, max_length=10)
    ties: list[Name] = Field(default_factory=list, max_length=10)
    lang: str = Field(default="en", pattern=LANG_TAG, description="a language tag: en, pt-BR")

    @model_validator(mode="after")
    def _something_followed(self) -> PushRequest:
        if not any(getattr(self, f) for f in FOLLOWS):
            raise FieldError("teams", "follow at least one team, match or tie")
        return self


class Unsubscribe(BaseModel):
    """The endpoint whose subscription to remove."""

    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(max_length=2048)


def _need_extra() -> None:
    """501 on an install without the ``webpush`` extra (the page then hides "Notify me")."""
    if not available():
        raise ProblemError(
            501, "Web Push needs the webpush extra: pip install 'match-notifier[webpush]'"
        )


def push_id(endpoint: str) -> str:
    """The subscription id of a browser's endpoint (one subscription per browser)."""
    return "sub_" + hashlib.sha256(b"nf-webpush:" + endpoint.encode()).hexdigest()[:20]


async def public_key(request: web.Request) -> web.Response:
    """``GET /v1/push/key``: ``{"publicKey": <base64url P-256 key>}``."""
    _need_extra()
    vapid = await load_vapid(request.app[REDIS])
    return web.json_response({"publicKey": vapid.public_key})


def _spec(body: PushRequest) -> SubscriptionSpec:
    sub = body.subscription
    try:
        return SubscriptionSpec(
            channel="webpush",
            url=sub.endpoint,
            options={"p256dh": sub.keys.p256dh, "auth": sub.keys.auth, "lang": body.lang},
            teams=body.teams,
            matches=body.matches,
            ties=body.ties,
            description="Web Push from the live page",
            lang=language(body.lang) if body.lang.split("-")[0].lower() in LANGS else None,
        )
    except ValidationError as exc:
        raise unprocessable(field_errors(exc)) from None


async def subscribe(request: web.Request) -> web.Response:
    """``POST /v1/push/subscriptions``: 201 with the subscription's id (replaces the same one)."""
    _need_extra()
    settings = request.app[SETTINGS]
    store = request.app[SUBSCRIPTIONS]
    owner = request[OWNER]
    body = await read_model(request, PushRequest, settings.api.max_body_bytes)
    spec = _spec(body)
    try:
        await check_target(spec, settings.delivery)
    except FieldError as exc:
        field = "subscription.endpoint" if exc.field == "url" else exc.field
        raise refused_target(field, exc.message) from None
    sub_id = push_id(spec.url)
    old = await store.get(sub_id)
    if old is not None and old.owner != owner:
        raise ProblemError(409, "this browser is subscribed by another token")
    if old is None and await store.count_owned(owner) >= settings.api.max_subscriptions_per_token:
        raise ProblemError(403, "too many subscriptions for this token")
    now = datetime.now(UTC)
    sub = Subscription(id=sub_id, owner=owner, spec=spec, created_at=now, updated_at=now)
    if old is not None:
        await store.delete(old)
    await store.create(sub)
    return web.json_response({"id": sub.id, "follows": sub.index()}, status=201)


async def unsubscribe(request: web.Request) -> web.Response:
    """``DELETE /v1/push/subscriptions`` ``{"endpoint": ...}``: 204 (404 if unknown)."""
    settings = request.app[SETTINGS]
    store = request.app[SUBSCRIPTIONS]
    body = await read_model(request, Unsubscribe, settings.api.max_body_bytes)
    sub = await store.get_owned(request[OWNER], push_id(body.endpoint))
    if sub is None or not await store.delete(sub):
        raise ProblemError(404, "no such push subscription")
    return web.Response(status=204)


async def service_worker(request: web.Request) -> web.FileResponse:
    """The page's service worker, at the root so its scope is the whole site."""
    return web.FileResponse(
        STATIC / "sw.js",
        headers={"Content-Type": "text/javascript", "Cache-Control": "no-cache"},
    )


def setup_push(app: web.Application) -> None:
    """Add the Web Push routes."""
    app.router.add_get(BASE + "/key", public_key)
    app.router.add_post(BASE + "/subscriptions", subscribe)
    app.router.add_delete(BASE + "/subscriptions", unsubscribe)
    app.router.add_get("/sw.js", service_worker)
