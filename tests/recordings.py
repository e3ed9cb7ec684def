"""Where the tests find the real recorded provider payloads: ``../shared/feeds/real`` beside this
repository (see its SOURCES.md). They are part of the workspace the tests run in, so a missing
one fails the test that needs it, with the path; it is never a silent skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "feeds" / "real"
API_FOOTBALL = REAL / "api-football"
SPAIN_CROATIA = API_FOOTBALL / "euro2024-spain-croatia-1145511-fixture-full.json"
TURKIYE_PORTUGAL = API_FOOTBALL / "euro2024-turkiye-portugal-1145526-fixture-full.json"


def require(path: Path) -> Path:
    """``path``, failing the test with a clear message when the recording is not there."""
    if not path.exists():
        pytest.fail(
            f"recording missing: {path} (the shared recordings, ../shared/feeds/real, must sit"
            " beside this repository)",
            pytrace=False,
        )
    return path
