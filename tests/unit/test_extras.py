"""The core install stays lean and still works: what only one channel needs is an extra, and
no module imports an extra's library when it is loaded (only where it is used), so
``pip install match-notifier`` runs ``notifier demo`` without the Discord, MQTT, push or mail
libraries. Read from the source and ``pyproject.toml``, so a new top-level import of an extra
fails here rather than on a user's machine.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = ("notifier", "workers")


def _dist(requirement: str) -> str:
    """``redis[hiredis]>=5.2,<9; …`` -> ``redis``, normalised as installers do."""
    name = re.split(r"[\s\[<>=;!~]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def core_distributions(pyproject: Path) -> set[str]:
    """The distributions a plain install brings: the project's own dependencies."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return {_dist(r) for r in project["dependencies"]}


def eager_imports(path: Path) -> set[str]:
    """Top-level names of modules imported when ``path`` is loaded: module-level imports, not
    those inside functions or under ``if TYPE_CHECKING:``."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for inner in ast.walk(node) if isinstance(node, ast.If | ast.Try) else [node]:
            if isinstance(inner, ast.Import):
                found |= {alias.name.split(".")[0] for alias in inner.names}
            elif isinstance(inner, ast.ImportFrom) and not inner.level and inner.module:
                found.add(inner.module.split(".")[0])
    return found


def extra_imports(root: Path, core: set[str]) -> list[str]:
    """``module: library (distribution)`` for every eager import that a plain install lacks."""
    owners = packages_distributions()
    stdlib = sys.stdlib_module_names
    bad = []
    for top in OURS:
        for path in sorted((root / top).rglob("*.py")):
            for name in sorted(eager_imports(path)):
                if name in stdlib or name in OURS or name == "__future__":
                    continue
                dists = {_dist(d) for d in owners.get(name, [name])}
                if not dists & core:
                    bad.append(f"{path.relative_to(root)}: {name} ({', '.join(sorted(dists))})")
    return bad


def test_no_module_loads_an_extra_when_imported() -> None:
    assert extra_imports(ROOT, core_distributions(ROOT / "pyproject.toml")) == []


def test_the_check_sees_an_eager_import_of_an_extra(tmp_path: Path) -> None:
    (tmp_path / "notifier").mkdir()
    (tmp_path / "workers").mkdir()
    (tmp_path / "notifier" / "bad.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import aiohttp\n"
        "from nacl.signing import VerifyKey\n"
        "if TYPE_CHECKING:\n    import aiomqtt\n"
        "def later():\n    import aiosmtplib\n"
    )
    assert extra_imports(tmp_path, {"aiohttp"}) == ["notifier/bad.py: nacl (pynacl)"]
