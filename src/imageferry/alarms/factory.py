"""Pick the alarm channel the configuration asks for (``FERRY_ALARM_BACKEND``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imageferry.alarms.base import Notifier
from imageferry.alarms.smtp import SmtpNotifier
from imageferry.aws import aws_session
from imageferry.settings import Settings

if TYPE_CHECKING:
    import boto3

__all__ = ["open_notifier"]


def open_notifier(settings: Settings, session: boto3.Session | None = None) -> Notifier | None:
    """The SMTP or SNS notifier, or None when alarms are off (``none``)."""
    if settings.alarm_backend == "smtp":
        return SmtpNotifier(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            starttls=settings.smtp_starttls,
            sender=settings.smtp_sender,
        )
    if settings.alarm_backend == "sns":
        from imageferry.alarms.sns import SnsNotifier  # boto3 only for this channel

        return SnsNotifier(session or aws_session(settings.aws_region), settings.sns_topic_name)
    return None
