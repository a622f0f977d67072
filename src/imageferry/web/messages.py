"""What the pages say after a button: refusals in the page's words, and run messages
that last exactly as long as their run.
"""

from __future__ import annotations

from imageferry.errors import FerryError
from imageferry.store.errors import RunAlreadyActive, RunNotFound, TaskBusy
from imageferry.store.status import FINISHED_RUN_STATUSES, RunStatus
from imageferry.tasks.service import NoActiveRun
from imageferry.web.console import Console

__all__ = ["refusal", "run_message"]


def run_message(console: Console, task_id: str, about: str) -> dict[str, str]:
    """The page's message, brought up to date when it is ``about`` a run.

    "Run #2 started" holds while run #2 is active; once it has ended the page
    says how it ended instead, so a message never outlives what it announced.
    Returns the ``msg``/``error`` to render instead of the query's, or nothing.
    """
    if not about:
        return {}
    try:
        run = console.service.get_run(about)
    except RunNotFound:
        return {"msg": ""}
    if run.task_id != task_id or run.status not in FINISHED_RUN_STATUSES:
        return {}
    ended = (
        f"Run #{run.number} ended {run.status.value}: {run.images_copied} copied, "
        f"{run.images_skipped} skipped, {run.images_failed} failed"
    )
    if run.status is RunStatus.ERROR:
        return {"msg": "", "error": ended}
    return {"msg": ended}


def _run_named(console: Console, run_id: str) -> str:
    try:
        return f"run #{console.service.get_run(run_id).number}"
    except RunNotFound:
        return "a run"


def refusal(console: Console, error: FerryError) -> str:
    """Why a button did nothing, in the page's words.

    The service's messages for these refusals tell a terminal user which
    ``ferry`` command to type; a console user has the page's buttons instead.
    """
    if isinstance(error, NoActiveRun):
        return "Nothing to stop: the task has no active run (its last run has ended)."
    if isinstance(error, RunAlreadyActive):
        active = _run_named(console, error.active_run_id)
        return f"Not started: {active} is still active; wait for it to end, or stop it."
    if isinstance(error, TaskBusy):
        active = _run_named(console, error.active_run_id)
        return f"Not deleted: {active} is still active; stop it first."
    return str(error)
