"""A Docker token-auth server for sandbox registries.

It implements the server side of distribution's "Token Authentication
Specification" (docs/spec/auth/token.md) and "Token Authentication
Implementation" (docs/spec/auth/jwt.md), which Docker Hub, GHCR, Quay and
Harbor all follow:

1. a client's request to the registry gets ``401`` with
   ``WWW-Authenticate: Bearer realm=...,service=...,scope=...``;
2. the client sends ``GET realm?service=...&scope=...`` here, with Basic
   credentials or none;
3. we answer ``{"token", "access_token", "expires_in", "issued_at"}``, a JWT
   whose ``access`` claim lists the granted actions per repository.

The registry trusts the JWT because its ``kid`` header is the libtrust key ID
of a public key in the certificate bundle we write for ``rootcertbundle``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from imageferry.sandbox.lifecycle import Service
from imageferry.sandbox.registry import SandboxError

__all__ = ["Acl", "TokenServer", "allow_all", "libtrust_key_id"]

#: acl(username or None, repository, requested actions "pull,push") -> granted actions.
Acl = Callable[[str | None, str, str], set[str]]


def allow_all(username: str | None, repository: str, actions: str) -> set[str]:
    """The default ACL: authenticated users get every action asked; anonymous none."""
    if username is None:
        return set()
    return {a for a in actions.split(",") if a}


def libtrust_key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The key ID distribution's registry derives from a trusted public key.

    docker/libtrust: SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits,
    base32 without padding, in 12 groups of 4 joined by ``:``.
    """
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def _parse_scope(scope: str) -> tuple[str, str, str] | None:
    """``type:name:actions``; the name may itself hold a ``:`` (host:port/repo)."""
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not name:
        return None
    return kind, name, actions


