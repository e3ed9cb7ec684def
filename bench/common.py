"""What every benchmark shares: results, a private server, replayed matches and their events."""

from __future__ import annotations

import contextlib
import copy
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from notifier.bus import keys
from notifier.bus.embedded import EmbeddedServer, bundled_binary, require_server_binary
from notifier.domain.diff import diff
from notifier.domain.events import Event
from notifier.feeds.api_football.parse import parse_fixture
from notifier.replay.api_football import Timeline

ROOT = Path(__file__).resolve().parents[1]
FEEDS = ROOT / "tests" / "data" / "recordings" / "api-football"
SCENARIO = ROOT / "notifier" / "data" / "scenarios" / "atalanta-dortmund-2nd-leg.json"
RESULTS = ROOT / "bench" / "results.json"


@dataclass
class Result:
    """One figure: ``name: value unit (ratio …)``."""

    name: str
    value: float | None
    unit: str
    ratio: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """The printed line."""
        value = "pending" if self.value is None else _fmt(self.value)
        tail = f" ({self.ratio})" if self.ratio else ""
        unit = f" {self.unit}" if self.unit else ""  # a ratio has none
        return f"{self.name}: {value}{unit}{tail}".rstrip()


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


class Report:
    """Results of one ``make bench`` run, printed as they come and written to results.json."""

    def __init__(self) -> None:
        self.results: list[Result] = []
        self.started = time.monotonic()

    def add(self, result: Result) -> Result:
        """Print a result and keep it."""
        print(result.line(), flush=True)
        self.results.append(result)
        return result

    def pending(self, name: str, why: str) -> None:
        """A figure that cannot be measured yet, with the reason."""
        print(f"pending: {name}: {why}", flush=True)
        self.results.append(Result(name, None, "", f"pending: {why}"))

    def write(self, path: Path = RESULTS) -> None:
        """Write every result, with the machine it ran on, as JSON."""
        doc = {
            "at": datetime.now(UTC).isoformat(),
            "seconds": round(time.monotonic() - self.started, 1),
            "machine": {
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "results": [asdict(r) for r in self.results],
        }
        path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def group_rate(
    r: Any,
    names: dict[str, str],
    consumer: str,
    batch: int,
    total: int,
    handle: Callable[[Any], Awaitable[int]],
) -> float:
    """Entries/s of reading ``names`` in the aggregator group as ``consumer`` (XREADGROUP, COUNT
    ``batch``) and ``handle``-ing each reply (it returns the entries it acked), until all
    ``total`` are read."""
    done = 0
    started = time.perf_counter()
    for _ in range(total):  # bounded: at least one entry per round until drained
        reply = await r.xreadgroup(keys.GROUP_AGGREGATOR, consumer, names, count=batch)
        if not reply:
            break
        done += await handle(reply)
    elapsed = time.perf_counter() - started
    assert done == total, f"{consumer} read {done} of {total}"
    return total / elapsed


def server_binary() -> Path:
    """The bundled Valkey if installed (what embedded mode uses), else one on PATH."""
    return bundled_binary() or require_server_binary()


@contextlib.asynccontextmanager
async def private_server(name: str) -> AsyncIterator[EmbeddedServer]:
    """A private server (AOF, fsync every second, as embedded mode runs) in a temp directory."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        async with EmbeddedServer(Path(tmp), binary=server_binary()) as server:
            yield server


def recordings() -> list[Path]:
    """The real API-Football recordings, and the scripted scenario."""
    found = sorted(FEEDS.glob("*.json")) if FEEDS.is_dir() else []
    return [*found, SCENARIO]


def load_json(path: Path) -> dict[str, Any]:
    """A recording as a dict."""
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return data


def with_fixture_id(recording: dict[str, Any], fixture_id: int) -> dict[str, Any]:
    """A copy of a single-fixture recording under another fixture id."""
    copied = copy.deepcopy(recording)
    copied["response"][0]["fixture"]["id"] = fixture_id
    return copied


class ShiftedTimeline(Timeline):
    """A timeline running ``shift`` virtual seconds ahead, so cloned matches are not in step."""

    def __init__(self, recording: dict[str, Any], shift: float) -> None:
        super().__init__(recording)
        self.shift = shift

    def fixture_at(self, t: float) -> dict[str, Any]:
        """The fixture at t + shift."""
        return super().fixture_at(t + self.shift)

    def lineups_at(self, t: float) -> list[Any]:
        """The lineups at t + shift."""
        return super().lineups_at(t + self.shift)

    def status_at(self, t: float) -> str | None:
        """The status at t + shift."""
        return super().status_at(t + self.shift)


def timelines(
    count: int, *, first_id: int = 7_000_000, spread_s: float = 0.0
) -> list[ShiftedTimeline]:
    """``count`` replayed matches cloned from the recordings, shifted over ``spread_s``."""
    sources = [load_json(p) for p in recordings()]
    out = []
    for i in range(count):
        # Whole virtual minutes: the feed caches what it serves per minute of its own clock.
        shift = 60.0 * ((i * 7919) % max(1, int(spread_s // 60))) if spread_s else 0.0
        out.append(ShiftedTimeline(with_fixture_id(sources[i % len(sources)], first_id + i), shift))
    return out


def match_events(timeline: Timeline, *, step_s: float = 30.0) -> list[Event]:
    """Every event the poller would publish polling the whole match every ``step_s`` (virtual)."""
    base = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)
    prev = None
    events: list[Event] = []
    t = -45 * 60.0
    while t <= timeline.end + step_s:
        cur = parse_fixture(timeline.fixture_at(t))
        events += diff(prev, cur, seen=base + timedelta(seconds=t))
        prev = cur
        t += step_s
    return events


def clone_events(events: Iterable[Event], match_id: str) -> list[Event]:
    """The events of one match re-keyed for another (ids stay unique per match)."""
    out = []
    for e in events:
        match = f"api-football:{match_id}"
        out.append(e.model_copy(update={"match": match, "id": e.id.replace(e.match, match)}))
    return out
