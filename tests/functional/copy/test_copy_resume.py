"""A large layer whose stream breaks part-way continues from where it broke.

The layer is 1 GiB. A fault proxy on each side breaks one request at 60 % of
the layer; the byte counter of the destination's proxy tells how much crossed
to the destination, and the destination must end up with the exact image.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest

from imageferry.copy import CopyEngine
from imageferry.reference import Reference
from imageferry.registry import RegistryClient, RegistryConfig
from imageferry.registry.upload import PART_SIZE
from imageferry.sandbox import skopeo
from imageferry.sandbox.registry import LocalRegistry
from stand_ins.faulty_proxy import FaultyProxy, ScriptedFault
from stand_ins.images import PushedManifest, push_large_image

GIB = 1 << 30
BREAK_AT = int(GIB * 0.6)


@pytest.fixture(scope="module")
def large() -> Iterator[tuple[LocalRegistry, PushedManifest]]:
    """One source registry holding a 1 GiB layer, shared by this module's tests."""
    with LocalRegistry() as registry:
        yield registry, push_large_image(registry.url, "big", "v1", GIB)


def _layer(pushed: PushedManifest) -> dict[str, object]:
    layer: dict[str, object] = json.loads(pushed.body)["layers"][0]
    return layer


def _is_layer(digest: object, method: str) -> object:
    return lambda m, path: m == method and path.endswith(f"/blobs/{digest}")


async def _copy(src: FaultyProxy, dst: FaultyProxy) -> tuple[str, int, int]:
    tracemalloc.start()
    try:
        async with RegistryClient(RegistryConfig(backoff_base=0.05)) as client:
            result = await CopyEngine(client.repository, retry_delay=0.05).copy(
                Reference.parse(f"{src.host}/big:v1"), Reference.parse(f"{dst.host}/big:v1")
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "copied", result.error
    return result.status, result.retries, peak


def _assert_arrived(dst: LocalRegistry, pushed: PushedManifest) -> None:
    assert skopeo.inspect_digest(f"{dst.host}/big:v1") == pushed.digest
    layer = _layer(pushed)
    # The registry checked the digest when the upload closed; it serves the layer by it.
    head = httpx.head(f"{dst.url}/v2/big/blobs/{layer['digest']}")
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == layer["size"]


async def test_source_stream_reset_at_sixty_percent_continues_from_there(
    large: tuple[LocalRegistry, PushedManifest], dst_registry: LocalRegistry
) -> None:
    src_registry, pushed = large
    digest = _layer(pushed)["digest"]
    with FaultyProxy(src_registry.url) as src, FaultyProxy(dst_registry.url) as dst:
        src.script(ScriptedFault("reset-body", _is_layer(digest, "GET"), at=BREAK_AT))  # type: ignore[arg-type]
        _, retries, peak = await _copy(src, dst)

    print(f"sent {dst.bytes_in} B; read {src.bytes_out} B; peak {peak} B")
    assert src.injected["reset-body"] == 1
    assert retries == 1
    # The source was read once in all, the destination got each byte once.
    assert src.bytes_out < 1.1 * GIB  # (a restart reads 1.6 GiB; the socket reads ahead)
    assert dst.bytes_in <= 1.5 * GIB
    assert dst.bytes_in < GIB + (1 << 20)  # the layer and its config, once
    assert peak < 64 << 20, f"peak Python allocation {peak} bytes"
    _assert_arrived(dst_registry, pushed)


async def test_upload_dropped_at_sixty_percent_resumes_at_the_registrys_offset(
    large: tuple[LocalRegistry, PushedManifest], dst_registry: LocalRegistry
) -> None:
    src_registry, pushed = large
    # The registry's front never passes on a broken request: the session stays
    # where the last acknowledged part left it.
    with (
        FaultyProxy(src_registry.url) as src,
        FaultyProxy(dst_registry.url, drops_reach_registry=False) as dst,
    ):
        # The PATCH carrying byte BREAK_AT of the upload: parts before it went through.
        crossing = {"seen": 0}

        def patch_at_break(method: str, path: str) -> bool:
            del path
            if method != "PATCH":
                return False
            crossing["seen"] += 1
            return crossing["seen"] * PART_SIZE > BREAK_AT

        dst.script(ScriptedFault("drop-upload", patch_at_break, at=BREAK_AT % PART_SIZE))
        _, retries, peak = await _copy(src, dst)

    print(f"sent {dst.bytes_in} B; read {src.bytes_out} B; peak {peak} B")
    assert dst.injected["drop-upload"] == 1
    assert retries == 1
    assert dst.bytes_in <= 1.5 * GIB
    # Resumed, not started again (that would be 1.6 GiB each way): what crossed
    # twice is the broken part's share, and the source was read again from the
    # last acknowledged part on (plus what the socket had read ahead).
    assert dst.bytes_in < GIB + PART_SIZE
    assert src.bytes_out < 1.25 * GIB
    assert peak < 64 << 20, f"peak Python allocation {peak} bytes"
    _assert_arrived(dst_registry, pushed)


async def test_upload_the_registry_cannot_resume_starts_again_and_arrives(
    dst_registry: LocalRegistry, src_registry: LocalRegistry
) -> None:
    size = 96 << 20  # two parts: a PATCH of 64 MiB, then the closing PUT with the rest
    pushed = push_large_image(src_registry.url, "big", "v1", size)
    # The drop reaches the registry: distribution 2.8 then holds part of a
    # PATCH and refuses to say where the session stands.
    with FaultyProxy(src_registry.url) as src, FaultyProxy(dst_registry.url) as dst:
        dst.script(ScriptedFault("drop-upload", lambda m, _: m == "PATCH", at=size // 3))
        _, retries, _ = await _copy(src, dst)

    assert dst.injected["drop-upload"] == 1
    assert retries == 1  # started again: one more fetch from the source
    assert size + size // 3 <= dst.bytes_in < size + size // 3 + (1 << 20)
    _assert_arrived(dst_registry, pushed)
