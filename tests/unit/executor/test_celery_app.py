"""The Celery app: late acks, redelivery of a dead worker's batches, one clear line
when Celery is missing or the settings do not make a distributed setup."""

from __future__ import annotations

import sys

import pytest

from imageferry.errors import ConfigError
from imageferry.executor.celery_app import (
    TASK_NAME,
    create_app,
    describe_broker,
    import_celery,
    transport_options,
)
from imageferry.settings import Settings

BROKER = "redis://:s3cret@127.0.0.1:6399/0"


def _settings(**kw: object) -> Settings:
    values: dict[str, object] = {"broker_url": BROKER, "database_url": "sqlite:///ferry.db"}
    return Settings(**{**values, **kw})  # type: ignore[arg-type]


def test_the_app_acknowledges_late_and_takes_one_batch_at_a_time() -> None:
    app = create_app(_settings(queue="copies", broker_visibility_timeout=8))
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_default_queue == "copies"
    assert conf.broker_transport_options == {
        "visibility_timeout": 8,
        "unacked_restore_interval": 2,
        "unacked_restore_throttle": 1,
    }
    assert TASK_NAME in app.tasks


def test_a_long_visibility_timeout_is_still_swept_every_ten_seconds() -> None:
    assert transport_options(_settings())["unacked_restore_interval"] == 10


def test_celery_mode_needs_a_broker_and_a_shared_store() -> None:
    with pytest.raises(ConfigError, match="FERRY_BROKER_URL"):
        create_app(_settings(broker_url=""))
    with pytest.raises(ConfigError, match="FERRY_DATABASE_URL"):
        create_app(_settings(database_url=""))


def test_the_broker_password_is_never_shown() -> None:
    shown = describe_broker(_settings())
    assert "s3cret" not in shown and "127.0.0.1:6399" in shown


def test_without_celery_installed_one_line_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "celery", None)
    with pytest.raises(ConfigError) as raised:
        import_celery()
    assert str(raised.value) == (
        "the celery executor needs Celery and Redis: install 'imageferry[celery]'"
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://user:s3cret@h:6379/0", "redis://user:***@h:6379/0"),
        ("redis://:s3/cr@t@h:6379/0", "redis://:***@h:6379/0"),  # unescaped '/' and '@'
        ("redis://h:6379/0", "redis://h:6379/0"),
    ],
)
def test_the_broker_password_is_masked_in_any_url(url: str, shown: str) -> None:
    assert describe_broker(_settings(broker_url=url)) == shown
