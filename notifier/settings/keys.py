"""Unknown keys in a settings file: refused, naming the key and the nearest valid one.

pydantic-settings ignores keys it does not know (``extra="ignore"``: the environment is full
of unrelated ``NOTIFIER_*``-free variables), so a misspelt ``[pol]`` or ``[[folow]]`` would
silently leave its settings at their defaults. The file is walked against the settings model
instead, before it is used.
"""

from __future__ import annotations

import difflib
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from notifier.errors import ConfigError


def read_toml(path: Path) -> dict[str, Any]:
    """A settings file's contents; ConfigError naming the file when it cannot be read."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"settings file {path} is not valid TOML: {exc}") from None


def check_keys(data: dict[str, Any], model: type[BaseModel], source: str) -> None:
    """Raise ConfigError for the first key of ``data`` that ``model`` does not know."""
    problem = _first_unknown(data, model, "")
    if problem is not None:
        raise ConfigError(f"{source}: {problem}")


def _names(model: type[BaseModel]) -> dict[str, Any]:
    """Every spelling a model accepts (field names and aliases) -> the field's annotation."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        out[name] = info.annotation
        if isinstance(info.alias, str):
            out[info.alias] = info.annotation
        choices = getattr(info.validation_alias, "choices", None) or []
        for choice in choices:
            if isinstance(choice, str):
                out[choice.lower()] = info.annotation
    return out


def _first_unknown(data: dict[str, Any], model: type[BaseModel], prefix: str) -> str | None:
    known = _names(model)
    for key, value in data.items():
        where = f"{prefix}{key}"
        if key not in known:
            return _unknown(where, key, known)
        problem = _nested(value, known[key], where)
        if problem is not None:
            return problem
    return None


def _unknown(where: str, key: str, known: dict[str, Any]) -> str:
    close = difflib.get_close_matches(key, [k for k in known if k.islower()], n=1, cutoff=0.5)
    if close:
        return f"unknown setting {where!r}; did you mean {close[0]!r}?"
    names = ", ".join(sorted(k for k in known if k.islower()))
    return f"unknown setting {where!r} (known here: {names})"


def _nested(value: Any, annotation: Any, where: str) -> str | None:
    """Check a value against its annotation: a model, a list of models or a dict of models."""
    inner = _model_of(annotation)
    if inner is not None and isinstance(value, dict):
        return _first_unknown(value, inner, where + ".")
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list and args and isinstance(value, list):
        for i, item in enumerate(value):
            problem = _nested(item, args[0], f"{where}[{i}]")
            if problem is not None:
                return problem
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        for key, item in value.items():
            problem = _nested(item, args[1], f"{where}.{key}")
            if problem is not None:
                return problem
    return None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None
