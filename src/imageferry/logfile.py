"""imageferry's own log in a file, for processes whose terminal belongs to the user.

``ferry task run`` executes runs in the CLI process. Python's last-resort
handler would print the log there, tracebacks included; the user should see
one line per problem, and a defect's traceback belongs in a log a developer
can be sent. While :func:`log_to_file` is active, the ``imageferry`` loggers
write to a file instead (``ferry serve`` keeps logging to its own stderr,
which is the server's log).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

__all__ = ["LOG_FILE_NAME", "defect_line", "log_to_file", "record_defect"]

#: The file under the data directory.
LOG_FILE_NAME = "ferry.log"

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def defect_line(error: BaseException, log_location: str) -> str:
    """The one line a user sees for a defect of imageferry, never a traceback."""
    text = str(error).strip()
    first_line = text.splitlines()[0][:200] if text else ""
    what = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
    return (
        f"internal error ({what}); this is a bug in imageferry, please report it with "
        f"the traceback from {log_location}"
    )


def record_defect(error: BaseException, path: Path) -> str:
    """Append ``error``'s traceback to the log at ``path``; where it went, for the user.

    When the log cannot be written (a read-only data directory), the traceback
    is the only record there is: it goes to stderr after all.
    """
    text = "".join(traceback.format_exception(error))
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as log:
            log.write(f"{stamp} ERROR a command failed with an internal error\n{text}")
    except OSError:
        sys.stderr.write(text)
        return "the traceback above"
    return str(path)


@contextmanager
def log_to_file(path: Path) -> Iterator[Path]:
    """While inside, the ``imageferry`` loggers write to ``path`` only (created on first line)."""
    logger = logging.getLogger("imageferry")
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter(_FORMAT))
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        handler.close()
