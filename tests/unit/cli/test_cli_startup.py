"""What starting ``ferry`` loads and leaves behind: what the command needs, nothing running.

How long start-up takes is measured in bench/bench_startup.py, not here.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

FERRY = str(Path(sys.executable).parent / "ferry")

#: Libraries that only running a command needs (registries, AWS, the store, the console).
HEAVY = (
    "aiohttp",
    "alembic",
    "asyncio",
    "boto3",
    "botocore",
    "fastapi",
    "pydantic",
    "sqlalchemy",
    "uvicorn",
)

# Runs the ferry executable's entry point in a fresh interpreter, then lists the
# top-level packages it loaded on stderr (stdout is the command's).
_PROBE = """
import json, sys
sys.argv = ["ferry", *sys.argv[1:]]
from imageferry.cli.entry import main
try:
    main()
except SystemExit as e:
    code = e.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}),
      file=sys.stderr)
"""


def loaded_by(*argv: str) -> tuple[int, set[str], str]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, timeout=60
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"]), proc.stdout


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ([], "task"),
        (["copy"], "--from-file"),
        (["demo"], "--size-mb"),
        (["serve"], "--create-token"),
        (["task"], "create"),
        (["task", "run"], "--dry-run"),
        (["secret"], "put"),
    ],
)
def test_help_loads_no_network_aws_store_or_web_library(command: list[str], option: str):
    code, modules, out = loaded_by(*command, "--help")
    assert code == 0
    assert option in out
    assert sorted(modules.intersection(HEAVY)) == []


def test_copy_to_a_pipe_does_not_load_the_progress_bars(tmp_path: Path):
    # A bad pair ends the copy before any request, after the command has loaded.
    code, modules, _ = loaded_by("copy", "localhost:1/a:b")
    assert code == 2
    assert "rich" not in modules


# Runs ferry as a child of a "subreaper": any process ferry starts and leaves
# running, even in a session of its own, becomes this wrapper's child when ferry
# exits. The wrapper lists (and ends) those, as JSON on stdout.
_REAPER = """
import ctypes, json, os, signal, subprocess, sys
PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
left = []
for stat in os.listdir("/proc"):
    try:
        fields = open(f"/proc/{stat}/stat").read().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        continue
    if int(fields[1]) == os.getpid():
        left.append(open(f"/proc/{stat}/cmdline").read().replace("\\0", " "))
        os.kill(int(stat), signal.SIGKILL)
print(json.dumps(left))
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("argv", [["copy", "--help"], ["copy", "localhost:1/a:b"]])
def test_ferry_copy_leaves_no_process_behind(argv: list[str]):
    proc = subprocess.run(
        [sys.executable, "-c", _REAPER, FERRY, *argv], capture_output=True, text=True, timeout=90
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
