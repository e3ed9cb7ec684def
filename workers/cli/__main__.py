"""``python -m workers.cli``: the ``notifier`` command (its exit code included)."""

from workers.cli.main import main

raise SystemExit(main())
