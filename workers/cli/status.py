"""What the notifier is doing, for people: what it follows, the next matches, and each
provider's last poll. ``notifier status`` prints it; ``notifier run`` logs it at start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from notifier.bus import keys, poll_status
from notifier.bus.follows import list_follows
from notifier.bus.watches import list_watches
from notifier.feeds import registry
from notifier.settings import FollowSettings, Settings

NEXT_MATCHES = 10
RECENT = timedelta(hours=3)  # a match that kicked off this long ago may still be on
HOW_TO_FOLLOW = (
    "Following nothing yet. Find your team with `notifier teams search NAME`, then"
    " `notifier follow team NAME` (ESPN needs no key), or add a [[follow]] to the settings."
)


def follow_json(f: FollowSettings, source: str) -> dict[str, Any]:
    """One follow, for people and for ``--json``."""
    names = getattr(f, "team_names", {})
    return {
        "id": f"{f.provider}:{f.league}",
        "provider": f.provider,
        "league": f.league,
        "league_name": getattr(f, "league_name", None),
        "season": f.season,
        "teams": [{"id": t, "name": names.get(t, t)} for t in f.teams],
        "source": source,
    }


async def followed(r: aioredis.Redis, settings: Settings) -> list[dict[str, Any]]:
    """Every follow: the settings file's and the stored ones."""
    out = [follow_json(f, "config") for f in settings.follow]
    return out + [follow_json(f, "stored") for f in await list_follows(r)]


async def summary(r: aioredis.Redis, settings: Settings) -> dict[str, Any]:
    """Follows, next matches (kick-off times in UTC) and per-provider poll status."""
    now = datetime.now(UTC)
    upcoming = []
    for w in await list_watches(r):
        p = keys.partition_of(w.tie or w.key, settings.streams.partitions)
        if await r.exists(keys.match_done(p, w.key)):
            continue
        if w.kickoff is None or w.kickoff >= now - RECENT:
            upcoming.append(w)
    upcoming.sort(key=lambda w: w.kickoff or now)
    matches = [
        {
            "match": w.key,
            "title": w.title,
            "kickoff": w.kickoff.isoformat() if w.kickoff else None,
            "tie": w.tie,
        }
        for w in upcoming[:NEXT_MATCHES]
    ]
    providers = {name: await poll_status.read(r, name) for name in registry.NAMES}
    return {
        "follows": await followed(r, settings),
        "next_matches": matches,
        "providers": {k: v for k, v in providers.items() if v},
    }


def lines(s: dict[str, Any]) -> list[str]:
    """The summary as lines of text."""
    out = ["Following:"] if s["follows"] else [HOW_TO_FOLLOW]
    for f in s["follows"]:
        teams = ", ".join(t["name"] for t in f["teams"]) or "every team"
        league = f"{f['league']} ({f['league_name']})" if f["league_name"] else f["league"]
        out.append(f"  {f['provider']} {league}: {teams}  [{f['source']}]")
    if s["next_matches"]:
        out.append("Next matches:")
    for m in s["next_matches"]:
        when = _when(m["kickoff"])
        out.append(f"  {when}  {m['title'] or m['match']}  ({m['match']})")
    if not s["next_matches"] and s["follows"]:
        out.append("No match found yet for what is followed (the fixtures job looks daily).")
    for name, p in s["providers"].items():
        line = f"{name}: last poll {p.get('last_poll') or 'none'}"
        if p.get("outcome"):
            line += f" ({p['outcome']})"
        line += f"; next poll {p.get('next_poll') or 'none due'}"
        if p.get("fixtures_at"):
            line += f"; fixtures {p['fixtures_at']} ({p.get('fixtures_outcome', '')})"
        out.append(line)
    return out


def _when(iso: str | None) -> str:
    if iso is None:
        return "kick-off unknown"
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%a %d %b %H:%M UTC")
