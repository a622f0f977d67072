"""The launcher against a socket that is not a well-behaved server."""

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from imageferry.cmdserver import client, wire


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cl-", dir="/tmp"))
    yield path
    shutil.rmtree(path)


def serve_once(path: Path, answer: Callable[[socket.socket], None]) -> threading.Thread:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(1)

    def run() -> None:
        conn, _ = listener.accept()
        with conn, listener:
            answer(conn)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_no_socket_means_in_process(socket_dir: Path) -> None:
    assert client.run(["copy", "--help"], str(socket_dir / "none.sock")) is None


def test_a_refused_request_means_in_process(socket_dir: Path) -> None:
    def refuse(conn: socket.socket) -> None:
        assert wire.receive(conn)[0] == {"op": "run"}
        request, fds = wire.receive(conn, max_fds=3)
        assert request["argv"] == ["copy", "--help"] and len(fds) == 3
        wire.send(conn, {"refused": "ProtocolError"})

    thread = serve_once(socket_dir / "s.sock", refuse)
    assert client.run(["copy", "--help"], str(socket_dir / "s.sock")) is None
    thread.join()


def test_exit_status_is_relayed(socket_dir: Path) -> None:
    def run_it(conn: socket.socket) -> None:
        wire.receive(conn)
        wire.receive(conn, max_fds=3)
        wire.send(conn, {"pid": 2**22 + 7})  # no such process: signals go nowhere
        wire.send(conn, {"exit": 3})

    thread = serve_once(socket_dir / "s.sock", run_it)
    assert client.run(["copy"], str(socket_dir / "s.sock")) == 3
    thread.join()


def test_a_worker_that_dies_mid_command_is_an_error(
    socket_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    def die(conn: socket.socket) -> None:
        wire.receive(conn)
        wire.receive(conn, max_fds=3)
        wire.send(conn, {"pid": 2**22 + 7})

    thread = serve_once(socket_dir / "s.sock", die)
    assert client.run(["copy"], str(socket_dir / "s.sock")) == 1
    thread.join()
    assert "ended without an exit status" in capfd.readouterr().err


def test_a_worker_ended_by_a_signal_ends_the_launcher_by_that_signal(socket_dir: Path) -> None:
    def killed(conn: socket.socket) -> None:
        wire.receive(conn)
        for fd in wire.receive(conn, max_fds=3)[1]:
            os.close(fd)  # the launcher's stdout and stderr: its output ends with it
        wire.send(conn, {"pid": 2**22 + 7})
        wire.send(conn, {"signal": signal.SIGHUP})  # what the server says when it reaps it

    thread = serve_once(socket_dir / "s.sock", killed)
    launcher = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from imageferry.cmdserver import client; "
            "sys.exit(client.run(['copy'], sys.argv[1]))",
            str(socket_dir / "s.sock"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    thread.join()
    assert launcher.returncode == -signal.SIGHUP, launcher.stderr
    assert launcher.stderr == ""


def test_the_request_carries_the_callers_resource_limits(socket_dir: Path) -> None:
    seen: dict[str, list[int]] = {}

    def look(conn: socket.socket) -> None:
        wire.receive(conn)
        request, fds = wire.receive(conn, max_fds=3)
        for fd in fds:
            os.close(fd)
        seen.update(request["rlimits"])
        wire.send(conn, {"refused": "ValueError"})

    thread = serve_once(socket_dir / "s.sock", look)
    assert client.run(["copy"], str(socket_dir / "s.sock")) is None
    thread.join()
    for name in ("RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_AS", "RLIMIT_NPROC"):
        assert seen[name] == list(resource.getrlimit(getattr(resource, name)))
