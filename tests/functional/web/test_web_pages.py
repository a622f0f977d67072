"""The console's pages, rendered by the real app over the real store."""

from __future__ import annotations

import re

import httpx

from fixtures.browser import VALID
from imageferry.store import ImageStatus, RunStatus, Store
from imageferry.tasks.params import PARAMETER_TABLE


def test_task_list_shows_the_columns_and_filters_by_status(
    admin: tuple[httpx.Client, str], store: Store
) -> None:
    client, _ = admin
    done = store.create_task({**VALID, "name": "one"}, name="first task")
    other = store.create_task(VALID, name="second task")
    run = store.create_run(done.id)
    store.set_images_total(run.id, 1)
    store.record_image_result(
        run.id, source="s/a:1", destination="d/a:1", status=ImageStatus.COPIED
    )
    store.finish_run(run.id)
    page = client.get("/tasks").text
    for header in ("Task ID", "Source", "Destination", "Engine", "Schedule", "Status", "Progress"):
        assert f"<th>{header}</th>" in page
    assert done.id in page and other.id in page
    assert "1 / 1" in page
    filtered = client.get("/tasks", params={"status": "DONE"}).text
    assert done.id in filtered
    assert other.id not in filtered


def test_wizard_renders_every_parameter_with_its_help(admin: tuple[httpx.Client, str]) -> None:
    client, _ = admin
    page = client.get("/tasks/new").text
    for p in PARAMETER_TABLE:
        assert f'data-field="{p.name}"' in page, p.name
    assert "Public container registry" in page
    assert "Amazon ECR" in page
    steps = re.findall(r'<li data-step="(\w+)">', page)
    assert steps == ["engine", "source", "images", "destination", "schedule", "review"]


def test_wizard_asks_ecr_repository_settings_on_the_destination_step(
    admin: tuple[httpx.Client, str], store: Store
) -> None:
    client, csrf = admin
    page = client.get("/tasks/new").text
    found = re.search(
        r'<fieldset class="step card" data-step="destination">(.*?)</fieldset>', page, re.S
    )
    assert found, "no destination step"
    # Visible on the step itself, not folded under "Advanced".
    visible = re.sub(r"<details.*?</details>", "", found.group(1), flags=re.S)
    for name in ("destScanOnPush", "destTagMutability", "destEncryption", "destKmsKey"):
        assert f'data-field="{name}"' in visible, name
    assert '<option value="IMMUTABLE">IMMUTABLE</option>' in visible
    ecr = {k: v for k, v in VALID.items() if k != "destRegistry"}
    form = {
        "csrf_token": csrf,
        **ecr,
        "destKind": "ecr",
        "destRegion": "us-west-2",
        "destTagMutability": "IMMUTABLE",
        "destEncryption": "KMS",
        "destKmsKey": "alias/mirror",
        "destScanOnPush": "true",
    }
    assert client.post("/tasks/new", data=form).status_code == 303
    task = store.list_tasks().items[0]
    assert task.parameters["destTagMutability"] == "IMMUTABLE"
    assert (task.parameters["destEncryption"], task.parameters["destKmsKey"]) == (
        "KMS",
        "alias/mirror",
    )
    assert task.parameters["destScanOnPush"] == "true"


def test_wizard_offers_secret_names_for_credentials(
    admin: tuple[httpx.Client, str], store: Store
) -> None:
    client, csrf = admin
    client.put(
        "/api/secrets/ecr-prod",
        json={"value": {"access_key_id": "AKIAXXXX", "secret_access_key": "zzz-top-secret"}},
        headers={"X-CSRF-Token": csrf},
    )
    page = client.get("/tasks/new").text
    assert '<option value="ecr-prod">ecr-prod</option>' in page
    assert "zzz-top-secret" not in page and "AKIAXXXX" not in page


def test_wizard_post_lists_every_problem_and_keeps_the_values(
    admin: tuple[httpx.Client, str], store: Store
) -> None:
    client, csrf = admin
    form = {
        "csrf_token": csrf,
        "sourceType": "Public",
        "srcList": "ALL",
        "destRegion": "nowhere",
        "destPrefix": "Upper/Case",
    }
    response = client.post("/tasks/new", data=form)
    assert response.status_code == 422
    for parameter in ("srcList", "destRegion", "destPrefix"):
        assert f"<code>{parameter}</code>" in response.text
    assert 'value="Upper/Case"' in response.text
    assert store.list_tasks().total == 0


def test_wizard_post_creates_the_task(admin: tuple[httpx.Client, str], store: Store) -> None:
    client, csrf = admin
    response = client.post("/tasks/new", data={"csrf_token": csrf, **VALID, "name": "web"})
    assert response.status_code == 303
    task = store.list_tasks().items[0]
    assert response.headers["location"].startswith(f"/tasks/{task.id}")
    assert task.name == "web"
    assert task.parameters["destPrefix"] == "mirror"


