"""A defect of imageferry during a run: one line for the user, the traceback in the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from functional.cli.conftest import Ferry, output
from imageferry.tasks import execution


def test_a_defect_shows_one_line_and_leaves_its_traceback_in_the_log_file(
    ferry: Ferry, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(execution, "open_connections", broken)
    parameters = ("--param", "sourceType=Public", "--param", "srcImageList=app:1")
    parameters += ("--param", "srcList=SELECTED", "--param", "destRegistry=127.0.0.1:9")
    created = ferry("task", "create", *parameters)
    assert created.exit_code == 0, output(created)

    run = ferry("task", "run", created.stdout.strip())

    assert run.exit_code == 1, output(run)
    text = run.stdout + run.stderr
    assert "Traceback" not in text
    log_file = data_dir / "ferry.log"
    assert run.stdout.strip().endswith(
        "ended ERROR before any image was selected: internal error (ZeroDivisionError: "
        "division by zero); this is a bug in imageferry, please report it with the traceback "
        f"from {log_file}"
    )
    assert text.count("ZeroDivisionError") == 1
    logged = log_file.read_text()
    assert "failed with an internal error" in logged
    assert "Traceback (most recent call last)" in logged
    assert 'raise ZeroDivisionError("division by zero")' in logged
