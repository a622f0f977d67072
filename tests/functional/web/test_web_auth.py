"""Login, sessions, CSRF and API tokens against the real app and store."""

from __future__ import annotations

import io
import re

import httpx
from fastapi import FastAPI

from fixtures.browser import ADMIN_PASSWORD, VALID, csrf_from
from imageferry.settings import Settings
from imageferry.store import Store, open_store
from imageferry.web import create_app


def test_pages_redirect_to_login_and_api_answers_401(client: httpx.Client) -> None:
    page = client.get("/tasks/new")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Ftasks%2Fnew"
    api = client.get("/api/tasks")
    assert api.status_code == 401
    assert api.headers["www-authenticate"] == "Bearer"
    assert client.get("/metrics").status_code == 401
    assert client.post("/api/tasks", json={"parameters": VALID}).status_code == 401


def test_login_sets_a_hardened_session_cookie(client: httpx.Client) -> None:
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": csrf_from(form.text)},
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert client.get("/api/tasks").status_code == 200


def test_wrong_password_is_refused(client: httpx.Client) -> None:
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "admin", "password": "nope", "csrf_token": csrf_from(form.text)},
    )
    assert response.status_code == 401
    assert "Wrong user name or password" in response.text
    assert client.get("/api/tasks").status_code == 401


def test_login_form_needs_its_csrf_token(client: httpx.Client) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert client.get("/api/tasks").status_code == 401


def test_five_failures_a_minute_then_429_even_with_the_right_password(
    client: httpx.Client,
) -> None:
    for _ in range(5):
        form = client.get("/login")
        bad = {"username": "admin", "password": "guess", "csrf_token": csrf_from(form.text)}
        assert client.post("/login", data=bad).status_code == 401
    form = client.get("/login")
    good = {"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": csrf_from(form.text)}
    blocked = client.post("/login", data=good)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert client.get("/api/tasks").status_code == 401


def test_session_writes_need_the_csrf_header(admin: tuple[httpx.Client, str]) -> None:
    client, csrf = admin
    refused = client.post("/api/tasks", json={"parameters": VALID})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    wrong = client.post("/api/tasks", json={"parameters": VALID}, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    created = client.post("/api/tasks", json={"parameters": VALID}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201


def test_page_forms_need_the_csrf_field(admin: tuple[httpx.Client, str], store: Store) -> None:
    client, csrf = admin
    task = store.create_task(VALID)
    assert client.post(f"/tasks/{task.id}/start", data={}).status_code == 403
    assert store.latest_run(task.id) is None
    started = client.post(f"/tasks/{task.id}/start", data={"csrf_token": csrf})
    assert started.status_code == 303
    assert store.latest_run(task.id) is not None


def test_bearer_tokens_work_without_csrf(bearer: httpx.Client) -> None:
    created = bearer.post("/api/tasks", json={"parameters": VALID, "name": "by token"})
    assert created.status_code == 201
    assert created.json()["name"] == "by token"


def test_unknown_bearer_token_is_refused(client: httpx.Client) -> None:
    response = client.get("/api/tasks", headers={"Authorization": "Bearer ferry_not-a-token"})
    assert response.status_code == 401


def test_a_session_can_create_an_api_token_shown_once(
    admin: tuple[httpx.Client, str], store: Store
) -> None:
    client, csrf = admin
    response = client.post("/api/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201
    plaintext = response.json()["token"]
    assert store.verify_api_token(plaintext) is not None
    assert [t.name for t in store.list_api_tokens("admin")] == ["ci"]


def test_logout_ends_the_session(admin: tuple[httpx.Client, str]) -> None:
    client, csrf = admin
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/api/tasks").status_code == 401


def test_first_start_prints_a_generated_admin_password_once(settings: Settings, tmp_path) -> None:
    fresh = Settings(data_dir=tmp_path / "fresh")
    with open_store(fresh) as store:
        out = io.StringIO()
        create_app(fresh, service=None, accounts=store, secret_store=None, out=out)  # type: ignore[arg-type]
        printed = re.search(r"password: (\S+)", out.getvalue())
        assert printed, out.getvalue()
        assert store.verify_password("admin", printed.group(1)) is not None
        again = io.StringIO()
        create_app(fresh, service=None, accounts=store, secret_store=None, out=again)  # type: ignore[arg-type]
        assert again.getvalue() == ""


def test_configured_admin_password_is_used_and_not_printed(app: FastAPI, store: Store) -> None:
    assert store.verify_password("admin", ADMIN_PASSWORD) is not None
