"""The providers, by name: the one list of them. Adding a provider is a package under
``notifier/feeds/`` with a ``provider.py`` (:class:`~notifier.feeds.base.Provider`) and one line
here; everything else (poller, fixtures job, finder, CLI choices, ``notifier status``) reads
:data:`PROVIDERS`, :data:`NAMES` and :func:`get`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from notifier.domain.models import MatchSnapshot
from notifier.errors import UnknownProviderError
from notifier.feeds.api_football.provider import ApiFootball
from notifier.feeds.base import Provider
from notifier.feeds.espn.provider import Espn
from notifier.feeds.football_data.provider import FootballData

if TYPE_CHECKING:
    from notifier.settings import Settings

# In the order the default provider is chosen in (and the CLI lists them).
PROVIDERS: dict[str, Provider] = {p.name: p for p in (ApiFootball(), FootballData(), Espn())}
NAMES: tuple[str, ...] = tuple(PROVIDERS)


def get(name: str) -> Provider:
    """The provider called ``name``; UnknownProviderError listing the known ones."""
    provider = PROVIDERS.get(name)
    if provider is None:
        known = ", ".join(sorted(PROVIDERS))
        raise UnknownProviderError(f"unknown provider {name!r}; known providers: {known}")
    return provider


def parse(name: str, body: bytes | dict[str, Any], match: str | None = None) -> list[MatchSnapshot]:
    """Snapshots of one provider's answer, only those of ``match`` when it is given."""
    snapshots = get(name).parse(body)
    if match is None:
        return snapshots
    return [s for s in snapshots if s.match_id == str(match)]


def default_name(settings: Settings) -> str:
    """The provider commands use when none is named: the first with a key configured, else the
    first whose API needs none (ESPN)."""
    for p in PROVIDERS.values():
        if p.needs_key and settings.provider(p.name).api_key is not None:
            return p.name
    return next(p.name for p in PROVIDERS.values() if not p.needs_key)
