import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from imageferry.cmdserver import paths


@pytest.mark.parametrize(
    ("value", "on"),
    [(None, True), ("on", True), ("1", True), ("off", False), ("0", False), (" No ", False)],
)
def test_enabled_unless_switched_off(value: str | None, on: bool) -> None:
    env = {} if value is None else {"FERRY_COMMAND_SERVER": value}
    assert paths.enabled(env) is on


@pytest.mark.parametrize(
    ("value", "seconds"), [("", 600.0), ("5", 5.0), ("x", 600.0), ("-1", 600.0)]
)
def test_idle_seconds(value: str, seconds: float) -> None:
    assert paths.idle_seconds({"FERRY_COMMAND_SERVER_IDLE": value}) == seconds


def test_fingerprint_is_the_same_for_each_name_of_the_interpreter() -> None:
    # A venv's python and python3 are one interpreter: `ferry` (whichever its
    # shebang names) and `python -m ...` must find the same server.
    bin_dir = Path(sys.executable).parent
    names = [n for n in ("python", "python3") if (bin_dir / n).exists()]
    assert len(names) == 2, f"{bin_dir} lacks python or python3"
    code = "from imageferry.cmdserver import paths; print(paths.fingerprint())"
    found = {
        subprocess.run(
            [str(bin_dir / n), "-c", code], capture_output=True, text=True, check=True
        ).stdout
        for n in names
    }
    assert len(found) == 1, found


def test_fingerprint_follows_import_time_environment_only() -> None:
    base = {"HOME": "/var/empty", "AWS_SECRET_ACCESS_KEY": "a"}
    same = paths.fingerprint(base)
    assert paths.fingerprint({**base, "AWS_SECRET_ACCESS_KEY": "b", "DOCKER_CONFIG": "/x"}) == same
    assert paths.fingerprint({**base, "SSL_CERT_FILE": "/other.pem"}) != same
    assert paths.fingerprint({**base, "PYTHONPATH": "/elsewhere"}) != same


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """pytest's tmp_path can be too long for a socket's path."""
    path = Path(tempfile.mkdtemp(prefix="rt-", dir="/tmp"))
    yield path
    shutil.rmtree(path)


def test_socket_lives_in_a_private_directory(short_dir: Path) -> None:
    env = {"XDG_RUNTIME_DIR": str(short_dir)}
    path = paths.socket_path(env)
    assert path is not None
    assert Path(path).parent == short_dir / "imageferry"
    assert Path(path).name == f"cmd-{paths.fingerprint(env)}.sock"
    assert (short_dir / "imageferry").stat().st_mode & 0o777 == 0o700


def test_shared_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "imageferry").mkdir(mode=0o700)
    os.chmod(tmp_path / "imageferry", 0o770)
    assert paths.socket_path({"XDG_RUNTIME_DIR": str(tmp_path)}) is None


def test_without_xdg_runtime_dir_a_per_user_temp_directory(short_dir: Path) -> None:
    path = paths.socket_path({"TMPDIR": str(short_dir)})
    assert path is not None
    assert Path(path).parent == short_dir / f"imageferry-{os.getuid()}"


def test_too_long_for_a_unix_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 90)
    deep.mkdir()
    assert paths.socket_path({"XDG_RUNTIME_DIR": str(deep)}) is None
