"""A defect anywhere in a command: one line on the terminal, the traceback in ferry.log."""

from __future__ import annotations

from pathlib import Path

import pytest

from imageferry.cli import entry, main


def test_a_defect_is_one_line_and_its_traceback_goes_to_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(**kwargs: object) -> None:
        raise KeyError("missing-key")

    monkeypatch.setattr(main, "app", broken)
    monkeypatch.setattr("sys.argv", ["ferry", "task", "list"])
    monkeypatch.setenv("FERRY_DATA_DIR", str(tmp_path))

    with pytest.raises(SystemExit) as exited:
        entry.main()

    assert exited.value.code == 1
    log = tmp_path / "ferry.log"
    err = capsys.readouterr().err
    assert err == (
        "ferry: error: internal error (KeyError: 'missing-key'); this is a bug in imageferry, "
        f"please report it with the traceback from {log}\n"
    )
    logged = log.read_text()
    assert "a command failed with an internal error" in logged
    assert "Traceback (most recent call last)" in logged
    assert 'raise KeyError("missing-key")' in logged
