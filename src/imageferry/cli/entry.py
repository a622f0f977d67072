"""The ``ferry`` executable: hand ``ferry copy`` to the command server when one runs.

Everything else, and ``copy`` when no server answers, runs in-process through
:mod:`imageferry.cli.main`. After an in-process ``copy`` the launcher starts a
server in the background so the next one starts warm (see
:mod:`imageferry.cmdserver`); ``FERRY_COMMAND_SERVER=off`` turns both off.
This module imports only the standard library before deciding.
"""

from __future__ import annotations

import os
import sys

__all__ = ["SERVED", "main"]

#: Commands the server runs (what it preloads); others always run in-process.
SERVED = frozenset({"copy"})


def _server_socket(argv: list[str]) -> str | None:
    if not argv or argv[0] not in SERVED:
        return None
    from imageferry.cmdserver import paths

    return paths.socket_path() if paths.enabled(os.environ) else None


def main() -> None:
    argv = sys.argv[1:]
    path = _server_socket(argv)
    if path is not None:
        from imageferry.cmdserver import client

        code = client.run(argv, path)
        if code is not None:
            sys.exit(code)
    from imageferry.cli.main import app

    try:
        app(prog_name="ferry")
    except Exception as e:  # a defect: one line here, the traceback in the log
        _report_defect(e)
    finally:
        if path is not None:
            client.spawn(path)


def _report_defect(error: Exception) -> None:
    from imageferry.logfile import LOG_FILE_NAME, defect_line, record_defect
    from imageferry.settings import Settings

    try:
        log_path = Settings().data_dir / LOG_FILE_NAME
    except Exception:  # the settings themselves are broken: the temporary directory
        import tempfile
        from pathlib import Path

        log_path = Path(tempfile.gettempdir()) / f"imageferry-{os.getuid()}" / LOG_FILE_NAME
    where = record_defect(error, log_path)
    sys.stderr.write(f"ferry: error: {defect_line(error, where)}\n")
    sys.exit(1)
