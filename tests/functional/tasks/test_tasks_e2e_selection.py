"""srcList=SELECTED, Public sources and destRegistry, end to end.

srcImageList in every accepted form (``repo``, ``repo:tag``, ``repo:ALL_TAGS``
on ECR and on a plain registry, ``host:port/x:tag``, ``x@sha256:...``, with
spaces and newlines), sourceType=Public with ``srcRegistry`` and with source
credentials (REFERENCE.md defects 4 and 5), destPrefix for destRegistry
(defect 1). Destinations are checked with skopeo.
"""

from __future__ import annotations

from fixtures.tasks import (
    DST_ACCOUNT,
    DST_KEYS,
    SRC_ACCOUNT,
    SRC_KEYS,
    Runtimes,
    ecr_image,
    ecr_repo_push,
    run_to_end,
)
from imageferry.ecr.hosts import EcrRegistry
from imageferry.store.status import ImageStatus, RunStatus
from stand_ins.ecr import EcrStandIn
from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry
from stand_ins.skopeo import inspect_digest, list_tags

SRC = EcrRegistry(SRC_ACCOUNT, "eu-west-1")
DST = EcrRegistry(DST_ACCOUNT, "ap-southeast-2")


def test_selected_ecr_entries_in_every_form(accounts: EcrStandIn, runtimes: Runtimes) -> None:
    (latest,) = ecr_repo_push(accounts, SRC, "team/api", ["latest"])
    ecr_repo_push(accounts, SRC, "team/api", ["old"], create=False, seed="old")
    (web,) = ecr_repo_push(accounts, SRC, "web", ["2.0"])
    multi = ecr_repo_push(accounts, SRC, "multi", ["a", "b", "c"])
    (pinned,) = ecr_repo_push(accounts, SRC, "pinned", [None])
    runtime = runtimes.make(ecr_targets=(SRC, DST))
    runtime.secrets.put("src", SRC_KEYS)
    runtime.secrets.put("dst", DST_KEYS)
    task = runtime.service.create_task(
        {
            "sourceType": "Amazon_ECR",
            "srcRegion": SRC.region,
            "srcAccountId": SRC.account_id,
            "srcCredential": "src",
            "srcList": "SELECTED",
            # Spaces, newlines, a bare repo, a tag, ALL_TAGS and a digest.
            "srcImageList": f" team/api ,web:2.0,\n multi:ALL_TAGS\n,pinned@{pinned.digest} ",
            "destRegion": DST.region,
            "destAccountId": DST.account_id,
            "destCredential": "dst",
            "destPrefix": "copy",
        }
    )
    run = run_to_end(runtime, task.id)

    assert run.status is RunStatus.DONE, run.error
    sources = sorted(r.source for r in runtime.service.image_results(run.id))
    assert sources == sorted(
        [
            f"{SRC.host}/team/api:latest",
            f"{SRC.host}/web:2.0",
            f"{SRC.host}/multi:a",
            f"{SRC.host}/multi:b",
            f"{SRC.host}/multi:c",
            f"{SRC.host}/pinned@{pinned.digest}",
        ]
    )
    checks = {
        "copy/team/api:latest": latest.digest,
        "copy/web:2.0": web.digest,
        "copy/multi:c": multi[2].digest,
        f"copy/pinned@{pinned.digest}": pinned.digest,
    }
    for ref, digest in checks.items():
        location, login = ecr_image(accounts, DST, ref)
        assert inspect_digest(location, creds=login) == digest
    location, login = ecr_image(accounts, DST, "copy/multi")
    assert list_tags(location, creds=login) == ["a", "b", "c"]
    # `team/api` means team/api:latest only; the "old" tag stays behind.
    location, login = ecr_image(accounts, DST, "copy/team/api")
    assert list_tags(location, creds=login) == ["latest"]


