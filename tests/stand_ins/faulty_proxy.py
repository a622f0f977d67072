"""An HTTP proxy in front of a registry that breaks a share of the requests it passes on.

It stands for a flaky link, a load balancer having a bad day, or a registry
under load. For each request, a seeded random generator decides whether to
break it (probability ``rate``) and how, among the faults that fit it:

- ``503``: answered at once, with an OCI error body, never forwarded;
- ``429``: answered at once, with ``Retry-After``;
- ``reset``: the connection is closed before any response;
- ``reset-body``: the response starts, then the connection is cut mid-body;
- ``truncate``: a blob body stops early under an honest ``Content-Length``;
- ``short``: a blob body is shorter, and ``Content-Length`` says so (only the
  digest's size tells);
- ``corrupt``: one byte of a blob body is flipped;
- ``drop-upload``: a PATCH or PUT with a body loses its connection part-way.
  With ``drops_reach_registry`` the registry gets the part already sent
  (a direct connection); without it, nothing (a front proxy that buffers
  request bodies, as nginx does by default, never forwards a broken one).

Bodies stream through in both directions: nothing holds a whole blob. Upload
``Location`` headers are rewritten to the proxy's address, so every request
of an upload comes back through it. ``script`` queues faults for requests
that match, for tests that need one particular fault at one particular byte.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from imageferry.sandbox.lifecycle import Service
from imageferry.sandbox.registry import SandboxError, free_port

__all__ = ["ALL_FAULTS", "FaultyProxy", "ScriptedFault"]

ALL_FAULTS = (
    "503",
    "429",
    "reset",
    "reset-body",
    "truncate",
    "short",
    "corrupt",
    "drop-upload",
)
_BLOB_BODY_FAULTS = {"truncate", "short", "corrupt"}
# Headers that belong to one hop (RFC 9110 section 7.6.1) or that aiohttp sets itself.
_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
    "content-length",
}
_PIECE = 256 * 1024


@dataclass
class ScriptedFault:
    """One fault for the next request that ``match(method, path)`` accepts.

    ``at``: byte of the body (response, or request for ``drop-upload``) where
    a body fault strikes; None lets the generator choose.
    """

    kind: str
    match: Callable[[str, str], bool]
    at: int | None = None


class _Dropped(Exception):
    """The request body was cut on purpose (``drop-upload``)."""


class FaultyProxy(Service):
    """``with FaultyProxy(registry.url, rate=0.1) as proxy:`` then use ``proxy.host``."""

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.0,
        seed: int | str = 0,
        faults: tuple[str, ...] = ALL_FAULTS,
        retry_after: int = 0,
        drops_reach_registry: bool = True,
    ) -> None:
        unknown = set(faults) - set(ALL_FAULTS)
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        self.upstream = upstream.rstrip("/")
        self.rate = rate
        self.faults = faults
        self.retry_after = retry_after
        self.drops_reach_registry = drops_reach_registry
        self._random = random.Random(str(seed))
        self._script: list[ScriptedFault] = []
        self._lock = threading.Lock()
        self.port = free_port()
        #: Faults injected, by kind.
        self.injected: Counter[str] = Counter()
        #: Requests seen, by method.
        self.requests: Counter[str] = Counter()
        #: Request body bytes received from clients (uploads), dropped ones included.
        self.bytes_in = 0
        #: Response body bytes sent to clients.
        self.bytes_out = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def script(self, fault: ScriptedFault) -> None:
        """Queue ``fault``; it strikes once, at the first matching request."""
        with self._lock:
            self._script.append(fault)

    # -- life -------------------------------------------------------------------

    def start(self) -> FaultyProxy:
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="faulty-proxy", daemon=True)
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._serve(), loop)
        try:
            future.result(timeout=10)
        except Exception as e:
            self.stop()
            raise SandboxError(f"the faulty proxy did not start: {e}") from e
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None

    async def _serve(self) -> None:
        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None),
        )
        app = web.Application(client_max_size=0)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        # Connections a client kept alive still have a handler waiting: end them here.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    # -- one request ------------------------------------------------------------

    def _choose(self, method: str, path: str, has_body: bool) -> tuple[str | None, int | None]:
        """The fault for this request (or None), and where in the body it strikes."""
        is_blob_get = method == "GET" and "/blobs/" in path and "/uploads/" not in path
        with self._lock:
            self.requests[method] += 1
            for i, scripted in enumerate(self._script):
                if scripted.match(method, path):
                    del self._script[i]
                    self.injected[scripted.kind] += 1
                    return scripted.kind, scripted.at
            if self._random.random() >= self.rate:
                return None, None
            fitting = [
                kind
                for kind in self.faults
                if (kind not in _BLOB_BODY_FAULTS or is_blob_get)
                and (kind != "reset-body" or method == "GET")
                and (kind != "drop-upload" or (has_body and method in ("PATCH", "PUT")))
            ]
            if not fitting:
                return None, None
            kind = self._random.choice(fitting)
            self.injected[kind] += 1
            return kind, None

    def _fraction(self, size: int) -> int:
        with self._lock:
            return int(size * self._random.uniform(0.05, 0.95))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._handle_one(request)
        except (ConnectionError, aiohttp.ClientConnectionResetError):
            # The client went away (it may have given up on a slow answer): so do we.
            _cut(request)
            return web.Response()

    async def _handle_one(self, request: web.Request) -> web.StreamResponse:
        has_body = request.can_read_body
        kind, at = self._choose(request.method, request.path, has_body)
        if kind == "503":
            return web.json_response(
                {"errors": [{"code": "UNAVAILABLE", "message": "injected fault"}]}, status=503
            )
        if kind == "429":
            return web.json_response(
                {"errors": [{"code": "TOOMANYREQUESTS", "message": "injected fault"}]},
                status=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        if kind == "reset":
            _cut(request)
            return web.Response()
        if kind == "drop-upload":
            return await self._drop_upload(request, at)
        return await self._forward(request, kind, at)

    async def _forward(
        self, request: web.Request, kind: str | None, at: int | None
    ) -> web.StreamResponse:
        assert self._session is not None
        headers = _request_headers(request)
        body = self._request_body(request) if request.can_read_body else None
        url = self.upstream + request.rel_url.raw_path_qs
        try:
            upstream = await self._session.request(
                request.method, url, headers=headers, data=body, allow_redirects=False
            )
        except (aiohttp.ClientError, OSError):
            _cut(request)
            return web.Response()
        async with upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            response.headers.update(self._response_headers(upstream.headers))
            length = upstream.content_length
            strike: int | None = None
            if kind is not None and length:
                strike = at if at is not None else self._fraction(length)
            if kind == "short" and strike is not None:
                length = strike
            if length is not None:
                response.content_length = length
            await response.prepare(request)
            if request.method == "HEAD":
                return response
            sent = 0
            async for piece in upstream.content.iter_chunked(_PIECE):
                if strike is None or not sent <= strike < sent + len(piece):
                    await self._write(response, piece)
                    sent += len(piece)
                    continue
                if kind == "corrupt":
                    flipped = bytearray(piece)
                    flipped[strike - sent] ^= 0xFF
                    await self._write(response, bytes(flipped))
                    sent, strike = sent + len(piece), None
                    continue
                await self._write(response, piece[: strike - sent])
                if kind == "short":
                    break
                # truncate: a clean close (FIN) short of Content-Length; reset-body: RST.
                _cut(request, reset=kind == "reset-body")
                return response
            await response.write_eof()
            return response

    async def _write(self, response: web.StreamResponse, data: bytes) -> None:
        if data:
            await response.write(data)
            with self._lock:
                self.bytes_out += len(data)

    async def _request_body(self, request: web.Request) -> AsyncIterator[bytes]:
        async for piece in request.content.iter_chunked(_PIECE):
            with self._lock:
                self.bytes_in += len(piece)
            yield piece

    async def _drop_upload(self, request: web.Request, at: int | None) -> web.StreamResponse:
        """Take part of the request body, then lose the connection."""
        size = request.content_length or 4 * _PIECE
        limit = at if at is not None else self._fraction(size)
        if not self.drops_reach_registry:
            taken = 0
            async for piece in self._request_body(request):
                taken += len(piece)
                if taken >= limit:
                    break
            _cut(request, reset=True)
            return web.Response()
        assert self._session is not None
        headers = _request_headers(request)

        async def partial() -> AsyncIterator[bytes]:
            taken = 0
            async for piece in self._request_body(request):
                if taken + len(piece) >= limit:
                    yield piece[: limit - taken]
                    await asyncio.sleep(0.05)  # let the registry take what it was sent
                    raise _Dropped
                taken += len(piece)
                yield piece

        url = self.upstream + request.rel_url.raw_path_qs
        try:
            upstream = await self._session.request(
                request.method, url, headers=headers, data=partial(), allow_redirects=False
            )
            upstream.release()
        except (aiohttp.ClientError, OSError, _Dropped):
            pass
        _cut(request, reset=True)
        return web.Response()

    def _response_headers(self, headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
        out: CIMultiDict[str] = CIMultiDict()
        upstream = urlsplit(self.upstream).netloc
        for key, value in headers.items():
            if key.lower() in _HOP:
                continue
            if key.lower() == "location":
                parts = urlsplit(value)
                if parts.netloc == upstream:
                    value = urlunsplit(parts._replace(netloc=self.host))
            out.add(key, value)
        return out


def _request_headers(request: web.Request) -> CIMultiDict[str]:
    # A multidict: a client may send a header more than once (Accept, say).
    headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _HOP)
    if request.content_length is not None:
        headers["Content-Length"] = str(request.content_length)
    return headers


def _cut(request: web.Request, *, reset: bool = True) -> None:
    """Close the client's connection: a reset (RST), or a plain close (FIN)."""
    transport = request.transport
    if transport is None:
        return
    if reset:
        transport.abort()
    else:
        transport.close()
