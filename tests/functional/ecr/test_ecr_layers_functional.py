"""batch_check_layers asks ECR about up to 100 blobs per call and reports the truth."""

from __future__ import annotations

import hashlib

from fixtures.ecr import ECR_ACCOUNT, ECR_REGION, data_plane_url, ecr_login
from imageferry.ecr.client import ecr_client
from imageferry.ecr.hosts import EcrRegistry
from imageferry.ecr.layers import batch_check_layers
from imageferry.ecr.repositories import ensure_repository
from imageferry.manifest import parse_manifest
from stand_ins.ecr import EcrStandIn
from stand_ins.images import push_image

TARGET = EcrRegistry(ECR_ACCOUNT, ECR_REGION)


def fake_digest(i: int) -> str:
    return "sha256:" + hashlib.sha256(f"absent-{i}".encode()).hexdigest()


async def test_present_and_missing_layers_in_few_calls(ecr: EcrStandIn) -> None:
    client = ecr_client(TARGET.region)
    for name in ("app", "other"):
        await ensure_repository(client, name, target=TARGET)
    pushed = push_image(data_plane_url(ecr, TARGET), "app", "1", layers=3, auth=ecr_login(TARGET))
    manifest = parse_manifest(pushed.body, pushed.media_type)
    real = [str(manifest.config.digest), *(str(layer.digest) for layer in manifest.layers)]
    absent = [fake_digest(i) for i in range(246)]
    ecr.reset_counts()

    asked = [*absent[:100], *real, *absent[100:], real[0]]
    present = await batch_check_layers(client, "app", asked, target=TARGET)
    assert present == set(real)
    assert ecr.call_counts["BatchCheckLayerAvailability"] == 3  # 250 unique digests

    # Availability is per repository, as in ECR.
    assert await batch_check_layers(client, "other", real, target=TARGET) == set()
