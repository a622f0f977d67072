"""The one I/O seam of the registry client: HTTP over aiohttp, auth, retries, limits.

Every registry request goes through :meth:`Transport.request` (body read) or
:meth:`Transport.stream` (body streamed, for blobs). Around each it:

- drives the sans-I/O :class:`~imageferry.registry.auth.Authenticator` flow;
- paces requests per registry through a :class:`~imageferry.registry.pacing.Pacer`:
  an adaptive window (AIMD, grown while replies are quick, halved on 429/503,
  paused by ``Retry-After``) and, for ECR, per-action rates. A request holds
  its place until the response headers arrive (a streamed body does not hold
  it, so a blob being copied within one registry cannot starve its own upload);
- retries connection errors, 5xx and 429 with exponential backoff and jitter,
  honouring ``Retry-After`` (RFC 9110 section 10.2.3: seconds or an HTTP date),
  and never 401/403/404 or other 4xx, except a 4xx carrying an OCI error code
  the caller names as transient (a few retries only). A body given as an
  async iterator is sent once: it cannot be replayed, so its caller decides
  what to do;
- follows blob redirects itself, sending no registry ``Authorization`` to the
  storage host;
- reports each exchange and retry to a :class:`~imageferry.registry.stats.StatsHook`.

aiohttp is used for its C (llhttp) parser: on two cores a pure-Python parser
spends CPU on every byte of every layer.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from imageferry import __version__
from imageferry.errors import TransportError
from imageferry.registry.auth import (
    Authenticator,
    AuthReply,
    AuthRequest,
    NeedCredentials,
)
from imageferry.registry.config import RegistryConfig
from imageferry.registry.congestion import CONGESTION_STATUSES, AimdSettings
from imageferry.registry.credentials import CredentialProvider, Credentials
from imageferry.registry.errors import error_for_response, parse_error_body
from imageferry.registry.pacing import Pacer, Ticket
from imageferry.registry.ratelimit import parse_quota
from imageferry.registry.stats import RegistryStats, StatsHook
from imageferry.registry.tls import verifying_context

__all__ = [
    "REDIRECTS",
    "Body",
    "Response",
    "Transport",
    "backoff_delay",
    "parse_retry_after",
]

Body = bytes | AsyncIterator[bytes] | None

#: Redirect statuses (to blob storage, say); followed without registry credentials.
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_ERROR_BODY = 64 * 1024
_USER_AGENT = f"imageferry/{__version__}"
#: Retries of a 4xx with a transient code: such an answer is usually a real
#: error, so it may delay that error's report by a second or so, no more.
_TRANSIENT_CODE_RETRIES = 2


@dataclass(frozen=True, slots=True)
class Response:
    """A finished exchange whose body was read."""

    status: int
    headers: CIMultiDictProxy[str]
    url: str
    body: bytes


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    wait: float = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, wait)


def backoff_delay(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random.

    ``attempt`` counts from 0. The fixed half keeps retries from hammering a
    struggling registry; the random half spreads out many clients.
    """
    ceiling: float = min(cap, base * 2.0**attempt)
    return ceiling / 2 + rand() * ceiling / 2


def _strip_query(url: str) -> str:
    # Upload and storage URLs may carry signatures or state in the query.
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class _OneShotBody:
    """Wraps a streaming body; remembers an exception the source raised.

    aiohttp reports a failing request body as a connection error; the caller
    should see the source's own error (a digest mismatch, say) instead.
    """

    def __init__(self, source: AsyncIterator[bytes]) -> None:
        self._source = source
        self.error: BaseException | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._source:
                yield chunk
        except Exception as e:
            self.error = e
            raise


