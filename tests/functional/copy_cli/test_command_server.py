"""``ferry copy`` through the command server, as a user runs it twice in a row.

Each test gets its own private runtime directory (``XDG_RUNTIME_DIR``), so its
server is its own; the fixture stops it afterwards. What a user checks: the
second run is served by the server (``ferry command-server status`` counts it)
and behaves exactly as an in-process run: output, exit status, the
environment, the working directory, stdin, credentials, and Ctrl-C.
"""

from __future__ import annotations

import base64
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from imageferry.cmdserver import paths, wire
from stand_ins.images import push_image, push_large_image
from stand_ins.registry import LocalRegistry
from stand_ins.skopeo import inspect_digest

FERRY = str(Path(sys.executable).parent / "ferry")


class Launcher:
    """Runs ``ferry`` with the command server on, in a runtime directory of its own."""

    def __init__(self, runtime: Path) -> None:
        self.env = {
            **os.environ,
            "FERRY_COMMAND_SERVER": "on",
            "FERRY_COMMAND_SERVER_IDLE": "60",
            "XDG_RUNTIME_DIR": str(runtime),
        }
        self.runtime = runtime

    def __call__(
        self,
        *args: str,
        stdin: str | None = None,
        cwd: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [FERRY, *args],
            capture_output=True,
            text=True,
            input=stdin,
            cwd=cwd,
            env={**self.env, **(extra_env or {})},
            timeout=120,
        )

    def served(self) -> int:
        """Commands the running server has served (fails when none runs)."""
        status = self("command-server", "status", "--wait", "20")
        assert status.returncode == 0, status.stdout + status.stderr
        return int(status.stdout.split(", ")[1].split()[0])

    def sockets(self) -> list[Path]:
        return sorted((self.runtime / "imageferry").glob("cmd-*.sock"))


@pytest.fixture
def launcher() -> Iterator[Launcher]:
    # Short: a Unix socket's path must fit in 108 bytes, pytest's tmp_path may not.
    runtime = Path(tempfile.mkdtemp(prefix="ferry-rt-", dir="/tmp"))
    launch = Launcher(runtime)
    yield launch
    launch("command-server", "stop")
    shutil.rmtree(runtime, ignore_errors=True)


