"""Every error type the notifier raises on purpose, in one place (httpx's ``_exceptions``
is the model). Library errors are translated at the edge (``raise ... from``).

The tree::

    Exception
    ├── NotifierError                 base of our own failures
    │   ├── ConfigError               a setting or config file is wrong
    │   │   └── UnknownProviderError  no feeds package answers to that name (a ValueError too)
    │   ├── EmbeddedServerError       the embedded Redis-protocol server would not start
    │   ├── StoreError                Redis said no (bus.connect.translate_errors)
    │   │   └── StoreUnavailableError Redis could not be reached, even after retrying
    │   ├── LeaseLostError            a fenced write found its lease gone: nothing written
    │   ├── StaleSnapshotError        commit_poll: the stored snapshot is not the one diffed
    │   ├── FeedError                 a feed could not be fetched or understood
    │   │   ├── FeedParseError        it answered, but its payload is malformed
    │   │   └── EnvelopeError         it answered with its error document (quota, bad key)
    │   ├── DeliveryError             a channel could not deliver (``permanent``?)
    │   │   └── ChannelError          ... with the HTTP status, or the target ``gone``
    │   │       └── MessageGoneError  a live message can no longer be edited
    │   ├── BotError                  a chat platform refused or failed a bot's call
    │   └── NotFoundError             no team or league by that name, or several (the finder)
    ├── ProblemError                  answered by the API as problem details (status, detail)
    ├── RateLimitError                sending now would wait longer than the caller allows
    ├── StoppingError                 the dispatcher is stopping: this delivery never started
    ├── ValueError
    │   ├── FieldError                one invalid field of a request (a dotted path)
    │   ├── TargetError               one invalid field of a channel target
    │   ├── AppriseMissingError       the ``apprise`` extra is not installed
    │   ├── CommandError              a chat command the bot cannot read
    │   └── SignatureError            a Discord or Slack request not signed by its key
    └── OSError
        └── BlockedAddressError       a connection to a non-public address was refused

The ValueErrors stay ValueErrors so pydantic validators and argument checks may raise them; the
ones outside ``NotifierError`` are flow control inside one layer (a 4xx answer, a wait too
long, a shutdown), not failures to report. ``bus.embedded._PortTakenError`` stays private
there: a bind race retried inside one function.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class NotifierError(Exception):
    """Base of every error the notifier raises on purpose."""


class ConfigError(NotifierError):
    """A setting or a config file is wrong; the message says which and how to fix it."""


class UnknownProviderError(ConfigError, ValueError):
    """A provider name no package under ``notifier/feeds`` answers to; the message lists them."""


class EmbeddedServerError(NotifierError):
    """The embedded Redis-protocol server could not be found or started."""


# -- Redis -----------------------------------------------------------------------------------


class StoreError(NotifierError):
    """Redis answered with an error we did not expect (wrong type, bad script, ...)."""


class StoreUnavailableError(StoreError):
    """Redis could not be reached, even after retrying; back off and try again later."""


class LeaseLostError(NotifierError):
    """The lease this replica relied on is held by another (or expired): nothing was written."""


class StaleSnapshotError(NotifierError):
    """The stored snapshot is not the one the events were diffed against (the server came back
    from its AOF without its last writes): nothing was written; diff against the stored one."""


# -- feeds -----------------------------------------------------------------------------------


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


class EnvelopeError(FeedError):
    """The provider answered with its error document instead of data: quota spent, rate limit,
    bad key or parameter (API-Football sends it with HTTP 200). Not a malformed payload, so
    nothing is parked: ``status`` 429 (with ``retry_after``) pauses the provider, anything else
    backs off; the finder shows the message. The provider's package builds it, in one place."""


class NotFoundError(NotifierError):
    """A name that means no team, or more than one: the message lists the candidates."""


# -- delivery --------------------------------------------------------------------------------


class DeliveryError(NotifierError):
    """A channel could not deliver an alert; ``permanent`` means retrying will not help."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class ChannelError(DeliveryError):
    """A delivery failed; ``gone`` means the target no longer exists: disable the subscription."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
        gone: bool = False,
    ) -> None:
        super().__init__(message, permanent=permanent or gone, retry_after=retry_after)
        self.status = status
        self.gone = gone


class MessageGoneError(ChannelError):
    """The live message can no longer be edited: post a new one."""


class RateLimitError(Exception):
    """Sending now would mean waiting ``wait`` seconds, longer than the caller allows."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"rate limited for {wait:.3f}s")
        self.wait = wait


class StoppingError(Exception):
    """The dispatcher is stopping: this delivery was not started (nothing was sent)."""


class BlockedAddressError(OSError):
    """A connection to a non-public address that no allow-list entry covers was refused."""


# -- requests: subscriptions, targets, bots --------------------------------------------------


class FieldError(ValueError):
    """One invalid field of a request, named as a dotted path (``url``, ``options.topic``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class TargetError(ValueError):
    """One invalid field of a target: ``field`` is ``url``, ``secret`` or ``options.<name>``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class AppriseMissingError(ValueError):
    """The ``apprise`` extra is not installed."""

    def __init__(self) -> None:
        super().__init__("apprise extra not installed")


class ProblemError(Exception):
    """An error answered as problem details: status, a detail sentence, extra members."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or HTTPStatus(status).phrase)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


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


class CommandError(ValueError):
    """A command the bot cannot read; the message says what is wrong (shown to the chat)."""


class SignatureError(ValueError):
    """A request not signed by the platform: Discord's application key (or too old), Slack's
    signing secret (or outside its five-minute window)."""
