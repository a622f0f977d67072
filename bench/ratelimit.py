"""A registry's rate limit: an HTTP proxy answering 429 beyond a request rate, like Docker Hub.

The benchmark's registries never answer 429. With ``bench_wan.py
--rate-limit N``, each registry sits behind this proxy (one process each, its
CPU reported), between the link emulator and the registry:

- **Token bucket.** ``rate`` requests per second, up to ``burst`` at once
  after a quiet spell. A request that finds no token is answered 429
  ``TOOMANYREQUESTS`` with ``Retry-After`` (whole seconds until a token, at
  least 1) and never reaches the registry.
- **Headers.** Every answer carries ``RateLimit-Limit`` and
  ``RateLimit-Remaining`` (the tokens left, ``;w=1``), as Docker Hub's do for
  its pull quota; ``--silent`` leaves them out, so only the 429s and their
  ``Retry-After`` tell a client to slow down.
- **Streaming.** Bodies pass through in both directions as they come; the
  ``Host`` header is kept, so upload locations name the client's address.

Run: ``python bench/ratelimit.py --target 127.0.0.1:5000 --rate 100``. It
prints ``listening <port>``, and on SIGTERM one JSON line: requests, 429s,
the longest run of 429s in a row (a "storm"), its CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import signal
import time
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "proxy-connection",
    "content-length",
}
_CHUNK = 1 << 20


@dataclass(slots=True)
class Bucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """0 when a token was taken; else seconds until one would be there."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass(slots=True)
class Stats:
    requests: int = 0
    refused: int = 0
    run: int = 0
    longest_run: int = 0
    #: Runs of two or more 429s in a row.
    storms: int = 0

    def answered(self, refused: bool) -> None:
        self.requests += 1
        if not refused:
            self.run = 0
            return
        self.refused += 1
        self.run += 1
        if self.run == 2:
            self.storms += 1
        self.longest_run = max(self.longest_run, self.run)


class Limiter:
    def __init__(self, target: str, rate: float, burst: float, silent: bool = False) -> None:
        self.target = target
        self.silent = silent
        self.bucket = Bucket(rate, burst, burst, time.monotonic())
        self.stats = Stats()
        self.session: aiohttp.ClientSession | None = None

    def _limits(self) -> dict[str, str]:
        if self.silent:
            return {}
        left = max(0, math.floor(self.bucket.tokens))
        return {
            "RateLimit-Limit": f"{self.bucket.burst:.0f};w=1",
            "RateLimit-Remaining": f"{left};w=1",
        }

    async def handle(self, request: web.Request) -> web.StreamResponse:
        wait = self.bucket.take(time.monotonic())
        self.stats.answered(refused=wait > 0)
        if wait > 0:
            if request.can_read_body:
                await request.read()  # keep the connection usable
            return web.json_response(
                {"errors": [{"code": "TOOMANYREQUESTS", "message": "too many requests"}]},
                status=429,
                headers={"Retry-After": str(max(1, math.ceil(wait))), **self._limits()},
            )
        return await self._forward(request)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self.session is not None
        # Repeated headers (skopeo sends one Accept per media type) stay repeated.
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _HOP)
        length = request.headers.get("Content-Length")
        if length is not None:
            headers["Content-Length"] = length
        body = request.content.iter_chunked(_CHUNK) if request.can_read_body else None
        async with self.session.request(
            request.method,
            f"http://{self.target}{request.raw_path}",
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as upstream:
            out = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _HOP:
                    out.headers.add(key, value)
            out.headers.update(self._limits())
            size = upstream.headers.get("Content-Length")
            if size is not None:
                out.content_length = int(size)
            await out.prepare(request)
            try:
                if request.method != "HEAD":
                    async for chunk in upstream.content.iter_any():
                        await out.write(chunk)
                await out.write_eof()
            except ConnectionResetError:
                pass  # the client went away mid-body (it gave up, or the link reset it)
            return out


async def serve(args: argparse.Namespace) -> None:
    limiter = Limiter(args.target, args.rate, args.burst or args.rate, args.silent)
    limiter.session = aiohttp.ClientSession(
        auto_decompress=False, connector=aiohttp.TCPConnector(limit=0)
    )
    app = web.Application(client_max_size=0)
    app.router.add_route("*", "/{tail:.*}", limiter.handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    port = runner.addresses[0][1]
    print(f"listening {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await limiter.session.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    s = limiter.stats
    print(
        json.dumps(
            {
                "requests": s.requests,
                "refused": s.refused,
                "longest_run": s.longest_run,
                "storms": s.storms,
                "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="host:port of the registry")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any)")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--burst", type=float, default=0.0, help="bucket size (default: rate)")
    parser.add_argument("--silent", action="store_true", help="no RateLimit-* headers")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
