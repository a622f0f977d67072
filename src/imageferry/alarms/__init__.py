"""Alarm e-mails for runs that end in ERROR: SMTP or Amazon SNS."""

from typing import TYPE_CHECKING, Any

from imageferry.alarms.base import Alarm, AlarmError, FailedImage, Notifier
from imageferry.alarms.factory import open_notifier
from imageferry.alarms.render import redact, render_alarm
from imageferry.alarms.smtp import SmtpNotifier

if TYPE_CHECKING:
    from imageferry.alarms.sns import SnsNotifier


def __getattr__(name: str) -> Any:
    # SNS loads boto3: only for those who use it, not every task run.
    if name == "SnsNotifier":
        from imageferry.alarms.sns import SnsNotifier

        return SnsNotifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Alarm",
    "AlarmError",
    "FailedImage",
    "Notifier",
    "SmtpNotifier",
    "SnsNotifier",
    "open_notifier",
    "redact",
    "render_alarm",
]
