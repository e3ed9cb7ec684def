"""What every subscriber received, compared with what it should have: the chaos table.

Per subscriber, the expected alerts are those of the pure expectation it wants
(``Subscription.wants``). ``delivered``: distinct expected alerts it accepted; ``lost``: expected
but never accepted; ``duplicated``: accepted deliveries beyond the first of a webhook-id;
``out_of_order``: per match, first arrivals that break the expected order (arrivals minus the
longest run in order); ``unexpected``: alerts nobody expected; ``altered``: expected ids that
arrived with another text.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

from notifier.channels.subscriptions import Subscription
from notifier.domain.alerts import Alert
from notifier.domain.holdback import HeldLine, due_ms
from tests.chaos.receivers import Hook

COLUMNS = (
    "expected",
    "delivered",
    "lost",
    "duplicated",
    "out_of_order",
    "early",
    "unexpected",
    "altered",
)


@dataclass
class Row:
    """The figures of one subscriber (or of all of them)."""

    expected: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    early: int = 0
    unexpected: int = 0
    altered: int = 0

    def __add__(self, other: Row) -> Row:
        return Row(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def clean(self) -> bool:
        """Nothing lost, duplicated, out of order, unexpected or altered."""
        return not (self.lost or self.duplicated or self.out_of_order or self.early) and not (
            self.unexpected or self.altered
        )


def longest_in_order(positions: Sequence[int]) -> int:
    """Length of the longest strictly increasing subsequence."""
    tails: list[int] = []
    for pos in positions:
        i = bisect.bisect_left(tails, pos)
        tails[i : i + 1] = [pos]
    return len(tails)


def held_view(alerts: Sequence[Alert], delay_s: float) -> list[Alert]:
    """What a subscriber ``delay_s`` behind (match clock) receives of ``alerts`` (emitted on
    the match clock): each held until due, what is due released before the next comes in."""
    line, out = HeldLine(), []
    for alert in alerts:
        out += line.release(due_ms(alert.emitted_at, 0))
        line.hold(alert, due_ms(alert.emitted_at, delay_s))
    return out + line.release(2**62)


def score(sub: Subscription, hook: Hook, expected: Iterable[Alert], speed: float = 1.0) -> Row:
    """One subscriber's row (``speed``: how fast the match clock ran, for the delay)."""
    texts = {a.alert_id: a.text for a in hook.arrivals}
    wanted = [a for a in expected if sub.wants(a)]
    delay = sub.spec.delay_s / speed  # wall seconds
    if sub.spec.delay_s:
        wanted = held_view(wanted, sub.spec.delay_s)
    order = {a.id: i for i, a in enumerate(wanted)}
    counts = Counter(a.webhook_id for a in hook.arrivals)
    firsts: dict[str, list[int]] = {}
    seen: set[str] = set()
    for arrival in hook.arrivals:
        if arrival.alert_id in seen or arrival.alert_id not in order:
            continue
        seen.add(arrival.alert_id)
        firsts.setdefault(arrival.match, []).append(order[arrival.alert_id])
    received = {a.alert_id for a in hook.arrivals}
    return Row(
        expected=len(wanted),
        delivered=len(seen),
        lost=len(set(order) - received),
        duplicated=sum(n - 1 for n in counts.values()),
        out_of_order=sum(len(p) - longest_in_order(p) for p in firsts.values()),
        early=sum(1 for a in hook.arrivals if a.at < a.emitted + delay),
        unexpected=len(received - set(order)),
        altered=sum(1 for a in wanted if a.id in texts and texts[a.id] != a.text),
    )


def table(title: str, rows: dict[str, Row]) -> str:
    """The rows as a fixed-width table, with a total."""
    total = sum(rows.values(), Row())
    width = max(len(n) for n in [*rows, "subscriber", "total"])
    head = "subscriber".ljust(width) + "".join(f"{c:>14}" for c in COLUMNS)
    lines = [title, head, "-" * len(head)]
    for name, row in [*rows.items(), ("total", total)]:
        lines.append(name.ljust(width) + "".join(f"{getattr(row, c):>14}" for c in COLUMNS))
    return "\n".join(lines)
