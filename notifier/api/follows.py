"""``/v1/follows``: what the notifier follows, beyond its settings file (as ``notifier follow``).

Follows are the instance's, not a token's: any valid token sees and changes them. A follow names
a provider's competition (``league``) and, optionally, teams in it (ids or names, as
``[[follow]]`` takes them); a running poller picks a change up within seconds.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from notifier.api.problems import read_model
from notifier.api.state import REDIS, SETTINGS
from notifier.bus.follows import Follow, add_follow, list_follows, remove_follow
from notifier.errors import ProblemError
from notifier.feeds import registry

BASE = "/v1/follows"
MAX_FOLLOWS = 1000
ID_PATTERN = re.compile(rf"^({'|'.join(registry.NAMES)}):[^/]{{1,100}}$")
LEAGUE_PATTERN = r"^[A-Za-z0-9._-]{1,100}$"  # a stricter ID_PATTERN league: ids stay deletable


class FollowView(Follow):
    """A follow as the API shows it: its id and where it comes from."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    follow_id: str = Field(alias="id")  # provider:league, what DELETE takes
    source: Literal["config", "stored"] = "stored"


class FollowList(BaseModel):
    """``GET /v1/follows``."""

    follows: list[FollowView]


Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]
TeamId = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class FollowSpec(Follow):
    """``POST /v1/follows``: a competition, and optionally teams in it.

    Bounded where a settings file's ``[[follow]]`` is not: the league is what its id and
    ``DELETE /v1/follows/{id}`` carry (a slug, code or number: an empty or slashed one could
    never be deleted), and a season is a year."""

    model_config = ConfigDict(extra="forbid")

    league: str = Field(
        pattern=LEAGUE_PATTERN,
        description="API-Football league id, football-data code or ESPN slug, e.g. eng.1",
    )
    season: int | None = Field(default=None, ge=1900, le=2100)
    teams: list[Text] = Field(default_factory=list, max_length=100)
    next_round: Text | None = None
    league_name: Text | None = None
    team_names: dict[TeamId, Text] = Field(default_factory=dict, max_length=100)


def _view(f: Follow, source: Literal["config", "stored"]) -> FollowView:
    data = f.model_dump()
    return FollowView(**data, follow_id=f"{f.provider}:{f.league}", source=source)


def _json(model: BaseModel, status: int = 200) -> web.Response:
    body = model.model_dump_json(by_alias=True)
    return web.Response(body=body, status=status, content_type="application/json")


async def list_all(request: web.Request) -> web.Response:
    """``GET /v1/follows``: the settings file's follows and the stored ones."""
    settings = request.app[SETTINGS]
    config = [_view(Follow(**f.model_dump()), "config") for f in settings.follow]
    stored = [_view(f, "stored") for f in await list_follows(request.app[REDIS])]
    return _json(FollowList(follows=config + stored))


async def create(request: web.Request) -> web.Response:
    """``POST /v1/follows``: 201 with the follow as stored (merged with one already there)."""
    settings = request.app[SETTINGS]
    spec = await read_model(request, FollowSpec, settings.api.max_body_bytes)
    r = request.app[REDIS]
    if len(await list_follows(r)) >= MAX_FOLLOWS:
        raise ProblemError(403, f"at most {MAX_FOLLOWS} follows")
    stored = await add_follow(r, Follow(**spec.model_dump()))
    return _json(_view(stored, "stored"), 201)


async def delete(request: web.Request) -> web.Response:
    """``DELETE /v1/follows/{id}``: 204; 404 when it is not a stored follow."""
    follow_id = request.match_info["id"]
    if not ID_PATTERN.match(follow_id) or not await remove_follow(request.app[REDIS], follow_id):
        raise ProblemError(404, "no such follow (the settings file's cannot be removed here)")
    return web.Response(status=204)


def setup_follows(app: web.Application) -> None:
    """Add the follow routes."""
    app.router.add_get(BASE, list_all, allow_head=False)
    app.router.add_post(BASE, create)
    app.router.add_delete(BASE + "/{id}", delete)
