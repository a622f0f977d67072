"""A link emulator: a TCP proxy with a one-way delay, a shared bandwidth and resets.

The kernel here has no netem, so the benchmark puts this proxy in front of
each registry, one process per link so that its CPU is measured on its own
and it takes nothing from the client's event loop.

- **Delay line.** Every chunk read from one side is written to the other
  ``delay`` seconds after it arrived, in both directions. Chunks are queued
  with their release time, not slept on, so a stream is delayed, not
  slowed down. A new connection's first bytes reach the server one round
  trip later (the TCP handshake).
- **Bandwidth.** Each direction is one FIFO link shared by every connection:
  a chunk leaves when the link has sent the ones before it
  (``len / bandwidth`` each), then travels ``delay``.
- **Window.** A connection may have about one bandwidth-delay product in
  flight (at least 1 MiB); beyond it the proxy stops reading that side, as a
  TCP receive window would.
- **Resets.** A ``reset`` fraction of connections is reset (RST) at a
  random moment within their first ``reset_within`` seconds.

Run: ``python bench/link.py --target 127.0.0.1:5000 --delay 0.02 --bandwidth 1e9``.
It prints ``listening <port>``, and on SIGTERM one JSON line of statistics
(connections, resets, bytes each way, its own CPU seconds, and how late it
released chunks: if that is more than a few milliseconds, the proxy itself
was the bottleneck).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import signal
import socket
import struct
from collections import deque
from dataclasses import dataclass, field

_MIN_WINDOW = 1 << 20


@dataclass(slots=True)
class Stats:
    connections: int = 0
    resets: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    late_max: float = 0.0
    late_total: float = 0.0
    releases: int = 0
    #: Bytes released per tenth of a second since the first, both ways.
    timeline: list[int] = field(default_factory=list)
    first: float | None = None

    def released(self, now: float, size: int) -> None:
        if self.first is None:
            self.first = now
        tick = int((now - self.first) * 10)
        if tick >= len(self.timeline):
            self.timeline.extend([0] * (tick + 1 - len(self.timeline)))
        self.timeline[tick] += size


@dataclass(eq=False, slots=True)
class Line:
    """One direction of the link: a FIFO at ``bandwidth`` bytes/s, then ``delay``.

    The FIFO is the bottleneck's queue. It holds at most ``limit`` bytes
    waiting to be sent; beyond that the senders feeding it stop being read
    until it has drained to half, so a reply's first bytes wait at most that
    long behind other connections' data, as at a router with a bounded queue.
    """

    delay: float
    bandwidth: float  # bytes per second; 0: unlimited
    limit: int
    free_at: float = 0.0
    held: set[Half] = field(default_factory=set)
    timer: asyncio.TimerHandle | None = None

    def release_time(self, now: float, size: int) -> float:
        if not self.bandwidth:
            return now + self.delay
        start = max(now, self.free_at)
        self.free_at = start + size / self.bandwidth
        return self.free_at + self.delay

    def full(self, now: float) -> bool:
        return bool(self.bandwidth) and (self.free_at - now) * self.bandwidth > self.limit

    def hold(self, half: Half) -> None:
        """Stop reading ``half``'s sender until the queue has drained to half its limit."""
        self.held.add(half)
        half.set_held(True)
        if self.timer is None:
            drained = self.free_at - self.limit / 2 / self.bandwidth
            self.timer = asyncio.get_running_loop().call_at(drained, self._drained)

    def _drained(self) -> None:
        self.timer = None
        held, self.held = self.held, set()
        for half in held:
            half.set_held(False)


@dataclass(eq=False, slots=True)
class Half:
    """One direction of one connection: chunks queued with their release times."""

    line: Line
    stats: Stats
    up: bool
    window: int
    not_before: float
    source: asyncio.Transport | None = None
    sink: asyncio.Transport | None = None
    queue: deque[tuple[float, bytes | None]] = field(default_factory=deque)
    queued: int = 0
    timer: asyncio.TimerHandle | None = None
    paused: bool = False
    held: bool = False
    closed: bool = False

    def feed(self, data: bytes | None) -> None:
        """Queue ``data`` (None: end of stream) for release after the delay line."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        at = self.line.release_time(now, len(data)) if data else now + self.line.delay
        if self.queue:
            at = max(at, self.queue[-1][0])
        self.queue.append((max(at, self.not_before), data))
        if data:
            self.queued += len(data)
            if self.queued > self.window and not self.paused:
                self.paused = True
                self._reading()
            if self.line.full(now) and not self.held:
                self.line.hold(self)
        self._arm()

    def set_held(self, held: bool) -> None:
        self.held = held
        self._reading()

    def _reading(self) -> None:
        """Read the sender unless this connection's window or the link's queue is full."""
        if self.source is None or self.closed or self.source.is_closing():
            return
        if self.paused or self.held:
            self.source.pause_reading()
        else:
            self.source.resume_reading()

    def _arm(self) -> None:
        if self.timer is None and self.queue and not self.closed:
            loop = asyncio.get_running_loop()
            self.timer = loop.call_at(self.queue[0][0], self._release)

    def _release(self) -> None:
        self.timer = None
        if self.closed:
            return
        if self.sink is None:  # the server side is still connecting
            loop = asyncio.get_running_loop()
            self.timer = loop.call_at(loop.time() + 0.001, self._release)
            return
        now = asyncio.get_running_loop().time()
        while self.queue and self.queue[0][0] <= now:
            at, data = self.queue.popleft()
            late = now - at
            self.stats.late_max = max(self.stats.late_max, late)
            self.stats.late_total += late
            self.stats.releases += 1
            if data is None:
                # The peer may have gone already (reset): nothing left to tell it.
                with contextlib.suppress(OSError):
                    if not self.sink.is_closing() and self.sink.can_write_eof():
                        self.sink.write_eof()
                continue
            self.sink.write(data)
            self.stats.released(now, len(data))
            self.queued -= len(data)
            if self.up:
                self.stats.bytes_up += len(data)
            else:
                self.stats.bytes_down += len(data)
        if self.paused and self.queued <= self.window // 2:
            self.paused = False
            self._reading()
        self._arm()

    def close(self) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class _Side(asyncio.Protocol):
    """Either socket of a proxied connection; feeds its direction's half."""

    def __init__(self, conn: Connection, half: Half) -> None:
        self.conn = conn
        self.half = half
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.half.source = transport

    def data_received(self, data: bytes) -> None:
        self.half.feed(data)

    def eof_received(self) -> bool:
        self.half.feed(None)
        return True  # keep the other direction open

    def connection_lost(self, exc: Exception | None) -> None:
        self.conn.lost(self, exc)


