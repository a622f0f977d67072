"""The console's code and pages say what things do, never which tracker item asked for them."""

from __future__ import annotations

import re
from pathlib import Path

import imageferry.web

ROOT = Path(__file__).resolve().parents[3]
WEB = Path(imageferry.web.__file__).parent
TESTS = [ROOT / "tests" / d for d in ("browser", "unit/web", "functional/web")]
TRACKER = re.compile(r"\b(issue|item)s?\s*#?\d+", re.IGNORECASE)


def _texts() -> list[Path]:
    files = [p for p in WEB.rglob("*") if p.suffix in {".py", ".html", ".js", ".css"}]
    for folder in TESTS:
        files.extend(folder.rglob("*.py"))
    return files


def test_no_issue_numbers_in_the_console_or_its_tests() -> None:
    found = [
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{n}: {line.strip()}"
        for path in _texts()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if TRACKER.search(line) and path != Path(__file__)
    ]
    assert len(_texts()) > 20
    assert not found, "\n".join(found)
