"""The preloading server: import once, fork a clean worker per command.

Run as ``python -m imageferry.cmdserver.server SOCKET`` (the launcher does
this after an in-process ``ferry copy``). The server imports what ``ferry
copy`` needs, binds SOCKET (via a temporary name and an atomic rename, so two
servers racing to start never leave a half-made socket) and serves until it
has been idle for ``FERRY_COMMAND_SERVER_IDLE`` seconds, is asked to stop,
or its socket is replaced or removed.

The server never sees a command's environment or arguments: it reads only the
operation, forks, and the worker reads the request. A worker takes the
launcher's descriptors as its stdin, stdout and stderr, its environment (and
time zone), working directory, umask and resource limits, runs the command,
and reports the exit status. Connections from another user are refused
(``SO_PEERCRED``).

The server keeps each worker's connection and watches it, so that the worker
stays bound to its launcher as an in-process run is to its own process:

* when the launcher goes away (killed, SIGKILL included, or its terminal
  closed), the worker is terminated with SIGTERM, as an in-process run would
  have ended with it, and continued if Ctrl-Z had stopped it. The copy engine
  pushes a tag last, so a run ended this way leaves nothing half-tagged;
* when a signal ends the worker (SIGTERM, SIGHUP, SIGQUIT forwarded by the
  launcher, or the OOM killer), the server, which reaps it, tells the
  launcher which signal, and the launcher ends itself by that signal.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import locale
import os
import resource
import select
import signal
import socket
import struct
import sys
import tempfile
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
#: A worker's exit status when it refused its request (the launcher runs it in-process).
_REFUSED = 125
#: poll(2) events meaning the launcher's end of a connection is closed.
_HANGUP = select.POLLHUP | select.POLLERR | select.POLLNVAL | getattr(select, "POLLRDHUP", 0)


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
        #: Running workers and their launcher's connection (None once the launcher is gone).
        self.workers: dict[int, socket.socket | None] = {}
        self._listener: socket.socket | None = None
        self._inode = 0
        self._wakeup: tuple[int, int] | None = None

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
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                self._ended(pid, status)

    def _ended(self, pid: int, status: int) -> None:
        """Tell the launcher how its worker ended when the worker could not say so."""
        conn = self.workers.pop(pid)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _REFUSED:
            self.served -= 1  # the launcher ran it in-process
            if conn is not None:
                conn.close()
            return
        if conn is None:
            return
        with conn:
            if os.WIFSIGNALED(status):
                self._reply(conn, {"signal": os.WTERMSIG(status)})
            elif os.WIFEXITED(status) and os.WEXITSTATUS(status):
                # A worker reports its status itself and exits 0: this one was cut short.
                self._reply(conn, {"exit": os.WEXITSTATUS(status)})

    def _launcher_gone(self, pid: int) -> None:
        """End a worker whose launcher went away, as the launcher's death ends an in-process run."""
        conn = self.workers.get(pid)
        if conn is None:
            return
        conn.close()
        self.workers[pid] = None
        # The pid is ours until reaped, so this cannot reach another process.
        # SIGCONT: a worker stopped by Ctrl-Z takes the SIGTERM only once it runs.
        for signum in (signal.SIGTERM, signal.SIGCONT):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _wait(self, timeout: float) -> socket.socket | None:
        """Sleep until a connection, a worker's end or a launcher's hang-up; a new connection."""
        assert self._listener is not None and self._wakeup is not None
        poller = select.poll()
        poller.register(self._listener, select.POLLIN)
        poller.register(self._wakeup[0], select.POLLIN)
        by_fd: dict[int, int] = {}
        for pid, conn in self.workers.items():
            if conn is not None:
                by_fd[conn.fileno()] = pid
                poller.register(conn, _HANGUP)
        incoming = None
        for fd, events in poller.poll(timeout * 1000):
            if fd == self._wakeup[0]:
                with contextlib.suppress(BlockingIOError):
                    os.read(fd, 4096)
            elif fd == self._listener.fileno():
                incoming = self._listener.accept()[0]
            elif fd in by_fd and events & _HANGUP:
                self._reap()  # a worker that has just ended is not terminated
                if by_fd[fd] in self.workers:
                    self._launcher_gone(by_fd[fd])
        return incoming

    def serve(self) -> None:
        assert self._listener is not None
        # SIGCHLD wakes the loop (through the wake-up pipe), so a launcher hears
        # at once how its worker ended.
        self._wakeup = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self._wakeup[1])
        signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
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
                conn = self._wait(0.5)
                if conn is not None:
                    last_active = time.monotonic()
                    self._handle(conn)
        finally:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
            for fd in self._wakeup:
                os.close(fd)
            self._wakeup = None
            for conn in self.workers.values():
                if conn is not None:
                    conn.close()
            self._listener.close()
            if self._still_ours():
                self.path.unlink(missing_ok=True)

    def _handle(self, conn: socket.socket) -> None:
        keep = False
        try:
            keep = self._answer(conn)
        finally:
            if not keep:
                conn.close()

    def _answer(self, conn: socket.socket) -> bool:
        """Answer one operation; True when ``conn`` now belongs to a worker."""
        if _peer_uid(conn) != os.getuid():
            return False
        conn.settimeout(_OP_TIMEOUT)
        try:
            message, _ = wire.receive(conn)
        except (OSError, wire.ProtocolError):
            return False
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
                self._forget_in_worker()
                conn.settimeout(None)
                _worker(conn)
            self.workers[pid] = conn
            return True
        return False

    def _forget_in_worker(self) -> None:
        """In a new worker: drop the server's descriptors and its SIGCHLD wake-up."""
        signal.set_wakeup_fd(-1)
        if self._wakeup is not None:
            for fd in self._wakeup:
                os.close(fd)
        for other in self.workers.values():
            if other is not None:
                other.close()
        assert self._listener is not None
        self._listener.close()

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


def _limit(limits: dict[str, Any]) -> None:
    """Take the launcher's resource limits (``ulimit``) in place of the server's.

    Lowering one is always allowed; raising a hard limit above the server's is
    not (without CAP_SYS_RESOURCE), and then the request is refused (ValueError)
    so that the command runs in-process under exactly the caller's limits.
    """
    for name, (soft, hard) in limits.items():
        which = getattr(resource, str(name), None)
        if isinstance(which, int) and str(name).startswith("RLIMIT_"):
            resource.setrlimit(which, (int(soft), int(hard)))


def _reread_environment() -> None:
    """Redo what the interpreter and the standard library derived from the server's environment.

    ``TZ`` (the C library reads it once, at the first local time, which the
    server's imports may have done), ``LC_CTYPE``/``LANG`` (set at interpreter
    start-up) and ``TMPDIR`` (cached by :mod:`tempfile` once asked).
    """
    time.tzset()
    with contextlib.suppress(locale.Error):
        locale.setlocale(locale.LC_CTYPE, "")
    tempfile.tempdir = None


def _take_request(conn: socket.socket) -> list[str]:
    request, fds = wire.receive(conn, max_fds=3)
    if len(fds) != 3:
        raise wire.ProtocolError("a run request carries stdin, stdout and stderr")
    for target, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    _limit(request.get("rlimits") or {})
    os.chdir(request["cwd"])
    os.umask(int(request["umask"]))
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request["env"].items()})
    _reread_environment()
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
        os._exit(_REFUSED)
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
