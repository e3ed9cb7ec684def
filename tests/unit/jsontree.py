"""JSON tree helpers for the adapter fuzz tests: every key path; one node changed."""

from __future__ import annotations

from typing import Any


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a JSON tree."""
    out = [prefix]
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, child in items:
        out += paths(child, (*prefix, key))
    return out


def mutate(tree: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    """The tree with the node at ``path`` replaced by ``value`` (or deleted)."""
    if not path:
        return value
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return tree
