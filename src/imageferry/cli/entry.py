"""The ``ferry`` executable.

Start-up is most of a short ``ferry copy``, so this module imports nothing of its
own: :mod:`imageferry.cli.main` loads only the module of the command being run,
and each command imports its heavy libraries (aiohttp, SQLAlchemy, boto3) when it
runs, not when its ``--help`` is asked for.
"""

from __future__ import annotations

import gc

__all__ = ["main"]


def main() -> None:
    from imageferry.cli.main import app

    try:
        app(prog_name="ferry")
    except Exception as e:  # a defect: one line here, the traceback in the log
        _report_defect(e)
    finally:
        # At exit the interpreter's last cyclic collection walks every object the
        # imports made: 30 to 50 ms of a short command such as an up-to-date copy.
        # The command is over (its files closed, its output flushed by the
        # interpreter as usual), so those objects are left to the process's end.
        gc.freeze()


def _report_defect(error: Exception) -> None:
    import os
    import sys

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
