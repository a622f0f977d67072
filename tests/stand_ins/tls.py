"""TLS on loopback: a certificate authority of the test's own, and a registry serving HTTPS.

:func:`issue_certificate` writes a CA certificate and a server certificate (for
``127.0.0.1``) signed by it; :class:`TlsRegistry` is Debian's docker-registry
serving that certificate (distribution's ``http.tls`` section). A client trusts
it only when given the CA: ``SSL_CERT_FILE`` for ``ferry``, ``--cert-dir`` or
``--tls-verify=false`` for skopeo.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from stand_ins.registry import LocalRegistry

__all__ = ["Certificates", "TlsRegistry", "issue_certificate"]


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the authority's certificate: what a client must trust
    cert: Path  # the server's certificate, for 127.0.0.1
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def issue_certificate(directory: Path) -> Certificates:
    """A new CA and a certificate for ``127.0.0.1`` it signed, as PEM files in ``directory``."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("imageferry test CA"))
        .issuer_name(_name("imageferry test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    out = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    out.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    out.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    out.key.write_bytes(_pem_key(key))
    return out


class TlsRegistry(LocalRegistry):
    """An anonymous loopback docker-registry serving HTTPS with ``certificates``."""

    def __init__(self, certificates: Certificates, **kwargs: Any) -> None:
        overrides = {
            "http": {"tls": {"certificate": str(certificates.cert), "key": str(certificates.key)}}
        }
        super().__init__(config_overrides=overrides, **kwargs)
        self.certificates = certificates

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    def _probe_client(self) -> httpx.Client:
        return httpx.Client(
            timeout=1.0, verify=ssl.create_default_context(cafile=self.certificates.ca)
        )
