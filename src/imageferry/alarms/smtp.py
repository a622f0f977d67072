"""Alarm e-mail over SMTP, for installations without AWS (``FERRY_ALARM_BACKEND=smtp``).

Uses the standard library's :mod:`smtplib` (blocking; async callers run
:meth:`SmtpNotifier.send` in a thread). STARTTLS verifies the server's
certificate with the system trust store.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imageferry.alarms.base import Alarm, AlarmError
from imageferry.alarms.render import render_alarm

if TYPE_CHECKING:
    from email.message import EmailMessage

# smtplib and the e-mail package load when an alarm is sent, not at every task run.

__all__ = ["SmtpNotifier"]


@dataclass(frozen=True)
class SmtpNotifier:
    """Sends each alarm as one plain-text e-mail from ``sender`` to the alarm's recipient."""

    host: str
    port: int = 25
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    sender: str = "imageferry@localhost"
    timeout: float = 30.0

    @property
    def channel(self) -> str:
        return f"SMTP server {self.host}:{self.port}"

    def message(self, alarm: Alarm) -> EmailMessage:
        """The e-mail that :meth:`send` delivers for ``alarm``."""
        from email.message import EmailMessage
        from email.utils import formatdate, make_msgid

        subject, body = render_alarm(alarm)
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = alarm.recipient
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        msg.set_content(body)
        return msg

    def send(self, alarm: Alarm) -> None:
        import smtplib

        msg = self.message(alarm)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as e:
            # smtplib errors carry the server's reply, never the password we sent.
            raise AlarmError(
                f"sending the alarm for run {alarm.run_id} to {alarm.recipient} through "
                f"SMTP server {self.host}:{self.port} failed: {e}; check FERRY_SMTP_* settings"
            ) from None
