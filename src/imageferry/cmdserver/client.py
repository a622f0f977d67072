"""The launcher side: hand a command to a running server, or say there is none.

Imported before anything else when ``ferry copy`` starts, so it uses the
standard library only. :func:`run` returns None whenever the command did not
start in a worker (no server, a stale socket, a refused connection); the
caller then runs it in-process. Once a worker has started the command, the
launcher forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to it, stops and
continues it with itself on Ctrl-Z (SIGTSTP) and ``fg``, and returns its exit
status; a worker that a signal ended takes the launcher with it, by the same
signal, as that signal ends an in-process run. The launcher's resource limits
(``ulimit``) go with the request: the worker applies them, or refuses the
request when it cannot (a hard limit above the server's), and the command
runs in-process under exactly the caller's limits.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import sys
import time

from imageferry.cmdserver import paths, wire

# Annotations only: importing typing would add to the launcher's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType
    from typing import Any

__all__ = ["RLIMITS", "failure", "limits", "ping", "run", "spawn", "stop"]

_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
#: The resource limits a command's run depends on (setrlimit(2)); the worker
#: applies the launcher's, since it would otherwise keep the server's.
RLIMITS = (
    "RLIMIT_AS",
    "RLIMIT_CORE",
    "RLIMIT_CPU",
    "RLIMIT_DATA",
    "RLIMIT_FSIZE",
    "RLIMIT_MEMLOCK",
    "RLIMIT_NOFILE",
    "RLIMIT_NPROC",
    "RLIMIT_STACK",
)
#: The variables a new server starts with: what its imports read, no secrets.
_SERVER_ENV = ("PATH", "HOME", "LANG", "TMPDIR", "XDG_RUNTIME_DIR", "FERRY_COMMAND_SERVER_IDLE")


def _connect(path: str) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return None
    return sock


def _stdio_open() -> bool:
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            return False
    return True


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def limits() -> dict[str, list[int]]:
    """This process's soft and hard limits, by ``resource`` name (``RLIMIT_NOFILE``...)."""
    found: dict[str, list[int]] = {}
    for name in RLIMITS:
        which = getattr(resource, name, None)
        if which is not None:
            found[name] = list(resource.getrlimit(which))
    return found


def _die_by(signum: int) -> int:
    """End this process by ``signum`` as the worker was, so the shell sees the same.

    Returns (an exit status, 128 + signum as shells report it) only if the
    signal does not end the launcher.
    """
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - contextlib costs the launcher an import
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        if signum not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
        os.kill(os.getpid(), signum)
    except (OSError, ValueError, OverflowError):
        pass
    return 128 + signum


def run(argv: Sequence[str], path: str | None = None) -> int | None:
    """Run ``ferry *argv`` in a worker; its exit status, or None when no worker started it."""
    path = path or paths.socket_path()
    if path is None or not _stdio_open():
        return None
    try:
        cwd = os.getcwd()
    except OSError:
        return None  # a removed working directory: in-process says what fails
    sock = _connect(path)
    if sock is None:
        return None
    with sock:
        request: dict[str, Any] = {
            "argv": list(argv),
            "env": dict(os.environ),
            "cwd": cwd,
            "umask": _umask(),
            "rlimits": limits(),
            # What this interpreter chose for its streams (locale, PYTHONIOENCODING).
            "encodings": [
                getattr(f, "encoding", None) for f in (sys.stdin, sys.stdout, sys.stderr)
            ],
        }
        try:
            # The server reads only the first message; the worker it forks reads
            # the second, so the environment never passes through the server.
            wire.send(sock, {"op": "run"})
            wire.send(sock, request, fds=(0, 1, 2))
            started, _ = wire.receive(sock)
        except (OSError, wire.ProtocolError):
            return None  # the worker never started: safe to run in-process
        if not isinstance(started.get("pid"), int):
            return None  # it could not take the request (too large, say): same
        pid = started["pid"]

        def forward(signum: int, _frame: FrameType | None) -> None:
            try:  # noqa: SIM105 - contextlib costs the launcher an import
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

        def suspend(_signum: int, _frame: FrameType | None) -> None:
            # Ctrl-Z. The worker's process group has no parent in the terminal's
            # session, so the kernel would drop a SIGTSTP sent to it (POSIX
            # orphaned process groups): stop it outright, then stop ourselves;
            # on `fg` we run on from here and let it go on too.
            forward(signal.SIGSTOP, None)
            signal.signal(signal.SIGTSTP, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTSTP)
            signal.signal(signal.SIGTSTP, suspend)
            forward(signal.SIGCONT, None)

        previous = {s: signal.signal(s, forward) for s in _FORWARDED}
        previous[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, suspend)
        try:
            while True:
                try:
                    done, _ = wire.receive(sock)
                    break
                except InterruptedError:
                    continue
                except (OSError, wire.ProtocolError):
                    print(
                        "ferry: error: the command server's worker ended without an exit "
                        "status; set FERRY_COMMAND_SERVER=off to run in-process",
                        file=sys.stderr,
                    )
                    return 1
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    # The worker reports its exit status; the server, which reaps it, reports
    # the signal that ended it (it cannot say so itself).
    if isinstance(done.get("signal"), int):
        return _die_by(done["signal"])
    return int(done.get("exit", 1))


def spawn(path: str | None = None) -> bool:
    """Start a server in the background for the next command; never waits for it."""
    import subprocess  # only when starting one: the launcher's imports are its start-up

    path = path or paths.socket_path()
    if path is None:
        return False
    running = _connect(path)
    if running is not None:
        running.close()
        return False
    if _failed_recently(path):
        return False
    env = {
        k: v
        for k, v in os.environ.items()
        if k in _SERVER_ENV or k.startswith("LC_") or paths.read_at_import(k)
    }
    try:
        subprocess.Popen(
            [sys.executable, "-m", "imageferry.cmdserver.server", path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            env=env,
            cwd="/",
        )
    except OSError:
        return False
    return True


def _failed_recently(path: str) -> bool:
    try:
        age = time.time() - os.stat(paths.failure_path(path)).st_mtime
    except OSError:
        return False
    return age < paths.RETRY_FAILED_AFTER


def failure(path: str) -> str | None:
    """Why the last server for ``path`` could not listen, if that is recent."""
    if not _failed_recently(path):
        return None
    try:
        with open(paths.failure_path(path)) as f:
            return f.read().strip()
    except OSError:
        return None


def _ask(op: str, path: str | None) -> dict[str, Any] | None:
    path = path or paths.socket_path()
    if path is None:
        return None
    sock = _connect(path)
    if sock is None:
        return None
    with sock:
        try:
            wire.send(sock, {"op": op})
            return wire.receive(sock)[0]
        except (OSError, wire.ProtocolError):
            return None


def ping(path: str | None = None) -> dict[str, Any] | None:
    """The server's status, or None when none answers.

    ``pid``, ``served`` (commands its workers took; not those refused, which
    ran in-process), ``running`` (workers now), ``idle``
    (seconds before an unused server exits), ``workers_cpu`` (CPU seconds of
    the workers that have ended).
    """
    return _ask("ping", path)


def stop(path: str | None = None) -> bool:
    """Ask the server to exit once its running commands finish; True when one answered."""
    return _ask("stop", path) is not None
