"""skopeo for tests: the sandbox's verifier plus listing tags and pulling whole images.

``skopeo copy`` to an OCI layout proves an image is complete and pullable;
``skopeo list-tags`` shows what a repository holds. Only tests need those.
"""

from __future__ import annotations

import json
from pathlib import Path

from imageferry.sandbox.skopeo import (
    Credentials,
    creds_args,
    docker_ref,
    inspect_digest,
    inspect_raw,
    run_skopeo,
)

__all__ = ["copy_to_oci_layout", "inspect_digest", "inspect_raw", "list_tags", "run_skopeo"]


def copy_to_oci_layout(
    ref: str,
    dest_dir: Path | str,
    creds: Credentials | None = None,
    all_platforms: bool = True,
    *,
    tag: str = "latest",
) -> None:
    """``skopeo copy [--all] docker://REF oci:DEST_DIR:TAG``: pull every blob and check it."""
    args = ["copy", "--quiet", "--src-tls-verify=false", *creds_args("--src-creds", creds)]
    if all_platforms:
        args.append("--all")
    run_skopeo([*args, docker_ref(ref), f"oci:{dest_dir}:{tag}"])


def list_tags(ref: str, creds: Credentials | None = None) -> list[str]:
    """Tags of the repository named by ``ref`` (``host/repo``), sorted."""
    out = run_skopeo(
        ["list-tags", "--tls-verify=false", *creds_args("--creds", creds), docker_ref(ref)]
    )
    tags = json.loads(out).get("Tags") or []
    return sorted(str(t) for t in tags)
