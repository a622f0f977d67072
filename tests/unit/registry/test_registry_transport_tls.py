"""TLS failures that a retry would repeat fail at once, with the flag that helps.

Against real loopback servers: one speaking plain HTTP, one with a
self-signed certificate.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from imageferry.errors import TransportError
from imageferry.registry.config import RegistryConfig
from imageferry.registry.stats import RegistryStats
from imageferry.registry.transport import Transport
from unit.registry.registry_fakes import FakeServer, Sleeps


def self_signed(directory: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


@pytest.fixture
async def tls_host(tmp_path: Path) -> AsyncIterator[str]:
    """host:port of an HTTPS server with a self-signed certificate, answering 'ok'."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", ok)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=self_signed(tmp_path))
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.close()


def transport(sleeps: Sleeps, *, mirror: str, insecure: frozenset[str] = frozenset()) -> Transport:
    config = RegistryConfig(mirrors={"registry.test": mirror}, insecure=insecure)
    return Transport(config, stats=RegistryStats(), sleep=sleeps)


async def refusal(sleeps: Sleeps, host: str) -> str:
    """The error of a GET to ``https://host``, which must come without a retry."""
    async with transport(sleeps, mirror=f"https://{host}") as t:
        with pytest.raises(TransportError) as info:
            await t.request("registry.test", "GET", f"https://{host}/v2/", what="x")
    assert sleeps.delays == []  # not retried: the answer would be the same
    return str(info.value)


async def test_https_to_a_plain_http_server_fails_at_once_and_says_so(
    fake: FakeServer, sleeps: Sleeps
) -> None:
    assert await refusal(sleeps, fake.host) == (
        "x: cannot reach registry.test: TLS handshake failed: wrong version number "
        f"(the registry may speak plain HTTP: add --insecure-registry {fake.host})"
    )
    assert fake.seen == []


async def test_untrusted_certificate_fails_at_once_and_names_the_flag(
    tls_host: str, sleeps: Sleeps
) -> None:
    assert await refusal(sleeps, tls_host) == (
        "x: cannot reach registry.test: certificate verify failed: self-signed certificate "
        f"(--insecure-registry {tls_host} skips verification)"
    )


async def test_insecure_host_skips_certificate_verification(tls_host: str, sleeps: Sleeps) -> None:
    insecure = frozenset({tls_host})
    async with transport(sleeps, mirror=f"https://{tls_host}", insecure=insecure) as t:
        response = await t.request("registry.test", "GET", f"https://{tls_host}/v2/", what="x")
    assert (response.body, response.url) == (b"ok", f"https://{tls_host}/v2/")


async def test_refused_connections_are_still_retried(fake: FakeServer, sleeps: Sleeps) -> None:
    host = fake.host
    await fake.server.close()
    async with transport(sleeps, mirror=f"https://{host}") as t:
        with pytest.raises(TransportError, match=r"\(after 5 retries\)"):
            await t.request("registry.test", "GET", f"https://{host}/v2/", what="x")
    assert len(sleeps.delays) == 5
