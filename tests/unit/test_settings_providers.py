"""Provider settings from the environment win over the TOML file, whatever the spelling."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.settings import Settings
from tests.recordings import NO_SETTINGS

TOML = """
[providers.api-football]
base_url = "https://v3.football.api-sports.io"
requests_per_minute = 30

[providers.football-data]
requests_per_minute = 10
"""


def test_environment_beats_the_file_for_a_dashed_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "notifier.toml"
    config.write_text(TOML)
    monkeypatch.setenv("NOTIFIER_PROVIDERS__API_FOOTBALL__BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("NOTIFIER_PROVIDERS__API_FOOTBALL__API_KEY", "from-env")
    settings = Settings.load(config)
    feed = settings.provider("api-football")
    assert feed.base_url == "http://127.0.0.1:9"
    assert feed.api_key is not None and feed.api_key.get_secret_value() == "from-env"
    assert feed.requests_per_minute == 30, "what the environment does not set, the file does"
    assert settings.provider("football-data").requests_per_minute == 10
    assert "from-env" not in repr(settings), "keys are secrets, not printed"


def test_plan_defaults_per_provider() -> None:
    settings = Settings.load(NO_SETTINGS)
    fd, espn = settings.provider("football-data"), settings.provider("espn")
    assert (fd.requests_per_minute, fd.lineups) == (10, False)  # free tier: 10/min, no lineups
    assert (espn.requests_per_minute, espn.lineups) == (60, True)
    assert settings.provider("api-football").max_ids == 20
