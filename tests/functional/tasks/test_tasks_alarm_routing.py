"""Each run's log says where its alarm went, or that none was sent and why."""

from __future__ import annotations

from fixtures.aws import SmtpSink
from fixtures.tasks import Runtimes, run_to_end
from imageferry.sandbox.registry import free_port
from imageferry.store.status import RunStatus

#: Fails before any image is selected: its srcCredential does not exist.
FAILING = {
    "sourceType": "Public",
    "srcRegistry": "127.0.0.1:9",
    "srcList": "SELECTED",
    "srcImageList": "app:1",
    "srcCredential": "no-such-secret",
    "destRegistry": "127.0.0.1:9",
    "scheduleType": "ONE_TIME",
}


def _alarm_line(runtimes: Runtimes, parameters: dict[str, str], **settings: object) -> str:
    runtime = runtimes.make(**settings)
    task = runtime.service.create_task(parameters)
    run = run_to_end(runtime, task.id)
    assert run.status is RunStatus.ERROR
    lines = [line.message for line in runtime.service.logs(run.id)]
    # The alarm line comes after the run's closing line.
    assert lines[-2].startswith("run ended ERROR before any image was selected: secret")
    return lines[-1]


def test_no_backend_says_so_and_how_to_set_one(runtimes: Runtimes) -> None:
    line = _alarm_line(runtimes, {**FAILING, "alarmEmail": "ops@example.com"})
    assert line == (
        "no alarm sent: no alarm backend is configured (FERRY_ALARM_BACKEND=none); set "
        "FERRY_ALARM_BACKEND to smtp or sns (and its FERRY_SMTP_* or FERRY_SNS_* settings)"
    )


def test_no_alarm_email_says_so(runtimes: Runtimes, smtp_server: SmtpSink) -> None:
    smtp = {"smtp_host": smtp_server.host, "smtp_port": smtp_server.port}
    line = _alarm_line(runtimes, FAILING, alarm_backend="smtp", **smtp)
    assert line == "no alarm sent: the task has no alarmEmail"
    assert smtp_server.received == []


def test_a_sent_alarm_names_its_recipient_and_channel(
    runtimes: Runtimes, smtp_server: SmtpSink
) -> None:
    line = _alarm_line(
        runtimes,
        {**FAILING, "alarmEmail": "ops@example.com"},
        alarm_backend="smtp",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
    )
    assert line == f"alarm sent to ops@example.com by SMTP server 127.0.0.1:{smtp_server.port}"
    assert [m.rcpt_tos for m in smtp_server.received] == [("ops@example.com",)]


def test_an_undeliverable_alarm_says_why(runtimes: Runtimes) -> None:
    port = free_port()
    line = _alarm_line(
        runtimes,
        {**FAILING, "alarmEmail": "ops@example.com"},
        alarm_backend="smtp",
        smtp_port=port,
    )
    assert line.startswith("sending the alarm for run ")
    assert f"to ops@example.com through SMTP server 127.0.0.1:{port} failed" in line
