"""Where the tests find the real recorded provider payloads: ``tests/data/recordings`` in this
repository (origin and licence of each in its SOURCES.md). A missing one fails the test that needs
it, with the path, when the test runs: never at collection time, never a silent skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parent / "data" / "recordings"
API_FOOTBALL = REAL / "api-football"
SPAIN_CROATIA = API_FOOTBALL / "euro2024-spain-croatia-1145511-fixture-full.json"
TURKIYE_PORTUGAL = API_FOOTBALL / "euro2024-turkiye-portugal-1145526-fixture-full.json"
ESPN_MLS = REAL / "espn" / "mls-scoreboard-2022-09-17-live-mixed.json"
FD_MAN_CITY = REAL / "football-data" / "v4-teams-65-matches-PL-CL-2023-24-snapshot-2023-12-28.json"


def require(path: Path) -> Path:
    """``path``, failing the test with a clear message when the recording is not there."""
    if not path.exists():
        pytest.fail(
            f"recording missing: {path} (the recordings live in tests/data/recordings; see its"
            " SOURCES.md for where each came from)",
            pytrace=False,
        )
    return path


def read(path: Path) -> bytes:
    """The bytes of a recording, read when a test asks (a missing file fails that test only)."""
    return require(path).read_bytes()


NO_SETTINGS = REAL.parent / "no-settings.toml"  # an empty settings file: every default
