"""Errors as problem details (RFC 9457, ``application/problem+json``), and request bodies read
within bounds and validated into models, a 422 naming the field that is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, TypeVar

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ValidationError

from notifier.channels.subscriptions import DOCUMENTED, FieldError
from notifier.errors import ProblemError

log = logging.getLogger("notifier.api")
PROBLEM = "application/problem+json"
JSON_TYPES = frozenset({"application/json", "application/merge-patch+json"})
M = TypeVar("M", bound=BaseModel)


def problem(
    status: int,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    """A problem-details response."""
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase}
    body["status"] = status
    if detail:
        body["detail"] = detail
    body.update(extra)
    return web.Response(
        body=orjson.dumps(body), status=status, content_type=PROBLEM, headers=headers
    )


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """pydantic's errors as ``{"field": "a.b", "message": ...}``, naming the field at fault."""
    out = []
    for err in exc.errors(include_url=False):
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            out.append({"field": cause.field, "message": cause.message})
            continue
        loc = ".".join(str(part) for part in err["loc"]) or "body"
        out.append({"field": loc, "message": err["msg"]})
    return out


def unprocessable(errors: Sequence[dict[str, str]]) -> ProblemError:
    """A 422 for the given field errors (the first one in ``detail``)."""
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return ProblemError(422, f"{first['field']}: {first['message']}", errors=list(errors))


def integral(data: dict[str, Any] | list[Any]) -> None:
    """Whole floats made ints, in place: JSON has one number type, so ``52.0`` is the integer
    52 to a JSON Schema, and strict validation must take it as such. A loop, not recursion:
    orjson reads up to 1024 levels, more than Python's stack allows."""
    todo: list[dict[str, Any] | list[Any]] = [data]
    while todo:
        node = todo.pop()
        keys = node.keys() if isinstance(node, dict) else range(len(node))
        for key in keys:
            value = node[key]  # type: ignore[index]
            if isinstance(value, float) and value.is_integer():
                node[key] = int(value)  # type: ignore[index]
            elif isinstance(value, dict | list):
                todo.append(value)


async def read_model(request: web.Request, model: type[M], max_bytes: int) -> M:
    """The JSON body as ``model``: 415 if not JSON, 413 if too large, 400 if unreadable, 422 if
    it is not what the document's schema of ``model`` says (types strictly: no coercion)."""
    if request.content_type not in JSON_TYPES:
        raise ProblemError(415, "send the body as application/json")
    if request.content_length is not None and request.content_length > max_bytes:
        raise ProblemError(413, f"the body may be at most {max_bytes} bytes")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ProblemError(413, f"the body may be at most {max_bytes} bytes") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ProblemError(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise unprocessable([{"field": "body", "message": "must be a JSON object"}])
    integral(data)
    try:
        # Strict: JSON types as the document gives them (no "1" for 1, no 0 for false); and
        # held to the document's forms (a subscription's url: notifier.channels.shapes).
        return model.model_validate(data, strict=True, context=DOCUMENTED)
    except ValidationError as exc:
        raise unprocessable(field_errors(exc)) from None
    except FieldError as exc:
        raise unprocessable([{"field": exc.field, "message": exc.message}]) from None


@web.middleware
async def problems_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error (ours, aiohttp's, unexpected ones) as problem details."""
    try:
        return await handler(request)
    except ProblemError as exc:
        return problem(exc.status, exc.detail, headers=exc.headers, **exc.extra)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 413:
            return problem(413, "the request body is too large")
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        text = exc.text or ""
        detail = None if text.startswith(f"{exc.status}:") else text[:300]
        return problem(exc.status, detail, headers=headers)
    except Exception:
        log.exception("api_error", extra={"path": request.path, "method": request.method})
        return problem(500, "internal error")
