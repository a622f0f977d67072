"""skopeo as the independent verifier of what ended up in a registry.

Tests check imageferry's results with a tool that shares none of its code:
``skopeo inspect --raw`` gives the manifest bytes exactly as the registry
serves them (so their sha256 is the manifest digest), and ``skopeo copy``
to an OCI layout proves an image is complete and pullable.

All calls use ``--tls-verify=false`` because sandbox registries speak plain
HTTP on loopback. Credentials are passed with ``--creds``; they are test
credentials, and they are never included in error messages.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from imageferry.sandbox.registry import SandboxError

__all__ = [
    "SKOPEO",
    "copy_to_oci_layout",
    "inspect_digest",
    "inspect_raw",
    "list_tags",
    "run_skopeo",
]

SKOPEO = "skopeo"
_TIMEOUT = 600.0

Credentials = tuple[str, str]


def _docker_ref(ref: str) -> str:
    return ref if ref.startswith("docker://") else f"docker://{ref}"


def run_skopeo(args: Sequence[str], *, timeout: float = _TIMEOUT) -> bytes:
    """Run ``skopeo ARGS``; return stdout or raise :class:`SandboxError` with stderr."""
    binary = shutil.which(SKOPEO)
    if binary is None:
        raise SandboxError("skopeo not found: install it (see the README's test set-up)")
    try:
        result = subprocess.run(
            [binary, *args], capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as e:
        raise SandboxError(f"skopeo {_shown(args)} timed out after {timeout:.0f}s") from e
    if result.returncode != 0:
        stderr = result.stderr.decode(errors="replace").strip()
        raise SandboxError(
            f"skopeo {_shown(args)} failed with status {result.returncode}: {stderr[-2000:]}"
        )
    return result.stdout


def _shown(args: Sequence[str]) -> str:
    """The command line with credentials blanked out, for error messages."""
    shown: list[str] = []
    hide_next = False
    for arg in args:
        shown.append("***" if hide_next else arg)
        hide_next = arg in ("--creds", "--src-creds", "--dest-creds")
    return " ".join(shown)


def _creds(flag: str, creds: Credentials | None) -> list[str]:
    return [flag, f"{creds[0]}:{creds[1]}"] if creds else []


def inspect_raw(ref: str, creds: Credentials | None = None) -> bytes:
    """The manifest bytes at ``host/repo:tag`` or ``host/repo@digest``."""
    return run_skopeo(
        ["inspect", "--raw", "--tls-verify=false", *_creds("--creds", creds), _docker_ref(ref)]
    )


def inspect_digest(ref: str, *, creds: Credentials | None = None) -> str:
    """``sha256:<hex>`` of the manifest bytes the registry serves for ``ref``."""
    return "sha256:" + hashlib.sha256(inspect_raw(ref, creds)).hexdigest()


def copy_to_oci_layout(
    ref: str,
    dest_dir: Path | str,
    creds: Credentials | None = None,
    all_platforms: bool = True,
    *,
    tag: str = "latest",
) -> None:
    """``skopeo copy [--all] docker://REF oci:DEST_DIR:TAG``: pull every blob and check it."""
    args = ["copy", "--quiet", "--src-tls-verify=false", *_creds("--src-creds", creds)]
    if all_platforms:
        args.append("--all")
    run_skopeo([*args, _docker_ref(ref), f"oci:{dest_dir}:{tag}"])


def list_tags(ref: str, creds: Credentials | None = None) -> list[str]:
    """Tags of the repository named by ``ref`` (``host/repo``), sorted."""
    out = run_skopeo(
        ["list-tags", "--tls-verify=false", *_creds("--creds", creds), _docker_ref(ref)]
    )
    tags = json.loads(out).get("Tags") or []
    return sorted(str(t) for t in tags)
