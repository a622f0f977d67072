from pathlib import Path

import boto3
from pydantic import SecretStr

from imageferry.alarms import SmtpNotifier, SnsNotifier, open_notifier
from imageferry.settings import Settings


def test_alarms_are_off_by_default(tmp_path: Path) -> None:
    assert open_notifier(Settings(data_dir=tmp_path)) is None


def test_smtp_from_settings_hides_the_password(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        alarm_backend="smtp",
        smtp_host="mail.example.com",
        smtp_port=587,
        smtp_username="ferry",
        smtp_password=SecretStr("mail-pa55"),
        smtp_starttls=True,
        smtp_sender="ferry@example.com",
    )
    notifier = open_notifier(settings)
    assert notifier == SmtpNotifier(
        host="mail.example.com",
        port=587,
        username="ferry",
        password="mail-pa55",
        starttls=True,
        sender="ferry@example.com",
    )
    assert "mail-pa55" not in repr(notifier)


def test_sns_uses_the_topic_name_and_session(tmp_path: Path) -> None:
    session = boto3.Session(
        aws_access_key_id="a", aws_secret_access_key="b", region_name="eu-west-1"
    )
    settings = Settings(data_dir=tmp_path, alarm_backend="sns", sns_topic_name="ferry-alarms")
    notifier = open_notifier(settings, session)
    assert isinstance(notifier, SnsNotifier)
    assert notifier.topic_name == "ferry-alarms"