class Connection:
    """A client connection and its connection to the server, through the two lines."""

    def __init__(self, link: Link) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        opened = now + 2 * link.delay  # SYN, SYN-ACK: data leaves after one round trip
        self.link = link
        self.up = Half(link.up, link.stats, True, link.window, opened + link.delay)
        self.down = Half(link.down, link.stats, False, link.window, 0.0)
        self.client = _Side(self, self.up)
        self.server = _Side(self, self.down)
        self.done = False

    def accepted(self) -> None:
        asyncio.get_running_loop().create_task(self._connect())
        if self.link.reset and self.link.rand.random() < self.link.reset:
            delay = self.link.rand.uniform(0, self.link.reset_within)
            asyncio.get_running_loop().call_later(delay, self.reset)

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: self.server, self.link.host, self.link.port)
        except OSError:
            self.reset()
            return
        self.up.sink = self.server.transport
        self.down.sink = self.client.transport

    def reset(self) -> None:
        if self.done:
            return
        self.link.stats.resets += 1
        for side in (self.client, self.server):
            if side.transport is not None:
                sock = side.transport.get_extra_info("socket")
                if sock is not None:
                    # SO_LINGER 0: close sends RST, as a middlebox dropping the flow would.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                side.transport.abort()
        self._finish()

    def lost(self, side: _Side, exc: Exception | None) -> None:
        if self.done:
            return
        other = self.server if side is self.client else self.client
        half = self.up if side is self.client else self.down
        # What was already sent still arrives; then the other side closes too.
        closing_at = half.queue[-1][0] if half.queue else 0.0
        loop = asyncio.get_running_loop()
        loop.call_at(max(loop.time(), closing_at) + 0.001, self._close_other, other)

    def _close_other(self, other: _Side) -> None:
        if other.transport is not None and not other.transport.is_closing():
            other.transport.close()
        self._finish()

    def _finish(self) -> None:
        self.done = True
        self.up.close()
        self.down.close()


class Link:
    """The proxy: accepts clients, opens one server connection for each."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        delay: float,
        bandwidth_bits: float,
        reset: float,
        reset_within: float,
        seed: int,
    ) -> None:
        self.host, self.port = host, port
        self.delay = delay
        rate = bandwidth_bits / 8
        # One bandwidth-delay product: a connection's window, and the bottleneck's queue.
        bdp = max(_MIN_WINDOW, int(rate * 2 * delay)) if rate else 4 * _MIN_WINDOW
        self.up = Line(delay, rate, bdp)
        self.down = Line(delay, rate, bdp)
        self.window = bdp
        self.reset = reset
        self.reset_within = reset_within
        self.rand = random.Random(seed)
        self.stats = Stats()

    def accept(self) -> asyncio.Protocol:
        self.stats.connections += 1
        conn = Connection(self)
        asyncio.get_running_loop().call_soon(conn.accepted)
        return conn.client


def _raise_priority() -> None:
    """Run ahead of the client and the registries, as a network does (best effort).

    On a shared machine a proxy waiting for a core would delay bytes by more
    than the profile says; a higher priority keeps its lag (reported) small.
    """
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, -10)


async def serve(args: argparse.Namespace) -> None:
    _raise_priority()
    host, _, port = args.target.rpartition(":")
    link = Link(
        host,
        int(port),
        delay=args.delay,
        bandwidth_bits=args.bandwidth,
        reset=args.reset,
        reset_within=args.reset_within,
        seed=args.seed,
    )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(link.accept, "127.0.0.1", args.port)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    s = link.stats
    print(
        json.dumps(
            {
                "connections": s.connections,
                "resets": s.resets,
                "bytes_up": s.bytes_up,
                "bytes_down": s.bytes_down,
                "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
                "late_max_ms": round(s.late_max * 1000, 1),
                "late_mean_ms": round(s.late_total / max(1, s.releases) * 1000, 2),
                "timeline_mb": [round(n / 1e6, 1) for n in s.timeline],
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="host:port of the server")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any)")
    parser.add_argument("--delay", type=float, default=0.0, help="one-way delay, seconds")
    parser.add_argument("--bandwidth", type=float, default=0.0, help="bits/s each way; 0: none")
    parser.add_argument("--reset", type=float, default=0.0, help="fraction of connections reset")
    parser.add_argument("--reset-within", type=float, default=3.0, help="seconds after accept")
    parser.add_argument("--seed", type=int, default=0)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
