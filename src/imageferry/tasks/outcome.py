"""How a finished run is told in one line: the run's log, ``ferry task run`` and ``show``.

One wording everywhere, so a terminal that shows both the log and the summary
can leave the log's closing line out and lose nothing (:data:`CLOSING`).
A run that failed before any image was selected (no credentials, an
unreachable endpoint) says only why: "0 copied, 0 skipped, 0 failed of 0"
would say nothing.
"""

from __future__ import annotations

from imageferry.store.records import RunRecord
from imageferry.store.status import RunStatus

__all__ = ["CLOSING", "run_outcome"]

#: How the run's closing log line begins.
CLOSING = "run ended"


def run_outcome(run: RunRecord, details: str = "") -> str:
    """``ended DONE: 2 copied, 1 skipped, 0 failed of 3`` (then ``details``, then
    the error), or ``ended ERROR before any image was selected: <why>``."""
    status = run.status.value
    if run.status is RunStatus.ERROR and run.images_total == 0 and run.error:
        return f"ended {status} before any image was selected: {run.error}"
    text = (
        f"ended {status}: {run.images_copied} copied, {run.images_skipped} skipped, "
        f"{run.images_failed} failed of {run.images_total}"
    )
    if details:
        text += f"; {details}"
    return text + (f"; {run.error}" if run.error else "")
