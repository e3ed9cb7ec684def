"""The OpenAPI 3.1 document of the API, served at ``/openapi.json``.

Schemas come from the same pydantic models that validate requests and shape answers. Modules
that add routes through ``notifier.api.app.SETUPS`` may describe them in :data:`EXTRA_PATHS`.
An instance documents only the operations it serves: a chat platform that is not configured, or
an extra that is not installed, adds no route, so its paths are left out rather than promised.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from notifier import __version__
from notifier.api.follows import ID_PATTERN, FollowList, FollowSpec, FollowView
from notifier.api.problems import PROBLEM
from notifier.api.push import PushRequest, Unsubscribe
from notifier.api.schemas import Problem, SubscriptionCreated, SubscriptionList, SubscriptionView
from notifier.channels.subscriptions import SubscriptionPatch, SubscriptionSpec
from notifier.domain.alerts import Alert

EXTRA_PATHS: dict[str, dict[str, Any]] = {}
DOCUMENT = web.AppKey("openapi_document", bytes)
METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
REF = "#/components/schemas/{model}"
MODELS: list[type[BaseModel]] = [
    SubscriptionSpec,
    SubscriptionPatch,
    FollowSpec,
    PushRequest,
    Unsubscribe,
]
OUT_MODELS: list[type[BaseModel]] = [
    FollowView,
    FollowList,
    SubscriptionView,
    SubscriptionCreated,
    SubscriptionList,
    Problem,
    Alert,
]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _problems(*statuses: int, said: dict[int, str] | None = None) -> dict[str, Any]:
    text = {
        400: "Malformed request",
        401: "No token, or a wrong one",
        403: "Refused: a quota is reached, or (errors names the field) the target is one "
        "this server will not deliver to: its name does not resolve or resolves to a "
        "non-public address, plain HTTP or an address outside delivery.allow_networks, "
        "an Apprise URL the installed Apprise cannot use",
        404: "No such subscription (or not yours)",
        409: "Changed meanwhile (try again), or the change does not fit the subscription "
        "as it is (its channel): errors names the field",
        413: "Body too large",
        408: "The body came too slowly",
        415: "Body is not JSON, or has a Content-Encoding",
        422: "A field is invalid: `errors` names it",
        429: "Too many open streams for this token",
        503: "Redis is unavailable: retry after Retry-After",
    }
    text |= said or {}
    return {
        str(s): {"description": text[s], "content": {PROBLEM: {"schema": _ref("Problem")}}}
        for s in statuses
    }


def _json_body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


STRING = {"type": "string"}
SUB_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": r"^sub_[0-9a-f]{20}$"},
}


LIST_PARAMETERS = [
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "The next_cursor of the previous page (none or empty: the first page)",
        "schema": {"type": "string", "pattern": r"^(sub_[0-9a-f]{20})?$"},
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Subscriptions per page (default api.list_page_size)",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
    },
]


def _query(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


def _paths() -> dict[str, Any]:
    subs = "/v1/subscriptions"
    return {
        subs: {
            "post": {
                "summary": "Create a subscription; the answer shows its secret, once",
                "operationId": "createSubscription",
                "requestBody": _json_body("SubscriptionSpec"),
                "responses": {
                    "201": _ok("Created", _ref("SubscriptionCreated")),
                    **_problems(400, 401, 403, 408, 413, 415, 422, 503),
                },
            },
            "get": {
                "summary": "A page of the caller's subscriptions, by id (next_cursor: the next)",
                "operationId": "listSubscriptions",
                "parameters": LIST_PARAMETERS,
                "responses": {
                    "200": _ok("OK", _ref("SubscriptionList")),
                    **_problems(401, 422, 503),
                },
            },
        },
        subs + "/{id}": {
            "parameters": [SUB_ID],
            "get": {
                "summary": "One subscription",
                "operationId": "getSubscription",
                "responses": {
                    "200": _ok("OK", _ref("SubscriptionView")),
                    **_problems(401, 404, 503),
                },
            },
            "patch": {
                "summary": "Change the fields given; rotate_secret makes a new webhook secret",
                "operationId": "updateSubscription",
                "requestBody": _json_body("SubscriptionPatch"),
                "responses": {
                    "200": _ok(
                        "Updated (with the secret when one was set or rotated)",
                        {"anyOf": [_ref("SubscriptionCreated"), _ref("SubscriptionView")]},
                    ),
                    **_problems(400, 401, 403, 404, 408, 409, 413, 415, 422, 503),
                },
            },
            "delete": {
                "summary": "Delete a subscription",
                "operationId": "deleteSubscription",
                "responses": {"204": {"description": "Deleted"}, **_problems(401, 404, 503)},
            },
        },
        "/v1/stream": {"get": _stream_op()},
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {"200": _ok("OK", {"type": "object"}), **_problems(401)},
            }
        },
    }


def _stream_op() -> dict[str, Any]:
    return {
        "summary": "Alerts as Server-Sent Events (event: alert, data: an Alert, id: position)",
        "operationId": "streamAlerts",
        "parameters": [
            _query("team", "Teams to follow (repeat or comma-separate)"),
            _query("match", "Match keys to follow"),
            _query("tie", "Tie ids to follow"),
            _query("competition", "Competitions to follow"),
            _query("kinds", "Alert kinds wanted (default: all)"),
            _query("last_event_id", "Resume after this event id (as Last-Event-ID)"),
            {
                "name": "delay",
                "in": "query",
                "required": False,
                "description": "Spoiler delay: each alert this many seconds after it was emitted; "
                "a goal ruled out meanwhile is never sent, nor its cancellation",
                "schema": {"type": "integer", "minimum": 0, "maximum": 900, "default": 0},
            },
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "200": {
                "description": "An endless event stream; each event's data is an Alert",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            **_problems(401, 422, 429, 503),
        },
    }


FOLLOW_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "provider:league, e.g. espn:eng.1",
    "schema": {"type": "string", "pattern": ID_PATTERN.pattern},
}
FOLLOW_PATHS: dict[str, Any] = {
    "/v1/follows": {
        "get": {
            "summary": "What is followed: the settings file's follows and the stored ones",
            "operationId": "listFollows",
            "responses": {"200": _ok("OK", _ref("FollowList")), **_problems(401)},
        },
        "post": {
            "summary": "Follow a competition (and teams in it); merged with what is there",
            "operationId": "createFollow",
            "requestBody": _json_body("FollowSpec"),
            "responses": {
                "201": _ok("Stored", _ref("FollowView")),
                **_problems(400, 401, 403, 413, 415, 422),
            },
        },
    },
    "/v1/follows/{id}": {
        "parameters": [FOLLOW_ID],
        "delete": {
            "summary": "Stop following a stored competition (and its teams)",
            "operationId": "deleteFollow",
            "responses": {"204": {"description": "Deleted"}, **_problems(401, 404)},
        },
    },
}


def _text(description: str, media: str) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": {"type": "string"}}}}


PAIR = {"type": "array", "items": STRING, "minItems": 2, "maxItems": 2}  # (field, value)
PUSH_CREATED = {
    "type": "object",
    "required": ["id", "follows"],
    "properties": {
        "id": SUB_ID["schema"],
        "follows": {"type": "array", "items": PAIR, "description": "(field, value) it is under"},
    },
}
PUSH_KEY = {"type": "object", "required": ["publicKey"], "properties": {"publicKey": STRING}}
WRITE_ERRORS = (400, 401, 408, 413, 415, 422, 503)
PUSH_PATHS: dict[str, Any] = {
    "/v1/push/key": {
        "get": {
            "summary": "The VAPID public key browsers subscribe with (applicationServerKey)",
            "operationId": "pushKey",
            "responses": {"200": _ok("OK", PUSH_KEY), **_problems(401, 503)},
        },
    },
    "/v1/push/subscriptions": {
        "post": {
            "summary": "Store a browser's PushSubscription as a webpush subscription of the "
            "caller (the same endpoint again replaces it); the live page may use its cookie",
            "operationId": "createPushSubscription",
            "requestBody": _json_body("PushRequest"),
            "responses": {
                "201": _ok("Stored (or replaced)", PUSH_CREATED),
                **_problems(403, 409, *WRITE_ERRORS, said={409: "Subscribed by another token"}),
            },
        },
        "delete": {
            "summary": "Remove the caller's push subscription of this endpoint",
            "operationId": "deletePushSubscription",
            "requestBody": _json_body("Unsubscribe"),
            "responses": {
                "204": {"description": "Removed"},
                **_problems(404, *WRITE_ERRORS, said={404: "No push subscription of yours"}),
            },
        },
    },
}
LINK = [
    {"name": "s", "in": "query", "required": True, "schema": SUB_ID["schema"]},
    {"name": "t", "in": "query", "required": True, "description": "HMAC of s", "schema": STRING},
]
NO_LINK = {404: "Not a valid unsubscribe link"}
ONE_CLICK = {"type": "object", "properties": {"List-Unsubscribe": {"const": "One-Click"}}}
UNSUBSCRIBE_PATHS: dict[str, Any] = {
    "/v1/email/unsubscribe": {
        "parameters": LINK,
        "get": {
            "summary": "A mail's List-Unsubscribe link in a browser: a one-button form",
            "operationId": "emailUnsubscribeForm",
            "security": [],  # the link's signature authenticates it
            "responses": {
                "200": _text("The form", "text/html"),
                **_problems(404, 503, said=NO_LINK),
            },
        },
        "post": {
            "summary": "One-click unsubscribe (RFC 8058); 200 also when it is gone already",
            "operationId": "emailUnsubscribe",
            "security": [],
            "requestBody": {
                "content": {"application/x-www-form-urlencoded": {"schema": ONE_CLICK}}
            },
            "responses": {
                "200": _text("Unsubscribed", "text/plain"),
                **_problems(404, 413, 503, said=NO_LINK),
            },
        },
    },
}


@functools.cache
def _schemas() -> dict[str, Any]:
    pairs = [(m, "validation") for m in MODELS] + [(m, "serialization") for m in OUT_MODELS]
    _, top = models_json_schema(pairs, ref_template=REF)  # type: ignore[arg-type]
    return dict(top.get("$defs", {}))


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "match-notifier",
            "version": __version__,
            "description": "Subscriptions to live football alerts, and the alert stream.",
        },
        "paths": {**_paths(), **FOLLOW_PATHS, **PUSH_PATHS, **UNSUBSCRIBE_PATHS, **EXTRA_PATHS},
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "nf_token"},
            },
        },
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
    }


def served(doc: dict[str, Any], routes: set[tuple[str, str]]) -> dict[str, Any]:
    """``doc`` with only the operations in ``routes`` ((method, path template) pairs): a path
    none of whose operations is served is left out."""
    paths = {}
    for path, item in doc["paths"].items():
        kept = {k: v for k, v in item.items() if k not in METHODS or (k, path) in routes}
        if METHODS & set(kept):
            paths[path] = kept
    return {**doc, "paths": paths}


async def _build(app: web.Application) -> None:
    routes = {(r.method.lower(), r.resource.canonical) for r in app.router.routes() if r.resource}
    app[DOCUMENT] = orjson.dumps(served(document(), routes))


async def openapi(request: web.Request) -> web.Response:
    """``GET /openapi.json``: the document of the routes this application serves."""
    return web.Response(body=request.app[DOCUMENT], content_type="application/json")


def setup_openapi(app: web.Application) -> None:
    """Add ``/openapi.json`` (built once the routes are all there: at startup)."""
    app.router.add_get("/openapi.json", openapi, allow_head=False)
    app.on_startup.append(_build)