class Transport:
    """HTTP to registries with auth, retries and per-registry limits.

    ``session`` may be injected (tests, a shared pool); otherwise one is made
    with decompression off and large reads, and closed by :meth:`aclose`.
    """

    def __init__(
        self,
        config: RegistryConfig | None = None,
        credentials: CredentialProvider | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        stats: StatsHook | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        authenticator: Authenticator | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.config = config or RegistryConfig()
        self._credentials = credentials
        self._session = session
        self._owns_session = session is None
        self.stats: StatsHook = stats if stats is not None else RegistryStats()
        self._sleep = sleep
        self.auth = authenticator or Authenticator(self.config)
        self.pacer = pacer or Pacer(
            AimdSettings(
                initial=min(
                    self.config.initial_requests_per_registry, self.config.max_requests_per_registry
                ),
                maximum=self.config.max_requests_per_registry,
            ),
            sleep=sleep,
        )
        self._plain_http: set[str] = set()
        self._tokens_in_flight: dict[tuple[str, str, bytes], asyncio.Future[AuthReply]] = {}

    # -- session and endpoints ------------------------------------------------

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=self.config.connect_timeout,
                    sock_read=self.config.read_timeout,
                ),
                auto_decompress=False,
                read_bufsize=self.config.read_chunk_size,
            )
            self._owns_session = True
        return self._session

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    def base_url(self, registry: str) -> str:
        """``scheme://host`` for ``registry``, after mirrors and any HTTP fallback."""
        endpoint = self.config.endpoint(registry)
        if registry in self._plain_http:
            return f"http://{endpoint.host}"
        return endpoint.base_url

    def _auth_key(self, registry: str) -> str:
        # Credentials and tokens belong to the server spoken to: the registry
        # as named, or its mirror's host when remapped.
        _, host, _ = self.config.location(registry)
        return host if self.config.is_mirrored(registry) else registry

    def _ssl(self, url: str, *, redirects: bool = False) -> ssl.SSLContext | bool:
        if not url.startswith("https:"):
            # No TLS here, but an HTTPS hop aiohttp follows from it must verify with
            # imageferry's context, not aiohttp's (see imageferry.registry.tls).
            return verifying_context() if redirects else True
        if self.config.is_insecure(urlsplit(url).netloc):
            return False
        return verifying_context()

    # -- public API -----------------------------------------------------------

    async def request(
        self,
        registry: str,
        method: str,
        url: str,
        *,
        what: str,
        scopes: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        ok: Collection[int] = (200,),
        hint: str = "",
        retry: bool = True,
        transient_codes: Collection[str] = (),
    ) -> Response:
        """Send one request and read its body; raise a typed error unless the status is ``ok``.

        ``retry=False`` for requests that are not safe to repeat (an upload PATCH).
        ``transient_codes``: OCI error codes that, on a 4xx answer to this
        request, may describe a passing state of the registry; such an answer
        is retried, at most ``_TRANSIENT_CODE_RETRIES`` times.
        """
        response, data = await self._send_with_retries(
            registry,
            method,
            url,
            what,
            tuple(scopes),
            headers,
            body,
            ok,
            hint,
            stream=False,
            retry=retry,
            transient_codes=frozenset(transient_codes),
        )
        return Response(response.status, response.headers, str(response.url), data)

    @asynccontextmanager
    async def stream(
        self,
        registry: str,
        url: str,
        *,
        what: str,
        scopes: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
        ok: Collection[int] = (200,),
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """GET with the body left unread, following redirects without registry auth."""
        response, _ = await self._send_with_retries(
            registry, "GET", url, what, tuple(scopes), headers, None, ok, "", stream=True
        )
        try:
            yield response
        except (aiohttp.ClientError, TimeoutError) as e:
            raise TransportError(
                f"{what}: reading from {registry} failed: {_describe(e)}",
                registry=registry,
                url=_strip_query(url),
            ) from e
        finally:
            response.release()

    # -- the retry loop -------------------------------------------------------

    async def _send_with_retries(
        self,
        registry: str,
        method: str,
        url: str,
        what: str,
        scopes: tuple[str, ...],
        headers: Mapping[str, str] | None,
        body: Body,
        ok: Collection[int],
        hint: str,
        *,
        stream: bool,
        retry: bool = True,
        transient_codes: frozenset[str] = frozenset(),
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        one_shot = None if body is None or isinstance(body, bytes) else _OneShotBody(body)
        replayable = retry and one_shot is None
        attempt = 0
        while True:
            url = self._current_scheme(registry, url)
            try:
                async with self.pacer.slot(registry, method, urlsplit(url).path) as ticket:
                    response = await self._attempt(
                        registry, method, url, scopes, headers, body, one_shot, stream
                    )
                    # A streamed upload's reply waits for all its bytes: no latency sample.
                    _record(
                        ticket,
                        response,
                        sample=one_shot is None,
                        longest_pause=self.config.max_retry_after,
                    )
                    if response.status in ok:
                        if stream:
                            return response, b""
                        try:
                            return response, await response.read()
                        finally:
                            response.release()
                    try:
                        data = await response.content.read(_MAX_ERROR_BODY)
                    finally:
                        response.release()
            except (aiohttp.ClientError, TimeoutError) as e:
                if one_shot is not None and one_shot.error is not None:
                    raise one_shot.error from None
                if self._fall_back_to_http(registry, url, e):
                    continue
                if (tls := _tls_failure(e)) is not None:
                    # The server will answer the same way a second from now.
                    raise TransportError(
                        f"{what}: cannot reach {registry}: {tls}",
                        registry=registry,
                        url=_strip_query(url),
                    ) from e
                if not replayable or attempt >= self.config.retries:
                    raise TransportError(
                        f"{what}: cannot reach {registry}: {_describe(e)}"
                        + (f" (after {attempt} retries)" if attempt else ""),
                        registry=registry,
                        url=_strip_query(url),
                    ) from e
                reason = "connection"
                delay = self._backoff(attempt)
                paused = False
            else:
                status = response.status
                retryable = status == 429 or status >= 500
                if not retryable and transient_codes and attempt < _TRANSIENT_CODE_RETRIES:
                    codes = {e.code.upper() for e in parse_error_body(data)}
                    retryable = bool(codes & transient_codes)
                delay = parse_retry_after(response.headers.get("Retry-After")) or 0.0
                quota = parse_quota(response.headers) if status == 429 else None
                if quota is not None and quota.exhausted and not delay:
                    # Comes back hours from now: retrying in seconds is pointless.
                    retryable = False
                    hint = hint or (
                        f"{quota.describe()}; log in (docker login, or --src-creds/"
                        "--dest-creds) for a higher quota, or wait for it to reset"
                    )
                if (
                    not retryable
                    or not replayable
                    or attempt >= self.config.retries
                    or delay > self.config.max_retry_after
                ):
                    if retryable and attempt:
                        hint = hint or f"gave up after {attempt} retries"
                    if status == 401 and not hint:
                        hint = "check the credentials (docker login, or --src-creds/--dest-creds)"
                    raise error_for_response(
                        status,
                        data,
                        registry=registry,
                        what=what,
                        url=_strip_query(url),
                        hint=hint,
                    )
                reason = str(status)
                # A 429 or 503 with Retry-After pauses the whole registry in the
                # pacer: the retry waits there, with every other request.
                paused = status in CONGESTION_STATUSES and delay > 0
                delay = delay or self._backoff(attempt)
            attempt += 1
            self.stats.on_retry(registry, reason)
            if reason == "429":
                self.stats.on_rate_limit_wait(registry, delay)
            if not paused:
                await self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self.config.backoff_base, self.config.backoff_max)

    def _current_scheme(self, registry: str, url: str) -> str:
        if registry in self._plain_http and url.startswith("https://"):
            host = self.config.endpoint(registry).host
            if urlsplit(url).netloc == host:
                return "http://" + url[len("https://") :]
        return url

    def _fall_back_to_http(self, registry: str, url: str, error: BaseException) -> bool:
        """Docker's rule for insecure registries: HTTPS first, then plain HTTP."""
        if registry in self._plain_http or not url.startswith("https://"):
            return False
        host = self.config.endpoint(registry).host
        if urlsplit(url).netloc != host or not self.config.is_insecure(host):
            return False
        if not isinstance(error, aiohttp.ClientConnectorError | aiohttp.ClientSSLError):
            return False
        self._plain_http.add(registry)
        return True

    def _same_origin(self, registry: str, url: str) -> bool:
        """Whether ``url`` is on the host that serves ``registry`` (after mirrors)."""
        return _host_port(url) == _host_port(self.base_url(registry))

    # -- one attempt: the auth flow plus redirects ----------------------------

    async def _attempt(
        self,
        registry: str,
        method: str,
        url: str,
        scopes: tuple[str, ...],
        headers: Mapping[str, str] | None,
        body: Body,
        one_shot: _OneShotBody | None,
        follow_redirects: bool,
    ) -> aiohttp.ClientResponse:
        base = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
        if not self._same_origin(registry, url):
            # An upload Location on another host (an upload service, storage):
            # like Docker, which keeps challenges per host, it gets no credentials.
            plain = AuthRequest(method, url, base)
            payload = one_shot.__aiter__() if one_shot is not None else body
            direct = await self._exchange(registry, plain, payload, allow_redirects=False)
            if follow_redirects and direct.status in REDIRECTS:
                return await self._follow(registry, direct, base)
            return direct
        flow = self.auth.flow(AuthRequest(method, url, base), self._auth_key(registry), scopes)
        response: aiohttp.ClientResponse | None = None
        sent = False
        try:
            step = next(flow)
            while True:
                answer: object
                if isinstance(step, NeedCredentials):
                    answer = await self._get_credentials(step.host)
                elif step.is_token:
                    answer = await self._token(registry, step)
                else:
                    if sent and one_shot is not None:
                        break  # a consumed stream cannot be replayed: keep the 401
                    if response is not None:
                        response.release()
                    data: Any = one_shot.__aiter__() if one_shot is not None else body
                    response = await self._exchange(registry, step, data, allow_redirects=False)
                    sent = True
                    answer = AuthReply(
                        response.status, tuple(response.headers.getall("WWW-Authenticate", ()))
                    )
                step = flow.send(answer)
        except StopIteration:
            pass
        except BaseException:
            if response is not None:
                response.release()
            raise
        assert response is not None
        if follow_redirects and response.status in REDIRECTS:
            return await self._follow(registry, response, base)
        return response

    async def _follow(
        self, registry: str, response: aiohttp.ClientResponse, sent: Mapping[str, str]
    ) -> aiohttp.ClientResponse:
        location = response.headers.get("Location", "")
        target = urljoin(str(response.url), location)
        response.release()
        # A plain request: the storage host must never see the registry's credentials.
        # A Range asked of the registry is asked of the storage (a resumed blob).
        headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
        headers.update((k, v) for k, v in sent.items() if k.lower() == "range")
        request = AuthRequest("GET", target, headers)
        return await self._exchange(registry, request, None, allow_redirects=True)

    async def _exchange(
        self, registry: str, request: AuthRequest, body: Any, *, allow_redirects: bool
    ) -> aiohttp.ClientResponse:
        started = time.monotonic()
        status = 0
        try:
            response = await self.session.request(
                request.method,
                URL(request.url, encoded=True),
                headers=dict(request.headers),
                data=body,
                allow_redirects=allow_redirects,
                ssl=self._ssl(request.url, redirects=allow_redirects),
            )
            status = response.status
            return response
        finally:
            self.stats.on_request(registry, request.method, status, time.monotonic() - started)

    async def _get_credentials(self, host: str) -> Credentials | None:
        return await self._credentials.get(host) if self._credentials is not None else None

    async def _token(self, registry: str, request: AuthRequest) -> AuthReply:
        """Send a token request; concurrent identical requests share one exchange."""
        key = (request.url, request.headers.get("Authorization", ""), request.body)
        future = self._tokens_in_flight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._send_token(registry, request))
            self._tokens_in_flight[key] = future
            future.add_done_callback(lambda done: self._token_done(key, done))
        return await asyncio.shield(future)

    def _token_done(self, key: tuple[str, str, bytes], future: asyncio.Future[AuthReply]) -> None:
        self._tokens_in_flight.pop(key, None)
        if not future.cancelled():
            future.exception()  # retrieved here too, so a lone cancelled waiter leaves no warning

    async def _send_token(self, registry: str, request: AuthRequest) -> AuthReply:
        """One token exchange; a busy token server (5xx, 429) is retried like a registry."""
        body = request.body or None
        attempt = 0
        while True:
            response = await self._exchange(registry, request, body, allow_redirects=True)
            try:
                data = await response.content.read(_MAX_ERROR_BODY)
            finally:
                response.release()
            status = response.status
            delay = parse_retry_after(response.headers.get("Retry-After")) or self._backoff(attempt)
            if (
                not (status == 429 or status >= 500)
                or attempt >= self.config.retries
                or delay > self.config.max_retry_after
            ):
                return AuthReply(status, (), data)
            attempt += 1
            self.stats.on_retry(registry, f"token {status}")
            await self._sleep(delay)


