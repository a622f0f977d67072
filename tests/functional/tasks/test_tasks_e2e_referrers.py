"""``copyReferrers``: a task run copies each image's signatures as units of its own."""

from __future__ import annotations

import json

from fixtures.tasks import Runtimes, run_to_end
from imageferry.copy.referrers import tag_for
from imageferry.digest import Digest
from imageferry.store.status import ImageStatus, RunStatus
from stand_ins.images import push_artifact, push_image
from stand_ins.registry import LocalRegistry
from stand_ins.skopeo import inspect_digest, list_tags

SIG = "application/vnd.dev.cosign.simplesigning.v1+json"


def test_task_copies_signatures_with_copy_referrers(
    src_registry: LocalRegistry, dst_registry: LocalRegistry, runtimes: Runtimes
) -> None:
    image = push_image(src_registry.url, "team/app", "v1")
    signature = push_artifact(
        src_registry.url,
        "team/app",
        f"{tag_for(Digest.parse(image.digest))}.sig",
        artifact_type=SIG,
        blobs=[
            json.dumps({"critical": {"image": {"docker-manifest-digest": image.digest}}}).encode()
        ],
        blob_media_type=SIG,
    )
    runtime = runtimes.make()
    common = {
        "sourceType": "Public",
        "srcRegistry": src_registry.host,
        "srcList": "SELECTED",
        "srcImageList": "team/app:v1",
        "destRegistry": dst_registry.host,
        "scheduleType": "ONE_TIME",
    }
    plain = runtime.service.create_task({**common, "destPrefix": "plain"}).id
    signed = runtime.service.create_task(
        {**common, "destPrefix": "signed", "copyReferrers": "true"}
    ).id

    without = run_to_end(runtime, plain)
    assert without.status is RunStatus.DONE, without.error
    assert list_tags(f"{dst_registry.host}/plain/team/app") == ["v1"]

    run = run_to_end(runtime, signed)
    assert run.status is RunStatus.DONE, run.error
    assert run.images_total == 2 and run.images_copied == 2
    results = {r.source: r for r in runtime.service.image_results(run.id)}
    sig_source = f"{src_registry.host}/team/app:{signature.tag}"
    assert results[sig_source].status is ImageStatus.COPIED
    assert results[sig_source].digest == signature.digest
    assert (
        inspect_digest(f"{dst_registry.host}/signed/team/app:{signature.tag}") == signature.digest
    )

    again = run_to_end(runtime, signed)
    assert again.status is RunStatus.DONE, again.error
    assert {r.status for r in runtime.service.image_results(again.id)} == {ImageStatus.SKIPPED}
