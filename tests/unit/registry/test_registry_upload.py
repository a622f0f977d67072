"""Resumable uploads: parts, the session's status after a break, and when to give up."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiohttp import web

from imageferry.digest import Digest
from imageferry.errors import ResponseError, SizeMismatch, TransportError
from imageferry.manifest import Descriptor
from imageferry.registry.repository import Repository
from imageferry.registry.transport import Transport
from imageferry.registry.upload import held_bytes
from unit.registry.registry_fakes import FakeServer

BLOB = bytes(range(256)) * 4
BLOB_DESC = Descriptor("application/octet-stream", Digest.of(BLOB), len(BLOB))


class MemoryChunks:
    """ResumableChunks over bytes in memory, recording marks and rewinds."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0
        self.marks: list[int] = []
        self.rewinds: list[int] = []

    def __aiter__(self) -> MemoryChunks:
        return self

    async def __anext__(self) -> bytes:
        piece = await self.read(100)
        if not piece:
            raise StopAsyncIteration
        return piece

    async def read(self, limit: int) -> bytes:
        piece = self.data[self.position : self.position + min(limit, 100)]
        self.position += len(piece)
        return piece

    def mark(self) -> None:
        self.marks.append(self.position)

    async def rewind(self, offset: int) -> bool:
        self.rewinds.append(offset)
        if not (self.marks or [0])[-1] <= offset <= self.position:
            return False
        self.position = offset
        return True


@pytest.mark.parametrize(
    ("header", "held"),
    [
        ("0-299", 300),
        ("bytes=0-299", 300),
        ("0-0", 0),  # distribution's answer for an empty session
        ("", None),
        ("10-299", None),
        ("0-", None),
    ],
)
def test_held_bytes_reads_the_upload_range(header: str, held: int | None) -> None:
    assert held_bytes(header) == held


def _repo(transport: Transport, fake: FakeServer, part_size: int = 300) -> Repository:
    return Repository(transport, fake.host, "team/app", part_size=part_size)


async def test_dropped_part_resumes_where_the_registry_stands(
    fake: FakeServer, transport: Transport
) -> None:
    held = bytearray()
    broken = {"done": False}

    async def handler(request: web.Request) -> web.StreamResponse:
        body = fake.seen[-1].body
        if request.method == "POST":
            return web.Response(status=202, headers={"Location": "/upload/u?s=0"})
        if request.method == "PATCH":
            if len(held) == 300 and not broken["done"]:
                broken["done"] = True
                assert request.transport is not None
                request.transport.abort()  # the registry keeps nothing of this part
                return web.Response(status=500)
            held.extend(body)
            return web.Response(status=202, headers={"Location": f"/upload/u?s={len(held)}"})
        if request.method == "GET":
            return web.Response(
                status=204,
                headers={"Range": f"0-{len(held) - 1}", "Location": f"/upload/u?s={len(held)}"},
            )
        held.extend(body)
        return web.Response(status=201)

    fake.handler = handler
    chunks = MemoryChunks(BLOB)
    await _repo(transport, fake).put_blob(BLOB_DESC, chunks)

    assert bytes(held) == BLOB
    assert chunks.rewinds == [300]
    sent = [(s.method, s.headers.get("Content-Range"), s.path_qs) for s in fake.seen]
    assert sent == [
        ("POST", None, "/v2/team/app/blobs/uploads/"),
        ("PATCH", "0-299", "/upload/u?s=0"),
        ("PATCH", "300-599", "/upload/u?s=300"),
        ("GET", None, "/upload/u?s=300"),
        ("PATCH", "300-599", "/upload/u?s=300"),
        ("PATCH", "600-899", "/upload/u?s=600"),
        ("PUT", None, f"/upload/u?s=900&digest={BLOB_DESC.digest}".replace(":", "%3A")),
    ]
    assert fake.seen[-1].body == BLOB[900:]


