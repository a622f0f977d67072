"""Start-up of the ``ferry`` command: how long before it is useful.

The figures, each over ``--runs`` fresh processes (min, median, max):

1. ``ferry --help``, ``ferry task --help`` and ``ferry copy --help``: wall time
   from spawning the process to its exit;
2. time to the first request: from spawning ``ferry copy SRC DST`` to the moment a
   loopback HTTP server in this process receives the command's first request.
   That server answers ``GET /v2/`` and nothing else (404 ``MANIFEST_UNKNOWN``),
   so the copy then ends at once with exit status 1.

For scale, the same is measured for a bare ``python -c pass`` (the interpreter's
own start-up, which no change to ferry can remove). The machine is shared, so
compare the figures with that floor, taken in the same run.

Usage: .venv/bin/python bench/bench_startup.py [--runs 10] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FERRY = str(Path(sys.executable).parent / "ferry")

#: What a registry says for a manifest it does not have (distribution-spec, "Error Codes").
_UNKNOWN = json.dumps(
    {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
).encode()


class FirstRequest:
    """A loopback HTTP server that notes when its first request arrives."""

    def __init__(self) -> None:
        self.arrived: float | None = None
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                with owner._lock:
                    if owner.arrived is None:
                        owner.arrived = time.monotonic()
                status, body = (200, b"{}") if self.path == "/v2/" else (404, _UNKNOWN)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    # The copy may end (its other side answered 404) before reading this.
                    with contextlib.suppress(ConnectionError):
                        self.wfile.write(body)

            do_GET = do_HEAD = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def wall(argv: Sequence[str]) -> float:
    """Seconds from spawning ``argv`` to its exit."""
    started = time.monotonic()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.monotonic() - started


def first_request() -> float:
    """Seconds from spawning ``ferry copy`` to its first request.

    A server (and port) of its own per run: a request the previous run sent just
    before it exited may still wait in the old one's accept queue.
    """
    server = FirstRequest()
    try:
        argv = [FERRY, "copy", f"{server.host}/bench/a:v1", f"{server.host}/bench/b:v1"]
        started = time.monotonic()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if server.arrived is None:
            raise SystemExit(f"no request arrived from: {' '.join(argv)}")
        return server.arrived - started
    finally:
        server.close()


def sample(measure: Callable[[], float], runs: int) -> dict[str, float]:
    measure()  # warms the page cache and the bytecode cache; not counted
    values = [measure() for _ in range(runs)]
    return {
        "min": round(min(values), 4),
        "median": round(statistics.median(values), 4),
        "max": round(max(values), 4),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    report = {
        "python -c pass": sample(lambda: wall([sys.executable, "-c", "pass"]), args.runs),
        "ferry --help": sample(lambda: wall([FERRY, "--help"]), args.runs),
        "ferry task --help": sample(lambda: wall([FERRY, "task", "--help"]), args.runs),
        "ferry copy --help": sample(lambda: wall([FERRY, "copy", "--help"]), args.runs),
        "ferry copy: first request": sample(first_request, args.runs),
    }

    print(f"| measure ({args.runs} runs) | min | median | max |")
    print("|---|---|---|---|")
    for name, r in report.items():
        print(f"| {name} | {r['min']:.3f} s | {r['median']:.3f} s | {r['max']:.3f} s |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
