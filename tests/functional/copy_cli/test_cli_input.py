"""``ferry copy`` refusing bad input up front: exit 2, one line, nothing sent anywhere."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from imageferry.sandbox.images import push_image

FERRY = str(Path(sys.executable).parent / "ferry")


def ferry(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FERRY, *args], capture_output=True, text=True, timeout=120)


def repositories(url: str) -> list[str]:
    listing: list[str] = httpx.get(f"{url}/v2/_catalog").json()["repositories"]
    return listing


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ferry: error: "), lines[0]
    return lines[0]


@pytest.mark.parametrize("tag", ["caf\u00e9", "v\u0661"])
def test_non_ascii_tag_is_refused_before_any_upload(src_registry, dst_registry, tag):
    push_image(src_registry.url, "app", "1.0")
    result = ferry("copy", f"{src_registry.host}/app:1.0", f"{dst_registry.host}/app:{tag}")
    assert result.returncode == 2
    line = error_line(result)
    assert f"tag {tag!r}" in line
    # Refused before any blob crossed: the destination has no repository at all.
    assert repositories(dst_registry.url) == []