def test_any_registry_source_and_destination_with_prefix(
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    registry: LocalRegistry,
    runtimes: Runtimes,
) -> None:
    app = push_image(src_registry.url, "apps/app", "1.0", seed="app")
    tags = {t: push_image(src_registry.url, "tools", t, seed=f"tools-{t}") for t in ("x", "y")}
    untagged = push_image(src_registry.url, "base", None, seed="base")
    # An entry naming its own registry with a port (defect 5: not split on ':').
    elsewhere = push_image(registry.url, "other/thing", "v2", seed="other")
    runtime = runtimes.make()
    task = runtime.service.create_task(
        {
            "sourceType": "Public",
            "srcRegistry": src_registry.host,
            "srcList": "SELECTED",
            "srcImageList": (
                f"apps/app:1.0, tools:ALL_TAGS\nbase@{untagged.digest},"
                f"{registry.host}/other/thing:v2"
            ),
            "destRegistry": dst_registry.host,
            "destPrefix": "mirror/",
        }
    )
    run = run_to_end(runtime, task.id)

    assert run.status is RunStatus.DONE, run.error
    assert run.images_copied == 5
    dst = dst_registry.host
    assert inspect_digest(f"{dst}/mirror/apps/app:1.0") == app.digest
    assert inspect_digest(f"{dst}/mirror/tools:x") == tags["x"].digest
    assert inspect_digest(f"{dst}/mirror/tools:y") == tags["y"].digest
    assert inspect_digest(f"{dst}/mirror/base@{untagged.digest}") == untagged.digest
    assert inspect_digest(f"{dst}/mirror/other/thing:v2") == elsewhere.digest
    assert inspect_digest(f"{src_registry.host}/apps/app:1.0") == app.digest


def test_public_source_with_credentials_lists_and_pulls(
    basic_registry: LocalRegistry, dst_registry: LocalRegistry, runtimes: Runtimes
) -> None:
    login = ("alice", basic_registry.users["alice"])
    private = push_image(basic_registry.url, "private/app", "1.0", auth=login, seed="p")
    runtime = runtimes.make()
    runtime.secrets.put("hub", {"username": login[0], "password": login[1]})
    base = {
        "sourceType": "Public",
        "srcList": "SELECTED",
        "srcImageList": f"{basic_registry.host}/private/app:1.0",
        "destRegistry": dst_registry.host,
    }
    # Defect 4: the reference pulls public sources anonymously and fails here.
    anonymous = runtime.service.create_task(base)
    run = run_to_end(runtime, anonymous.id)
    assert run.status is RunStatus.ERROR
    (failed,) = runtime.service.image_results(run.id)
    assert failed.status is ImageStatus.FAILED
    assert "401" in failed.error or "unauthorized" in failed.error.lower()

    with_credential = runtime.service.create_task({**base, "srcCredential": "hub"})
    run = run_to_end(runtime, with_credential.id)
    assert run.status is RunStatus.DONE, run.error
    assert inspect_digest(f"{dst_registry.host}/private/app:1.0") == private.digest

    # srcRegistry + srcList=ALL: the catalog, listed with the same credential.
    push_image(basic_registry.url, "private/other", "2.0", auth=login, seed="o")
    listed = runtime.service.create_task(
        {
            "sourceType": "Public",
            "srcRegistry": basic_registry.host,
            "srcList": "ALL",
            "srcCredential": "hub",
            "destRegistry": dst_registry.host,
            "destPrefix": "all",
        }
    )
    run = run_to_end(runtime, listed.id)
    assert run.status is RunStatus.DONE, run.error
    assert list_tags(f"{dst_registry.host}/all/private/app") == ["1.0"]
    assert list_tags(f"{dst_registry.host}/all/private/other") == ["2.0"]
    # The secret's value never reaches the logs.
    lines = [line.message for line in runtime.service.logs(run.id)]
    assert lines and not any(login[1] in line for line in lines)


def test_a_named_repository_without_tags_fails_the_run_truthfully(
    src_registry: LocalRegistry, dst_registry: LocalRegistry, runtimes: Runtimes
) -> None:
    """An explicitly listed ``repo:ALL_TAGS`` that matches nothing is a failed image:
    the run ends ERROR and says why, instead of DONE with fewer images."""
    pushed = push_image(src_registry.url, "present", "1")
    runtime = runtimes.make()
    task = runtime.service.create_task(
        {
            "sourceType": "Public",
            "srcRegistry": src_registry.host,
            "srcList": "SELECTED",
            "srcImageList": "present:1, ghost:ALL_TAGS",
            "destRegistry": dst_registry.host,
            "scheduleType": "ONE_TIME",
        }
    )
    run = run_to_end(runtime, task.id)
    assert run.status is RunStatus.ERROR
    assert (run.images_total, run.images_copied, run.images_failed) == (2, 1, 1)
    failed = [r for r in runtime.service.image_results(run.id) if r.status is ImageStatus.FAILED]
    assert len(failed) == 1 and "ghost" in failed[0].error and "no tags" in failed[0].error
    assert inspect_digest(f"{dst_registry.host}/present:1") == pushed.digest
