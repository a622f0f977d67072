"""The launcher against a socket that is not a well-behaved server."""

import shutil
import socket
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
