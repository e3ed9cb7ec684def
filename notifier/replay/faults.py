"""Feed faults for the replay server: the ways a real provider misbehaves, injected on purpose.

An aiohttp middleware (added by :func:`notifier.replay.server.create_app` when given a
:class:`FeedFaults`) picks, for a share of the requests or from a fixed plan, one fault:

* transport: HTTP 500, 429 with ``Retry-After``, a hang past the client's timeout, a connection
  reset (RST), a JSON body cut short;
* content (API-Football items): wrong types, a score one goal lower for one answer (then back),
  a status back to the phase before (then forward again), and a goal given again under a new
  identity and a minute later.

Every fault is counted in :attr:`FeedFaults.injected`. Pure choices (which fault, how to mutate)
are separate from the middleware, so they are tested without a server.
"""

from __future__ import annotations

import asyncio
import copy
import random
import socket
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware


class FeedFault(StrEnum):
    """One way a feed misbehaves."""

    ERROR_500 = "500"
    RATE_LIMITED = "429"
    TIMEOUT = "timeout"
    RESET = "reset"
    TRUNCATED = "truncated"
    WRONG_TYPES = "wrong_types"
    SCORE_GLITCH = "score_glitch"
    STATUS_FLAP = "status_flap"
    GOAL_REKEYED = "goal_rekeyed"


CONTENT = frozenset(
    {FeedFault.WRONG_TYPES, FeedFault.SCORE_GLITCH, FeedFault.STATUS_FLAP, FeedFault.GOAL_REKEYED}
)
# The phase a glitching feed falls back to, by API-Football status code.
PREVIOUS_PHASE = {"1H": "NS", "HT": "1H", "2H": "1H", "ET": "2H", "BT": "ET", "P": "ET"}
Mutation = Callable[[dict[str, Any], random.Random], bool]


@dataclass
class FeedFaults:
    """Which faults to inject: a fixed ``plan`` (one entry per request, None = none), then a
    ``rate`` of the requests at random (seeded) among ``kinds``."""

    rate: float = 0.0
    kinds: tuple[FeedFault, ...] = tuple(FeedFault)
    plan: list[FeedFault | None] = field(default_factory=list)
    seed: int = 0
    retry_after_s: int = 1
    hang_s: float = 30.0  # a "timeout": the answer comes this late (past the client's timeout)
    injected: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    # The real score last served per fixture id: a score glitch is only injected into an answer
    # whose real score is unchanged since, or it could hide a goal rather than take one back
    # (the answer before it showed the glitched score already: no one can tell it went down).
    served: dict[Any, Any] = field(default_factory=dict)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def next_fault(self) -> FeedFault | None:
        """The fault of the next request, if any."""
        self.requests += 1
        if self.plan:
            return self.plan.pop(0)
        if self.kinds and self._rng.random() < self.rate:
            return self._rng.choice(self.kinds)
        return None

    def remember(self, body: bytes) -> None:
        """Note the real scores an answer serves."""
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            return
        for item in _items(doc):
            fixture = item.get("fixture")
            if isinstance(fixture, dict) and "id" in fixture:
                self.served[fixture["id"]] = copy.deepcopy(item.get("goals"))

    def steady(self, item: dict[str, Any]) -> bool:
        """Whether the item's real score is the one last served for its fixture."""
        fixture = item.get("fixture")
        fid = fixture.get("id") if isinstance(fixture, dict) else None
        return fid in self.served and self.served[fid] == item.get("goals")

    @property
    def rng(self) -> random.Random:
        """The seeded randomness of the mutations."""
        return self._rng


def _items(doc: Any) -> list[dict[str, Any]]:
    """The fixture items of an API-Football answer (none for other shapes)."""
    response = doc.get("response") if isinstance(doc, dict) else None
    return [i for i in response if isinstance(i, dict)] if isinstance(response, list) else []


def wrong_types(item: dict[str, Any], rng: random.Random) -> bool:
    """Give a field a type the provider documents otherwise."""
    choices: list[Callable[[], None]] = [
        lambda: item.__setitem__("goals", "2-1"),
        lambda: item.__setitem__("events", {"0": "goal"}),
        lambda: item["fixture"].__setitem__("status", 7),
        lambda: item["fixture"]["status"].__setitem__("elapsed", "ninety"),
    ]
    rng.choice(choices)()
    return True


