import dataclasses

import pytest

import imageferry.alarms as alarms
from imageferry.alarms import Alarm, FailedImage, redact, render_alarm


def _alarm(failed: int = 2, **overrides: object) -> Alarm:
    values: dict[str, object] = dict(
        task_id="7f3c2a",
        task_name="nightly-ecr",
        run_id="run-42",
        status="ERROR",
        recipient="ops@example.com",
        failed=[
            (f"docker.io/library/img{i}:1.{i}", f"MANIFEST_UNKNOWN on img{i}")
            for i in range(failed)
        ],
        total=10,
        copied=5,
        skipped=10 - 5 - failed,
    )
    values.update(overrides)
    return Alarm(**values)  # type: ignore[arg-type]


def test_public_names_exist() -> None:
    for name in alarms.__all__:
        assert hasattr(alarms, name), name


def test_alarm_is_immutable_and_keeps_typed_pairs() -> None:
    alarm = _alarm()
    assert alarm.failed[0] == FailedImage("docker.io/library/img0:1.0", "MANIFEST_UNKNOWN on img0")
    assert alarm.failed[0].image == "docker.io/library/img0:1.0"
    with pytest.raises(dataclasses.FrozenInstanceError):
        alarm.status = "DONE"  # type: ignore[misc]


def test_body_names_task_run_counts_images_and_first_errors() -> None:
    subject, body = render_alarm(_alarm())
    for text in ("nightly-ecr", "7f3c2a", "run-42", "ERROR", "2 of 10 images failed", "5 copied"):
        assert text in body, text
    for i in range(2):
        assert f"docker.io/library/img{i}:1.{i}" in body
        assert f"MANIFEST_UNKNOWN on img{i}" in body
    assert "ferry task show 7f3c2a" in body
    assert "nightly-ecr" in subject and "run-42" in subject and "2 of 10" in subject


def test_long_lists_are_cut_with_a_count() -> None:
    _, body = render_alarm(_alarm(failed=45, total=50, skipped=0), max_listed=20)
    assert "img19:" in body
    assert "img20:" not in body
    assert "and 25 more" in body


def test_subject_fits_sns_and_is_one_line() -> None:
    alarm = _alarm(task_name="a very\nlong task name " * 20, run_id="0" * 36)
    subject, _ = render_alarm(alarm)
    assert len(subject) <= 100
    assert "\n" not in subject and "\r" not in subject


def test_multiline_errors_become_one_line() -> None:
    alarm = Alarm(
        task_id="t",
        task_name="n",
        run_id="r",
        status="ERROR",
        recipient="a@b.c",
        failed=[("img:1", "line one\nline two\n\tline three")],
        total=1,
    )
    _, body = render_alarm(alarm)
    assert "line one line two line three" in body


@pytest.mark.parametrize(
    ("error", "secret"),
    [
        ("GET https://bob:hunter2@registry.example.com/v2/ failed", "hunter2"),
        ("header Authorization: Bearer eyJhbGciOi.payload.sig was refused", "eyJhbGciOi"),
        ("Basic Ym9iOmh1bnRlcjI= rejected", "Ym9iOmh1bnRlcjI"),
        (
            "https://s3.amazonaws.com/b?X-Amz-Signature=abcdef0123&X-Amz-Credential=AKIA/x",
            "abcdef0123",
        ),
        ("login failed: password=hunter2, user=bob", "hunter2"),
        ("token=s3cr3t-tok", "s3cr3t-tok"),
    ],
)
def test_credentials_in_errors_are_masked(error: str, secret: str) -> None:
    assert secret not in redact(error)
    _, body = render_alarm(
        Alarm(
            task_id="t",
            task_name="n",
            run_id="r",
            status="ERROR",
            recipient="a@b.c",
            failed=[("img:1", error)],
            total=1,
        )
    )
    assert secret not in body
    assert "***" in body


def test_redaction_keeps_the_useful_part() -> None:
    assert redact("GET https://bob:pw@reg.io/v2/x failed: 401") == (
        "GET https://***@reg.io/v2/x failed: 401"
    )