def _record(
    ticket: Ticket, response: aiohttp.ClientResponse, *, sample: bool, longest_pause: float
) -> None:
    """Tell the pacer how the registry answered: status, speed, Retry-After, quota left.

    A ``Retry-After`` longer than a request may wait fails that request at once; it
    must not hold every other request to the registry for that long (an hour, say).
    """
    retry_after = None
    if response.status == 429 or response.status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None and retry_after > longest_pause:
            retry_after = None
    quota = parse_quota(response.headers)
    ticket.record(
        response.status,
        sample=sample,
        retry_after=retry_after,
        quota_remaining=quota.remaining if quota is not None else None,
    )


#: OpenSSL's reasons for a server that answered the TLS hello with something
#: else, most often plain HTTP.
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"})
#: Ways a TLS connection can end that say nothing about the server's setup:
#: a reset or a close mid-handshake may well not happen again.
_TRANSIENT_SSL = (ssl.SSLEOFError, ssl.SSLSyscallError, ssl.SSLZeroReturnError)


def _tls_failure(error: BaseException) -> str | None:
    """What is wrong and how to fix it, when ``error`` is a TLS failure that a retry repeats.

    A failed certificate check, or a server that does not speak TLS, gives the
    same answer on every attempt: retrying only delays the report. Returns
    None for every other error (connection refused, a reset mid-handshake).
    """
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        cause = error.certificate_error
        detail = getattr(cause, "verify_message", None) or _describe(cause)
        return (
            f"certificate verify failed: {detail} "
            f"(--insecure-registry {_host(error)} skips verification)"
        )
    if not isinstance(error, aiohttp.ClientConnectorSSLError):
        return None
    cause = error.os_error
    if not isinstance(cause, ssl.SSLError) or isinstance(cause, _TRANSIENT_SSL):
        return None
    # ``reason`` is OpenSSL's short name (WRONG_VERSION_NUMBER); the text around
    # it repeats it and names a line of CPython's C source.
    detail = cause.reason.lower().replace("_", " ") if cause.reason else _describe(cause)
    if cause.reason in _NOT_TLS:
        return (
            f"TLS handshake failed: {detail} (the registry may speak plain HTTP: "
            f"add --insecure-registry {_host(error)})"
        )
    return f"TLS handshake failed: {detail}"


def _host(error: aiohttp.ClientConnectorError) -> str:
    # As --insecure-registry takes it: host[:port], the port only when not 443.
    host = f"[{error.host}]" if ":" in error.host else error.host
    return host if error.port in (None, 443) else f"{host}:{error.port}"


def _host_port(url: str) -> tuple[str, int | None]:
    """Host and port of ``url``, the scheme's default port spelled out."""
    parts = urlsplit(url)
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        port = None
    return (parts.hostname or "").lower(), port


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:200]
