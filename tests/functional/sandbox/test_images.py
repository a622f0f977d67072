"""The image builders, checked by skopeo (an independent client)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imageferry.sandbox import skopeo
from imageferry.sandbox.images import push_image
from imageferry.sandbox.registry import LocalRegistry


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_push_image_digest_matches_skopeo(
    registry: LocalRegistry, tmp_oci_dir: Path, fmt: str
) -> None:
    pushed = push_image(registry.url, "team-a/svc/api", "v1", fmt=fmt, seed=fmt)  # type: ignore[arg-type]

    assert skopeo.inspect_digest(f"{registry.host}/team-a/svc/api:v1") == pushed.digest
    assert skopeo.inspect_raw(f"{registry.host}/team-a/svc/api@{pushed.digest}") == pushed.body
    skopeo.copy_to_oci_layout(f"{registry.host}/team-a/svc/api:v1", tmp_oci_dir)
    assert (tmp_oci_dir / "index.json").exists()