def test_clone_opens_the_wizard_prefilled(admin: tuple[httpx.Client, str], store: Store) -> None:
    client, csrf = admin
    task = store.create_task({**VALID, "srcImageList": "only:this"}, name="orig")
    redirect = client.post(f"/tasks/{task.id}/clone", data={"csrf_token": csrf})
    assert redirect.headers["location"] == f"/tasks/new?clone={task.id}"
    page = client.get(redirect.headers["location"]).text
    assert f"Clone task {task.id}" in page
    assert ">only:this</textarea>" in page
    assert 'value="orig (clone)"' in page


def test_detail_shows_parameters_runs_images_and_charts(
    admin: tuple[httpx.Client, str], store: Store
) -> None:
    client, _ = admin
    task = store.create_task(VALID, name="detail")
    run = store.create_run(task.id)
    store.set_images_total(run.id, 2)
    store.set_run_status(run.id, RunStatus.IN_PROGRESS)
    store.record_image_result(
        run.id,
        source="src/app:1.0",
        destination="dst/mirror/app:1.0",
        status=ImageStatus.COPIED,
        digest="sha256:" + "b" * 64,
        bytes_transferred=4096,
        seconds=1.25,
        attempts=1,
    )
    store.record_image_result(
        run.id,
        source="src/tools:latest",
        destination="dst/mirror/tools:latest",
        status=ImageStatus.FAILED,
        attempts=3,
        error="blob unknown",
    )
    store.finish_run(run.id)
    page = client.get(f"/tasks/{task.id}").text
    assert "destPrefix" in page and "mirror" in page
    assert "#1" in page and "ERROR" in page
    assert "1 of 2 images failed" in page
    assert "dst/mirror/app:1.0" in page and "blob unknown" in page
    assert page.count('<svg class="chart') == 4
    for series in ("Images done", "Bytes transferred", "Throughput", "Failures"):
        assert f'data-series="{series}"' in page
    search = client.get(f"/tasks/{task.id}", params={"run": run.id, "q": "tools"}).text
    assert "src/tools:latest" in search and "src/app:1.0" not in search
    only_failed = client.get(f"/tasks/{task.id}", params={"status": "copied"}).text
    assert "src/app:1.0" in only_failed and "src/tools:latest" not in only_failed


def test_task_actions_from_the_page(admin: tuple[httpx.Client, str], store: Store) -> None:
    client, csrf = admin
    task = store.create_task(VALID)
    client.post(f"/tasks/{task.id}/start", data={"csrf_token": csrf})
    again = client.post(f"/tasks/{task.id}/start", data={"csrf_token": csrf})
    assert "run+%231+is+still+active" in again.headers["location"]
    client.post(f"/tasks/{task.id}/stop", data={"csrf_token": csrf})
    assert store.get_task(task.id).status.value == "STOPPING"
    active = store.active_run(task.id)
    assert active is not None
    store.finish_run(active.id)
    deleted = client.post(f"/tasks/{task.id}/delete", data={"csrf_token": csrf})
    assert deleted.headers["location"].startswith("/tasks?msg=")
    assert store.list_tasks().total == 0


def test_credentials_page_adds_replaces_and_deletes_names_only(
    admin: tuple[httpx.Client, str],
) -> None:
    client, csrf = admin
    form = {"csrf_token": csrf, "name": "hub", "kind": "basic", "first": "me", "second": "pw-1"}
    added = client.post("/credentials", data=form)
    assert "added" in added.headers["location"]
    replaced = client.post("/credentials", data={**form, "second": "pw-2"})
    assert "replaced" in replaced.headers["location"]
    page = client.get("/credentials").text
    assert 'data-secret="hub"' in page
    assert "pw-1" not in page and "pw-2" not in page
    assert client.get("/api/secrets").json() == {"names": ["hub"]}
    client.post("/credentials/delete", data={"csrf_token": csrf, "name": "hub"})
    assert client.get("/api/secrets").json() == {"names": []}


def test_static_assets_are_served_locally(client: httpx.Client) -> None:
    css = client.get("/static/console.css")
    js = client.get("/static/console.js")
    assert css.status_code == 200 and js.status_code == 200
    login = client.get("/login").text
    assert "http://" not in login.replace("http://www.w3.org", "")
    assert "https://" not in login


def test_pages_forbid_foreign_scripts_and_framing(admin: tuple[httpx.Client, str]) -> None:
    client, _ = admin
    headers = client.get("/tasks").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert client.get("/api/docs").status_code == 404


def test_detail_of_a_large_run_shows_one_page_and_says_how_many(
    admin: tuple[httpx.Client, str], store: Store
) -> None:
    from imageferry.store.results import ImageUnit

    client, _ = admin
    task = store.create_task(VALID, name="large")
    run = store.create_run(task.id)
    units = [ImageUnit(f"src/app{i:04d}:1", f"dst/app{i:04d}:1") for i in range(510)]
    store.add_pending_images(run.id, units)
    page = client.get(f"/tasks/{task.id}").text
    assert page.count('<tr data-status="pending">') == 500
    assert "Showing the first 500 of 510 images" in page
    found = client.get(f"/tasks/{task.id}", params={"q": "app0509"}).text
    assert found.count('<tr data-status="pending">') == 1
    assert "Showing the first" not in found
