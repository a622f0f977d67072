"""The registry auth flow, without I/O (distribution "Token Authentication Specification").

:meth:`Authenticator.flow` is a generator in the httpx style. It yields
:class:`NeedCredentials` (answer: ``Credentials | None``) or
:class:`AuthRequest` (answer: :class:`AuthReply`) and returns when the last
registry request it yielded is the one to keep. The transport drives it; unit
tests drive it by hand.

What it does:

- anonymous first; on a 401 it parses ``WWW-Authenticate`` and answers it;
- Basic: the credentials on the retry, then pre-emptively for that host;
- Bearer: ``GET realm?service=..&scope=..`` (with Basic credentials when we
  have them), ``token`` or ``access_token``, ``expires_in`` (default 60 s);
  tokens are cached by (host, service, scopes) until shortly before expiry,
  then reused pre-emptively so a warm run pays no 401 round trips (expiry is
  counted from when we received the token, not the server's ``issued_at``,
  so clock skew between us and the token server cannot matter);
- a 401 after using a token drops it and asks again with fresh credentials;
  ``error="insufficient_scope"`` asks again for our scopes plus the one named.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import urlencode, urlsplit

from imageferry.errors import RegistryError, Unauthorized
from imageferry.registry.challenge import Challenge, parse_challenges, pick_challenge
from imageferry.registry.config import RegistryConfig
from imageferry.registry.credentials import Credentials
from imageferry.registry.errors import error_for_response

__all__ = [
    "CLIENT_ID",
    "AuthReply",
    "AuthRequest",
    "AuthStep",
    "Authenticator",
    "CachedToken",
    "NeedCredentials",
    "pull_scope",
    "push_scope",
]

#: Default token lifetime when the server omits ``expires_in`` (token spec).
DEFAULT_EXPIRES_IN = 60
_NEEDS_LOGIN = "this registry needs credentials: docker login, or --src-creds/--dest-creds"
#: The OAuth2 ``client_id`` this client names itself with in token requests.
CLIENT_ID = "imageferry"
#: Refresh this long before expiry (or a tenth of the lifetime, if smaller).
REFRESH_MARGIN = 10.0


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """A request the driver must send. ``is_token`` marks token-server requests
    (send without a body, read the body, do not apply registry auth)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=_empty, repr=False)
    is_token: bool = False
    #: A token request's form body (the OAuth2 refresh-token grant); it holds a secret.
    body: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class NeedCredentials:
    """Ask the credential provider about ``host``."""

    host: str


@dataclass(frozen=True, slots=True)
class AuthReply:
    """What the flow needs of a response. ``body`` is only read for token requests."""

    status: int
    www_authenticate: tuple[str, ...] = ()
    body: bytes = b""


AuthStep = AuthRequest | NeedCredentials


@dataclass(frozen=True, slots=True)
class CachedToken:
    token: str = field(repr=False)
    expires_at: float


def _basic(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _scope_key(scopes: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(s for s in scopes if s)))


