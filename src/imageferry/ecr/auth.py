"""Registry credentials for ECR hosts from GetAuthorizationToken.

ECR's registry API takes HTTP Basic ``AWS:<token>`` where the token comes from
the control plane's GetAuthorizationToken (base64 of ``AWS:<token>``) and
lives 12 hours. :class:`EcrCredentialProvider` implements the registry
client's ``CredentialProvider`` protocol: for an ECR host it returns those
credentials, cached per (account, region) and fetched again ``refresh_margin``
before ``expiresAt`` so a long run never presents an expired token; for any
other host it returns None, so it chains with other providers.

Each registry may use its own AWS keys: in a cross-account task the source and
the destination accounts have different secrets. Keys are looked up by ECR
host, then by account id, then ``default_keys``; None means the default AWS
credential chain. ``keys_from`` names, the same way, the task parameter
(``srcCredential``) whose secret holds the keys, for the fix an error suggests.

The registry client asks for credentials by the host it actually speaks to,
which for a remapped registry (``RegistryConfig.mirrors``) is the mirror's
host. ``aliases`` maps such a host to the ECR host it serves (a VPC endpoint
alias, a proxy, or the loopback stand-in in tests).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from imageferry.aws import AwsKeys
from imageferry.ecr.client import call, ecr_client
from imageferry.ecr.errors import EcrError, aws_errors
from imageferry.ecr.hosts import EcrRegistry, parse_registry_host
from imageferry.registry.credentials import Credentials

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

__all__ = ["ClientFactory", "EcrCredentialProvider", "EcrToken", "decode_token"]

#: Makes an ECR client for (region, keys); injectable for tests.
ClientFactory = Callable[[str, AwsKeys | None], "ECRClient"]

_ACTION = "GetAuthorizationToken"
DEFAULT_REFRESH_MARGIN = 3600.0


@dataclass(frozen=True, slots=True)
class EcrToken:
    """A decoded authorization token and when it stops working (epoch seconds)."""

    username: str
    password: str = field(repr=False)
    expires_at: float

    def credentials(self) -> Credentials:
        return Credentials(self.username, self.password)


def decode_token(authorization_token: str, expires_at: datetime | float) -> EcrToken:
    """Decode GetAuthorizationToken's base64 ``user:password``.

    Raises ValueError without quoting the token when it is not of that form.
    """
    try:
        text = base64.b64decode(authorization_token, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as e:
        raise ValueError("the authorization token is not base64 of user:password") from e
    username, sep, password = text.partition(":")
    if not sep or not username or not password:
        raise ValueError("the authorization token is not base64 of user:password")
    expiry = expires_at.timestamp() if isinstance(expires_at, datetime) else float(expires_at)
    return EcrToken(username, password, expiry)


def _default_factory(region: str, keys: AwsKeys | None) -> ECRClient:
    return ecr_client(region, keys)


class EcrCredentialProvider:
    """``CredentialProvider`` for ECR hosts (``<account>.dkr.ecr.<region>...``).

    ``keys`` maps an ECR host or an account id to the AWS keys to use for it.
    ``clock`` returns epoch seconds (injectable so tests can move time).
    """

    def __init__(
        self,
        keys: Mapping[str, AwsKeys | None] | None = None,
        *,
        aliases: Mapping[str, str] | None = None,
        default_keys: AwsKeys | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        clock: Callable[[], float] = time.time,
        client_factory: ClientFactory = _default_factory,
        keys_from: Mapping[str, str] | None = None,
    ) -> None:
        self._keys = dict(keys or {})
        self._keys_from = dict(keys_from or {})
        self._aliases = {k.lower(): v for k, v in (aliases or {}).items()}
        self._default_keys = default_keys
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._client_factory = client_factory
        self._tokens: dict[EcrRegistry, EcrToken] = {}
        self._clients: dict[EcrRegistry, ECRClient] = {}
        self._locks: dict[EcrRegistry, asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"EcrCredentialProvider(registries={sorted(self._keys)!r})"

    async def get(self, registry: str) -> Credentials | None:
        """Basic credentials for ``registry`` when it is (an alias of) an ECR host, else None."""
        target = self.target_of(registry)
        if target is None:
            return None
        token = await self.token(target)
        return token.credentials()

    async def token(self, target: EcrRegistry) -> EcrToken:
        """The cached token for ``target``, fetched anew when near its expiry."""
        lock = self._locks.setdefault(target, asyncio.Lock())
        async with lock:
            token = self._tokens.get(target)
            if token is None or self._clock() >= token.expires_at - self._refresh_margin:
                token = await self._fetch(target)
                self._tokens[target] = token
            return token

    def target_of(self, registry: str) -> EcrRegistry | None:
        """The ECR registry that ``registry`` (a host or an alias) names, if any."""
        return parse_registry_host(self._aliases.get(registry.lower(), registry))

    def invalidate(self, registry: str) -> None:
        """Forget the token for ``registry`` (after the registry refused it)."""
        target = self.target_of(registry)
        if target is not None:
            self._tokens.pop(target, None)

    def keys_for(self, target: EcrRegistry) -> AwsKeys | None:
        if target.host in self._keys:
            return self._keys[target.host]
        if target.account_id in self._keys:
            return self._keys[target.account_id]
        return self._default_keys

    def _client(self, target: EcrRegistry) -> ECRClient:
        client = self._clients.get(target)
        if client is None:
            client = self._client_factory(target.region, self.keys_for(target))
            self._clients[target] = client
        return client

    async def _fetch(self, target: EcrRegistry) -> EcrToken:
        client = self._client(target)
        keys_from = self._keys_from.get(target.host) or self._keys_from.get(target.account_id, "")
        with aws_errors(_ACTION, target, keys_from=keys_from):
            # registryIds is deprecated for ECR (a token is valid for every registry
            # the caller may access) but still names whose registry we mean.
            response = await call(client.get_authorization_token, registryIds=[target.account_id])
        data = response.get("authorizationData") or []
        if not data:
            raise EcrError(
                f"ECR {_ACTION} for {target} returned no authorization data",
                action=_ACTION,
                target=target,
            )
        first = data[0]
        try:
            return decode_token(first["authorizationToken"], first["expiresAt"])
        except (KeyError, ValueError) as e:
            raise EcrError(
                f"ECR {_ACTION} for {target} returned an unusable token: {e}",
                action=_ACTION,
                target=target,
            ) from e
