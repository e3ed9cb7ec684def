"""What the notifier follows: one match of one provider. Pure data (stored by
notifier.bus.watches)."""

from __future__ import annotations

from datetime import datetime

from notifier.domain.models import Frozen


class Watch(Frozen):
    """One match to poll: provider and id, the tie it belongs to, where the provider needs it."""

    provider: str
    match_id: str
    tie: str | None = None
    league: str | None = None  # ESPN league slug (e.g. ``uefa.champions``)
    kickoff: datetime | None = None
    title: str | None = None  # "Home v Away", as the fixtures job found it (for people)

    @property
    def key(self) -> str:
        """Provider-qualified match key."""
        return f"{self.provider}:{self.match_id}"
