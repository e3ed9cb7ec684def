"""Error types live in notifier/errors.py, and its docstring draws the whole tree."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from notifier import errors

ROOT = Path(__file__).resolve().parents[2]
# Allowed elsewhere: private to one function's retry, and a file of another change.
ELSEWHERE = {"notifier/bus/embedded.py:_PortTakenError", "workers/cli/finder.py:NotFoundError"}


def _ours() -> list[type[BaseException]]:
    return [
        c
        for c in vars(errors).values()
        if inspect.isclass(c) and issubclass(c, BaseException) and c.__module__ == errors.__name__
    ]


def test_the_docstring_tree_names_every_error() -> None:
    doc = errors.__doc__ or ""
    assert [c.__name__ for c in _ours() if c.__name__ not in doc] == []


def test_no_error_type_is_defined_outside_errors_py() -> None:
    found = []
    for top in ("notifier", "workers"):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef) and node.name.endswith(("Error", "Exception")):
                    found.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert (
        sorted(set(found) - ELSEWHERE - {f"notifier/errors.py:{c.__name__}" for c in _ours()}) == []
    )


def test_hierarchies_are_kept() -> None:
    assert issubclass(errors.StoreUnavailableError, errors.StoreError)
    assert issubclass(errors.MessageGoneError, errors.ChannelError)
    assert issubclass(errors.ChannelError, errors.DeliveryError)
    for value_error in (
        errors.FieldError,
        errors.TargetError,
        errors.AppriseMissingError,
        errors.CommandError,
        errors.SignatureError,
    ):
        assert issubclass(value_error, ValueError)
    assert issubclass(errors.BlockedAddressError, OSError)
    assert not issubclass(errors.ProblemError, errors.NotifierError)
