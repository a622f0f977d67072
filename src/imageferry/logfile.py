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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["LOG_FILE_NAME", "log_to_file"]

#: The file under the data directory.
LOG_FILE_NAME = "ferry.log"

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
