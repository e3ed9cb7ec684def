"""What a provider is asked: path and query of one GET. Pure.

Which requests a provider needs (bulk, per match, discovery, catalog) is its package's
``provider.py``; the HTTP is :mod:`notifier.feeds.client`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    """One GET against a provider: path and query."""

    path: str
    params: tuple[tuple[str, str], ...] = ()
