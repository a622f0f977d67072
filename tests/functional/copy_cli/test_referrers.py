"""``ferry copy --referrers``: signatures and SBOMs follow their image (real registries)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from imageferry.copy.referrers import tag_for
from imageferry.digest import Digest
from imageferry.manifest import OCI_INDEX, OCI_MANIFEST
from stand_ins.images import PushedManifest, push_artifact, push_image
from stand_ins.registry import LocalRegistry
from stand_ins.skopeo import inspect_digest

FERRY = str(Path(sys.executable).parent / "ferry")
SIG = "application/vnd.dev.cosign.simplesigning.v1+json"


def ferry(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FERRY, *args], capture_output=True, text=True, timeout=120)


def cosign_signature(registry: LocalRegistry, repo: str, of: str) -> PushedManifest:
    """A signature stored the way cosign does by default: a tag next to the image."""
    return push_artifact(
        registry.url,
        repo,
        f"{tag_for(Digest.parse(of))}.sig",
        artifact_type=SIG,
        blobs=[json.dumps({"critical": {"image": {"docker-manifest-digest": of}}}).encode()],
        blob_media_type=SIG,
        seed=of,
    )


def tag_schema_index(
    registry: LocalRegistry, repo: str, subject: str, *refs: PushedManifest
) -> str:
    """The referrers tag schema (distribution-spec 1.1): an index at ``sha256-<hex>``."""
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": r.digest,
                "size": len(r.body),
                "artifactType": "application/vnd.example.sbom.v1",
            }
            for r in refs
        ],
    }
    tag = tag_for(Digest.parse(subject))
    r = httpx.put(
        f"{registry.url}/v2/{repo}/manifests/{tag}",
        content=json.dumps(index).encode(),
        headers={"Content-Type": OCI_INDEX},
    )
    assert r.status_code == 201, r.text
    return tag


def test_signatures_and_sboms_follow_the_image(
    src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    image = push_image(src_registry.url, "team/app", "v1")
    signature = cosign_signature(src_registry, "team/app", image.digest)
    sbom = push_artifact(src_registry.url, "team/app", None, subject=image, seed="sbom")
    index_tag = tag_schema_index(src_registry, "team/app", image.digest, sbom)
    # A signature on the SBOM: a referrer of a referrer.
    sbom_signature = cosign_signature(src_registry, "team/app", sbom.digest)
    src, dst = f"{src_registry.host}/team/app", f"{dst_registry.host}/mirror/app"

    first = ferry("copy", "--referrers", "-o", "json", f"{src}:v1", f"{dst}:v1")
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    copied = {i["destination"]: i["digest"] for i in doc["images"]}
    assert all(i["status"] == "copied" for i in doc["images"]), doc["images"]
    assert copied[f"{dst}:v1"] == image.digest
    assert copied[f"{dst}:{signature.tag}"] == signature.digest
    assert copied[f"{dst}:{sbom_signature.tag}"] == sbom_signature.digest
    assert f"{dst}:{index_tag}" in copied
    # An independent client finds each at the destination, digests preserved.
    assert inspect_digest(f"{dst}:{signature.tag}") == signature.digest
    assert inspect_digest(f"{dst}:{sbom_signature.tag}") == sbom_signature.digest
    assert inspect_digest(f"{dst}@{sbom.digest}") == sbom.digest
    assert inspect_digest(f"{dst}:{index_tag}") == inspect_digest(f"{src}:{index_tag}")

    again = json.loads(ferry("copy", "--referrers", "-o", "json", f"{src}:v1", f"{dst}:v1").stdout)
    assert {i["status"] for i in again["images"]} == {"skipped"}
    assert len(again["images"]) == len(doc["images"])


def test_without_the_flag_only_the_image_is_copied(
    src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    image = push_image(src_registry.url, "app", "v1")
    signature = cosign_signature(src_registry, "app", image.digest)
    result = ferry(
        "copy", "-o", "json", f"{src_registry.host}/app:v1", f"{dst_registry.host}/app:v1"
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["images"]) == 1
    tags = httpx.get(f"{dst_registry.url}/v2/app/tags/list").json()["tags"]
    assert tags == ["v1"]
    assert signature.tag not in tags


def test_dry_run_lists_the_referrers_and_writes_nothing(
    src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    image = push_image(src_registry.url, "app", "v1")
    signature = cosign_signature(src_registry, "app", image.digest)
    result = ferry(
        "copy",
        "--dry-run",
        "--referrers",
        "-o",
        "json",
        f"{src_registry.host}/app:v1",
        f"{dst_registry.host}/app:v1",
    )
    assert result.returncode == 0, result.stderr
    planned = {i["destination"]: i for i in json.loads(result.stdout)["images"]}
    sig = planned[f"{dst_registry.host}/app:{signature.tag}"]
    assert sig["status"] == "would-copy" and sig["digest"] == signature.digest
    assert httpx.get(f"{dst_registry.url}/v2/_catalog").json()["repositories"] == []


async def test_a_failed_referrers_lookup_is_reported_in_text_mode(
    src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    """A source whose referrers endpoint answers 405: the log says which image and why."""
    import asyncio

    from aiohttp import ClientSession, web

    push_image(src_registry.url, "app", "v1")

    async with ClientSession(auto_decompress=False) as session:

        async def forward(request: web.Request) -> web.StreamResponse:
            if "/referrers/" in request.path:
                return web.Response(status=405, text="method not allowed")
            async with session.request(
                request.method,
                f"{src_registry.url}{request.path_qs}",
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
                data=await request.read(),
                allow_redirects=False,
            ) as upstream:
                body = await upstream.read()
                headers = {
                    k: v
                    for k, v in upstream.headers.items()
                    if k.lower() not in ("content-length", "transfer-encoding")
                }
                return web.Response(status=upstream.status, headers=headers, body=body)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            proc = await asyncio.create_subprocess_exec(
                FERRY,
                "copy",
                "--referrers",
                f"127.0.0.1:{port}/app:v1",
                f"{dst_registry.host}/app:v1",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 120)
        finally:
            await runner.cleanup()

    assert proc.returncode == 1
    assert "1 copied, 0 skipped, 1 failed" in out.decode()
    failed = [line for line in err.decode().splitlines() if " failed " in line]
    assert len(failed) == 1, err.decode()
    assert "looking for referrers of" in failed[0] and "answered 405" in failed[0]
