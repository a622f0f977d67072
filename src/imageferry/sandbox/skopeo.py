"""skopeo as the independent verifier of what ended up in a registry.

``ferry demo`` and the tests check imageferry's results with a tool that
shares none of its code: ``skopeo inspect --raw`` gives the manifest bytes
exactly as the registry serves them, so their sha256 is the manifest digest.
Tests use more of skopeo (``tests/stand_ins/skopeo.py``).

All calls use ``--tls-verify=false`` because sandbox registries speak plain
HTTP on loopback. Credentials are passed with ``--creds``; they are test
credentials, and they are never included in error messages.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Sequence

from imageferry.sandbox.registry import INSTALL_HINT, SandboxError

__all__ = [
    "SKOPEO",
    "Credentials",
    "creds_args",
    "docker_ref",
    "inspect_digest",
    "inspect_raw",
    "run_skopeo",
]

SKOPEO = "skopeo"
_TIMEOUT = 600.0

Credentials = tuple[str, str]


def docker_ref(ref: str) -> str:
    return ref if ref.startswith("docker://") else f"docker://{ref}"


def run_skopeo(args: Sequence[str], *, timeout: float = _TIMEOUT) -> bytes:
    """Run ``skopeo ARGS``; return stdout or raise :class:`SandboxError` with stderr."""
    binary = shutil.which(SKOPEO)
    if binary is None:
        raise SandboxError(f"skopeo is not installed: {INSTALL_HINT}")
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


def creds_args(flag: str, creds: Credentials | None) -> list[str]:
    return [flag, f"{creds[0]}:{creds[1]}"] if creds else []


def inspect_raw(ref: str, creds: Credentials | None = None) -> bytes:
    """The manifest bytes at ``host/repo:tag`` or ``host/repo@digest``."""
    return run_skopeo(
        ["inspect", "--raw", "--tls-verify=false", *creds_args("--creds", creds), docker_ref(ref)]
    )


def inspect_digest(ref: str, *, creds: Credentials | None = None) -> str:
    """``sha256:<hex>`` of the manifest bytes the registry serves for ``ref``."""
    return "sha256:" + hashlib.sha256(inspect_raw(ref, creds)).hexdigest()
