"""The import rules and the shape of the tree (docs/architecture.md), read from the source.

The tree is the design: ``notifier/domain`` imports nothing of ours outside it, the stages in
``workers/`` never import each other, nothing in ``notifier`` imports ``workers``, ``notifier/``
holds at most a dozen entries, no module runs past 400 lines and no three siblings share a name
prefix (a prefix standing in for a folder). Each rule is a function of a source root, so the
tests below also run it on a small tree that breaks it: a checker that cannot fail is no check.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("notifier", "workers")
STAGES = ("poll", "fold", "deliver")  # workers/cli is the composition root: it runs them all
MAX_TOP = 12
MAX_LINES = 400


def modules(root: Path) -> Iterator[tuple[str, Path]]:
    """Every module of ours under ``root``: its dotted name and its file."""
    for top in OURS:
        for path in sorted((root / top).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts), path


def imports(name: str, path: Path) -> Iterator[str]:
    """The modules ``path`` imports (anywhere in it, lazy imports too), absolute and dotted."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)  # `from pkg import mod`


def under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def import_violations(root: Path) -> list[str]:
    """Imports that break a rule, as ``importer -> imported: rule``."""
    found = []
    for name, path in modules(root):
        for target in set(imports(name, path)):
            if target.split(".")[0] not in OURS:
                continue
            rule = _broken_rule(name, target)
            if rule:
                found.append(f"{name} -> {target}: {rule}")
    return sorted(found)


def _broken_rule(importer: str, target: str) -> str | None:
    if under(importer, "notifier.domain") and not under(target, "notifier.domain"):
        return "domain imports nothing of ours outside it"
    if under(importer, "notifier") and under(target, "workers"):
        return "nothing in notifier imports workers"
    for stage in STAGES:
        others = [s for s in STAGES if s != stage]
        if under(importer, f"workers.{stage}") and any(
            under(target, f"workers.{o}") for o in others
        ):
            return "stages never import each other"
    return None


def top_entries(root: Path) -> list[str]:
    """The modules and packages directly in ``notifier/``."""
    here = root / "notifier"
    mods = [p.stem for p in here.glob("*.py")]
    pkgs = [p.name for p in here.iterdir() if (p / "__init__.py").is_file()]
    return sorted(mods + pkgs)


def long_modules(root: Path) -> list[str]:
    """Modules over the line limit, with their length."""
    lengths = ((name, len(path.read_text().splitlines())) for name, path in modules(root))
    return [f"{name}: {n} lines" for name, n in lengths if n > MAX_LINES]


def prefix_families(root: Path) -> list[str]:
    """Three or more sibling modules/packages sharing the part of their name before ``_``."""
    found = []
    for top in OURS:
        for folder in [root / top, *(p for p in (root / top).rglob("*") if p.is_dir())]:
            family: dict[str, list[str]] = defaultdict(list)
            for entry in folder.iterdir():
                name = _module_name(entry)
                if name and not name.startswith("__"):
                    family[name.split("_")[0]].append(name)
            found += [
                f"{folder.relative_to(root)}: {sorted(v)}" for v in family.values() if len(v) > 2
            ]
    return sorted(found)


def _module_name(entry: Path) -> str | None:
    if entry.suffix == ".py":
        return entry.stem
    return entry.name if (entry / "__init__.py").is_file() else None


def test_import_rules_hold() -> None:
    assert import_violations(ROOT) == []


def test_notifier_holds_at_most_a_dozen_entries() -> None:
    entries = top_entries(ROOT)
    assert len(entries) <= MAX_TOP, entries


def test_no_module_over_the_line_limit() -> None:
    assert long_modules(ROOT) == []


def test_no_three_siblings_share_a_prefix() -> None:
    assert prefix_families(ROOT) == []


def test_stage_packages_exist() -> None:
    for stage in (*STAGES, "cli"):
        assert (ROOT / "workers" / stage / "__init__.py").is_file(), stage


# The checkers on trees that break each rule: they must say so.


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in {"notifier/__init__.py": "", "workers/__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "rule"),
    [
        (
            {
                "notifier/domain/__init__.py": "",
                "notifier/domain/diff.py": "from notifier import x",
            },
            "domain imports nothing",
        ),
        (
            {
                "notifier/domain/__init__.py": "",
                "notifier/domain/tie.py": "def f():\n    import notifier.bus.keys\n",
            },
            "domain imports nothing",
        ),
        ({"notifier/bus/__init__.py": "from workers.poll import poller"}, "nothing in notifier"),
        (
            {"workers/poll/__init__.py": "", "workers/poll/a.py": "from workers import fold"},
            "stages never",
        ),
        (
            {"workers/deliver/__init__.py": "", "workers/deliver/a.py": "from ..fold import batch"},
            "stages never",
        ),
    ],
)
def test_import_checker_catches_a_broken_rule(
    tmp_path: Path, files: dict[str, str], rule: str
) -> None:
    found = import_violations(_tree(tmp_path, files))
    assert len(found) >= 1 and all(rule in f for f in found), found


def test_import_checker_lets_allowed_imports_pass(tmp_path: Path) -> None:
    files = {
        "notifier/domain/__init__.py": "",
        "notifier/domain/a.py": "from notifier.domain import b\nfrom . import b\nimport re",
        "workers/cli/__init__.py": "from workers.poll import poller\nfrom workers.fold import x",
        "workers/poll/__init__.py": "from notifier.bus import keys\nfrom workers.poll import group",
    }
    assert import_violations(_tree(tmp_path, files)) == []


def test_shape_checkers_catch_a_broken_tree(tmp_path: Path) -> None:
    files = {f"notifier/m{i}.py": "" for i in range(12)}
    files |= {
        "workers/deliver/__init__.py": "",
        "workers/deliver/delivery_a.py": "",
        "workers/deliver/delivery_b.py": "",
        "workers/deliver/delivery.py": "x = 1\n" * (MAX_LINES + 1),
    }
    root = _tree(tmp_path, files)
    assert len(top_entries(root)) == 13
    assert long_modules(root) == [f"workers.deliver.delivery: {MAX_LINES + 1} lines"]
    assert prefix_families(root) == ["workers/deliver: ['delivery', 'delivery_a', 'delivery_b']"]
