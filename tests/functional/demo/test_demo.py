"""``ferry demo`` as a user runs it, and stops it: a real subprocess and its registries."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

FERRY = str(Path(sys.executable).parent / "ferry")


def _children(pid: int) -> dict[int, list[str]]:
    """The live processes whose parent is ``pid``: pid → command line."""
    found: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        # The command name in stat is in parentheses and may hold spaces.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found[int(entry.name)] = [part.decode() for part in cmdline if part]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class _Demo:
    """``ferry demo`` in the background, its stderr read line by line."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [FERRY, "demo", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                pytest.fail(f"ferry demo ended before {text!r}:\n{''.join(self.lines)}")
            self.lines.append(line)

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        code = self.process.wait(timeout=timeout)
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.lines.append(line)
        assert self.process.stdout is not None
        return code, self.process.stdout.read() + "".join(self.lines)


@pytest.mark.parametrize(
    ("signum", "after"),
    [
        # While the sample fleet is pushed into the source registry.
        (signal.SIGTERM, "destination registry"),
        # While the fleet is copied across: the copy's tasks end as on Ctrl-C.
        (signal.SIGTERM, "copying with `ferry copy`"),
        (signal.SIGHUP, "copying with `ferry copy`"),
        (signal.SIGINT, "copying with `ferry copy`"),
    ],
)
def test_a_stop_signal_mid_demo_stops_both_registries_and_removes_their_files(
    signum: signal.Signals, after: str
) -> None:
    demo = _Demo("--size-mb", "60")
    try:
        demo.wait_for(after)
        registries = {
            pid: cmd for pid, cmd in _children(demo.process.pid).items() if "serve" in cmd
        }
        assert len(registries) == 2, registries
        # docker-registry serve WORKDIR/config.yml: the workdir holds the config and data.
        workdirs = [Path(cmd[-1]).parent for cmd in registries.values()]
        assert all(w.is_dir() for w in workdirs)

        demo.process.send_signal(signum)
        code, output = demo.finish()
    finally:
        if demo.process.poll() is None:
            demo.process.kill()
            demo.process.wait()

    assert code == 128 + signum, output
    assert "demo stopped; its registries and their files are removed" in output
    assert "Traceback" not in output
    assert [pid for pid in registries if _alive(pid)] == []
    assert [w for w in workdirs if w.exists()] == []


def test_without_docker_registry_and_skopeo_it_says_how_to_install_them(tmp_path: Path) -> None:
    # An empty PATH: the launcher is named by its full path, the tools are not found.
    env = {**os.environ, "PATH": str(tmp_path)}
    done = subprocess.run(
        [FERRY, "demo"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "ferry: error: ferry demo runs docker-registry and skopeo, not installed here: "
        "sudo apt-get install docker-registry skopeo"
    ]
