"""What the whole-pipeline tests share: a collecting sink and a replay run against a test server."""

from __future__ import annotations

from notifier.domain.alerts import Alert
from notifier.settings import Settings
from workers.cli.commands import ReplayOptions, replay


class Collect:
    """A sink that keeps what it is given."""

    name = "collect"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def wants(self, alert: Alert) -> bool:
        """It follows everything."""
        return True

    async def deliver(self, alert: Alert) -> None:
        """Keep the alert."""
        self.alerts.append(alert)


async def run_replay(redis_url: str, opts: ReplayOptions) -> list[Alert]:
    """Replay through the real pipeline on the test's server; every alert delivered, in order."""
    sink = Collect()
    await replay(Settings.load(None, redis_url=redis_url), opts, sinks=[sink])
    return sink.alerts
