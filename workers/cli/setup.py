"""``notifier init [DIR]``: a commented starter settings file, where the lookup finds it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from notifier.errors import ConfigError
from notifier.settings import Settings, user_config_file
from workers.cli.commands import PACKAGE_DATA

STARTER = PACKAGE_DATA / "starter.toml"


def register(sub: Any) -> None:
    """Add ``init`` to the command line."""
    init = sub.add_parser("init", help="write a commented starter settings file")
    init.add_argument(
        "dir",
        nargs="?",
        type=Path,
        help=f"where to write notifier.toml (default: {user_config_file().parent})",
    )
    init.add_argument("--force", action="store_true", help="replace an existing file")


def run(args: argparse.Namespace, settings: Settings | None) -> int | None:
    """Run one of this module's commands; None when the command is another module's."""
    if args.command != "init":
        return None
    target = (args.dir or user_config_file().parent) / "notifier.toml"
    if target.exists() and not args.force:
        raise ConfigError(f"{target} exists; --force replaces it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(STARTER.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
    if args.dir is not None and target.resolve() != Path("config/notifier.toml").resolve():
        print(f"use it with --config {target} or NOTIFIER_CONFIG={target}", file=sys.stderr)
    return 0
