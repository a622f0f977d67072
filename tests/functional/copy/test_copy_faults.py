"""The copy engine through fault-injecting proxies in front of real registries.

A share of the requests on both sides fails (503, 429, resets before and
during bodies, truncated, short and corrupted blob bodies, dropped uploads).
What a user checks afterwards: how many images arrived, and that every tag at
the destination names exactly the source's image, with every blob there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from imageferry.copy import CopyEngine
from imageferry.digest import Digest
from imageferry.reference import Reference
from imageferry.registry import RegistryClient, RegistryConfig, RegistryStats
from imageferry.sandbox.images import build_fleet
from imageferry.sandbox.registry import LocalRegistry
from stand_ins.faulty_proxy import FaultyProxy

#: Quick backoff: a test waits for retries like a user does, only less long.
FAST = RegistryConfig(backoff_base=0.05, backoff_max=0.5)
_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_ACCEPT = ", ".join(
    (
        *_INDEX_TYPES,
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


@pytest.fixture
def fleet(src_registry: LocalRegistry) -> list[str]:
    return build_fleet(src_registry.url, total_mb=12, seed="faults")


def _proxies(
    src: LocalRegistry, dst: LocalRegistry, rate: float, seed: str
) -> tuple[FaultyProxy, FaultyProxy]:
    return (
        FaultyProxy(src.url, rate=rate, seed=f"{seed}/src"),
        FaultyProxy(dst.url, rate=rate, seed=f"{seed}/dst"),
    )


def _manifest(
    http: httpx.Client, registry: LocalRegistry, repo: str, ref: str
) -> tuple[bytes, str] | None:
    response = http.get(f"{registry.url}/v2/{repo}/manifests/{ref}", headers={"Accept": _ACCEPT})
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.content, response.headers["Content-Type"].split(";")[0]


def _blobs_of(
    http: httpx.Client, registry: LocalRegistry, repo: str, body: bytes, media_type: str
) -> Iterator[str]:
    """Every blob the manifest tree below ``body`` references, children fetched by digest."""
    document = json.loads(body)
    if media_type in _INDEX_TYPES:
        for child in document["manifests"]:
            fetched = _manifest(http, registry, repo, child["digest"])
            assert fetched is not None, f"{repo}@{child['digest']} is missing"
            yield from _blobs_of(http, registry, repo, *fetched)
    else:
        yield document["config"]["digest"]
        for layer in document["layers"]:
            yield layer["digest"]


def assert_nothing_wrong_is_tagged(src: LocalRegistry, dst: LocalRegistry, refs: list[str]) -> int:
    """Every destination tag names the source's manifest, and all its blobs are there.

    Returns how many of ``refs`` are tagged at the destination.
    """
    tagged = 0
    checked: set[tuple[str, str]] = set()
    with httpx.Client() as http:
        for ref in refs:
            repo, tag = ref.rsplit(":", 1)
            there = _manifest(http, dst, repo, tag)
            if there is None:
                continue
            tagged += 1
            source = _manifest(http, src, repo, tag)
            assert source is not None
            assert Digest.of(there[0]) == Digest.of(source[0]), f"{ref} names another image"
            for blob in _blobs_of(http, dst, repo, *there):
                if (repo, blob) in checked:
                    continue
                checked.add((repo, blob))
                # A GET, not a HEAD: distribution answers a HEAD from its link files alone.
                content = http.get(f"{dst.url}/v2/{repo}/blobs/{blob}").content
                assert Digest.of(content) == Digest.parse(blob), f"{ref}: blob {blob} is damaged"
    return tagged


async def _copy(
    src_proxy: FaultyProxy, dst_proxy: FaultyProxy, refs: list[str], stats: RegistryStats
) -> list[tuple[str, str, int, str | None]]:
    pairs = [
        (Reference.parse(f"{src_proxy.host}/{r}"), Reference.parse(f"{dst_proxy.host}/{r}"))
        for r in refs
    ]
    async with RegistryClient(FAST, stats=stats) as client:
        engine = CopyEngine(client.repository, retry_delay=0.05)
        results = await engine.copy_many(pairs)
    return [(r.destination, r.status, r.attempts, r.error) for r in results]


async def test_ten_percent_of_requests_faulted_on_both_sides(
    src_registry: LocalRegistry, dst_registry: LocalRegistry, fleet: list[str]
) -> None:
    stats = RegistryStats()
    src_proxy, dst_proxy = _proxies(src_registry, dst_registry, 0.10, "ten")
    with src_proxy, dst_proxy:
        results = await _copy(src_proxy, dst_proxy, fleet, stats)

    copied = [r for r in results if r[1] == "copied"]
    failed = [r for r in results if r[1] == "failed"]
    assert len(copied) + len(failed) == len(fleet) >= 48
    # At least 99.5 % of the images arrive on the first run: with 48, every one.
    assert len(copied) >= 0.995 * len(fleet), "\n".join(str(f) for f in failed)
    assert sum(src_proxy.injected.values()) > 0 and sum(dst_proxy.injected.values()) > 0
    assert assert_nothing_wrong_is_tagged(src_registry, dst_registry, fleet) == len(copied)


async def test_thirty_percent_of_requests_faulted_nothing_wrong_is_tagged(
    src_registry: LocalRegistry, dst_registry: LocalRegistry, fleet: list[str]
) -> None:
    stats = RegistryStats()
    src_proxy, dst_proxy = _proxies(src_registry, dst_registry, 0.30, "thirty")
    with src_proxy, dst_proxy:
        results = await _copy(src_proxy, dst_proxy, fleet, stats)

    copied = [r for r in results if r[1] == "copied"]
    failed = [r for r in results if r[1] == "failed"]
    assert len(copied) + len(failed) == len(fleet)
    assert all(error for *_, error in failed)
    # A tag can outlive a failed image only when the tag itself arrived and its
    # answer was lost: it then names the right image, which the check proves.
    assert assert_nothing_wrong_is_tagged(src_registry, dst_registry, fleet) >= len(copied)
    assert sum(dst_proxy.injected.values()) > 0.2 * sum(dst_proxy.requests.values())
