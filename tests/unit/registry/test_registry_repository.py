"""Repository edge cases a real docker-registry will not produce on demand."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from imageferry.digest import Digest
from imageferry.errors import DigestMismatch, ResponseError, SizeMismatch, UnsupportedManifest
from imageferry.manifest import DOCKER_SCHEMA1_SIGNED, OCI_MANIFEST, Descriptor, RawManifest
from imageferry.registry.client import RegistryClient
from imageferry.registry.repository import Repository
from imageferry.registry.transport import Transport
from unit.registry.registry_fakes import FakeServer, Sleeps

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + "a" * 64,
            "size": 2,
        },
        "layers": [],
    }
).encode()
BLOB = b"0123456789" * 100
BLOB_DESC = Descriptor("application/octet-stream", Digest.of(BLOB), len(BLOB))


@pytest.fixture
async def client() -> AsyncIterator[RegistryClient]:
    async with RegistryClient() as c:
        yield c


def repo(client: RegistryClient, fake: FakeServer, chunk_size: int | None = None) -> Repository:
    return Repository(client.transport, fake.host, "team/app", chunk_size=chunk_size)


async def chunks_of(data: bytes, size: int = 100) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_get_manifest_checks_the_digest_header(
    fake: FakeServer, client: RegistryClient
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=MANIFEST,
            headers={
                "Content-Type": OCI_MANIFEST,
                "Docker-Content-Digest": str(Digest.of(b"something else")),
            },
        )

    fake.handler = handler
    with pytest.raises(DigestMismatch) as info:
        await repo(client, fake).get_manifest("v1")
    assert info.value.expected == str(Digest.of(b"something else"))
    assert info.value.actual == str(Digest.of(MANIFEST))


async def test_get_manifest_by_digest_checks_the_bytes(
    fake: FakeServer, client: RegistryClient
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=MANIFEST, headers={"Content-Type": OCI_MANIFEST})

    fake.handler = handler
    wanted = Digest.of(b"another manifest")
    with pytest.raises(DigestMismatch):
        await repo(client, fake).get_manifest(str(wanted))
    manifest = await repo(client, fake).get_manifest(str(Digest.of(MANIFEST)))
    assert manifest.body == MANIFEST
    assert manifest.media_type == OCI_MANIFEST
    assert fake.seen[-1].headers["Accept"].startswith("application/vnd.oci.image.index.v1+json")


async def test_schema1_manifest_is_refused_clearly(
    fake: FakeServer, client: RegistryClient
) -> None:
    body = json.dumps({"schemaVersion": 1, "name": "team/app", "tag": "old", "fsLayers": []})

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(text=body, headers={"Content-Type": DOCKER_SCHEMA1_SIGNED})

    fake.handler = handler
    with pytest.raises(UnsupportedManifest) as info:
        await repo(client, fake).get_manifest("old")
    message = str(info.value)
    assert f"{fake.host}/team/app:old" in message
    assert "schema 1" in message


async def test_head_without_digest_header_falls_back_to_get(
    fake: FakeServer, client: RegistryClient
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method == "HEAD":
            return web.Response(headers={"Content-Type": OCI_MANIFEST})
        return web.Response(body=MANIFEST, headers={"Content-Type": OCI_MANIFEST})

    fake.handler = handler
    descriptor = await repo(client, fake).head_manifest("v1")
    assert descriptor == Descriptor(OCI_MANIFEST, Digest.of(MANIFEST), len(MANIFEST))
    assert [s.method for s in fake.seen] == ["HEAD", "GET"]


@pytest.mark.parametrize(
    ("status", "present"), [(200, True), (307, True), (302, True), (404, False)]
)
async def test_blob_head_redirected_to_storage_means_present(
    fake: FakeServer, client: RegistryClient, status: int, present: bool
) -> None:
    # distribution on object storage redirects a HEAD of a blob it holds, as a GET.
    async def handler(request: web.Request) -> web.StreamResponse:
        headers = {"Location": "http://storage.invalid/blob?sig=1"} if status in (302, 307) else {}
        return web.Response(status=status, headers=headers)

    fake.handler = handler
    assert await repo(client, fake).has_blob(BLOB_DESC.digest) is present
    assert [s.method for s in fake.seen] == ["HEAD"]  # the storage is not asked


async def test_mount_declined_cancels_the_started_upload(
    fake: FakeServer, client: RegistryClient
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            return web.Response(status=202, headers={"Location": "/v2/team/app/blobs/uploads/u1"})
        return web.Response(status=204)

    fake.handler = handler
    assert await repo(client, fake).mount_blob(BLOB_DESC.digest, "other/app") is False
    post, delete = fake.seen
    assert post.path_qs.startswith("/v2/team/app/blobs/uploads/?")
    assert f"mount={BLOB_DESC.digest}".replace(":", "%3A") in post.path_qs
    assert "from=other%2Fapp" in post.path_qs
    assert (delete.method, delete.path_qs) == ("DELETE", "/v2/team/app/blobs/uploads/u1")


async def test_monolithic_upload_streams_with_content_length(
    fake: FakeServer, client: RegistryClient
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            # An absolute Location with opaque state in the query.
            return web.Response(
                status=202, headers={"Location": f"{fake.url}/upload/u1?_state=a%2Bb%3D"}
            )
        return web.Response(status=201)

    fake.handler = handler
    await repo(client, fake).put_blob(BLOB_DESC, chunks_of(BLOB))
    put = fake.seen[-1]
    assert put.method == "PUT"
    assert put.path_qs == f"/upload/u1?_state=a%2Bb%3D&digest={BLOB_DESC.digest}".replace(
        "sha256:", "sha256%3A"
    )
    assert put.headers["Content-Length"] == str(len(BLOB))
    assert "Transfer-Encoding" not in put.headers
    assert put.body == BLOB


async def test_chunked_upload_when_the_registry_asks(
    fake: FakeServer, client: RegistryClient
) -> None:
    received = bytearray()

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            return web.Response(
                status=202,
                headers={"Location": "/upload/u0", "OCI-Chunk-Min-Length": "300"},
            )
        if request.method == "PATCH":
            received.extend(fake.seen[-1].body)
            n = len([s for s in fake.seen if s.method == "PATCH"])
            return web.Response(status=202, headers={"Location": f"/upload/u{n}"})
        return web.Response(status=201)

    fake.handler = handler
    await repo(client, fake).put_blob(BLOB_DESC, chunks_of(BLOB, 70))
    patches = fake.requests("PATCH")
    assert [p.headers["Content-Range"] for p in patches] == [
        "0-299",
        "300-599",
        "600-899",
        "900-999",
    ]
    assert [p.path_qs for p in patches] == ["/upload/u0", "/upload/u1", "/upload/u2", "/upload/u3"]
    assert bytes(received) == BLOB
    final = fake.seen[-1]
    assert final.method == "PUT"
    assert final.path_qs.startswith("/upload/u4?digest=sha256")
    assert final.body == b""


async def test_chunk_size_option_forces_chunks(fake: FakeServer, client: RegistryClient) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method in ("POST", "PATCH"):
            return web.Response(status=202, headers={"Location": "/upload/next"})
        return web.Response(status=201)

    fake.handler = handler
    await repo(client, fake, chunk_size=512).put_blob(BLOB_DESC, chunks_of(BLOB))
    assert [p.headers["Content-Length"] for p in fake.requests("PATCH")] == ["512", "488"]


async def test_failing_source_aborts_and_cancels_the_upload(
    fake: FakeServer, client: RegistryClient
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            return web.Response(status=202, headers={"Location": "/upload/u1"})
        if request.method == "DELETE":
            return web.Response(status=204)
        return web.Response(status=201)

    class SourceBroke(Exception):
        pass

    async def broken() -> AsyncIterator[bytes]:
        yield BLOB[:100]
        raise SourceBroke("source connection reset")

    fake.handler = handler
    with pytest.raises(SourceBroke):
        await repo(client, fake).put_blob(BLOB_DESC, broken())
    assert fake.seen[-1].method == "DELETE"
    assert fake.seen[-1].path_qs == "/upload/u1"


async def test_short_stream_is_a_size_mismatch(fake: FakeServer, client: RegistryClient) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            return web.Response(status=202, headers={"Location": "/upload/u1"})
        return web.Response(status=204 if request.method == "DELETE" else 201)

    fake.handler = handler
    with pytest.raises(SizeMismatch) as info:
        await repo(client, fake).put_blob(BLOB_DESC, chunks_of(BLOB[:-10]))
    assert (info.value.expected, info.value.actual) == (1000, 990)
    # Nothing was committed: the PUT never completed with the short body.
    assert not any(s.method == "PUT" and s.body == BLOB[:-10] for s in fake.seen)
    assert fake.seen[-1].method == "DELETE"


async def test_tags_follow_relative_link_headers(fake: FakeServer, client: RegistryClient) -> None:
    pages = {
        "/v2/team/app/tags/list?n=2": (
            ["a", "b"],
            '</v2/team/app/tags/list?last=b&n=2>; rel="next"',
        ),
        "/v2/team/app/tags/list?last=b&n=2": (
            ["c", "d"],
            '</v2/team/app/tags/list?last=d&n=2>; rel="next"',
        ),
        "/v2/team/app/tags/list?last=d&n=2": (["e"], None),
    }

    async def handler(request: web.Request) -> web.StreamResponse:
        tags, link = pages[request.path_qs]
        headers = {"Link": link} if link else {}
        return web.json_response({"name": "team/app", "tags": tags}, headers=headers)

    fake.handler = handler
    assert await client.list_tags(fake.host, "team/app", page_size=2) == ["a", "b", "c", "d", "e"]
    assert len(fake.seen) == 3


def _refusal(*codes: str) -> web.Response:
    body = {"errors": [{"code": code, "message": code.lower()} for code in codes]}
    return web.json_response(body, status=400)


async def test_put_manifest_retries_a_passing_manifest_blob_unknown(
    fake: FakeServer, transport: Transport, sleeps: Sleeps
) -> None:
    # What docker-registry answers when a child is being re-pushed by another client.
    answers = [_refusal("DIGEST_INVALID", "MANIFEST_BLOB_UNKNOWN")]

    async def handler(request: web.Request) -> web.StreamResponse:
        if answers:
            return answers.pop(0)
        return web.Response(status=201, headers={"Docker-Content-Digest": str(Digest.of(MANIFEST))})

    fake.handler = handler
    repository = Repository(transport, fake.host, "team/app")

    await repository.put_manifest("v1", RawManifest(MANIFEST, OCI_MANIFEST))

    assert [s.body for s in fake.requests("PUT")] == [MANIFEST, MANIFEST]
    assert len(sleeps.delays) == 1


async def test_put_manifest_reports_a_lasting_manifest_blob_unknown(
    fake: FakeServer, transport: Transport, sleeps: Sleeps
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return _refusal("MANIFEST_BLOB_UNKNOWN")

    fake.handler = handler
    repository = Repository(transport, fake.host, "team/app")

    with pytest.raises(ResponseError) as caught:
        await repository.put_manifest("v1", RawManifest(MANIFEST, OCI_MANIFEST))

    assert caught.value.status == 400
    assert caught.value.code == "MANIFEST_BLOB_UNKNOWN"
    # A couple of retries, fewer than the transport's retries of a 5xx (3 here).
    assert len(fake.requests("PUT")) == 3
    assert len(sleeps.delays) == 2


async def test_put_manifest_does_not_retry_other_refusals(
    fake: FakeServer, transport: Transport, sleeps: Sleeps
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return _refusal("MANIFEST_INVALID")

    fake.handler = handler
    repository = Repository(transport, fake.host, "team/app")

    with pytest.raises(ResponseError, match="MANIFEST_INVALID"):
        await repository.put_manifest("v1", RawManifest(MANIFEST, OCI_MANIFEST))

    assert len(fake.requests("PUT")) == 1
    assert sleeps.delays == []


async def test_referrers_api_pages_and_its_absence(
    fake: FakeServer, client: RegistryClient
) -> None:
    subject = Digest.of(MANIFEST)
    sig = {"mediaType": OCI_MANIFEST, "digest": str(Digest.of(b"sig")), "size": 3}
    sbom = {**sig, "digest": str(Digest.of(b"sbom")), "artifactType": "application/spdx+json"}
    first = f"/v2/team/app/referrers/{subject}"

    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.headers["Accept"] == "application/vnd.oci.image.index.v1+json"
        if request.path_qs == first:
            link = f'<{first}?page=2>; rel="next"'
            return web.json_response({"manifests": [sig]}, headers={"Link": link})
        return web.json_response({"manifests": [sbom]})

    fake.handler = handler
    found = await repo(client, fake).list_referrers(subject)
    assert found is not None
    assert [str(d.digest) for d in found] == [sig["digest"], sbom["digest"]]
    assert found[1].artifact_type == "application/spdx+json"

    async def no_api(request: web.Request) -> web.StreamResponse:
        return web.Response(status=404, text="404 page not found")

    fake.handler = no_api
    assert await repo(client, fake).list_referrers(subject) is None


async def test_an_upload_on_another_host_gets_no_registry_credentials(
    fake: FakeServer, other: FakeServer
) -> None:
    from imageferry.registry.credentials import Credentials, StaticCredentials

    async def registry(request: web.Request) -> web.StreamResponse:
        if "Authorization" not in request.headers:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        # The upload goes to another host, as an upload service's would.
        return web.Response(status=202, headers={"Location": f"{other.url}/upload/u1?sig=abc"})

    async def uploads(request: web.Request) -> web.StreamResponse:
        return web.Response(status=201)

    fake.handler, other.handler = registry, uploads
    creds = StaticCredentials({fake.host: Credentials("bob", "hunter2")})
    async with RegistryClient(credentials=creds) as client:
        await repo(client, fake).put_blob(BLOB_DESC, chunks_of(BLOB))

    assert fake.seen[-1].headers["Authorization"].startswith("Basic ")
    (put,) = other.seen
    assert put.method == "PUT" and put.body == BLOB
    assert "Authorization" not in put.headers