def _merge_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Union of ``repository:NAME:actions`` scopes, one entry per resource."""
    actions: dict[str, set[str]] = {}
    others: set[str] = set()
    for scope in scopes:
        for part in scope.split(" "):
            resource, sep, acts = part.rpartition(":")
            if not sep or not resource:
                if part:
                    others.add(part)
                continue
            actions.setdefault(resource, set()).update(a for a in acts.split(",") if a)
    merged = {f"{r}:{','.join(sorted(a))}" for r, a in actions.items()}
    return _scope_key(merged | others)


class Authenticator:
    """Per-client auth state: the challenge each host last sent, and the token cache."""

    def __init__(
        self,
        config: RegistryConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config or RegistryConfig()
        self._clock = clock
        self._challenges: dict[str, Challenge] = {}
        self._tokens: dict[tuple[str, str, tuple[str, ...]], CachedToken] = {}

    def challenge_for(self, host: str) -> Challenge | None:
        return self._challenges.get(host)

    def cached_token(self, host: str, service: str, scopes: Iterable[str]) -> str | None:
        entry = self._tokens.get((host, service, _merge_scopes(scopes)))
        if entry is None or self._clock() >= entry.expires_at:
            return None
        return entry.token

    def flow(
        self, request: AuthRequest, host: str, scopes: Iterable[str] = ()
    ) -> Generator[AuthStep, object, None]:
        """Authenticate ``request`` to ``host`` for ``scopes``; see the module doc."""
        wanted = _merge_scopes(scopes)
        challenge = self._challenges.get(host)
        headers = dict(request.headers)
        sent_auth = False
        if challenge is not None:
            header = yield from self._authorization(host, challenge, wanted, fresh=False)
            if header is not None:
                headers["Authorization"] = header
                sent_auth = True
        reply = yield _replace_headers(request, headers)
        assert isinstance(reply, AuthReply)
        # At most two answers to a 401: the first challenge, then (only for
        # insufficient_scope naming a scope we lacked) one more re-ask.
        for round_ in range(2):
            if reply.status != 401:
                return
            offered = pick_challenge(parse_challenges(reply.www_authenticate))
            if offered is None:
                return
            previous, self._challenges[host] = challenge, offered
            if offered.scheme == "bearer":
                if previous is not None and previous.scheme == "bearer":
                    self._drop(host, previous.service, wanted)
                widened = _merge_scopes((*wanted, offered.scope))
                if round_ and (offered.error != "insufficient_scope" or widened == wanted):
                    return
                wanted = widened
            elif round_:
                return
            challenge = offered
            header = yield from self._authorization(host, offered, wanted, fresh=True)
            if header is None:
                return
            if sent_auth and headers.get("Authorization") == header:
                # Fresh credentials are the ones just rejected: asking again won't help.
                return
            headers["Authorization"] = header
            sent_auth = True
            reply = yield _replace_headers(request, headers)
            assert isinstance(reply, AuthReply)

    def _authorization(
        self, host: str, challenge: Challenge, scopes: tuple[str, ...], *, fresh: bool
    ) -> Generator[AuthStep, object, str | None]:
        if challenge.scheme == "basic":
            credentials = yield NeedCredentials(host)
            assert credentials is None or isinstance(credentials, Credentials)
            return _basic(credentials) if credentials is not None else None
        if not fresh:
            token = self.cached_token(host, challenge.service, scopes)
            if token is not None:
                return f"Bearer {token}"
        token = yield from self._fetch_token(host, challenge, scopes)
        return f"Bearer {token}"

    def _fetch_token(
        self, host: str, challenge: Challenge, scopes: tuple[str, ...]
    ) -> Generator[AuthStep, object, str]:
        realm = challenge.realm
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RegistryError(
                f"{host} sent a Bearer challenge with an unusable realm {realm!r}",
                registry=host,
            )
        if parts.scheme == "http":
            self._config.check_plain_http(parts.netloc, registry=host, url=realm)
        credentials = yield NeedCredentials(host)
        assert credentials is None or isinstance(credentials, Credentials)
        if credentials is not None and credentials.identity_token:
            request = _refresh_grant(realm, challenge.service, scopes, credentials.identity_token)
        else:
            query: list[tuple[str, str]] = []
            if challenge.service:
                query.append(("service", challenge.service))
            query.extend(("scope", s) for s in scopes)
            url = realm + ("&" if parts.query else "?") + urlencode(query) if query else realm
            headers = {"Authorization": _basic(credentials)} if credentials is not None else {}
            request = AuthRequest("GET", url, MappingProxyType(headers), is_token=True)
        reply = yield request
        assert isinstance(reply, AuthReply)
        started = self._clock()
        if reply.status != 200:
            if credentials is not None and credentials.identity_token:
                who = "with the identity token from docker login"
                hint = "the token may have expired or been revoked: run docker login again"
            else:
                who = f"as {credentials.username}" if credentials else "anonymously"
                hint = "check the user name and password" if credentials else _NEEDS_LOGIN
            if reply.status == 429 or reply.status >= 500:
                # The token server is failing or busy, not refusing these credentials.
                hint = "the token server kept failing (retried); try again later"
            error = error_for_response(
                reply.status,
                reply.body,
                registry=host,
                what=f"token request to {parts.netloc} {who} for {' '.join(scopes) or 'no scope'}",
                url=realm,
                hint=hint,
            )
            if reply.status == 400 and request.method == "POST":
                # OAuth2 reports a refused grant as 400 (RFC 6749 section 5.2).
                raise Unauthorized(str(error), status=400, registry=host) from None
            raise error
        token, expires_in = _parse_token(reply.body, host)
        lifetime = float(expires_in)
        margin = min(REFRESH_MARGIN, lifetime / 10)
        key = (host, challenge.service, scopes)
        self._tokens[key] = CachedToken(token, started + lifetime - margin)
        return token

    def _drop(self, host: str, service: str, scopes: tuple[str, ...]) -> None:
        self._tokens.pop((host, service, scopes), None)


def _refresh_grant(
    realm: str, service: str, scopes: tuple[str, ...], refresh_token: str
) -> AuthRequest:
    """``POST realm`` with the OAuth2 refresh-token grant (distribution's
    docs/spec/auth/oauth.md); the token is in the form body, never the URL."""
    form = [("grant_type", "refresh_token"), ("client_id", CLIENT_ID)]
    if service:
        form.append(("service", service))
    if scopes:
        form.append(("scope", " ".join(scopes)))
    form.append(("refresh_token", refresh_token))
    return AuthRequest(
        "POST",
        realm,
        MappingProxyType({"Content-Type": "application/x-www-form-urlencoded"}),
        is_token=True,
        body=urlencode(form).encode(),
    )


def _replace_headers(request: AuthRequest, headers: dict[str, str]) -> AuthRequest:
    return AuthRequest(request.method, request.url, MappingProxyType(dict(headers)))


def _parse_token(body: bytes, host: str) -> tuple[str, int]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise Unauthorized(
            f"the token server for {host} answered with something other than JSON",
            status=200,
            registry=host,
        )
    token = data.get("token") or data.get("access_token")
    if not isinstance(token, str) or not token:
        raise Unauthorized(
            f"the token server for {host} answered without a token", status=200, registry=host
        )
    expires_in = data.get("expires_in")
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
        expires_in = DEFAULT_EXPIRES_IN
    return token, expires_in
