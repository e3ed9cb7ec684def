"""Follows made at run time (``notifier follow``, ``/v1/follows``), stored in Redis beside the
ones of the settings file. One entry per provider and competition; following a team adds its id
to the entry of each competition it plays in; a competition followed whole has no teams.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from pydantic import Field

from notifier.bus import keys
from notifier.settings import FollowSettings


class Follow(FollowSettings):
    """A stored follow: the settings' ``[[follow]]`` with the names shown to people."""

    league_name: str | None = None
    team_names: dict[str, str] = Field(default_factory=dict)  # team id -> name

    @property
    def id(self) -> str:
        """``provider:league``: what ``unfollow`` and ``DELETE /v1/follows/{id}`` name."""
        return f"{self.provider}:{self.league}"


async def list_follows(r: aioredis.Redis) -> list[Follow]:
    """Every stored follow, by id."""
    raw = await r.hgetall(keys.follows())
    found = [Follow.model_validate_json(v) for v in raw.values()]
    return sorted(found, key=lambda f: f.id)


async def version(r: aioredis.Redis) -> int:
    """How many times the stored follows changed (0: never)."""
    return int(await r.get(keys.follows_version()) or 0)


async def _save(r: aioredis.Redis, follow: Follow | None, follow_id: str) -> None:
    async with r.pipeline(transaction=True) as pipe:
        if follow is None:
            pipe.hdel(keys.follows(), follow_id)
        else:
            pipe.hset(keys.follows(), follow_id, follow.model_dump_json())
        pipe.incr(keys.follows_version())
        await pipe.execute()


async def get_follow(r: aioredis.Redis, follow_id: str) -> Follow | None:
    """One stored follow."""
    raw = await r.hget(keys.follows(), follow_id)
    return Follow.model_validate_json(raw) if raw else None


async def add_follow(r: aioredis.Redis, new: Follow) -> Follow:
    """Store a follow, merged with the one already there (teams added; a whole competition
    stays whole); the stored result."""
    old = await get_follow(r, new.id)
    merged = new if old is None else merge(old, new)
    await _save(r, merged, merged.id)
    return merged


def merge(old: Follow, new: Follow) -> Follow:
    """``new`` added to ``old``: teams joined; either one whole makes the result whole."""
    whole = not old.teams or not new.teams
    teams = [] if whole else [*old.teams, *(t for t in new.teams if t not in old.teams)]
    names = {} if whole else {**old.team_names, **new.team_names}
    return old.model_copy(
        update={
            "teams": teams,
            "team_names": names,
            "season": new.season or old.season,
            "league_name": new.league_name or old.league_name,
        }
    )


async def remove_follow(r: aioredis.Redis, follow_id: str) -> bool:
    """Stop following a competition (and every team followed in it); whether it was followed."""
    if await get_follow(r, follow_id) is None:
        return False
    await _save(r, None, follow_id)
    return True


async def remove_team(r: aioredis.Redis, provider: str, team_id: str) -> list[str]:
    """Stop following a team everywhere; the ids of the follows it was removed from."""
    changed = []
    for follow in await list_follows(r):
        if follow.provider != provider or team_id not in follow.teams:
            continue
        teams = [t for t in follow.teams if t != team_id]
        names = {k: v for k, v in follow.team_names.items() if k != team_id}
        kept = follow.model_copy(update={"teams": teams, "team_names": names}) if teams else None
        await _save(r, kept, follow.id)
        changed.append(follow.id)
    return changed
