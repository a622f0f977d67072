"""Nothing in the project names a path that exists on one machine only.

A test that falls back to some machine's virtualenv passes there and fails on
every fresh clone; a doc that shows such a path gives the reader a command
that cannot run. Paths relative to the checkout (``.venv/bin/pytest``) and
the system's own (``/usr/bin/chromium``, ``/tmp``, ``/dev/shm``) are fine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("src", "tests", "scripts", "docs", "bench", ".ci", "README.md")
SKIPPED_DIRS = {"__pycache__", "node_modules", "results"}

# An absolute path starts a value: not after a word, a dot, ~, $VAR or ${VAR}
# (``foo/home/x``, ``~/work``, ``$HOME/x`` and URL paths are something else).
_START = r"(?<![\w.~$}/:-])"
MACHINE_PATH = re.compile(
    _START + r"(?:"
    r"/(?:work|root)(?=[/\"'`\s)]|$)"  # a build machine's checkout or root's home
    r"|/(?:home|Users)/[\w.-]+"  # someone's home directory
    r"|/(?:[\w.-]+/)*\.?v(?:irtual)?envs?/bin"  # a virtualenv at a fixed place
    r"|/(?:[\w.-]+/)*\.pyenv/"  # one machine's interpreter
    r")",
    re.MULTILINE,
)


def _checked_files() -> list[Path]:
    files: list[Path] = []
    for name in CHECKED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
            continue
        for found in sorted(path.rglob("*")):
            parts = set(found.relative_to(ROOT).parts)
            if found.is_file() and not parts & SKIPPED_DIRS and ".egg-info" not in str(found):
                files.append(found)
    return files


def machine_paths(text: str) -> list[str]:
    return [m.group(0) for m in MACHINE_PATH.finditer(text)]


def test_no_file_names_a_path_of_one_machine() -> None:
    found: list[str] = []
    for path in _checked_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue  # images and other binary files
        for number, line in enumerate(text.splitlines(), 1):
            found += [f"{path.relative_to(ROOT)}:{number}: {p}" for p in machine_paths(line)]
    assert found == [], "paths of one machine:\n" + "\n".join(found)


# The samples are joined from pieces so that this file, which the scan above reads
# too, holds no such path itself.
_WORK, _ROOT, _HOME = "/" + "work", "/" + "root", "/" + "home"


@pytest.mark.parametrize(
    "line",
    [
        f'FERRY = Path(os.environ.get("VIRTUAL_ENV", "{_WORK}/venv")) / "bin" / "ferry"',
        f"{_WORK}/venv/bin/pytest tests/unit/web",
        f'env = {{"HOME": "{_ROOT}"}}',
        f"cd {_WORK}/main && make",
        f"see {_HOME}/alice/notes.txt",
        "/" + "Users/bob/src/imageferry/.venv/bin/python",
        "/opt/venv" + "/bin/ferry copy a b",
        "/srv/app/.venv" + "/bin/python -m imageferry",
        f"{_ROOT}/.pyenv/versions/3.11.7/bin/python",
    ],
)
def test_the_check_finds(line: str) -> None:
    assert machine_paths(line)


@pytest.mark.parametrize(
    "line",
    [
        ".venv/bin/pytest -q tests/unit",
        "`.venv/bin/ferry demo`",
        '[str(venv / "bin" / "ferry")]',
        "/usr/bin/chromium, /usr/lib/postgresql/*/bin/initdb, /dev/shm, /tmp/x",
        "~/work/imageferry and $HOME/work and ${HOME}/work",
        "https://example.com/home/index.html and http://127.0.0.1:5000/root/app",
        "tests/work/data.json, src/imageferry/web/home.html",
        "GET /v2/library/ubuntu/manifests/22.04",
    ],
)
def test_the_check_lets_pass(line: str) -> None:
    assert machine_paths(line) == []
