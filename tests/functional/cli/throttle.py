"""A loopback TCP proxy that slows one registry's answers down, for runs that take a while.

Stopping a run is only observable while it is copying; on loopback a copy is
over in milliseconds. Putting this proxy between the run and its source
registry makes a few MiB take seconds, so a test can stop the run while it is
IN_PROGRESS without guessing at timings: if the stop did not work, the run
ends DONE instead and the test fails.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

__all__ = ["ThrottledProxy"]

_CHUNK = 16 * 1024


class ThrottledProxy:
    """Forward 127.0.0.1:<port> to ``upstream``, answers limited to ``rate`` bytes/s."""

    def __init__(self, upstream: tuple[str, int], rate: int) -> None:
        self._upstream = upstream
        self._rate = rate
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()

    def __enter__(self) -> ThrottledProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self._listener.close()
        for s in list(self._sockets):
            with contextlib.suppress(OSError):
                s.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, 0), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, self._rate), daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, rate: int) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                sink.sendall(data)
                if rate:
                    time.sleep(len(data) / rate)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
