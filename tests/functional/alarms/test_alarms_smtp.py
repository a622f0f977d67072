"""SmtpNotifier against a real SMTP server (aiosmtpd on loopback)."""

import pytest

from imageferry.alarms import Alarm, AlarmError, SmtpNotifier, open_notifier
from imageferry.settings import Settings
from stand_ins.registry import free_port

ALARM = Alarm(
    task_id="task-9b1e",
    task_name="mirror-dockerhub",
    run_id="run-0007",
    status="ERROR",
    recipient="oncall@example.com",
    failed=[
        ("docker.io/library/nginx:1.27", "TOOMANYREQUESTS: pull rate limit reached"),
        ("quay.io/prometheus/node-exporter:v1.8", "NotFound: manifest unknown"),
    ],
    total=12,
    copied=4,
    skipped=6,
)


def test_alarm_mail_arrives_with_task_run_images_and_errors(smtp_server) -> None:
    notifier = SmtpNotifier(
        host=smtp_server.host, port=smtp_server.port, sender="ferry@example.org"
    )
    notifier.send(ALARM)

    assert len(smtp_server.received) == 1
    mail = smtp_server.received[0]
    assert mail.mail_from == "ferry@example.org"
    assert mail.rcpt_tos == ("oncall@example.com",)
    message = mail.message
    assert message["To"] == "oncall@example.com"
    assert "mirror-dockerhub" in message["Subject"]
    assert "run-0007" in message["Subject"]
    body = message.get_content()
    for text in (
        "mirror-dockerhub",
        "task-9b1e",
        "run-0007",
        "2 of 12 images failed",
        "docker.io/library/nginx:1.27",
        "TOOMANYREQUESTS: pull rate limit reached",
        "quay.io/prometheus/node-exporter:v1.8",
        "NotFound: manifest unknown",
    ):
        assert text in body, text


def test_settings_select_smtp(smtp_server, tmp_path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        alarm_backend="smtp",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_sender="alarms@ferry.test",
    )
    notifier = open_notifier(settings)
    assert notifier is not None
    notifier.send(ALARM)
    assert [m.mail_from for m in smtp_server.received] == ["alarms@ferry.test"]


def test_unreachable_server_is_an_alarm_error() -> None:
    notifier = SmtpNotifier(host="127.0.0.1", port=free_port(), password="mail-secret", timeout=5)
    with pytest.raises(AlarmError) as info:
        notifier.send(ALARM)
    message = str(info.value)
    assert "run-0007" in message and "oncall@example.com" in message
    assert "mail-secret" not in message
