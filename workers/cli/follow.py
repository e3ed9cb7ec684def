"""Find and follow: ``teams search``, ``leagues``, ``follow``, ``unfollow``, ``follows`` and
``status``. Lookups go to the provider (ESPN by default: no key); follows are stored in Redis
(REDIS_URL, else the embedded server a running ``notifier run`` shares, else one started for
the command on the same data directory), where a running poller picks them up within seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import Any

import redis.asyncio as aioredis

from notifier.bus.connect import open_redis
from notifier.bus.follows import Follow, add_follow, list_follows, remove_follow, remove_team
from notifier.errors import NotFoundError
from notifier.feeds import registry
from notifier.feeds.catalog import fold
from notifier.settings import Settings
from workers.cli import finder, status
from workers.cli.finder import Finder

COMMANDS = ("teams", "leagues", "follow", "unfollow", "follows", "status")


def _provider(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--provider", choices=registry.NAMES, help="default: one with a key configured, else espn"
    )


def register(sub: Any) -> None:
    """Add the find-and-follow commands."""
    teams = sub.add_parser("teams", help="find teams").add_subparsers(
        dest="teams_command", required=True
    )
    search = teams.add_parser("search", help="teams whose name matches QUERY, with their ids")
    search.add_argument("query")
    _provider(search)
    search.add_argument("--league", action="append", help="search this competition; repeatable")
    search.add_argument("--json", action="store_true", help="one JSON object per line")
    leagues = sub.add_parser("leagues", help="the competitions a provider offers, with their ids")
    _provider(leagues)
    leagues.add_argument("--json", action="store_true", help="one JSON object per line")
    for verb in ("follow", "unfollow"):
        what = sub.add_parser(verb, help=f"{verb} a team or a competition").add_subparsers(
            dest="what", required=True
        )
        team = what.add_parser("team", help=f"{verb} a team by name or provider id")
        team.add_argument("team")
        _provider(team)
        league = what.add_parser("league", help=f"{verb} a competition by its id (`leagues`)")
        league.add_argument("league")
        _provider(league)
        if verb == "follow":
            team.add_argument("--league", action="append", help="look in this competition")
            league.add_argument("--teams", nargs="+", default=[], help="only these teams")
            league.add_argument("--season", type=int, help="API-Football: the season's year")
    follows = sub.add_parser("follows", help="what is followed (settings file and stored)")
    follows.add_argument("--json", action="store_true")
    st = sub.add_parser("status", help="follows, next matches, each provider's last poll")
    st.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, settings: Settings) -> int | None:
    """Run one of this module's commands; None when the command is another module's."""
    if args.command not in COMMANDS:
        return None
    provider = getattr(args, "provider", None) or registry.default_name(settings)
    handler = {
        "teams": _teams,
        "leagues": _leagues,
        "follow": _follow,
        "unfollow": _unfollow,
        "follows": _follows,
        "status": _status,
    }[args.command]
    try:
        return asyncio.run(handler(args, settings, provider))
    except NotFoundError as exc:
        print(f"notifier: {exc}", file=sys.stderr)
        return 1


def _print_rows(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    for row in rows:
        if as_json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            print("  ".join(str(row[c]) for c in columns if row.get(c) not in (None, "")))


async def _teams(args: argparse.Namespace, settings: Settings, provider: str) -> int:
    async with finder.session() as s:
        found = await Finder(s, settings, provider).search(args.query, args.league)
    if not found:
        print(f"notifier: no team matches {args.query!r} at {provider}", file=sys.stderr)
        return 1
    cols = ["provider", "id", "name", "country", "league", "league_name"]
    _print_rows([t.json() for t in found], args.json, cols)
    return 0


async def _leagues(args: argparse.Namespace, settings: Settings, provider: str) -> int:
    async with finder.session() as s:
        found = await Finder(s, settings, provider).leagues()
    _print_rows([x.json() for x in found], args.json, ["provider", "id", "name", "country"])
    return 0 if found else 1


@contextlib.asynccontextmanager
async def _store(settings: Settings) -> Any:
    async with contextlib.AsyncExitStack() as stack:
        yield await open_redis(settings, stack, join=True)


async def _follow(args: argparse.Namespace, settings: Settings, provider: str) -> int:
    async with finder.session() as s:
        look = Finder(s, settings, provider)
        if args.what == "team":
            team, made = await look.team_follows(args.team, args.league)
            if not made:
                raise NotFoundError(f"{team.name} ({provider} {team.id}) plays in no competition")
        else:
            made = [await _league_follow(look, args)]
    async with _store(settings) as r:
        stored = [await add_follow(r, f) for f in made]
    for f in stored:
        teams = ", ".join(f.team_names.get(t, t) for t in f.teams) or "every team"
        print(f"following {teams} in {f.id}" + (f" ({f.league_name})" if f.league_name else ""))
    print("`notifier run` follows it from now on (a running one within seconds).")
    return 0


async def _league_follow(look: Finder, args: argparse.Namespace) -> Follow:
    known = {x.id: x for x in await look.leagues()}
    league = known.get(args.league)
    if league is None:
        by_name = [x for x in known.values() if fold(args.league) in fold(x.name)]
        hint = "; ".join(f"{x.id} {x.name}" for x in by_name[:10]) or "see `notifier leagues`"
        raise NotFoundError(f"no competition {args.league!r} at {look.provider}: {hint}")
    return Follow(
        provider=look.provider,
        league=league.id,
        season=args.season or league.season,
        teams=args.teams,
        league_name=league.name,
    )


async def _unfollow(args: argparse.Namespace, settings: Settings, provider: str) -> int:
    async with _store(settings) as r:
        if args.what == "league":
            done = await remove_follow(r, f"{provider}:{args.league}")
            gone = [f"{provider}:{args.league}"] if done else []
        else:
            team_id = await _stored_team(r, provider, args.team)
            gone = await remove_team(r, provider, team_id)
    if not gone:
        raise NotFoundError(
            f"{provider}: {args.league if args.what == 'league' else args.team!r}"
            " is not followed (see `notifier follows`)"
        )
    print(f"unfollowed in {', '.join(gone)}")
    return 0


async def _stored_team(r: aioredis.Redis, provider: str, query: str) -> str:
    names: dict[str, str] = {}
    for f in await list_follows(r):
        if f.provider == provider:
            names.update({t: f.team_names.get(t, t) for t in f.teams})
    hits = [t for t, n in names.items() if query == t or fold(query) == fold(n)]
    hits = hits or [t for t, n in names.items() if fold(query) in fold(n)]
    if len(hits) != 1:
        listed = "; ".join(f"{t} {n}" for t, n in names.items()) or "none"
        raise NotFoundError(f"{query!r} names {len(hits)} followed teams ({provider}: {listed})")
    return hits[0]


async def _follows(args: argparse.Namespace, settings: Settings, provider: str) -> int:
    async with _store(settings) as r:
        rows = await status.followed(r, settings)
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    lines = status.lines({"follows": rows, "next_matches": [], "providers": {}})
    print("\n".join(line for line in lines if not line.startswith("No match")))
    return 0


async def _status(args: argparse.Namespace, settings: Settings, provider: str) -> int:
    async with _store(settings) as r:
        s = await status.summary(r, settings)
    print(json.dumps(s, ensure_ascii=False, indent=2) if args.json else "\n".join(status.lines(s)))
    return 0
