"""Our own error types: library errors are translated at the edge (``raise ... from``)."""

from __future__ import annotations


class NotifierError(Exception):
    """Base of every error the notifier raises on purpose."""


class ConfigError(NotifierError):
    """A setting or a config file is wrong; the message says which and how to fix it."""


class FeedError(NotifierError):
    """A feed could not be fetched or understood.

    ``retry_after`` is the provider's ``Retry-After`` in seconds, when it sent one;
    ``payload`` is the raw body, kept for the dead-letter stream.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        payload: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.payload = payload


class FeedParseError(FeedError):
    """The feed answered, but its payload is malformed or contradicts itself."""


class EmbeddedServerError(NotifierError):
    """The embedded Redis-protocol server could not be found or started."""


class DeliveryError(NotifierError):
    """A channel could not deliver an alert; ``permanent`` means retrying will not help."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class BotError(NotifierError):
    """A chat platform's API refused or failed a bot's call (the message never holds a token).

    ``retry_after`` is the platform's wait in seconds, when it sent one.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