def tag_digest(registry: LocalRegistry, repo: str, tag: str) -> str | None:
    r = httpx.head(
        f"{registry.url}/v2/{repo}/manifests/{tag}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    return r.headers["docker-content-digest"] if r.status_code == 200 else None


def test_second_run_is_served_and_behaves_like_the_first(
    launcher: Launcher, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    image = push_image(src_registry.url, "team/app", "v1")
    pair = [f"{src_registry.host}/team/app:v1", f"{dst_registry.host}/team/app:v1"]

    first = launcher("copy", "-o", "json", *pair)
    assert first.returncode == 0, first.stderr
    assert [i["status"] for i in json.loads(first.stdout)["images"]] == ["copied"]
    # The in-process run started a server for the next one.
    before = launcher.served()

    again = launcher("copy", "-o", "json", *pair)
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert [i["status"] for i in doc["images"]] == ["skipped"]
    assert doc["images"][0]["digest"] == image.digest
    assert launcher.served() == before + 1
    assert inspect_digest(f"{dst_registry.host}/team/app:v1") == image.digest


def test_served_runs_take_cwd_stdin_and_report_errors(
    launcher: Launcher, src_registry: LocalRegistry, dst_registry: LocalRegistry, tmp_path: Path
) -> None:
    for tag in ("a", "b"):
        push_image(src_registry.url, "svc", tag, seed=tag)
    launcher("copy", "--help")  # any `copy` starts the server
    served = launcher.served()

    work = tmp_path / "work"
    work.mkdir()
    (work / "pairs.txt").write_text(f"{src_registry.host}/svc:a {dst_registry.host}/svc:a\n")
    relative = launcher("copy", "--from-file", "pairs.txt", cwd=work)
    assert relative.returncode == 0, relative.stderr
    assert "1 copied, 0 skipped, 0 failed" in relative.stdout

    piped = launcher(
        "copy", "-f", "-", stdin=f"{src_registry.host}/svc:b {dst_registry.host}/svc:b"
    )
    assert piped.returncode == 0, piped.stderr
    assert "1 copied" in piped.stdout

    bad = launcher("copy", "Not::valid", f"{dst_registry.host}/x:1")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.startswith("ferry: error: invalid image reference 'Not::valid'")
    assert len(bad.stderr.strip().splitlines()) == 1

    missing = launcher("copy", f"{src_registry.host}/svc:nope", f"{dst_registry.host}/svc:nope")
    assert missing.returncode == 1
    assert "manifest unknown (404 MANIFEST_UNKNOWN)" in missing.stderr
    assert tag_digest(dst_registry, "svc", "nope") is None

    assert launcher.served() == served + 4
    assert tag_digest(dst_registry, "svc", "a") and tag_digest(dst_registry, "svc", "b")


def test_served_run_uses_the_callers_environment_for_credentials(
    launcher: Launcher, basic_registry: LocalRegistry, dst_registry: LocalRegistry, tmp_path: Path
) -> None:
    user, password = next(iter(basic_registry.users.items()))
    image = push_image(basic_registry.url, "private/app", "v1", auth=(user, password))
    pair = [f"{basic_registry.host}/private/app:v1", f"{dst_registry.host}/private/app:v1"]
    empty = tmp_path / "no-creds"
    empty.mkdir()
    (empty / "config.json").write_text("{}")

    refused = launcher("copy", *pair, extra_env={"DOCKER_CONFIG": str(empty)})
    assert refused.returncode == 1
    served = launcher.served()

    # Same server, another environment: this caller's DOCKER_CONFIG has the login.
    creds = tmp_path / "creds"
    creds.mkdir()
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    (creds / "config.json").write_text(
        json.dumps({"auths": {basic_registry.host: {"auth": token}}})
    )
    allowed = launcher("copy", *pair, extra_env={"DOCKER_CONFIG": str(creds)})
    assert allowed.returncode == 0, allowed.stderr
    assert launcher.served() == served + 1
    assert tag_digest(dst_registry, "private/app", "v1") == image.digest


def shell_job(launcher: Launcher, argv: list[str]) -> subprocess.Popen[str]:
    """``argv`` left running, in a process group of its own, as a shell job is.

    The kernel ignores SIGTSTP in an orphaned group (as pytest's may be under CI).
    """
    return subprocess.Popen(
        argv,
        env=launcher.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,
    )


def start_big_copy(
    launcher: Launcher, src: LocalRegistry, dst: LocalRegistry
) -> subprocess.Popen[str]:
    """``ferry copy`` of the large test image, left running."""
    return shell_job(
        launcher, [FERRY, "copy", "-q", f"{src.host}/big/layer:v1", f"{dst.host}/big:v1"]
    )


def test_ctrl_c_reaches_the_worker_and_nothing_is_tagged(
    launcher: Launcher, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    push_large_image(src_registry.url, "big/layer", "v1", layer_size=768 << 20)
    launcher("copy", "--help")
    served = launcher.served()
    proc = start_big_copy(launcher, src_registry, dst_registry)
    uploads = dst_registry.data_dir / "docker/registry/v2/repositories/big/_uploads"
    deadline = time.monotonic() + 60
    while not (uploads.exists() and any(uploads.iterdir())):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the upload never started"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0, err
    assert tag_digest(dst_registry, "big", "v1") is None
    # The worker ran it (the launcher only relayed the signal) and is gone.
    assert launcher.served() == served + 1


def test_no_private_directory_means_in_process(
    tmp_path: Path, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    shared = tmp_path / "shared"
    (shared / "imageferry").mkdir(parents=True)
    (shared / "imageferry").chmod(0o777)
    image = push_image(src_registry.url, "app", "v1")
    launch = Launcher(shared)
    result = launch("copy", f"{src_registry.host}/app:v1", f"{dst_registry.host}/app:v1")
    assert result.returncode == 0, result.stderr
    assert tag_digest(dst_registry, "app", "v1") == image.digest
    assert launch.sockets() == []
    status = launch("command-server", "status")
    assert status.returncode == 1
    assert "not used" in status.stdout


def test_idle_server_exits_and_removes_its_socket(
    launcher: Launcher, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    launcher.env["FERRY_COMMAND_SERVER_IDLE"] = "1"
    push_image(src_registry.url, "app", "v1")
    launcher("copy", f"{src_registry.host}/app:v1", f"{dst_registry.host}/app:v1")
    launcher.served()
    deadline = time.monotonic() + 30
    while launcher.sockets():
        assert time.monotonic() < deadline, "the idle server did not exit"
        time.sleep(0.1)
    assert launcher("command-server", "status").returncode == 1


def test_off_switch_and_stop(launcher: Launcher, src_registry: LocalRegistry) -> None:
    launcher("copy", "--help")
    launcher.served()
    off = launcher("command-server", "status", extra_env={"FERRY_COMMAND_SERVER": "off"})
    assert off.returncode == 1 and "off" in off.stdout
    assert launcher("command-server", "stop").stdout.strip() == "stopping"
    deadline = time.monotonic() + 30
    while launcher.sockets():
        assert time.monotonic() < deadline, "the server did not stop"
        time.sleep(0.1)
    assert launcher("command-server", "stop").stdout.strip() == "no command server running"


def test_a_request_the_worker_cannot_take_is_refused(launcher: Launcher) -> None:
    launcher("copy", "--help")
    launcher.served()
    (path,) = launcher.sockets()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(path))
        wire.send(sock, {"op": "run"})
        # No stdin/stdout/stderr passed: the worker refuses before running anything.
        wire.send(sock, {"argv": ["copy", "--help"], "env": {}, "cwd": "/", "umask": 18})
        answer, _ = wire.receive(sock)
    assert answer == {"refused": "ProtocolError"}


def test_removed_working_directory_runs_in_process(
    launcher: Launcher, src_registry: LocalRegistry, dst_registry: LocalRegistry, tmp_path: Path
) -> None:
    image = push_image(src_registry.url, "app", "v1")
    launcher("copy", "--help")
    served = launcher.served()
    gone = tmp_path / "gone"
    gone.mkdir()
    result = subprocess.run(
        [
            "sh",
            "-c",
            'cd "$1" && rmdir "$1" && exec "$2" copy -q "$3" "$4"',
            "sh",
            str(gone),
            FERRY,
            f"{src_registry.host}/app:v1",
            f"{dst_registry.host}/app:v1",
        ],
        capture_output=True,
        text=True,
        env=launcher.env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert tag_digest(dst_registry, "app", "v1") == image.digest
    assert launcher.served() == served


def on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``argv`` with stdout and stderr on a pseudo-terminal; (exit status, output)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    text = b"".join(chunks).decode(errors="replace")
    return proc.wait(timeout=60), re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_progress_bars_on_a_terminal_through_the_server(
    launcher: Launcher, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    for tag in ("a", "b", "c"):
        push_image(src_registry.url, "svc", tag, seed=tag)
    launcher("copy", "--help")
    served = launcher.served()
    pairs = [f"{host}/svc:{t}" for t in "abc" for host in (src_registry.host, dst_registry.host)]
    env = {**launcher.env, "COLUMNS": "120", "TERM": "xterm"}
    status, output = on_a_terminal([FERRY, "copy", *pairs], env)
    assert status == 0, output
    assert "total" in output  # the bars, drawn by the worker on the caller's terminal
    assert output.count("copied ") >= 3
    assert "3 copied, 0 skipped, 0 failed" in output
    # Again, all up to date: finished bars are removed in any order.
    status, output = on_a_terminal([FERRY, "copy", *pairs], env)
    assert status == 0, output
    assert "0 copied, 3 skipped, 0 failed" in output
    assert launcher.served() == served + 2


def process_state(pid: int) -> str:
    """R, S, T (stopped), Z ... from /proc/PID/stat."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def catches(pid: int, signum: int) -> bool:
    """Whether ``pid`` has a handler for ``signum`` (/proc/PID/status SigCgt)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_ctrl_z_stops_the_worker_and_fg_resumes_it(
    launcher: Launcher, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    image = push_large_image(src_registry.url, "big/layer", "v1", layer_size=512 << 20)
    launcher("copy", "--help")
    launcher.served()
    status = launcher("command-server", "status")
    server = int(status.stdout.split("pid ")[1].split(",")[0])

    def workers() -> list[int]:  # an earlier worker may linger as a zombie until reaped
        return live_children(server)

    # The --help worker may still be exiting after its launcher returned.
    wait_for(lambda: not workers(), "an earlier worker stayed")
    proc = start_big_copy(launcher, src_registry, dst_registry)
    wait_for(lambda: bool(workers()), "no worker started")
    (worker,) = workers()
    # The launcher relays Ctrl-Z once it knows its worker; before that it would just stop.
    wait_for(lambda: catches(proc.pid, signal.SIGTSTP), "the launcher never took its worker")
    proc.send_signal(signal.SIGTSTP)
    wait_for(lambda: process_state(proc.pid) == "T", "the launcher did not stop")
    wait_for(lambda: process_state(worker) == "T", "the worker did not stop")
    proc.send_signal(signal.SIGCONT)
    wait_for(lambda: process_state(worker) != "T", "the worker did not continue")
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert tag_digest(dst_registry, "big", "v1") == image.digest


def servers_for(path: str) -> list[int]:
    """Processes serving (or trying to serve) ``path``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if os.fsencode(path) in argv:
                found.append(int(entry.name))
    return found


def test_a_server_that_cannot_listen_is_not_started_again(
    launcher: Launcher, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    path = paths.socket_path(launcher.env)
    assert path is not None
    # Something else holds the socket's name: the server cannot put its socket there.
    Path(path).mkdir()
    (Path(path) / "keep").write_text("")
    image = push_image(src_registry.url, "app", "v1")
    pair = (f"{src_registry.host}/app:v1", f"{dst_registry.host}/app:v1")
    first = launcher("copy", *pair)
    assert first.returncode == 0, first.stderr
    wait_for(lambda: Path(paths.failure_path(path)).exists(), "no failure recorded")
    wait_for(lambda: not servers_for(path), "the failed server is still there")
    status = launcher("command-server", "status")
    assert status.returncode == 1
    assert "the last one failed: cannot listen on" in status.stdout
    recorded = Path(paths.failure_path(path)).stat().st_mtime_ns
    again = launcher("copy", *pair)
    assert again.returncode == 0, again.stderr
    assert tag_digest(dst_registry, "app", "v1") == image.digest
    # A server started by that run would fail the same way and record it again.
    time.sleep(2)
    assert servers_for(path) == []
    assert Path(paths.failure_path(path)).stat().st_mtime_ns == recorded


@pytest.fixture
def hanging_registry() -> Iterator[str]:
    """A registry host that takes connections and never answers: a copy from it waits.

    The kernel completes the connections (the listen backlog); nothing reads
    them, and ferry's read timeout is minutes, so the worker stays mid-copy
    for as long as a test looks at it.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def server_pid(launcher: Launcher) -> int:
    launcher.served()
    status = launcher("command-server", "status")
    return int(status.stdout.split("pid ")[1].split(",")[0])


def live_children(pid: int) -> list[int]:
    """Children of ``pid`` that have not ended (an ended one is a zombie until reaped)."""
    found = []
    for child in children_of(pid):
        try:
            if process_state(child) != "Z":
                found.append(child)
        except OSError:  # reaped meanwhile
            continue
    return found


def with_limits(ulimit: str, *args: str) -> list[str]:
    """``ferry *args``, started by a shell after ``ulimit``."""
    return ["bash", "-c", f'{ulimit} && exec "$0" "$@"', FERRY, *args]


def served_waiting_copy(
    launcher: Launcher, source: str, dst: LocalRegistry, ulimit: str = "ulimit -c 0"
) -> tuple[int, int, subprocess.Popen[str], int]:
    """A server, then a copy from ``source`` that its worker is in the middle of.

    (commands served before it, the server's pid, the launcher, the worker's pid).
    """
    launcher("copy", "--help")
    served = launcher.served()
    server = server_pid(launcher)
    # The --help worker may still be exiting after its launcher returned.
    wait_for(lambda: not live_children(server), "an earlier worker stayed")
    # ulimit -c 0: SIGQUIT would otherwise leave a core file behind.
    proc = shell_job(
        launcher, with_limits(ulimit, "copy", f"{source}/app:v1", f"{dst.host}/app:v1")
    )

    def started() -> bool:
        assert proc.poll() is None, proc.communicate()
        return bool(live_children(server))

    wait_for(started, "no worker started")
    (worker,) = live_children(server)
    # Signals are relayed once the launcher knows its worker (its handlers are set).
    wait_for(lambda: catches(proc.pid, signal.SIGTERM), "the launcher never took its worker")
    return served, server, proc, worker


def test_killing_the_launcher_ends_its_worker(
    launcher: Launcher,
    hanging_registry: str,
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
) -> None:
    served, server, proc, worker = served_waiting_copy(launcher, hanging_registry, dst_registry)
    proc.kill()  # SIGKILL: the launcher cannot pass anything on
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # As in-process, the copy ends with its process: nothing copies on unseen.
    wait_for(lambda: worker not in live_children(server), "the worker outlived its launcher")
    assert tag_digest(dst_registry, "app", "v1") is None
    # The server serves on.
    image = push_image(src_registry.url, "app", "v1")
    again = launcher("copy", f"{src_registry.host}/app:v1", f"{dst_registry.host}/app:v1")
    assert again.returncode == 0, again.stderr
    assert tag_digest(dst_registry, "app", "v1") == image.digest
    assert launcher.served() == served + 2


def test_killing_a_stopped_launcher_ends_its_stopped_worker(
    launcher: Launcher, hanging_registry: str, dst_registry: LocalRegistry
) -> None:
    _served, server, proc, worker = served_waiting_copy(launcher, hanging_registry, dst_registry)
    proc.send_signal(signal.SIGTSTP)  # Ctrl-Z
    wait_for(lambda: process_state(worker) == "T", "the worker did not stop")
    proc.kill()
    proc.communicate(timeout=30)
    wait_for(lambda: worker not in live_children(server), "the stopped worker stayed")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
def test_a_signal_ends_a_served_copy_as_it_ends_an_in_process_one(
    launcher: Launcher, hanging_registry: str, dst_registry: LocalRegistry, signum: int
) -> None:
    served, server, proc, worker = served_waiting_copy(launcher, hanging_registry, dst_registry)
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=60)
    # The shell sees death by that signal (exit status 128 + n), as without the server.
    assert proc.returncode == -signum, err
    assert "without an exit status" not in err
    assert worker not in live_children(server)
    assert tag_digest(dst_registry, "app", "v1") is None
    assert launcher.served() == served + 1


def limit_of(pid: int, name: str) -> tuple[str, str]:
    """(soft, hard) of the limit ``name`` as /proc/PID/limits shows it."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith(name):
            soft, hard = line[len(name) :].split()[:2]
            return soft, hard
    raise AssertionError(f"no {name!r} in /proc/{pid}/limits")


def test_the_worker_runs_under_the_callers_resource_limits(
    launcher: Launcher, hanging_registry: str, dst_registry: LocalRegistry
) -> None:
    served, server, proc, worker = served_waiting_copy(
        launcher, hanging_registry, dst_registry, "ulimit -c 0 -n 256"
    )
    assert limit_of(worker, "Max open files") == ("256", "256")
    assert limit_of(worker, "Max core file size") == ("0", "0")
    assert limit_of(server, "Max open files") != ("256", "256")
    proc.terminate()
    proc.communicate(timeout=60)
    assert launcher.served() == served + 1


def test_limits_above_the_servers_run_in_process(
    launcher: Launcher, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard == resource.RLIM_INFINITY or hard > 512, "the test needs a hard limit above 512"
    # A server started by a caller with a low hard limit keeps it, and so do its workers.
    started = subprocess.run(
        with_limits("ulimit -n 512", "copy", "--help"),
        env=launcher.env,
        capture_output=True,
        timeout=120,
    )
    assert started.returncode == 0
    served = launcher.served()
    assert limit_of(server_pid(launcher), "Max open files") == ("512", "512")
    image = push_image(src_registry.url, "app", "v1")
    pair = (f"{src_registry.host}/app:v1", f"{dst_registry.host}/app:v1")
    # This caller's hard limit is higher than the server's: a worker could not
    # take it, so the copy runs in-process, under the caller's limits.
    above = launcher("copy", *pair)
    assert above.returncode == 0, above.stderr
    assert tag_digest(dst_registry, "app", "v1") == image.digest
    assert launcher.served() == served
    # Lower limits, the server's own too, are served.
    for ulimit in ("ulimit -n 256", "ulimit -n 512"):
        below = subprocess.run(
            with_limits(ulimit, "copy", *pair),
            env=launcher.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert below.returncode == 0, below.stderr
    assert launcher.served() == served + 2


def test_the_worker_uses_the_callers_time_zone(
    launcher: Launcher, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    push_image(src_registry.url, "app", "v1")
    launcher("copy", "--help")
    served = launcher.served()
    # UTC+09:17 in POSIX TZ notation (the sign is west of Greenwich): no server's default.
    offset = timedelta(hours=9, minutes=17)
    before = datetime.now(UTC) + offset
    result = launcher(
        "copy",
        f"{src_registry.host}/app:v1",
        f"{dst_registry.host}/app:v1",
        extra_env={"TZ": "FER-9:17"},
    )
    after = datetime.now(UTC) + offset
    assert result.returncode == 0, result.stderr
    assert launcher.served() == served + 1
    # The log lines' time stamps are the caller's local time.
    stamp = result.stderr.split()[0]
    hours, minutes, seconds = (int(part) for part in stamp.split(":"))
    second = hours * 3600 + minutes * 60 + seconds
    first, last = (t.hour * 3600 + t.minute * 60 + t.second for t in (before, after))
    within = first <= second <= last if first <= last else second >= first or second <= last
    assert within, f"{stamp} is not between {before:%H:%M:%S} and {after:%H:%M:%S}"
