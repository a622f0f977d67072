"""What an alarm says and what sends it.

When a run ends in ERROR, the task's ``alarmEmail`` receives one message naming
the task, the run, the failed images and the first error of each. The
reference sends a bare JSON blob per failed image (``{"error": "Failed to copy
image", ...}``) through SNS; we send one readable message per run, by SNS or
SMTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from imageferry.errors import FerryError

__all__ = ["Alarm", "AlarmError", "FailedImage", "Notifier"]


class AlarmError(FerryError):
    """An alarm could not be delivered (SMTP or SNS refused or unreachable)."""


class FailedImage(NamedTuple):
    """One image of a run that failed, with the first error it hit."""

    image: str
    error: str


@dataclass(frozen=True, init=False)
class Alarm:
    """A run that ended badly, addressed to ``recipient``.

    ``failed`` lists every failed image (rendering truncates long lists);
    ``total``, ``copied`` and ``skipped`` count the run's images.
    """

    task_id: str
    task_name: str
    run_id: str
    status: str
    recipient: str
    failed: tuple[FailedImage, ...] = ()
    total: int = 0
    copied: int = 0
    skipped: int = 0

    def __init__(
        self,
        *,
        task_id: str,
        task_name: str,
        run_id: str,
        status: str,
        recipient: str,
        failed: Iterable[tuple[str, str]] = (),
        total: int = 0,
        copied: int = 0,
        skipped: int = 0,
    ) -> None:
        # Accept any iterable of (image, error) pairs but keep an immutable tuple.
        object.__setattr__(self, "task_id", task_id)
        object.__setattr__(self, "task_name", task_name)
        object.__setattr__(self, "run_id", run_id)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "recipient", recipient)
        object.__setattr__(self, "failed", tuple(FailedImage(i, e) for i, e in failed))
        object.__setattr__(self, "total", total)
        object.__setattr__(self, "copied", copied)
        object.__setattr__(self, "skipped", skipped)


class Notifier(Protocol):
    """Delivers an alarm. Raises :class:`AlarmError` when delivery fails."""

    @property
    def channel(self) -> str:
        """Where alarms go, for logs: ``SMTP server host:25``. Never a credential."""

    def send(self, alarm: Alarm) -> None: ...
