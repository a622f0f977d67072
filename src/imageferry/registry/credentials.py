"""Where registry credentials come from: static pairs, Docker's config.json, helpers.

A :class:`CredentialProvider` is asked every time the auth flow needs
credentials, so a provider whose secrets expire (ECR tokens last 12 h) can
return fresh ones on each call; cached bearer tokens are dropped by the auth
flow when the registry rejects them, which makes it ask again.

Docker's format (docker/cli ``cli/config/configfile``): ``auths`` maps a server
(``https://index.docker.io/v1/`` for Docker Hub, a host, or a URL) to base64
``auth`` = ``user:password`` or to ``username``/``password``; ``credHelpers``
names a ``docker-credential-<name>`` program per registry and ``credsStore``
one for all. A helper reads the server URL on stdin for ``get`` and prints
``{"Username": ..., "Secret": ...}`` (docker-credential-helpers protocol).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from imageferry.errors import ConfigError
from imageferry.reference import DOCKER_HUB

__all__ = [
    "IDENTITY_TOKEN_USER",
    "ChainCredentials",
    "CredentialProvider",
    "Credentials",
    "DockerConfigCredentials",
    "StaticCredentials",
    "parse_user_pass",
]

#: The key Docker uses for Docker Hub in ``auths`` and for helpers.
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"
_HUB_NAMES = {DOCKER_HUB, "index.docker.io", "registry-1.docker.io"}
_HELPER_TIMEOUT = 30.0


#: The user name a credential helper answers with when its secret is an identity token.
IDENTITY_TOKEN_USER = "<token>"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and a password or token. The secrets never show in a repr.

    ``identity_token`` is an OAuth2 refresh token (``docker login`` stores one
    as ``identitytoken`` for registries that hand them out, e.g. Azure ACR):
    a token server is then asked with ``grant_type=refresh_token`` instead of
    Basic auth (distribution's docs/spec/auth/oauth.md).
    """

    username: str
    password: str = field(repr=False)
    identity_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        token = ", identity_token=***" if self.identity_token else ""
        return f"Credentials(username={self.username!r}, password=***{token})"


class CredentialProvider(Protocol):
    """Credentials for a registry host[:port], or None to go anonymous.

    Called whenever credentials are needed (a challenge, a token request, a
    pre-emptive Basic header); implementations decide what to cache.
    """

    async def get(self, registry: str) -> Credentials | None: ...


class StaticCredentials:
    """A fixed mapping from registry to credentials (``--src-creds`` and friends)."""

    def __init__(self, mapping: Mapping[str, Credentials]) -> None:
        self._mapping = {_normalise(k): v for k, v in mapping.items()}

    async def get(self, registry: str) -> Credentials | None:
        return self._mapping.get(_normalise(registry))

    def __repr__(self) -> str:
        return f"StaticCredentials(registries={sorted(self._mapping)!r})"


class ChainCredentials:
    """Ask each provider in turn; the first that has credentials wins."""

    def __init__(self, providers: Iterable[CredentialProvider]) -> None:
        self._providers = tuple(providers)

    async def get(self, registry: str) -> Credentials | None:
        for provider in self._providers:
            found = await provider.get(registry)
            if found is not None:
                return found
        return None


