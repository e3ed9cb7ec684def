"""An SMTP server for tests: aiosmtpd on a free loopback port, STARTTLS or TLS with a private CA,
AUTH required (over TLS only), and an inbox of what it accepted (parsed messages)."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.mosquitto import free_port
from tests.security.test_redis_auth_tls import make_certs

USER, PASSWORD = "notifier", "mail-s3cret"


@dataclass
class Inbox:
    """The handler: keeps every accepted message; ``refuse`` answers RCPT with that reply."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: str | None = None  # e.g. "550 no such user" or "451 try later"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse is not None:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
    ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    """A running server: where it listens, its CA file and its inbox."""

    port: int
    ca_file: Path
    inbox: Inbox

    def settings(self, security: Literal["starttls", "tls"]) -> dict[str, Any]:
        """The ``[email]`` settings that reach it."""
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "security": security,
            "username": USER,
            "password": PASSWORD,
            "ca_file": self.ca_file,
            "sender": "match-notifier <alerts@notifier.example>",
            "timeout_s": 5.0,
        }


@contextlib.contextmanager
def smtp_server(
    where: Path, security: Literal["starttls", "tls"] = "starttls"
) -> Iterator[SmtpServer]:
    """An aiosmtpd server requiring AUTH, over STARTTLS or implicit TLS."""
    ca, cert, key = make_certs(where)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    common: dict[str, Any] = {
        "hostname": "127.0.0.1",
        "port": port,
        "authenticator": _authenticator,
        "auth_required": True,
        "auth_require_tls": True,
    }
    if security == "tls":  # aiosmtpd does not see the implicit TLS: AUTH is over it anyway
        common["auth_require_tls"] = False
        controller = Controller(inbox, ssl_context=context, **common)
    else:
        controller = Controller(inbox, tls_context=context, require_starttls=True, **common)
    controller.start()
    try:
        yield SmtpServer(port, ca, inbox)
    finally:
        controller.stop()
