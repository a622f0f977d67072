"""Alarm e-mails for runs that end in ERROR: SMTP or Amazon SNS."""

from imageferry.alarms.base import Alarm, AlarmError, FailedImage, Notifier
from imageferry.alarms.factory import open_notifier
from imageferry.alarms.render import redact, render_alarm
from imageferry.alarms.smtp import SmtpNotifier
from imageferry.alarms.sns import SnsNotifier

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
