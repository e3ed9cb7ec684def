"""Calling a chat platform's HTTP API: one bounded JSON POST, errors as :class:`BotError`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson

from notifier.channels.base import read_bounded
from notifier.errors import BotError
from notifier.net import retry_after

MAX_REPLY = 1024 * 1024  # a getUpdates batch of 100 updates fits


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    body: Mapping[str, Any] | list[Any],
    *,
    what: str,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 10.0,
    method: str = "POST",
) -> Any:
    """POST (or PUT) ``body`` as JSON; the decoded answer. BotError names ``what``, not the URL."""
    try:
        async with asyncio.timeout(timeout_s):
            async with session.request(
                method,
                url,
                data=orjson.dumps(body),
                headers={"Content-Type": "application/json", **(headers or {})},
                allow_redirects=False,
            ) as resp:
                raw, complete = await read_bounded(resp.content, MAX_REPLY)
                status = resp.status
                retry = resp.headers.get("Retry-After")
    except TimeoutError:
        raise BotError(f"{what}: timed out after {timeout_s:g}s") from None
    except aiohttp.ClientError as exc:
        raise BotError(f"{what}: {type(exc).__name__}") from None
    try:
        answer = orjson.loads(raw) if complete and raw else None
    except orjson.JSONDecodeError:
        answer = None
    if status >= 400 and not isinstance(answer, dict):
        wait = retry_after(retry, datetime.now(UTC))
        raise BotError(f"{what}: HTTP {status}", status=status, retry_after=wait)
    return answer
