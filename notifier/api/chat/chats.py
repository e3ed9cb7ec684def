"""Who asks (a chat on a platform) and where its alerts go. Pure data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from notifier.channels.subscriptions import OptionValue


@dataclass(frozen=True, slots=True)
class Destination:
    """The channel target of a chat's subscriptions (as the API would store them)."""

    channel: str
    url: str = ""
    secret: str | None = None
    options: dict[str, OptionValue] = field(default_factory=dict)


async def _nobody() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat (private, group or channel) on one platform; it owns its subscriptions."""

    platform: str  # telegram | discord | slack
    id: str
    destination: Destination
    group: bool = False
    team: str | None = None  # Slack workspace, Discord guild: shares a per-team limit
    is_admin: Callable[[], Awaitable[bool]] = _nobody  # asked only in groups, when it matters

    @property
    def owner(self) -> str:
        """The owner id of its subscriptions (API tokens' owners are hex: never the same)."""
        scope = f"{self.team}:" if self.team else ""
        return f"{self.platform}:{scope}{self.id}"
