"""What the console says and accepts, over the real app and store: the API's
documentation page, forms that keep only the fields that apply, refusals in
the page's words, and run messages that follow their run."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from fixtures.browser import VALID, log_in
from imageferry.store import RunStatus, Store
from imageferry.tasks.service import TaskService


def _message(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 303, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)


def test_docs_need_a_login_and_serve_swagger_ui_from_here(client: httpx.Client) -> None:
    assert client.get("/docs").headers["location"].startswith("/login?next=")
    log_in(client)
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "https://" not in page.text and "http://" not in page.text
    assert "<script>" not in page.text  # started by /static/api-docs.js, as the CSP wants
    for asset in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"):
        assert client.get(asset).status_code == 200, asset
    assert 'href="/docs"' in client.get("/tasks").text


def test_the_wizard_form_keeps_only_the_fields_that_apply(
    admin: tuple[httpx.Client, str], store: Store
) -> None:
    client, csrf = admin
    form = {
        "csrf_token": csrf,
        **VALID,
        # Typed for an ECR source and destination, then the user chose others:
        # neither stored nor validated (both would be refused as regions).
        "srcRegion": "not-a-region",
        "destRegion": "mars-north",
        "destKind": "registry",
    }
    assert client.post("/tasks/new", data=form).status_code == 303
    task = store.list_tasks().items[0]
    assert task.parameters["srcRegion"] == ""
    assert task.parameters["destRegion"] == ""
    assert task.parameters["destRegistry"] == "127.0.0.1:5001"


def test_refusals_speak_the_pages_words_not_the_clis(
    admin: tuple[httpx.Client, str], store: Store
) -> None:
    client, csrf = admin
    task = store.create_task(VALID)
    stop = _message(client.post(f"/tasks/{task.id}/stop", data={"csrf_token": csrf}))
    assert stop["error"] == [
        "Nothing to stop: the task has no active run (its last run has ended)."
    ]
    client.post(f"/tasks/{task.id}/start", data={"csrf_token": csrf})
    again = _message(client.post(f"/tasks/{task.id}/start", data={"csrf_token": csrf}))
    delete = _message(client.post(f"/tasks/{task.id}/delete", data={"csrf_token": csrf}))
    for said in (stop, again, delete):
        assert "ferry" not in said["error"][0] and "`" not in said["error"][0]
    assert "run #1 is still active" in again["error"][0]
    assert delete["error"][0].startswith("Not deleted")


def test_a_run_message_ends_with_its_run(
    admin: tuple[httpx.Client, str], store: Store, service: TaskService
) -> None:
    client, csrf = admin
    task = service.create_task({**VALID, "scheduleType": "FIXED_RATE"}, "rate")
    started = client.post(f"/tasks/{task.id}/start", data={"csrf_token": csrf})
    location = started.headers["location"]
    assert _message(started)["msg"] == ["Run #1 started"]
    assert "Run #1 started" in client.get(location).text
    run = store.active_run(task.id)
    assert run is not None
    store.set_run_status(run.id, RunStatus.IN_PROGRESS)
    store.finish_run(run.id, error="listing failed")
    page = client.get(location).text
    assert "Run #1 started" not in page
    assert "Run #1 ended ERROR: 0 copied, 0 skipped, 0 failed" in page
    assert 'class="flash err"' in page


def test_list_and_detail_show_the_next_run(
    admin: tuple[httpx.Client, str], service: TaskService
) -> None:
    client, _ = admin
    task = service.create_task(
        {**VALID, "scheduleType": "CRON", "scheduleExpression": "30 4 * * *"}, "cron"
    )
    assert task.next_run_at is not None
    when = task.next_run_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert when.endswith("04:30:00 UTC")
    assert "<th>Next run</th>" in client.get("/tasks").text
    assert when in client.get("/tasks").text
    assert when in client.get(f"/tasks/{task.id}").text
