"""What the package ships: the documented default settings (one copy: config/notifier.toml
links to it), the demo scenario, the starter file `notifier init` writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.settings import Settings
from workers.cli.commands import DEMO_SCENARIO, PACKAGE_DATA
from workers.cli.main import main
from workers.cli.setup import STARTER

CHECKOUT = Path(__file__).resolve().parents[3]


def test_one_copy_of_the_documented_settings() -> None:
    link = CHECKOUT / "config" / "notifier.toml"
    assert link.is_symlink() and link.resolve() == (PACKAGE_DATA / "notifier.toml").resolve()
    assert DEMO_SCENARIO.is_file() and DEMO_SCENARIO.is_relative_to(PACKAGE_DATA)


def test_init_writes_a_starter_that_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path)]) == 0
    written = tmp_path / "notifier.toml"
    assert written.read_text() == STARTER.read_text()
    assert Settings.load(written).follow == []
    assert main(["init", str(tmp_path)]) == 2, "an existing file is not replaced"
    assert "--force" in capsys.readouterr().err
    assert main(["init", str(tmp_path), "--force"]) == 0


def test_settings_outside_a_project_come_from_the_user_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NOTIFIER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert Settings.load().data_dir == tmp_path / "share" / "match-notifier" / "data"
    assert main(["init"]) == 0
    user = tmp_path / "cfg" / "match-notifier" / "notifier.toml"
    user.write_text(user.read_text() + "\n[poll]\nlive_s = 7.0\n")
    assert Settings.load().poll.live_s == 7.0
    assert not (tmp_path / "var").exists(), "nothing written where the command ran"
