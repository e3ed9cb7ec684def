"""Bad settings refuse to start, saying what is wrong: a missing file named explicitly, a
misspelt section or key (with the nearest valid one), a refused target naming the setting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from notifier.errors import ConfigError
from notifier.net import check_target_url
from notifier.settings import DEFAULT_CONFIG, Settings
from workers.cli.main import main


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notifier.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "where", "nearest"),
    [
        ("[pol]\nlive_s = 10\n", "'pol'", "'poll'"),
        ('[[folow]]\nprovider = "espn"\nleague = "eng.1"\n', "'folow'", "'follow'"),
        ("[poll]\nlive = 10\n", "'poll.live'", "'live_s'"),
        (
            '[[follow]]\nprovider = "espn"\nleague = "x"\nteam = ["A"]\n',
            "'follow[0].team'",
            "'teams'",
        ),
        ('[providers.espn]\nbase_ur = "http://x"\n', "'providers.espn.base_ur'", "'base_url'"),
        ('[teams.Atalanta]\ncolor = "#000000"\n', "'teams.Atalanta.color'", "'colour'"),
        ("[delivery]\nallow_network = []\n", "'delivery.allow_network'", "'allow_networks'"),
    ],
)
def test_unknown_keys_are_refused_with_the_nearest(
    tmp_path: Path, text: str, where: str, nearest: str
) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.load(_file(tmp_path, text))
    assert f"unknown setting {where}; did you mean {nearest}?" in str(err.value)


def test_the_documented_config_is_valid() -> None:
    settings = Settings.load(DEFAULT_CONFIG)
    assert settings.poll.fixtures_retry_s == 60.0


def test_a_missing_file_named_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"--config .*nope.toml: no such file"):
        Settings.load(missing)
    monkeypatch.setenv("NOTIFIER_CONFIG", str(missing))
    with pytest.raises(ConfigError, match=r"NOTIFIER_CONFIG=.*nope.toml: no such file"):
        Settings.load(None)
    assert main(["run"]) == 2
    assert "NOTIFIER_CONFIG=" in capsys.readouterr().err


def test_the_cli_refuses_a_misspelt_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(_file(tmp_path, "[pol]\n")), "run"]) == 2
    assert "did you mean 'poll'" in capsys.readouterr().err


def test_refused_targets_name_the_setting() -> None:
    with pytest.raises(ValueError, match=r"delivery\.allow_http"):
        check_target_url("http://example.com/hook")
    with pytest.raises(ValueError, match=r"delivery\.allow_networks"):
        check_target_url("https://10.0.0.1/hook")


def test_dev_null_asks_for_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFIER_CONFIG", os.devnull)
    assert Settings.load(None).poll.live_s == 15.0
    assert Settings.load(Path(os.devnull)).api.port == 8080
