"""``python -m workers.cli``: the ``notifier`` command."""

from workers.cli.main import main

main()
