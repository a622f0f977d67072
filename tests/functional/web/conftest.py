"""Fixtures for the console's API and page tests: the real app, store and secret store.

Everything is real except the executor: the tests play it by recording
results, logs and run ends in the store (see ``console_helpers.StoreTasks``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from console_helpers import ADMIN_PASSWORD, StoreTasks, log_in
from fastapi import FastAPI

from imageferry.secrets import open_secret_store
from imageferry.settings import Settings
from imageferry.store import (
    Store,
    open_store,
)
from imageferry.web import create_app


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", admin_password=ADMIN_PASSWORD)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with open_store(settings) as s:
        yield s


@pytest.fixture
def service(store: Store) -> StoreTasks:
    return StoreTasks(store)


@pytest.fixture
def app(settings: Settings, store: Store, service: StoreTasks) -> FastAPI:
    return create_app(
        settings,
        service=service,
        accounts=store,
        secret_store=open_secret_store(settings),
        out=io.StringIO(),
    )


@pytest.fixture
def client(app: FastAPI) -> Iterator[httpx.Client]:
    """An anonymous client (no session, no token)."""
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


@pytest.fixture
def admin(client: httpx.Client) -> tuple[httpx.Client, str]:
    """``client`` logged in as admin, and its CSRF token."""
    return client, log_in(client)


@pytest.fixture
def token(app: FastAPI, store: Store) -> str:
    return store.create_api_token("admin", "tests").plaintext


@pytest.fixture
def bearer(client: httpx.Client, token: str) -> httpx.Client:
    client.headers["Authorization"] = f"Bearer {token}"
    return client
