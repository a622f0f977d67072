"""Comments and user-facing text say what the code does, not which tracker issue asked for it.

A reference such as "(issue 3, item 4)" means nothing to a reader without the
tracker, goes stale when issues are renumbered or closed, and has shown up in
the console's help text. The source tree, the tests, the docs, the benchmarks
and the scripts are checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("src", "tests", "docs", "bench", "scripts", "README.md")
SKIPPED_DIRS = {"__pycache__", "node_modules", ".venv", ".git"}
TEXT_SUFFIXES = {
    "",
    ".py",
    ".md",
    ".rst",
    ".txt",
    ".html",
    ".jinja",
    ".j2",
    ".js",
    ".css",
    ".toml",
    ".yaml",
    ".yml",
    ".json",
    ".sh",
    ".cfg",
    ".ini",
    ".sql",
}

#: "issue 3", "Issue 4, item 1", "issues 3", "issue #12", "test_of_issue_3"; not "issued"
#: nor "run #2".
ISSUE_NUMBER = re.compile(r"(?:\b|_)issues?[\s_]*#?\s*\d+", re.IGNORECASE)


def _files() -> Iterator[Path]:
    this = Path(__file__).resolve()
    for name in CHECKED:
        top = ROOT / name
        candidates = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in candidates:
            if SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts) or path == this:
                continue
            if path.is_file() and path.suffix in TEXT_SUFFIXES:
                yield path


def issue_references(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` of each line that names an issue number."""
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if ISSUE_NUMBER.search(line)
    ]


def test_the_pattern_finds_issue_numbers_and_nothing_else() -> None:
    text = "\n".join(
        [
            '"""Alarm e-mails (issue 3, item 8)."""',
            "Issue 4, item 1: the CLI talks to a server",
            "see issue #12 and issues 5-6",
            "def test_every_command_of_issue_3_item_9_exists():",
            'token = f"tok{len(issued)}"',
            "Run #2 started",
            "we issue BEGIN ourselves",
        ]
    )
    assert [number for number, _ in issue_references(text)] == [1, 2, 3, 4]


def test_no_issue_numbers_in_the_tree() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line}"
        for path in _files()
        for number, line in issue_references(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not found, "say what the code does instead of citing an issue:\n" + "\n".join(found)
