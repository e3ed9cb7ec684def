"""The texts of several alerts in one message: digests (quiet hours' summary, digest mode) and
the live scoreboard message that chat channels edit. Pure. English only for now: unlike the
single-alert sentences in ``render`` (gettext catalogues, six languages), these shapes are not
yet in the catalogues.
"""

from __future__ import annotations

from collections.abc import Sequence

from notifier.domain.models import Score

# -- digests: several alerts as one message (quiet hours' summary, digest mode) -------------

DIGEST_HEADINGS = {
    "half_time": "Half-time digest",
    "full_time": "Full-time digest",
    "result": "Final digest",
    "minutes": "The last {n} minutes",
    "quiet": "While you were away",
}


def digest_heading(reason: str, minutes: int | None = None) -> str:
    """``Half-time digest``, ``The last 15 minutes``, ``While you were away``."""
    return DIGEST_HEADINGS.get(reason, DIGEST_HEADINGS["minutes"]).format(n=minutes)


def digest_standing(
    home: str, away: str, score: Score, aggregate: dict[str, int] | None, leader: str | None
) -> str:
    """``Atalanta 1-0 Dortmund, Dortmund lead 2-1 on aggregate`` (the score as it stands)."""
    line = f"{home} {score.home}-{score.away} {away}"
    agg = aggregate_of(home, away, aggregate, leader)
    return f"{line}, {agg}" if agg else line


def aggregate_of(
    home: str, away: str, aggregate: dict[str, int] | None, leader: str | None
) -> str | None:
    """``Dortmund lead 2-1 on aggregate``, ``2-2 on aggregate`` from an alert's aggregate."""
    if not aggregate:
        return None
    h, a = aggregate.get(home, 0), aggregate.get(away, 0)
    if h == a or leader is None:
        return f"{h}-{a} on aggregate"
    return f"{leader} lead {max(h, a)}-{min(h, a)} on aggregate"


def digest(heading: str, standing: str, lines: Sequence[str]) -> str:
    """The digest message: heading and standing, then one line per alert, in order."""
    return "\n".join([f"{heading}: {standing}", *(f"• {line}" for line in lines)])


# -- the live message: one scoreboard per match or tie, edited on each change ---------------

LIVE_MARKS = {"goal": "⚽", "red_card": "🟥"}


def live_line(player: str | None, team: str, at: str) -> str:
    """``Scamacca (Atalanta) 23'``; ``Atalanta 23'`` when the feed gives no name."""
    who = f"{player} ({team})" if player else team
    return f"{who} {at}".strip()


def live_board(
    home: str,
    away: str,
    score: Score,
    at: str,
    headline: str | None,
    needs: str | None,
    lines: Sequence[tuple[str, str]],
    result: str | None,
) -> str:
    """The live message: the score and minute, the aggregate and what is needed, then every
    goal and red card so far; the result once there is one."""
    top = f"{home} {score.home}-{score.away} {away}" + (f" · {at}" if at else "")
    out = [top, *(x for x in (headline, needs) if x)]
    out += [f"{LIVE_MARKS.get(kind, '•')} {line}" for kind, line in lines]
    if result:
        out.append(result)
    return "\n".join(out)
