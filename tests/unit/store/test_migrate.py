from __future__ import annotations

from pathlib import Path

import pytest

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
