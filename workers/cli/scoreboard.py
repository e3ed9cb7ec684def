"""The terminal scoreboard of ``notifier demo`` and ``replay``: a live rich view of the alerts.

A sink like the console, for a person at a terminal: the score and aggregate in the teams'
colours, the clock, who leads and what the other side needs, the last alerts, and how far the
replay has run. Everything it shows comes from the alerts themselves (each carries the state of
its match), so it never reads Redis.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from rich.align import Align
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from notifier.domain.alerts import Alert
from notifier.domain.models import MatchStatus
from notifier.domain.texts import localised
from notifier.settings import TeamStyle

RECENT = 6  # alerts listed under the score
PHASES = {
    MatchStatus.SCHEDULED: "Not started",
    MatchStatus.FIRST_HALF: "First half",
    MatchStatus.HALF_TIME: "Half-time",
    MatchStatus.SECOND_HALF: "Second half",
    MatchStatus.EXTRA_TIME: "Extra time",
    MatchStatus.PENALTIES: "Penalties",
    MatchStatus.FINISHED: "Full-time",
}
# One cell wide in any monospace font (emoji are not, and many fonts lack them).
MARKS = {
    "goal": "[bold green]●[/]",
    "goal_cancelled": "[bold red]✗[/]",
    "red_card": "[bold red]▮[/]",
    "yellow_card": "[yellow]▮[/]",
    "penalty_missed": "[red]○[/]",
    "shootout": "◎",
    "result": "[bold yellow]★[/]",
}


@dataclass(frozen=True)
class Progress:
    """How far a replay has run: a fraction, and a label such as ``41:20 of 2:10:00``."""

    fraction: float
    label: str


def clock_label(seconds: float) -> str:
    """``mm:ss`` or ``h:mm:ss`` of a number of seconds (negative: before kick-off)."""
    sign = "-" if seconds < 0 else ""
    total = int(abs(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h}:{m:02}:{s:02}" if h else f"{sign}{m}:{s:02}"


def replay_progress(now: Callable[[], float], start: float, end: float) -> Callable[[], Progress]:
    """A progress reader over a virtual clock running from ``start`` to ``end`` seconds."""
    span = max(end - start, 1e-9)

    def read() -> Progress:
        t = now()
        fraction = min(max((t - start) / span, 0.0), 1.0)
        return Progress(fraction, f"{clock_label(min(t, end))} of {clock_label(end)}")

    return read


def minute_label(alert: Alert) -> str:
    """``23'``, ``90+4'``; empty when the alert has no minute."""
    if alert.minute is None:
        return ""
    return f"{alert.minute}+{alert.added}'" if alert.added else f"{alert.minute}'"


def kick_marks(kicks: list[bool]) -> Text:
    """Shoot-out kicks as marks: ``●`` scored (green), ``✕`` missed (red)."""
    out = Text()
    for i, scored in enumerate(kicks):
        out.append((" " if i else "") + ("●" if scored else "✕"), "green" if scored else "red")
    return out


def goal_ref(alert: Alert) -> str:
    """What names a goal across its ``goal`` and ``goal_cancelled`` alerts."""
    goal = alert.data.get("goal") or {}
    return str(goal.get("ref") or f"{alert.data.get('side')}:{alert.minute}")


class Scoreboard:
    """A sink drawing a live scoreboard; use it as a context manager around the replay."""

    name = "scoreboard"

    def __init__(
        self,
        *,
        teams: dict[str, TeamStyle] | None = None,
        progress: Callable[[], Progress] | None = None,
        console: Console | None = None,
        refresh_per_second: float = 8.0,
        delay_s: int = 0,
        lang: str = "en",
        names: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.delay_s = delay_s  # spoiler delay: the dispatcher holds alerts back this long
        self.lang, self.names = lang, names
        self.teams = teams or {}
        self.progress = progress
        self.console = console or Console()
        self.last: Alert | None = None
        self.recent: deque[Alert] = deque(maxlen=RECENT)
        self.cancelled: set[str] = set()
        self.goals: dict[str, tuple[str, str]] = {}  # ref -> (side, "Scamacca 23'")
        self.kicks: dict[str, list[bool]] = {"home": [], "away": []}
        self.live = Live(
            console=self.console,
            get_renderable=self.render,
            refresh_per_second=refresh_per_second,
            transient=False,
        )

    def __enter__(self) -> Scoreboard:
        """Start drawing."""
        self.live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Draw the final state once more and stop."""
        self.live.refresh()
        self.live.stop()

    def wants(self, alert: Alert) -> bool:
        """The scoreboard follows everything (lineups only go to the list)."""
        return True

    async def deliver(self, alert: Alert) -> None:
        """Take one alert in; the next refresh shows it."""
        alert = localised(alert, self.lang, self.names)
        if alert.kind != "lineups":
            self.last = alert
        self._track(alert)
        self.recent.append(alert)
        # Every alert also scrolls by above the board, so the whole sequence stays on screen.
        self.console.print(alert.text, highlight=False, markup=False, soft_wrap=True)
        if self.live.is_started:
            self.live.refresh()

    def _track(self, alert: Alert) -> None:
        data = alert.data
        if alert.kind == "goal":
            scorer = (data.get("goal") or {}).get("player") or "Goal"
            self.goals[goal_ref(alert)] = (str(data.get("side")), f"{scorer} {minute_label(alert)}")
        elif alert.kind == "goal_cancelled":
            self.cancelled.add(goal_ref(alert))
        elif alert.kind == "shootout" and data.get("side") in self.kicks:
            self.kicks[data["side"]].append(bool(data.get("scored")))

    def _team(self, name: str) -> Text:
        style = self.teams.get(name)
        if style is None:
            return Text(f" {name} ", style="bold reverse")
        return Text(f" {name} ", style=f"bold {style.text} on {style.colour}")

    def _score(self, a: Alert) -> Table:
        grid = Table.grid(padding=(0, 2), expand=False)
        grid.add_column(justify="right")
        grid.add_column(justify="center")
        grid.add_column(justify="left")
        score = Text(f"{a.score.home} - {a.score.away}", style="bold")
        grid.add_row(self._team(a.home), score, self._team(a.away))
        if a.shootout is not None:
            pens = f"({a.shootout.home} - {a.shootout.away} pens)"
            grid.add_row("", Text(pens, style="bold magenta"), "")
        return grid

    def _summary(self, a: Alert) -> Text:
        out = Text(justify="center")
        phase = PHASES.get(a.status, str(a.status).replace("_", " ").capitalize())
        out.append(f"{phase} {minute_label(a)}".strip(), style="bold cyan")
        if a.aggregate is not None:
            agg = f"   Aggregate {a.aggregate.get(a.home, 0)}-{a.aggregate.get(a.away, 0)}"
            out.append(agg, style="bold")
        if a.leader:
            verb = "win" if a.status == MatchStatus.FINISHED else "lead"
            out.append(f"   {a.leader} {verb}", style="green")
        if a.needs:
            out.append(f"\n{a.needs}", style="yellow")
        return out

    def _scorers(self, a: Alert) -> Table:
        table = Table.grid(padding=(0, 3))
        table.add_column(justify="right", ratio=1)
        table.add_column(justify="left", ratio=1)
        cells = {"home": Text(), "away": Text()}
        for ref, (side, label) in self.goals.items():
            cell = cells.get(side)
            if cell is not None:
                cell.append(("  " if cell else "") + label)
                if ref in self.cancelled:
                    cell.stylize("strike dim", len(cell) - len(label), len(cell))
        table.add_row(cells["home"], cells["away"])
        if any(self.kicks.values()):
            table.add_row(kick_marks(self.kicks["home"]), kick_marks(self.kicks["away"]))
        return table

    def _alerts(self) -> Table:
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(width=2)
        table.add_column(width=7, justify="right", style="dim")
        table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        for a in self.recent:
            struck = a.kind == "goal" and goal_ref(a) in self.cancelled
            style = "strike dim" if struck else "red" if a.kind == "goal_cancelled" else ""
            table.add_row(MARKS.get(a.kind, "·"), minute_label(a), Text(a.text, style=style))
        return table

    def _progress(self) -> RenderableType:
        if self.progress is None:
            return Text("")
        p = self.progress()
        bar = ProgressBar(total=1.0, completed=p.fraction, width=40)
        row = Table.grid(padding=(0, 1))
        row.add_row(Text("Replay", style="dim"), bar, Text(f"{p.fraction:4.0%}  {p.label}"))
        return row

    def render(self) -> RenderableType:
        """The whole board as it stands."""
        a = self.last
        if a is None:
            head: RenderableType = Text("Waiting for the first alert…", style="dim")
            title = "match-notifier"
        else:
            parts = (self._score(a), self._summary(a), self._scorers(a))
            head = Group(*(Align.center(part) for part in parts))
            title = a.competition or "match-notifier"
        body = Group(head, Text(""), self._alerts(), Text(""), self._progress())
        return Panel(body, title=title, border_style="blue")