class DockerConfigCredentials:
    """Credentials from ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``.

    The file is re-read when it changes (``docker login`` may run while we
    do). A missing default file means no credentials; a ``path`` given
    explicitly is read at once and must exist and parse, else a
    :class:`ConfigError`: a mistyped ``--authfile`` would otherwise mean
    anonymous requests and a 401 far from its cause. ``label`` names the file
    in errors (``--authfile`` when the user named it). Helper answers are kept
    for ``helper_ttl`` seconds: the auth flow asks for credentials on every
    pre-emptive Basic request, and a helper is a process to start.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        helper_ttl: float = 300.0,
        label: str = "Docker config",
    ) -> None:
        self._path = Path(path) if path is not None else _default_path()
        self._label = label
        self._helper_ttl = helper_ttl
        self._config: tuple[tuple[int, int], dict[str, Any] | None] | None = None
        self._helped: dict[tuple[str, str], tuple[float, Credentials | None]] = {}
        if path is not None:
            self._read(missing_ok=False)

    @property
    def path(self) -> Path:
        return self._path

    async def get(self, registry: str) -> Credentials | None:
        config = self._read()
        if config is None:
            return None
        host = _normalise(registry)
        helpers = config.get("credHelpers")
        helper = None
        if isinstance(helpers, dict):
            helper = next((v for k, v in helpers.items() if _normalise(k) == host), None)
        if helper is None:
            found = _from_auths(config.get("auths"), host, self._path)
            if found is not None:
                return found
            helper = config.get("credsStore")
        if isinstance(helper, str) and helper:
            return await self._run_helper(helper, _server_url(host))
        return None

    def _read(self, *, missing_ok: bool = True) -> dict[str, Any] | None:
        try:
            info = self._path.stat()
        except FileNotFoundError as e:
            if missing_ok:
                return None
            raise _unreadable(self._label, self._path, e) from None
        except OSError as e:
            raise _unreadable(self._label, self._path, e) from None
        stamp = (info.st_mtime_ns, info.st_size)
        if self._config is None or self._config[0] != stamp:
            self._config = (stamp, _read_config(self._path, self._label))
        return self._config[1]

    async def _run_helper(self, name: str, server_url: str) -> Credentials | None:
        now = time.monotonic()
        cached = self._helped.get((name, server_url))
        if cached is not None and now < cached[0]:
            return cached[1]
        found = await run_helper(name, server_url)
        self._helped[(name, server_url)] = (now + self._helper_ttl, found)
        return found

    def __repr__(self) -> str:
        return f"DockerConfigCredentials(path={str(self._path)!r})"


def parse_user_pass(text: str) -> Credentials:
    """``USER:PASS`` as given to ``--src-creds``/``--dest-creds``."""
    username, colon, password = text.partition(":")
    if not colon or not username or not password:
        raise ConfigError(
            "credentials must be given as USER:PASSWORD (both non-empty, "
            "separated by the first ':')"
        )
    return Credentials(username, password)


async def run_helper(name: str, server_url: str) -> Credentials | None:
    """Run ``docker-credential-<name> get`` with ``server_url`` on stdin.

    A helper that has nothing for the server exits non-zero with
    "credentials not found in native keychain": that means anonymous. A helper
    that is missing or prints garbage is a configuration error.
    """
    program = f"docker-credential-{name}"
    try:
        process = await asyncio.create_subprocess_exec(
            program,
            "get",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        raise ConfigError(
            f"Docker config names credential helper {name!r} but {program} is not on PATH; "
            "install it or remove it from ~/.docker/config.json"
        ) from None
    try:
        stdout, stderr = await asyncio.wait_for(
            process.communicate(server_url.encode()), _HELPER_TIMEOUT
        )
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ConfigError(f"{program} did not answer within {_HELPER_TIMEOUT:.0f} s") from None
    if process.returncode != 0:
        text = (stdout + stderr).decode(errors="replace")
        if "credentials not found" in text.lower():
            return None
        # Helpers print their own error text; it never contains the secret.
        raise ConfigError(
            f"{program} get failed for {server_url} (exit {process.returncode}): "
            f"{text.strip()[:200]}"
        )
    try:
        data = json.loads(stdout)
        username, secret = str(data["Username"]), str(data["Secret"])
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            f"{program} get printed something other than a JSON object with Username and Secret"
        ) from None
    if not secret:
        return None
    if username == IDENTITY_TOKEN_USER:
        return Credentials(username, "", identity_token=secret)
    return Credentials(username, secret)


def _default_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def _read_config(path: Path, label: str) -> dict[str, Any] | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise _unreadable(label, path, e) from None
    try:
        # From bytes: json picks the UTF encoding, and bytes that are none of them
        # are a ValueError here rather than a crash.
        config = json.loads(data)
    except ValueError as e:
        raise _unreadable(label, path, f"not valid JSON ({e})") from None
    if not isinstance(config, dict):
        raise _unreadable(label, path, "not a JSON object")
    return config


def _unreadable(label: str, path: Path, reason: OSError | str) -> ConfigError:
    if isinstance(reason, OSError):
        reason = reason.strerror or str(reason)
    return ConfigError(f"cannot read {label} {path}: {reason}")


def _normalise(server: str) -> str:
    """A host[:port] from any spelling Docker uses for a server key."""
    text = server.strip().lower()
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    host = text.split("/", 1)[0]
    return DOCKER_HUB if host in _HUB_NAMES else host


def _server_url(host: str) -> str:
    # Helpers store Docker Hub under the legacy index URL, other registries by host.
    return DOCKER_HUB_SERVER if host == DOCKER_HUB else host


def _from_auths(auths: object, host: str, path: Path) -> Credentials | None:
    if not isinstance(auths, dict):
        return None
    for key, entry in auths.items():
        if _normalise(str(key)) != host or not isinstance(entry, dict):
            continue
        identity = entry.get("identitytoken")
        if isinstance(identity, str) and identity:
            # The 'auth' entry then only names the account, if it is there at all.
            return Credentials(_auth_user(entry.get("auth")), "", identity_token=identity)
        encoded = entry.get("auth")
        if isinstance(encoded, str) and encoded:
            try:
                decoded = base64.b64decode(encoded, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise ConfigError(
                    f"Docker config {path}: the 'auth' entry for {key} is not base64 of "
                    "user:password; run docker login again"
                ) from None
            username, colon, password = decoded.partition(":")
            if colon and username:
                return Credentials(username, password)
            raise ConfigError(
                f"Docker config {path}: the 'auth' entry for {key} is not user:password"
            )
        user, secret = entry.get("username"), entry.get("password")
        if isinstance(user, str) and isinstance(secret, str) and user:
            return Credentials(user, secret)
    return None


def _auth_user(encoded: object) -> str:
    if not isinstance(encoded, str):
        return IDENTITY_TOKEN_USER
    try:
        user = base64.b64decode(encoded, validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return IDENTITY_TOKEN_USER
    return user or IDENTITY_TOKEN_USER
