"""The skopeo wrappers report failures clearly and never show credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stand_ins import skopeo
from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry, SandboxError


def test_copy_of_a_missing_image_raises_with_skopeo_stderr(
    registry: LocalRegistry, tmp_oci_dir: Path
) -> None:
    with pytest.raises(SandboxError, match="manifest unknown") as info:
        skopeo.copy_to_oci_layout(f"{registry.host}/nothing/here:v1", tmp_oci_dir)
    assert "skopeo copy" in str(info.value)


def test_credentials_are_not_in_error_messages(basic_registry: LocalRegistry) -> None:
    with pytest.raises(SandboxError) as info:
        skopeo.inspect_raw(f"{basic_registry.host}/app:v1", creds=("alice", "a-secret-word"))
    assert "a-secret-word" not in str(info.value)
    assert "--creds ***" in str(info.value)


def test_copy_single_platform_keeps_the_manifest(
    registry: LocalRegistry, tmp_oci_dir: Path
) -> None:
    pushed = push_image(registry.url, "app", "v1", fmt="oci")
    skopeo.copy_to_oci_layout(f"{registry.host}/app:v1", tmp_oci_dir, all_platforms=False)

    index = json.loads((tmp_oci_dir / "index.json").read_text())
    assert [m["digest"] for m in index["manifests"]] == [pushed.digest]