def upload_session(fake: FakeServer, **answers: Callable[[web.Request], web.Response]) -> None:
    """POST opens ``/upload/u``, DELETE cancels it, other methods answer as ``answers`` say."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            return web.Response(status=202, headers={"Location": "/upload/u"})
        if request.method == "DELETE":
            return web.Response(status=204)
        return answers[request.method](request)

    fake.handler = handler


def dropped(request: web.Request) -> web.Response:
    assert request.transport is not None
    request.transport.abort()
    return web.Response(status=500)


def taken(request: web.Request) -> web.Response:
    return web.Response(status=202, headers={"Location": "/upload/u"})


async def test_registry_refusing_to_say_where_it_stands_leaves_a_restart(
    fake: FakeServer, transport: Transport
) -> None:
    # distribution 2.8, after a PATCH that broke part-way.
    invalid = {"errors": [{"code": "BLOB_UPLOAD_INVALID", "message": "blob upload invalid"}]}
    upload_session(fake, PATCH=dropped, GET=lambda _: web.json_response(invalid, status=404))

    with pytest.raises(TransportError):
        await _repo(transport, fake).put_blob(BLOB_DESC, MemoryChunks(BLOB))
    assert [s.method for s in fake.seen] == ["POST", "PATCH", "GET", "DELETE"]


async def test_busy_answer_to_a_streamed_put_sends_it_again_in_the_same_session(
    fake: FakeServer, transport: Transport
) -> None:
    puts = iter([web.Response(status=503), web.Response(status=201)])
    upload_session(
        fake,
        GET=lambda _: web.Response(status=204, headers={"Range": "0-0"}),
        PUT=lambda _: next(puts),
    )
    chunks = MemoryChunks(BLOB)
    await _repo(transport, fake, part_size=4096).put_blob(BLOB_DESC, chunks)

    assert [s.method for s in fake.seen] == ["POST", "PUT", "GET", "PUT"]
    assert chunks.rewinds == [0]
    assert fake.seen[-1].body == BLOB


async def test_chunks_ending_early_are_a_size_mismatch_not_a_hang(
    fake: FakeServer, transport: Transport
) -> None:
    upload_session(fake, PATCH=taken)
    with pytest.raises(SizeMismatch):
        await _repo(transport, fake).put_blob(BLOB_DESC, MemoryChunks(BLOB[:500]))
    assert fake.seen[-1].method == "DELETE"


# -- ranged reads: the source side of a resumption ------------------------------------


async def _read_from(transport: Transport, fake: FakeServer, offset: int) -> bytes:
    async with _repo(transport, fake).open_blob_at(BLOB_DESC, offset) as chunks:
        return b"".join([piece async for piece in chunks])


async def test_ranged_read_asks_from_the_offset_on(fake: FakeServer, transport: Transport) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(
            status=206,
            body=BLOB[700:],
            headers={"Content-Range": f"bytes 700-{len(BLOB) - 1}/{len(BLOB)}"},
        )

    fake.handler = handler
    assert await _read_from(transport, fake, 700) == BLOB[700:]
    assert fake.seen[0].headers["Range"] == "bytes=700-"


async def test_registry_ignoring_the_range_has_the_start_skipped(
    fake: FakeServer, transport: Transport
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=BLOB)

    fake.handler = handler
    assert await _read_from(transport, fake, 700) == BLOB[700:]


async def test_a_partial_answer_for_another_range_is_refused(
    fake: FakeServer, transport: Transport
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=206, body=BLOB, headers={"Content-Range": "bytes 0-1023/1024"})

    fake.handler = handler
    with pytest.raises(ResponseError, match="another range"):
        await _read_from(transport, fake, 700)


async def test_the_range_follows_a_redirect_to_storage(
    fake: FakeServer, transport: Transport
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/storage/"):
            start = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
            return web.Response(
                status=206,
                body=BLOB[start:],
                headers={"Content-Range": f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}"},
            )
        return web.Response(status=307, headers={"Location": "/storage/blob?sig=abc"})

    fake.handler = handler
    assert await _read_from(transport, fake, 100) == BLOB[100:]
    assert fake.seen[-1].headers["Range"] == "bytes=100-"


async def test_an_empty_blob_is_one_put_without_a_body(
    fake: FakeServer, transport: Transport
) -> None:
    upload_session(fake, PUT=lambda _: web.Response(status=201))
    empty = Descriptor("application/octet-stream", Digest.of(b""), 0)
    await _repo(transport, fake).put_blob(empty, MemoryChunks(b""))
    assert [(s.method, s.body) for s in fake.seen] == [("POST", b""), ("PUT", b"")]
    assert fake.seen[-1].headers["Content-Length"] == "0"
