"""Delivery commands: ``notifier api``, ``notifier subscribe``, ``notifier subscriptions
list|get|delete`` (through the HTTP API, with ``api.client_token`` or the first of
``api.tokens``), and ``notifier dlq list|replay`` (on Redis: needs ``REDIS_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import aiohttp

from notifier.bus.connect import connect
from notifier.channels.subscriptions import CHANNELS
from notifier.domain.alerts import ALERT_KINDS
from notifier.settings import Settings
from workers.cli import commands
from workers.cli.main import run_async
from workers.deliver import dlq as delivery_dlq

TIMEOUT_S = 10.0
NO_API = (
    "notifier: no API answers at {base}. Start one with `notifier run` (every worker and the"
    " API) or `notifier api`; elsewhere, set api.url (NOTIFIER_API__URL) to where it runs."
)


def register(sub: Any) -> None:
    """Add the delivery commands to the command line."""
    sub.add_parser("api", help="the HTTP API alone (subscriptions, SSE, live page)")
    _subscribe_args(sub.add_parser("subscribe", help="create a subscription (prints its secret)"))
    subs = sub.add_parser("subscriptions", help="list, show or delete your subscriptions")
    subs_cmd = subs.add_subparsers(dest="subs_command", required=True)
    subs_cmd.add_parser("list", help="your subscriptions")
    for name in ("get", "delete"):
        subs_cmd.add_parser(name, help=f"{name} one subscription").add_argument("id")
    dlq = sub.add_parser("dlq", help="dead letters: list them, or replay them")
    dlq_cmd = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = dlq_cmd.add_parser("list", help="the oldest dead letters, one JSON line each")
    listing.add_argument("--stage", default="delivery", choices=delivery_dlq.STAGES)
    listing.add_argument("--limit", type=int, default=100)
    replay = dlq_cmd.add_parser("replay", help="put dead letters back where they failed")
    replay.add_argument("--stage", default="delivery", choices=delivery_dlq.STAGES)
    replay.add_argument("ids", nargs="*", help="entry ids to replay (default: all)")


def _subscribe_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--channel", required=True, choices=CHANNELS)
    p.add_argument("--url", default="", help="webhook/slack/discord URL, or an ntfy server")
    p.add_argument("--secret", help="whsec_... for a webhook (default: a new one); bot token")
    p.add_argument("--team", action="append", default=[], help="a team to follow; repeatable")
    p.add_argument("--match", action="append", default=[], help="a match key; repeatable")
    p.add_argument("--tie", action="append", default=[], help="a tie id; repeatable")
    p.add_argument("--competition", action="append", default=[], help="repeatable")
    p.add_argument("--kinds", help="comma-separated alert kinds: " + ", ".join(ALERT_KINDS))
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--description")


def run(args: argparse.Namespace, settings: Settings) -> int | None:
    """Run one of this module's commands; None when the command is another module's."""
    if args.command == "api":
        run_async(commands.run(settings, roles=("api",)))
        return 0
    if args.command == "subscribe":
        return asyncio.run(call_api(settings, "POST", "/v1/subscriptions", subscribe_body(args)))
    if args.command == "subscriptions":
        method, path = {
            "list": ("GET", "/v1/subscriptions"),
            "get": ("GET", f"/v1/subscriptions/{getattr(args, 'id', '')}"),
            "delete": ("DELETE", f"/v1/subscriptions/{getattr(args, 'id', '')}"),
        }[args.subs_command]
        return asyncio.run(call_api(settings, method, path))
    if args.command == "dlq":
        return asyncio.run(dlq(settings, args))
    return None


def _option(text: str) -> tuple[str, str | int | bool]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--option {text!r}: write KEY=VALUE")
    if value.lstrip("-").isdigit():
        return key, int(value)
    if value in ("true", "false"):
        return key, value == "true"
    return key, value


def subscribe_body(args: argparse.Namespace) -> dict[str, Any]:
    """The POST body of ``notifier subscribe``."""
    body: dict[str, Any] = {
        "channel": args.channel,
        "url": args.url,
        "teams": args.team,
        "matches": args.match,
        "ties": args.tie,
        "competitions": args.competition,
        "options": dict(_option(o) for o in args.option),
    }
    if args.secret:
        body["secret"] = args.secret
    if args.kinds:
        body["kinds"] = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if args.description:
        body["description"] = args.description
    return body


def api_base(settings: Settings) -> str:
    """Where the API is: ``api.url``, else its bind address (a wildcard one as loopback)."""
    if settings.api.url:
        return settings.api.url.rstrip("/")
    host = settings.api.host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    return f"http://{host}:{settings.api.port}"


def client_token(settings: Settings) -> str | None:
    """The token the CLI sends."""
    if settings.api.client_token is not None:
        return settings.api.client_token.get_secret_value()
    return settings.api.tokens[0].get_secret_value() if settings.api.tokens else None


async def call_api(
    settings: Settings, method: str, path: str, body: dict[str, Any] | None = None
) -> int:
    """Call the API, print the JSON answer (or the problem on stderr); 0 if it succeeded."""
    token = client_token(settings)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    base = api_base(settings)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, base + path, json=body, headers=headers) as resp,
        ):
            text = await resp.text()
    except aiohttp.ClientConnectionError:
        print(NO_API.format(base=base), file=sys.stderr)
        return 2
    if resp.status >= 400:
        try:
            problem = json.loads(text)
            text = problem.get("detail") or problem.get("title") or text
        except ValueError:
            pass
        print(f"notifier: {method} {path}: HTTP {resp.status}: {text}", file=sys.stderr)
        return 1
    if text:
        print(json.dumps(json.loads(text), indent=2, ensure_ascii=False))
    return 0


async def dlq(settings: Settings, args: argparse.Namespace) -> int:
    """``notifier dlq list|replay``."""
    if not settings.redis_url:
        print("notifier: dlq needs REDIS_URL (the server the workers use)", file=sys.stderr)
        return 2
    r = connect(settings.redis_url)
    try:
        if args.dlq_command == "list":
            rows = await delivery_dlq.list_entries(r, args.stage, args.limit)
            for row in rows:
                row.pop("body", None)  # the alert itself is long; its id is enough here
                print(json.dumps(row, ensure_ascii=False))
            return 0
        done, problems = await delivery_dlq.replay(r, settings, args.stage, ids=args.ids)
    finally:
        await r.aclose()
    for problem in problems:
        print(f"notifier: dlq replay: {problem}", file=sys.stderr)
    print(f"replayed {done} dead letter(s) from nf:dlq:{args.stage}")
    return 0 if not problems else 1
