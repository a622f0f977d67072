"""Results as the CLI prints them, options defaults, and the package's public surface."""

from __future__ import annotations

import pytest

import imageferry.copy as copy_pkg
from imageferry.copy import CopyOptions, ImageResult, host_platform, summarize
from imageferry.manifest import Platform


def test_to_json_has_exactly_the_documented_keys() -> None:
    result = ImageResult("a", "b", "sha256:x", "copied", 10, 5, 1.23456, None, ("n",))
    assert result.to_json() == {
        "source": "a",
        "destination": "b",
        "digest": "sha256:x",
        "status": "copied",
        "bytes_transferred": 10,
        "bytes_reused": 5,
        "seconds": 1.235,
        "error": None,
        "notes": ["n"],
        "retries": 0,
    }


def test_summarize_counts_by_status_and_sums_bytes() -> None:
    results = [
        ImageResult("a", "b", "d1", "copied", 10, 1, 1.0, retries=2),
        ImageResult("c", "d", "d2", "skipped", 0, 0, 0.5),
        ImageResult("e", "f", None, "failed", 3, 0, 0.25, "boom"),
    ]
    assert summarize(results) == {
        "images": 3,
        "copied": 1,
        "skipped": 1,
        "failed": 1,
        "bytes_transferred": 13,
        "bytes_reused": 1,
        "retries": 2,
        "seconds": 1.75,
    }


@pytest.mark.parametrize(
    ("machine", "expected"),
    [
        ("x86_64", Platform("linux", "amd64")),
        ("AMD64", Platform("linux", "amd64")),
        ("aarch64", Platform("linux", "arm64")),
        ("arm64", Platform("linux", "arm64")),
        ("armv7l", Platform("linux", "arm", "v7")),
        ("ppc64le", Platform("linux", "ppc64le")),
    ],
)
def test_host_platform_uses_go_architecture_names(machine: str, expected: Platform) -> None:
    assert host_platform(machine) == expected


def test_default_options_copy_everything_for_this_host() -> None:
    options = CopyOptions()
    assert options.multi_arch == "all"
    assert options.platforms == ()
    assert options.include_foreign_layers is False
    assert options.system_platform == host_platform()


def test_public_api_is_exported() -> None:
    for name in copy_pkg.__all__:
        assert hasattr(copy_pkg, name), name
    for name in ("CopyEngine", "CopyOptions", "ImageResult", "BlobLedger", "ProgressSink"):
        assert name in copy_pkg.__all__