class TokenServer(Service):
    """Issues registry bearer tokens on loopback, in a background thread.

    ``users`` maps names to passwords. ``acl`` decides what each user may do
    (default :func:`allow_all`). With ``allow_anonymous`` a request without
    credentials gets a token with what ``acl(None, ...)`` grants; otherwise it
    gets 401. ``refresh_tokens`` maps OAuth2 refresh tokens (what ``docker
    login`` stores as ``identitytoken``) to user names, for ``POST /token``
    with ``grant_type=refresh_token``. Each token request is recorded in
    :attr:`requests` as
    ``(username or None, scope)`` (scopes joined by a space) so tests can
    assert that a client caches its tokens.
    """

    def __init__(
        self,
        users: Mapping[str, str],
        acl: Acl | None = None,
        *,
        allow_anonymous: bool = False,
        service: str = "ferry-sandbox-registry",
        issuer: str = "ferry-sandbox-token-issuer",
        expires_in: int = 300,
        host: str = "127.0.0.1",
        refresh_tokens: Mapping[str, str] | None = None,
    ) -> None:
        self._users = dict(users)
        self._refresh_tokens = dict(refresh_tokens or {})
        self._acl: Acl = acl or allow_all
        self.allow_anonymous = allow_anonymous
        self.service = service
        self.issuer = issuer
        self.expires_in = expires_in
        self._host = host
        self.requests: list[tuple[str | None, str]] = []
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.key_id = libtrust_key_id(self._key.public_key())
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._workdir: Path | None = None

    def __repr__(self) -> str:
        return f"TokenServer(realm={self.realm!r}, users={sorted(self._users)!r})"

    @property
    def users(self) -> dict[str, str]:
        return dict(self._users)

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The key that verifies issued tokens (what the registry trusts)."""
        return self._key.public_key()

    @property
    def realm(self) -> str:
        """The token endpoint's URL, for the registry's ``auth.token.realm``."""
        if self._server is None:
            raise SandboxError("the token server has not been started")
        port = self._server.server_address[1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{port}/token"

    @property
    def cert_path(self) -> Path:
        """PEM bundle with the self-signed certificate of the signing key."""
        if self._workdir is None:
            raise SandboxError("the token server has not been started")
        return self._workdir / "rootcertbundle.pem"

    # -- life cycle ----------------------------------------------------------

    def start(self) -> TokenServer:
        if self._server is not None:
            return self
        self._workdir = Path(tempfile.mkdtemp(prefix="ferry-token-"))
        self.cert_path.write_bytes(self._certificate().public_bytes(serialization.Encoding.PEM))
        server_class = _IPv6Server if ":" in self._host else ThreadingHTTPServer
        self._server = server_class((self._host, 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ferry-token-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    # -- tokens --------------------------------------------------------------

    def _certificate(self) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.issuer)])
        now = datetime.now(UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )

    def authenticate(self, authorization: str | None) -> tuple[bool, str | None]:
        """(ok, username) for an ``Authorization`` header; (True, None) is anonymous."""
        if not authorization:
            return self.allow_anonymous, None
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False, None
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False, None
        expected = self._users.get(username)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            return False, None
        return True, username

    def grant(self, form: Mapping[str, list[str]]) -> tuple[bool, str | None]:
        """(ok, username) for an OAuth2 form (docs/spec/auth/oauth.md in distribution)."""
        field = {k: v[0] for k, v in form.items() if v}
        if field.get("grant_type") == "refresh_token":
            username = self._refresh_tokens.get(field.get("refresh_token", ""))
            return username is not None, username
        if field.get("grant_type") == "password":
            username, password = field.get("username", ""), field.get("password", "")
            expected = self._users.get(username)
            ok = expected is not None and hmac.compare_digest(expected.encode(), password.encode())
            return ok, username if ok else None
        return False, None

    def issue(self, username: str | None, scopes: list[str]) -> dict[str, Any]:
        """The token response body for ``username`` asking for ``scopes``."""
        access: list[dict[str, Any]] = []
        for scope in scopes:
            parsed = _parse_scope(scope)
            if parsed is None:
                continue
            kind, name, actions = parsed
            granted = self._acl(username, name, actions) if kind == "repository" else set()
            if kind == "registry" and username is not None:
                granted = {a for a in actions.split(",") if a}
            access.append({"type": kind, "name": name, "actions": sorted(granted)})
        now = datetime.now(UTC)
        claims = {
            "iss": self.issuer,
            "sub": username or "",
            "aud": self.service,
            "exp": now + timedelta(seconds=self.expires_in),
            "nbf": now - timedelta(seconds=1),
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.key_id})
        return {
            "token": token,
            "access_token": token,
            "expires_in": self.expires_in,
            "issued_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler_for(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/token":
                self._reply(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
                return
            query = parse_qs(url.query)
            ok, username = server.authenticate(self.headers.get("Authorization"))
            scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
            server.requests.append((username, " ".join(scopes)))
            if not ok:
                given = self.headers.get("Authorization") is not None
                message = "invalid credentials" if given else "authentication required"
                self._reply(
                    401,
                    {"errors": [{"code": "UNAUTHORIZED", "message": message}]},
                    {"WWW-Authenticate": 'Basic realm="ferry-sandbox-token"'},
                )
                return
            service = query.get("service", [server.service])[0]
            if service != server.service:
                self._reply(400, {"errors": [{"code": "DENIED", "message": "unknown service"}]})
                return
            self._reply(200, server.issue(username, scopes))

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/token":
                self._reply(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            ok, username = server.grant(form)
            scopes = [s for value in form.get("scope", []) for s in value.split(" ") if s]
            server.requests.append((username, " ".join(scopes)))
            if not ok:
                self._reply(400, {"error": "invalid_grant"})
                return
            if form.get("service", [server.service])[0] != server.service:
                self._reply(400, {"error": "invalid_request", "error_description": "service"})
                return
            self._reply(200, server.issue(username, scopes))

        def _reply(
            self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: request lines would be noise in test output."""

    return Handler
