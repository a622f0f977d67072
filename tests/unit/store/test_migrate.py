from __future__ import annotations

from pathlib import Path

import pytest

from imageferry.errors import ConfigError
from imageferry.store import StoreUnavailable, current_revision, head_revision
from imageferry.store.engine import make_engine
from imageferry.store.migrate import migrate


def test_migrate_needs_no_alembic_ini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no alembic.ini anywhere near
    url = f"sqlite:///{tmp_path / 'data' / 'imageferry.db'}"
    migrate(url)
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision() == "0005"
    finally:
        engine.dispose()


def test_unreachable_database_is_reported_without_its_password() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed.
    url = f"postgresql+psycopg://ferry:hunter2@127.0.0.1:{port}/ferry?connect_timeout=5"
    with pytest.raises(StoreUnavailable) as caught:
        migrate(url)
    message = str(caught.value)
    assert "hunter2" not in message
    assert f"127.0.0.1:{port}" in message
    assert "FERRY_DATABASE_URL" in message
    assert "\n" not in message  # psycopg's hint comes on a line of its own: one line here


@pytest.mark.parametrize("url", ["nonsense-hunter2", "nosuchdb://ferry:hunter2@127.0.0.1/ferry"])
def test_a_database_url_sqlalchemy_cannot_use_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        migrate(url)
    message = str(caught.value)
    assert message.startswith("FERRY_DATABASE_URL ")
    assert "hunter2" not in message
    assert "postgresql+psycopg://USER:PASSWORD@HOST/DB" in message
