"""``ferry copy`` honours the registry settings of its environment (the README's table)."""

import os
import subprocess
import sys
from pathlib import Path

from stand_ins.images import push_image
from stand_ins.skopeo import inspect_digest

FERRY = str(Path(sys.executable).parent / "ferry")


def test_registry_mirrors_from_the_environment_remap_docker_hub(src_registry, dst_registry):
    pushed = push_image(src_registry.url, "library/alpine", "3.20")
    env = {
        **os.environ,
        "FERRY_REGISTRY_MIRRORS": f"quay.io=q.invalid,docker.io={src_registry.host}",
    }

    result = subprocess.run(
        [FERRY, "copy", "-q", "alpine:3.20", f"{dst_registry.host}/alpine:3.20"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert inspect_digest(f"{dst_registry.host}/alpine:3.20") == pushed.digest
