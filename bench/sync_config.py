"""The ``skopeo sync`` command both benchmarks run: a YAML list of the source's tags.

Unscoped, ``skopeo sync`` keeps only each repository's last path component
(``--scoped`` cannot name a ``host:port`` source); the fleets keep those distinct.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def sync_argv(source: str, refs: Sequence[str], dest: str, workdir: Path) -> list[str]:
    """``skopeo sync --all`` of ``refs`` (``repo:tag`` on ``source``) into ``dest``."""
    images: dict[str, list[str]] = {}
    for ref in refs:
        repo, _, tag = ref.rpartition(":")
        images.setdefault(repo, []).append(tag)
    lines = [f"{source}:", "  tls-verify: false", "  images:"]
    for repo, tags in images.items():
        lines.append(f"    {repo}:")
        lines += [f"      - {tag!r}" for tag in tags]
    config = workdir / "sync.yaml"
    config.write_text("\n".join(lines) + "\n")
    argv = ["skopeo", "sync", "--all", "--src", "yaml", "--dest", "docker"]
    return [*argv, "--dest-tls-verify=false", str(config), dest]
