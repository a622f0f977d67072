"""The preloading server: import once, fork a clean worker per command.

Run as ``python -m imageferry.cmdserver.server SOCKET`` (the launcher does
this after an in-process ``ferry copy``). The server imports what ``ferry
copy`` needs, binds SOCKET (via a temporary name and an atomic rename, so two
servers racing to start never leave a half-made socket) and serves until it
has been idle for ``FERRY_COMMAND_SERVER_IDLE`` seconds, is asked to stop,
or its socket is replaced or removed.

The server never sees a command's environment or arguments: it reads only the
operation, forks, and the worker reads the request. A worker takes the
launcher's descriptors as its stdin, stdout and stderr, its environment,
working directory and umask, runs the command, and reports the exit status.
Connections from another user are refused (``SO_PEERCRED``).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TextIO

from imageferry.cmdserver import paths, wire

__all__ = ["PRELOAD", "Server", "main"]

#: What ``ferry copy`` imports, in the order it imports it.
PRELOAD = (
    "imageferry.cli.main",
    "imageferry.cli.copy",
    "imageferry.runner",
    "imageferry.cli.progress",
)
_PEERCRED = struct.Struct("3i")
_OP_TIMEOUT = 2.0


def preload() -> None:
    # cli.main registers only the command group its argv names.
    argv, sys.argv = sys.argv, ["ferry", "copy"]
    try:
        for name in PRELOAD:
            importlib.import_module(name)
    finally:
        sys.argv = argv
    # Keep the imported objects out of the collector's way in every worker.
    gc.collect()
    gc.freeze()


def _peer_uid(conn: socket.socket) -> int:
    raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    return int(_PEERCRED.unpack(raw)[1])


class Server:
    """Accepts connections on ``path`` and forks a worker per ``run``."""

    def __init__(self, path: Path, idle: float) -> None:
        self.path = path
        self.idle = idle
        self.served = 0
        self.stopping = False
        self.workers: set[int] = set()
        self._listener: socket.socket | None = None
        self._inode = 0

    def bind(self) -> None:
        temporary = self.path.with_name(f".{os.getpid()}.tmp")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            temporary.unlink(missing_ok=True)
            listener.bind(str(temporary))
            os.chmod(temporary, 0o600)
            listener.listen(64)
            os.rename(temporary, self.path)
        except OSError:
            listener.close()
            temporary.unlink(missing_ok=True)
            raise
        self._listener = listener
        self._inode = os.stat(self.path).st_ino

    def _still_ours(self) -> bool:
        try:
            return os.stat(self.path).st_ino == self._inode
        except OSError:
            return False

    def _reap(self) -> None:
        for pid in list(self.workers):
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.workers.discard(pid)

    def serve(self) -> None:
        assert self._listener is not None
        last_active = time.monotonic()
        try:
            while True:
                self._reap()
                if self.workers:
                    last_active = time.monotonic()
                elif self.stopping or time.monotonic() - last_active > self.idle:
                    return
                if not self._still_ours() and not self.workers:
                    return
                ready, _, _ = select.select([self._listener], [], [], 0.5)
                if ready:
                    conn, _addr = self._listener.accept()
                    last_active = time.monotonic()
                    self._handle(conn)
        finally:
            self._listener.close()
            if self._still_ours():
                self.path.unlink(missing_ok=True)

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            if _peer_uid(conn) != os.getuid():
                return
            conn.settimeout(_OP_TIMEOUT)
            try:
                message, _ = wire.receive(conn)
            except (OSError, wire.ProtocolError):
                return
            op = message.get("op")
            if op == "ping":
                self._reap()
                times = os.times()
                self._reply(
                    conn,
                    {
                        "pid": os.getpid(),
                        "served": self.served,
                        "running": len(self.workers),
                        "idle": self.idle,
                        # CPU seconds of the workers that have ended (the benchmark adds
                        # them to the launcher's own).
                        "workers_cpu": times.children_user + times.children_system,
                    },
                )
            elif op == "stop":
                self.stopping = True
                self._reply(conn, {"pid": os.getpid(), "stopping": True})
            elif op == "run" and not self.stopping:
                self.served += 1
                pid = os.fork()
                if pid == 0:
                    assert self._listener is not None
                    self._listener.close()
                    conn.settimeout(None)
                    _worker(conn)
                self.workers.add(pid)

    @staticmethod
    def _reply(conn: socket.socket, message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            wire.send(conn, message)


def _stdio(fd: int, encoding: str | None) -> TextIO:
    """A text stream on ``fd`` as the launcher's interpreter would have made it."""
    if fd == 0:
        return open(fd, encoding=encoding, closefd=False)
    # Line-buffered on a terminal, like the interpreter's own streams.
    buffering = 1 if os.isatty(fd) else -1
    errors = "backslashreplace" if fd == 2 else None
    return open(fd, "w", encoding=encoding, closefd=False, buffering=buffering, errors=errors)


def _take_request(conn: socket.socket) -> list[str]:
    request, fds = wire.receive(conn, max_fds=3)
    if len(fds) != 3:
        raise wire.ProtocolError("a run request carries stdin, stdout and stderr")
    for target, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.umask(int(request["umask"]))
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request["env"].items()})
    encodings = request.get("encodings") or [None, None, None]
    sys.stdin, sys.stdout, sys.stderr = (_stdio(fd, encodings[fd]) for fd in (0, 1, 2))
    return [str(a) for a in request["argv"]]


def _run_cli(argv: list[str]) -> int:
    from imageferry.cli.main import app

    sys.argv = ["ferry", *argv]
    try:
        app(args=argv, prog_name="ferry")
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(e.code, file=sys.stderr)
        return 1
    return 0


def _worker(conn: socket.socket) -> NoReturn:
    """The forked child: take the launcher's request, run it, report, exit.

    A request it cannot take (too large, a directory it cannot enter) is
    refused before anything runs: the launcher then runs the command
    in-process, so nothing is lost and nothing is printed twice.
    """
    try:
        os.setpgid(0, 0)
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        argv = _take_request(conn)
        wire.send(conn, {"pid": os.getpid()})
    except BaseException as e:
        with contextlib.suppress(OSError):
            wire.send(conn, {"refused": type(e).__name__})
        os._exit(0)
    code = 1
    try:
        code = _run_cli(argv)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        with contextlib.suppress(OSError):
            wire.send(conn, {"exit": code})
        os._exit(0)


def _stop_on(server: Server) -> None:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        server.stopping = True

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m imageferry.cmdserver.server SOCKET", file=sys.stderr)
        return 2
    preload()
    server = Server(Path(args[0]), paths.idle_seconds())
    _stop_on(server)
    try:
        server.bind()
    except OSError as e:
        reason = f"cannot listen on {args[0]}: {e}"
        with contextlib.suppress(OSError):
            Path(paths.failure_path(args[0])).write_text(reason + "\n")
        print(f"imageferry command server: {reason}", file=sys.stderr)
        return 1
    Path(paths.failure_path(args[0])).unlink(missing_ok=True)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
