"""Redis with a password, and over TLS (``rediss://``), as the notifier connects to it.

Each runs against both servers (bundled Valkey, system redis-server). TLS needs a server built
with it: the test starts one with a certificate made here (``cryptography``, a private CA) and
skips, saying why, when the binary has no TLS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from redis import exceptions as rexc

from notifier.bus import keys
from notifier.bus.connect import connect, open_redis
from notifier.bus.embedded import EmbeddedServer, free_port
from notifier.bus.scripts import commit_poll
from notifier.errors import EmbeddedServerError, StoreError
from notifier.settings import Settings

PASSWORD = 'pa ss"word\\with:@/#?'  # quoting trouble on purpose


async def _works(url: str) -> None:
    """The notifier opens it as it opens any REDIS_URL, and an atomic commit goes through."""
    async with contextlib.AsyncExitStack() as stack:
        r = await open_redis(Settings(redis_url=url), stack)
        await r.set(keys.lease("poll", "m"), "me:1")
        await commit_poll(
            r,
            lease=keys.lease("poll", "m"),
            lease_value="me:1",
            snapshot_key=keys.snapshot(0, "m"),
            snapshot="{}",
            stream=keys.events(0),
            maxlen=1000,
            entries=[{"id": "e1", "type": "goal"}],
        )
        assert await r.xlen(keys.events(0)) == 1


async def test_a_password_protected_server(
    server_binary: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with EmbeddedServer(tmp_path, binary=server_binary, password=PASSWORD) as server:
        assert "%" in server.url  # quoted in the URL
        await _works(server.url)
        anonymous = server.url.replace(server.url.split("@")[0] + "@", "redis://")
        for refused in (anonymous, server.url.replace("pa%20ss", "pa%20sx")):
            started = time.monotonic()
            with pytest.raises(StoreError, match="refused the credentials"):
                await _works(refused)
            # Found here: retries of each connect inside retries of each command took 91 s
            # to report a missing password, as "redis unavailable".
            assert time.monotonic() - started < 5
        wrong = connect(server.url.replace("pa%20ss", "pa%20sx"), retries=0)
        with pytest.raises(rexc.AuthenticationError):
            await wrong.ping()
        await wrong.aclose()
    assert PASSWORD not in caplog.text and "pa%20ss" not in caplog.text
    assert PASSWORD not in (tmp_path / "server.log").read_text()
    assert oct((tmp_path / "auth.conf").stat().st_mode)[-3:] == "600"


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_certs(where: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1 and localhost: (ca, cert, key)
    files (the Redis, MQTT, SMTP and delivery TLS tests share it)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "notifier test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = (where / "ca.pem", where / "server.pem", where / "server.key")
    files[0].write_bytes(_pem(ca))
    files[1].write_bytes(_pem(cert))
    files[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@contextlib.asynccontextmanager
async def tls_server(binary: Path, where: Path) -> AsyncIterator[tuple[int, Path]]:
    """The server with a TLS port next to its plain one: (TLS port, CA file); skips without TLS."""
    ca, cert, key = make_certs(where)
    port = free_port()
    tls = ["--tls-port", str(port), "--tls-cert-file", str(cert), "--tls-key-file", str(key)]
    tls += ["--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no"]
    server = EmbeddedServer(where / "data", binary=binary, password=PASSWORD, extra_args=tls)
    try:
        await server.start()
    except EmbeddedServerError as exc:
        if "TLS" in str(exc) or "tls" in str(exc):
            pytest.skip(f"{binary} was built without TLS support: {str(exc).splitlines()[-1]}")
        raise
    try:
        yield port, ca
    finally:
        await server.stop()


async def test_rediss_with_a_password(server_binary: Path, tmp_path: Path) -> None:
    async with tls_server(server_binary, tmp_path) as (port, ca):
        url = f"rediss://:{quote(PASSWORD, safe='')}@127.0.0.1:{port}/0?ssl_ca_certs={ca}"
        await _works(url)
        plain = connect(url.replace("rediss://", "redis://").split("?")[0], retries=0)
        with pytest.raises(rexc.ConnectionError):
            await plain.ping()  # the TLS port speaks nothing else
        await plain.aclose()
        untrusted = connect(url.split("?")[0], retries=0)  # the system CAs do not know ours
        with pytest.raises(rexc.ConnectionError, match=r"(?i)certificate"):
            await untrusted.ping()
        await untrusted.aclose()
