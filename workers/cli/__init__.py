"""The processes: the ``notifier`` command, its subcommands and the all-in-one runtime."""