def score_glitch(item: dict[str, Any], rng: random.Random) -> bool:
    """One side's score one lower, without a VAR decision (the next answer is right again)."""
    goals = item.get("goals")
    if not isinstance(goals, dict):
        return False
    sides = [s for s in ("home", "away") if isinstance(goals.get(s), int) and goals[s] > 0]
    if not sides:
        return False
    goals[rng.choice(sides)] -= 1
    return True


def status_flap(item: dict[str, Any], rng: random.Random) -> bool:
    """The status back at the phase before (the next answer is right again)."""
    status = item.get("fixture", {}).get("status")
    short = status.get("short") if isinstance(status, dict) else None
    if short not in PREVIOUS_PHASE:
        return False
    status["short"] = PREVIOUS_PHASE[short]
    return True


def goal_rekeyed(item: dict[str, Any], rng: random.Random) -> bool:
    """The last goal listed again under a new player id and a minute later (score unchanged)."""
    events = item.get("events")
    if not isinstance(events, list):
        return False
    goals = [e for e in events if isinstance(e, dict) and e.get("type") == "Goal"]
    if not goals or not isinstance(goals[-1].get("time"), dict):
        return False
    moved = copy.deepcopy(goals[-1])
    moved["time"]["elapsed"] = int(moved["time"].get("elapsed") or 0) + 1
    moved.setdefault("player", {})["id"] = 990_000 + rng.randrange(10_000)
    events[events.index(goals[-1])] = moved
    return True


MUTATIONS: dict[FeedFault, Mutation] = {
    FeedFault.WRONG_TYPES: wrong_types,
    FeedFault.SCORE_GLITCH: score_glitch,
    FeedFault.STATUS_FLAP: status_flap,
    FeedFault.GOAL_REKEYED: goal_rekeyed,
}


def mutate(
    body: bytes,
    fault: FeedFault,
    rng: random.Random,
    eligible: Callable[[dict[str, Any]], bool] | None = None,
) -> bytes | None:
    """The body with one (``eligible``) item mutated by ``fault``; None if no item lends
    itself to it."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    items = [i for i in _items(doc) if eligible is None or eligible(i)]
    rng.shuffle(items)
    if any(MUTATIONS[fault](item, rng) for item in items):
        return orjson.dumps(doc)
    return None


def reset(request: web.Request) -> None:
    """Close the connection with a TCP RST (linger 0), no answer."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def make_middleware(faults: FeedFaults) -> Middleware:
    """The middleware that injects ``faults``."""

    @web.middleware
    async def inject(request: web.Request, handler: Handler) -> web.StreamResponse:
        fault = faults.next_fault()
        if fault is None:
            response = await handler(request)
            body = getattr(response, "body", None)
            if isinstance(body, bytes) and response.status == 200:
                faults.remember(body)
            return response
        early = await _transport_fault(request, fault, faults)
        if early is not None:
            faults.injected[fault] += 1
            return early
        response = await handler(request)
        body = getattr(response, "body", None)
        if not isinstance(body, bytes) or response.status != 200:
            return response
        changed = _content_fault(body, fault, faults)
        faults.remember(body)
        if changed is None:
            return response
        faults.injected[fault] += 1
        return web.Response(body=changed, status=200, content_type="application/json")

    return inject


async def _transport_fault(
    request: web.Request, fault: FeedFault, faults: FeedFaults
) -> web.StreamResponse | None:
    match fault:
        case FeedFault.ERROR_500:
            return web.json_response({"message": "injected"}, status=500)
        case FeedFault.RATE_LIMITED:
            headers = {"Retry-After": str(faults.retry_after_s)}
            return web.json_response({"message": "Too many requests"}, status=429, headers=headers)
        case FeedFault.TIMEOUT:
            await asyncio.sleep(faults.hang_s)
            return web.json_response({"message": "too late"}, status=504)
        case FeedFault.RESET:
            reset(request)
            return web.Response(status=500)
    return None


def _content_fault(body: bytes, fault: FeedFault, faults: FeedFaults) -> bytes | None:
    if fault == FeedFault.TRUNCATED:
        return body[: max(1, len(body) // 2)]
    if fault == FeedFault.SCORE_GLITCH:
        return mutate(body, fault, faults.rng, faults.steady)
    if fault in CONTENT:
        return mutate(body, fault, faults.rng)
    return None
