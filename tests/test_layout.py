"""The import rules and the shape of the tree (docs/architecture.md), read from the source.

The tree is the design: ``notifier/domain`` imports nothing of ours outside it, the stages in
``workers/`` never import each other, nothing in ``notifier`` imports ``workers``, ``notifier/``
holds at most a dozen entries, no module runs past 400 lines, no three siblings share a name
prefix (a prefix standing in for a folder), and no code outside ``notifier/feeds`` and
``notifier/replay`` branches on a provider's name (it asks the provider, through
``notifier.feeds.registry``). Each rule is a function of a source root, so the tests below also
run it on a small tree that breaks it: a checker that cannot fail is no check.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from notifier.feeds.registry import NAMES

ROOT = Path(__file__).resolve().parents[1]
OURS = ("notifier", "workers")
STAGES = ("poll", "fold", "deliver")  # workers/cli is the composition root: it runs them all
MAX_TOP = 12
MAX_LINES = 400
PROVIDER_HOMES = ("notifier.feeds", "notifier.replay")  # where a provider's name may decide
PREFIX_TESTS = ("startswith", "endswith")
ROSTER = "in a list of providers"


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


def provider_branches(root: Path, names: Iterable[str]) -> list[str]:
    """Provider names that decide something outside ``notifier/feeds`` and ``notifier/replay``,
    as ``module:line: 'name' how``.

    A name decides when it is compared (``==``, ``in``; also inside a tuple compared against),
    is a ``match`` case, a dict key, a subscript (``d["espn"]``, ``Literal["espn", ...]``), a
    prefix test's argument, or one of two or more names in a tuple, list or set (a roster of
    providers to keep in step: ``choices=[...]``, ``for name in (...)``). A name that is only
    passed along decides nothing and passes: a keyword's value (a settings section's
    ``alias="api-football"``, the spelling of a user's config key, which stays), a default, a
    docstring or a message. The names come from the registry, so a new provider is covered."""
    wanted = frozenset(names)
    found: set[str] = set()
    for name, path in modules(root):
        if any(under(name, home) for home in PROVIDER_HOMES):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for literal, how in _deciding(node, wanted):
                found.add(f"{name}:{getattr(node, 'lineno', 0)}: {literal!r} {how}")
    return sorted(found)


def _deciding(node: ast.AST, names: frozenset[str]) -> Iterator[tuple[str, str]]:
    operands, how = _operands(node)
    listed = [v for operand in operands for v in _listed(operand, names)]
    if how != ROSTER or len(listed) >= 2:
        yield from ((v, how) for v in listed)


def _operands(node: ast.AST) -> tuple[list[ast.AST | None], str]:
    """The parts of ``node`` where a provider name would decide something, and how."""
    if isinstance(node, ast.Compare):
        return [node.left, *node.comparators], "compared"
    if isinstance(node, ast.MatchValue):
        return [node.value], "as a match case"
    if isinstance(node, ast.Dict):
        return list(node.keys), "as a dict key"
    if isinstance(node, ast.Subscript):
        return [node.slice], "as a subscript"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return (list(node.args), "in a prefix test") if node.func.attr in PREFIX_TESTS else ([], "")
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [node], ROSTER
    return [], ""


def _listed(node: ast.AST | None, names: frozenset[str]) -> list[str]:
    """The provider names ``node`` is, or holds as a tuple, list or set of literals."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [
        i.value
        for i in items
        if isinstance(i, ast.Constant) and isinstance(i.value, str) and i.value in names
    ]


def test_import_rules_hold() -> None:
    assert import_violations(ROOT) == []


def test_notifier_holds_at_most_a_dozen_entries() -> None:
    entries = top_entries(ROOT)
    assert len(entries) <= MAX_TOP, entries


def test_no_module_over_the_line_limit() -> None:
    assert long_modules(ROOT) == []


def test_no_three_siblings_share_a_prefix() -> None:
    assert prefix_families(ROOT) == []


def test_no_provider_name_decides_outside_feeds_and_replay() -> None:
    assert provider_branches(ROOT, NAMES) == []


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


BRANCHES = [
    ('def f(p):\n    return p == "espn"\n', "compared"),
    ('def f(p):\n    return p not in ("espn", "opta")\n', "compared"),
    ('def f(p):\n    match p:\n        case "espn":\n            return 1\n', "match case"),
    ('HEADERS = {"espn": {}, "other": {}}\n', "dict key"),
    ("def f(d):\n    return d['espn']\n", "subscript"),
    ('from typing import Literal\nP = Literal["espn", "api-football"]\n', "subscript"),
    ('def f(p):\n    return p.startswith("api-football")\n', "prefix test"),
    ('def f(ap):\n    ap.add_argument("--p", choices=["espn", "api-football"])\n', "list of"),
    ('def f():\n    for name in ("api-football", "espn"):\n        yield name\n', "list of"),
]


@pytest.mark.parametrize(("code", "how"), BRANCHES)
@pytest.mark.parametrize("where", ["notifier/settings/x.py", "workers/cli/x.py"])
def test_provider_checker_catches_a_branch_on_a_name(
    tmp_path: Path, code: str, how: str, where: str
) -> None:
    found = provider_branches(_tree(tmp_path, {where: code}), ("espn", "api-football"))
    assert any(how in f for f in found), found


def test_provider_checker_lets_names_pass_where_they_decide_nothing(tmp_path: Path) -> None:
    passing = (
        '"""Defaults to "espn"."""\n'
        "from pydantic import Field\n"
        'section = Field(default=None, alias="api-football")\n'
        'DEMO = "api-football"\n'
        'def f(p: str = "espn") -> str:\n'
        '    return f"{p} is not espn"\n'
    )
    files = {
        "notifier/settings/x.py": passing,
        "notifier/feeds/espn/provider.py": 'def f(p):\n    return p == "espn"\n',
        "notifier/replay/load.py": BRANCHES[2][0],  # a match case, where one may be
    }
    assert provider_branches(_tree(tmp_path, files), ("espn", "api-football")) == []
