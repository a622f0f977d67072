"""The engine against in-memory registries: what it reads, writes, skips and refuses."""

from __future__ import annotations

import asyncio

import pytest

from imageferry.copy import CopyEngine, CopyOptions, ImageResult
from imageferry.digest import Digest
from imageferry.errors import DigestMismatch, NotFound, TransportError
from imageferry.manifest import Platform
from imageferry.reference import Reference
from unit.copy.fakes import FakeRegistries, FakeRegistry, store_image, store_index

SRC = "src.example"
DST = "dst.example"
AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")


def ref(text: str) -> Reference:
    return Reference.parse(text)


@pytest.fixture
def src() -> FakeRegistry:
    return FakeRegistry(SRC)


@pytest.fixture
def dst() -> FakeRegistry:
    return FakeRegistry(DST)


def engine(src: FakeRegistry, dst: FakeRegistry, **kwargs: object) -> CopyEngine:
    return CopyEngine(FakeRegistries(src, dst), retry_delay=0, **kwargs)  # type: ignore[arg-type]


def writes(registry: FakeRegistry) -> list[tuple[str, str, str]]:
    return [c for c in registry.calls if c[0] in ("put_blob", "put_manifest", "mount_blob")]


async def test_copies_an_image_byte_for_byte(src: FakeRegistry, dst: FakeRegistry) -> None:
    raw = store_image(src, "app", b"cfg", [b"layer-1", b"layer-2"], tag="v1")

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/mirror/app:v1"))

    assert result.status == "copied", result.error
    assert result.digest == str(raw.digest)
    assert dst.tag("mirror/app", "v1") == raw
    assert result.bytes_transferred == len(b"cfg") + len(b"layer-1") + len(b"layer-2")
    assert result.bytes_reused == 0
    # The tag is the very last write.
    assert writes(dst)[-1] == ("put_manifest", "mirror/app", "v1")


async def test_second_run_is_skipped_with_one_head_on_each_side(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    store_image(src, "app", b"cfg", [b"layer"], tag="v1")
    copier = engine(src, dst)
    await copier.copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))
    src.calls.clear()
    dst.calls.clear()

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "skipped"
    assert src.calls == [("head_manifest", "app", "v1")]
    assert dst.calls == [("head_manifest", "app", "v1")]


async def test_up_to_date_image_sends_both_heads_at_once(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    store_image(src, "app", b"cfg", [b"layer"], tag="v1")
    await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))
    factory = FakeRegistries(src, dst)
    both_asked = asyncio.Event()
    asked: list[str] = []

    def meeting_heads(registry: str, repository: str) -> object:
        repo = factory(registry, repository)
        plain = repo.head_manifest

        async def head_manifest(reference: str) -> object:
            # Each side's HEAD answers only once the other side's has been sent:
            # HEADs sent one after the other would wait here for good.
            asked.append(registry)
            if len(asked) == 2:
                both_asked.set()
            await asyncio.wait_for(both_asked.wait(), timeout=5)
            return await plain(reference)

        repo.head_manifest = head_manifest  # type: ignore[method-assign]
        return repo

    result = await CopyEngine(meeting_heads).copy(  # type: ignore[arg-type]
        ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1")
    )

    assert result.status == "skipped", result.error
    assert sorted(asked) == [DST, SRC]


async def test_multi_arch_copy_preserves_the_index_digest(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    a = store_image(src, "app", b"cfg-a", [b"base", b"amd"], oci=True)
    b = store_image(src, "app", b"cfg-b", [b"base", b"arm"], oci=True)
    index = store_index(src, "app", [(a, AMD64), (b, ARM64)], tag="v1")

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "copied", result.error
    assert result.digest == str(index.digest)
    assert dst.tag("app", "v1") == index
    pushes = [c[2] for c in dst.calls_of("put_manifest")]
    assert pushes[-1] == "v1"
    assert set(pushes[:-1]) == {str(a.digest), str(b.digest)}
    # The shared base layer is sent once.
    assert [c[2] for c in dst.calls_of("put_blob")].count(str(Digest.of(b"base"))) == 1


async def test_system_mode_tags_the_host_image(src: FakeRegistry, dst: FakeRegistry) -> None:
    a = store_image(src, "app", b"cfg-a", [b"amd"], oci=True)
    b = store_image(src, "app", b"cfg-b", [b"arm"], oci=True)
    store_index(src, "app", [(a, AMD64), (b, ARM64)], tag="v1")
    options = CopyOptions(multi_arch="system", system_platform=ARM64)

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"), options)

    assert result.status == "copied", result.error
    assert result.digest == str(b.digest)
    assert dst.tag("app", "v1") == b
    assert Digest.of(b"amd") not in dst.blobs

    # Up to date now: the second run needs the source index to know that, nothing more.
    dst.calls.clear()
    again = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"), options)
    assert again.status == "skipped"
    assert dst.calls == [("head_manifest", "app", "v1")]


async def test_untagged_image_is_copied_by_digest(src: FakeRegistry, dst: FakeRegistry) -> None:
    raw = store_image(src, "app", b"cfg", [b"layer"])  # no tag

    result = await engine(src, dst).copy(
        ref(f"{SRC}/app@{raw.digest}"), ref(f"{DST}/app@{raw.digest}")
    )

    assert result.status == "copied", result.error
    assert dst.manifests["app"] == {str(raw.digest): raw}
    assert dst.calls_of("put_manifest") == [("put_manifest", "app", str(raw.digest))]


async def test_tag_and_digest_source_uses_the_digest(src: FakeRegistry, dst: FakeRegistry) -> None:
    old = store_image(src, "app", b"cfg-old", [b"old"], tag="v1")
    store_image(src, "app", b"cfg-new", [b"new"], tag="v1")  # the tag moved on

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1@{old.digest}"), ref(f"{DST}/app:v1"))

    assert result.status == "copied", result.error
    assert dst.tag("app", "v1") == old


async def test_destination_digest_must_be_the_source_digest(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    raw = store_image(src, "app", b"cfg", [b"layer"], tag="v1")
    other = Digest.of(b"something else")

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app@{other}"))

    assert result.status == "failed"
    assert result.error is not None
    assert str(raw.digest) in result.error
    assert writes(dst) == []


async def test_missing_source_tag_fails_with_one_line_and_writes_nothing(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    result = await engine(src, dst).copy(ref(f"{SRC}/nope:latest"), ref(f"{DST}/nope:latest"))

    assert result.status == "failed"
    assert result.error == f"{SRC}/nope:latest: manifest unknown (404 MANIFEST_UNKNOWN)"
    assert "\n" not in result.error
    assert result.exception is not None
    assert isinstance(result.exception.cause, NotFound)
    assert writes(dst) == []


async def test_schema1_source_fails_and_writes_nothing(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    from imageferry.manifest import DOCKER_SCHEMA1_SIGNED, RawManifest

    raw = RawManifest(b'{"schemaVersion": 1, "name": "app", "fsLayers": []}', DOCKER_SCHEMA1_SIGNED)
    src.add_manifest("app", raw, "old")

    result = await engine(src, dst).copy(ref(f"{SRC}/app:old"), ref(f"{DST}/app:old"))

    assert result.status == "failed"
    assert result.error is not None and "schema 1" in result.error
    assert writes(dst) == []


async def test_corrupt_source_blob_fails_and_nothing_references_it(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    store_image(src, "app", b"cfg", [b"good-layer", b"real-bytes"], tag="v1")
    src.corrupt[Digest.of(b"real-bytes")] = b"evil-bytes"  # same size, other content

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "failed"
    assert result.exception is not None
    assert isinstance(result.exception.cause, DigestMismatch)
    assert "digest mismatch" in (result.error or "")
    assert dst.calls_of("put_manifest") == []
    assert Digest.of(b"real-bytes") not in dst.links.get("app", set())
    # Fetched again a bounded number of times (a corrupt store stays corrupt).
    assert len(src.calls_of("open_blob")) == 2 + 3  # cfg, good-layer once; real-bytes thrice
    assert result.retries == 2


async def test_blob_corrupted_on_the_way_is_fetched_again(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    raw = store_image(src, "app", b"cfg", [b"a-layer-of-some-length"], tag="v1")
    src.corrupt_reads[Digest.of(b"a-layer-of-some-length")] = 1

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "copied", result.error
    assert dst.tag("app", "v1") == raw
    assert result.retries == 1
    assert result.bytes_transferred == len(b"cfg") + len(b"a-layer-of-some-length")


async def test_source_stream_broken_half_way_continues_where_it_broke(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    layer = b"a-layer-of-some-length, long enough to break half-way"
    raw = store_image(src, "app", b"cfg", [layer], tag="v1")
    src.break_reads[Digest.of(layer)] = 2

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "copied", result.error
    assert dst.tag("app", "v1") == raw
    # One GET from the start, then two ranged GETs, each from where the last broke.
    assert [c[2] for c in src.calls_of("open_blob")].count(str(Digest.of(layer))) == 1
    offsets = [int(c[2].split()[1]) for c in src.calls_of("open_blob_at")]
    assert len(offsets) == 2 and 0 < offsets[0] < offsets[1] < len(layer)
    assert result.retries == 2
    # One upload per blob: the destination never saw the breaks.
    assert len(dst.calls_of("put_blob")) == 2


async def test_truncated_source_blob_fails_with_size_mismatch(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    store_image(src, "app", b"cfg", [b"0123456789"], tag="v1")
    src.corrupt[Digest.of(b"0123456789")] = b"01234"

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "failed"
    assert "size mismatch" in (result.error or "")
    assert dst.calls_of("put_manifest") == []


async def test_upload_broken_mid_stream_is_retried_from_the_source(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    raw = store_image(src, "app", b"cfg", [b"a-layer-of-some-length"], tag="v1")
    dst.break_uploads[Digest.of(b"a-layer-of-some-length")] = 2

    result = await engine(src, dst, blob_attempts=3).copy(
        ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1")
    )

    assert result.status == "copied", result.error
    assert dst.tag("app", "v1") == raw
    opened = [c[2] for c in src.calls_of("open_blob")]
    assert opened.count(str(Digest.of(b"a-layer-of-some-length"))) == 3
    # Bytes of the broken attempts are not counted as transferred.
    assert result.bytes_transferred == len(b"cfg") + len(b"a-layer-of-some-length")


async def test_upload_that_keeps_breaking_fails_after_bounded_attempts(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    store_image(src, "app", b"cfg", [b"a-layer-of-some-length"], tag="v1")
    dst.break_uploads[Digest.of(b"a-layer-of-some-length")] = 99

    result = await engine(src, dst, blob_attempts=2).copy(
        ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1")
    )

    assert result.status == "failed"
    assert result.exception is not None
    assert isinstance(result.exception.cause, TransportError)
    assert dst.tag("app", "v1") is None
    assert len(src.calls_of("open_blob")) == 1 + 2


async def test_shared_layers_cross_the_network_once_per_destination_registry(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    base = b"a big shared base layer" * 10
    pairs = []
    for i in range(6):
        store_image(src, f"team/app{i}", f"cfg{i}".encode(), [base, f"app{i}".encode()], tag="v1")
        pairs.append((ref(f"{SRC}/team/app{i}:v1"), ref(f"{DST}/mirror/app{i}:v1")))

    results = await engine(src, dst, max_images=6).copy_many(pairs)

    assert [r.status for r in results] == ["copied"] * 6
    base_digest = str(Digest.of(base))
    assert [c[2] for c in dst.calls_of("put_blob")].count(base_digest) == 1
    assert len([c for c in dst.calls_of("mount_blob") if c[2].startswith(base_digest)]) == 5
    assert sum(r.bytes_reused for r in results) == 5 * len(base)
    for i in range(6):
        assert Digest.of(base) in dst.links[f"mirror/app{i}"]


async def test_declined_mount_falls_back_to_upload(src: FakeRegistry, dst: FakeRegistry) -> None:
    base = b"shared"
    store_image(src, "a", b"cfg-a", [base], tag="v1")
    store_image(src, "b", b"cfg-b", [base], tag="v1")
    dst.mount_declined = True

    results = await engine(src, dst, max_images=1).copy_many(
        [(ref(f"{SRC}/a:v1"), ref(f"{DST}/a:v1")), (ref(f"{SRC}/b:v1"), ref(f"{DST}/b:v1"))]
    )

    assert [r.status for r in results] == ["copied", "copied"]
    assert [c[2] for c in dst.calls_of("put_blob")].count(str(Digest.of(base))) == 2


async def test_blob_already_in_destination_is_not_sent(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    store_image(src, "app", b"cfg", [b"base", b"top"], tag="v1")
    dst.add_blob("app", b"base")

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "copied"
    assert str(Digest.of(b"base")) not in [c[2] for c in dst.calls_of("put_blob")]
    assert result.bytes_reused == len(b"base")


async def test_one_failing_image_does_not_stop_the_others(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    store_image(src, "a", b"cfg-a", [b"la"], tag="v1")
    store_image(src, "c", b"cfg-c", [b"lc"], tag="v1")
    pairs = [
        (ref(f"{SRC}/a:v1"), ref(f"{DST}/a:v1")),
        (ref(f"{SRC}/missing:v1"), ref(f"{DST}/missing:v1")),
        (ref(f"{SRC}/c:v1"), ref(f"{DST}/c:v1")),
    ]

    results = await engine(src, dst).copy_many(pairs)

    assert [r.status for r in results] == ["copied", "failed", "copied"]
    assert [r.source for r in results] == [str(p[0]) for p in pairs]


async def test_blob_concurrency_bound_is_respected(src: FakeRegistry, dst: FakeRegistry) -> None:
    pairs = []
    for i in range(4):
        layers = [f"img{i}-layer{j}".encode() for j in range(6)]
        store_image(src, f"app{i}", f"cfg{i}".encode(), layers, tag="v1")
        pairs.append((ref(f"{SRC}/app{i}:v1"), ref(f"{DST}/app{i}:v1")))
    dst.upload_delay = 0.001

    results = await engine(src, dst, max_images=4, max_blobs=3).copy_many(pairs)

    assert all(r.status == "copied" for r in results)
    assert dst.max_uploading == 3  # reached, never exceeded


class RecordingSink:
    def __init__(self) -> None:
        self.running = 0
        self.max_running = 0
        self.bytes: dict[str, int] = {}
        self.finished: list[ImageResult] = []

    def image_started(self, key: str, source: str, destination: str) -> None:
        self.running += 1
        self.max_running = max(self.max_running, self.running)

    def image_planned(self, key: str, total_bytes: int) -> None:
        self.bytes.setdefault(key, 0)

    def bytes_transferred(self, key: str, n: int) -> None:
        self.bytes[key] = self.bytes.get(key, 0) + n

    def image_finished(self, key: str, result: ImageResult) -> None:
        self.running -= 1
        self.finished.append(result)


async def test_image_concurrency_bound_and_progress_events(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    pairs = []
    for i in range(5):
        store_image(src, f"app{i}", f"cfg{i}".encode(), [f"layer{i}".encode() * 5], tag="v1")
        pairs.append((ref(f"{SRC}/app{i}:v1"), ref(f"{DST}/app{i}:v1")))
    dst.upload_delay = 0.001
    sink = RecordingSink()

    results = await engine(src, dst, max_images=2, events=sink).copy_many(pairs)

    assert sink.max_running == 2
    assert len(sink.finished) == 5
    for i, result in enumerate(results):
        assert sink.bytes[str(i)] == result.bytes_transferred > 0


async def test_dry_run_reads_only_and_counts_missing_bytes_once(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    base = b"base" * 10
    store_image(src, "a", b"cfg-a", [base, b"a"], tag="v1")
    store_image(src, "b", b"cfg-b", [base, b"b"], tag="v1")
    store_image(src, "c", b"cfg-c", [b"c"], tag="v1")
    await engine(src, dst).copy(ref(f"{SRC}/c:v1"), ref(f"{DST}/c:v1"))
    dst.calls.clear()
    pairs = [(ref(f"{SRC}/{n}:v1"), ref(f"{DST}/{n}:v1")) for n in ("a", "b", "c")]

    planned = await engine(src, dst, max_images=1).dry_run(pairs)

    assert [p.status for p in planned] == ["would-copy", "would-copy", "up-to-date"]
    assert planned[0].bytes_missing == len(base) + len(b"cfg-a") + len(b"a")
    assert planned[1].bytes_missing == len(b"cfg-b") + len(b"b")
    assert planned[1].bytes_total == len(base) + len(b"cfg-b") + len(b"b")
    assert writes(dst) == []


async def test_index_only_needs_the_instances_at_the_destination(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    a = store_image(src, "app", b"cfg-a", [b"amd"], oci=True)
    index = store_index(src, "app", [(a, AMD64)], tag="v1")
    options = CopyOptions(multi_arch="index-only")

    refused = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"), options)
    assert refused.status == "failed"
    assert "MANIFEST_BLOB_UNKNOWN" in (refused.error or "")
    assert dst.tag("app", "v1") is None

    await engine(src, dst).copy(ref(f"{SRC}/app@{a.digest}"), ref(f"{DST}/app@{a.digest}"))
    done = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"), options)
    assert done.status == "copied", done.error
    assert dst.tag("app", "v1") == index
    assert any("index-only" in n for n in done.notes)


async def test_platform_filter_pushes_a_new_index(src: FakeRegistry, dst: FakeRegistry) -> None:
    a = store_image(src, "app", b"cfg-a", [b"amd"], oci=True)
    b = store_image(src, "app", b"cfg-b", [b"arm"], oci=True)
    index = store_index(src, "app", [(a, AMD64), (b, ARM64)], tag="v1")
    options = CopyOptions(platforms=(AMD64,))

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"), options)

    assert result.status == "copied", result.error
    pushed = dst.tag("app", "v1")
    assert pushed is not None and pushed.digest != index.digest
    assert result.digest == str(pushed.digest)
    assert any("new index" in n for n in result.notes)
    assert Digest.of(b"arm") not in dst.blobs


async def test_child_already_at_destination_skips_its_blobs(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    a = store_image(src, "app", b"cfg-a", [b"amd"], oci=True)
    b = store_image(src, "app", b"cfg-b", [b"arm"], oci=True)
    store_index(src, "app", [(a, AMD64), (b, ARM64)], tag="v1")
    await engine(src, dst).copy(ref(f"{SRC}/app@{a.digest}"), ref(f"{DST}/app@{a.digest}"))
    dst.calls.clear()

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "copied", result.error
    checked = [c[2] for c in dst.calls_of("has_blob")]
    assert str(Digest.of(b"amd")) not in checked
    assert result.bytes_reused == len(b"cfg-a") + len(b"amd")


async def test_cancellation_propagates(src: FakeRegistry, dst: FakeRegistry) -> None:
    store_image(src, "app", b"cfg", [b"x" * 1000], tag="v1")
    dst.upload_delay = 0.01
    task = asyncio.ensure_future(engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1")))
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert dst.tag("app", "v1") is None


async def test_copy_within_one_registry_mounts_from_the_source_repository(
    src: FakeRegistry,
) -> None:
    raw = store_image(src, "team/app", b"cfg", [b"layer-1", b"layer-2"], tag="v1")

    result = await CopyEngine(FakeRegistries(src)).copy(  # type: ignore[arg-type]
        ref(f"{SRC}/team/app:v1"), ref(f"{SRC}/mirror/app:v1")
    )

    assert result.status == "copied", result.error
    assert src.tag("mirror/app", "v1") == raw
    assert src.calls_of("put_blob") == []
    assert len(src.calls_of("mount_blob")) == 3
    assert result.bytes_transferred == 0


async def test_a_refused_mount_falls_back_to_upload(src: FakeRegistry, dst: FakeRegistry) -> None:
    from imageferry.errors import Denied

    store_image(src, "a", b"cfg-a", [b"shared"], tag="v1")
    store_image(src, "b", b"cfg-b", [b"shared"], tag="v1")
    repository_factory = FakeRegistries(src, dst)

    def refusing(registry: str, repository: str) -> object:
        repo = repository_factory(registry, repository)

        async def mount_blob(digest: Digest, from_repository: str) -> bool:
            raise Denied("denied: requested access to the resource is denied", status=403)

        repo.mount_blob = mount_blob  # type: ignore[method-assign]
        return repo

    results = await CopyEngine(refusing, max_images=1).copy_many(  # type: ignore[arg-type]
        [(ref(f"{SRC}/a:v1"), ref(f"{DST}/a:v1")), (ref(f"{SRC}/b:v1"), ref(f"{DST}/b:v1"))]
    )

    assert [r.status for r in results] == ["copied", "copied"], [r.error for r in results]
    assert [c[2] for c in dst.calls_of("put_blob")].count(str(Digest.of(b"shared"))) == 2


async def test_source_failure_is_reported_even_when_the_destination_fails_too(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    from imageferry.errors import Unauthorized

    factory = FakeRegistries(src, dst)

    def locked_destination(registry: str, repository: str) -> object:
        repo = factory(registry, repository)
        if registry == DST:

            async def head_manifest(ref: str) -> None:
                raise Unauthorized(f"{DST} answered 401", status=401, registry=DST)

            repo.head_manifest = head_manifest  # type: ignore[method-assign,assignment]
        return repo

    result = await CopyEngine(locked_destination).copy(  # type: ignore[arg-type]
        ref(f"{SRC}/nope:v1"), ref(f"{DST}/nope:v1")
    )

    assert result.error == f"{SRC}/nope:v1: manifest unknown (404 MANIFEST_UNKNOWN)"


async def test_unreachable_destination_fails_with_its_name(src: FakeRegistry) -> None:
    from imageferry.errors import TransportError as Unreachable

    store_image(src, "app", b"cfg", [b"layer"], tag="v1")
    factory = FakeRegistries(src)

    def with_dead_destination(registry: str, repository: str) -> object:
        if registry == DST:
            raise Unreachable(f"cannot reach {DST}: connection refused", registry=DST)
        return factory(registry, repository)

    result = await CopyEngine(with_dead_destination).copy(  # type: ignore[arg-type]
        ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1")
    )

    assert result.status == "failed"
    assert result.error is not None and f"cannot reach {DST}" in result.error


async def test_image_retried_after_a_retryable_failure(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    from imageferry.errors import ServerError

    raw = store_image(src, "app", b"cfg", [b"layer"], tag="v1")
    factory = FakeRegistries(src, dst)
    failures = [ServerError("503 after retries", status=503, registry=DST)]

    def flaky(registry: str, repository: str) -> object:
        repo = factory(registry, repository)
        if registry == DST:
            real = repo.put_manifest

            async def put_manifest(ref: str, manifest: object) -> None:
                if failures:
                    raise failures.pop()
                await real(ref, manifest)  # type: ignore[arg-type]

            repo.put_manifest = put_manifest  # type: ignore[method-assign,assignment]
        return repo

    once = await CopyEngine(flaky, retry_delay=0).copy(  # type: ignore[arg-type]
        ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1")
    )
    assert once.status == "failed" and once.attempts == 1

    failures.append(ServerError("503 after retries", status=503, registry=DST))
    twice = await CopyEngine(flaky, retry_delay=0, image_attempts=2).copy(  # type: ignore[arg-type]
        ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1")
    )
    assert twice.status == "copied", twice.error
    assert twice.attempts == 2
    assert dst.tag("app", "v1") == raw


async def test_two_sources_for_one_destination_tag_copy_neither(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    store_image(src, "app", b"cfg-1", [b"one"], tag="1.0")
    store_image(src, "app", b"cfg-2", [b"two"], tag="2.0")
    other = store_image(src, "app", b"cfg-3", [b"three"], tag="3.0")
    pairs = [
        (ref(f"{SRC}/app:1.0"), ref(f"{DST}/app:prod")),
        (ref(f"{SRC}/app:2.0"), ref(f"{DST}/app:prod")),
        (ref(f"{SRC}/app:3.0"), ref(f"{DST}/app:3.0")),
        (ref(f"{SRC}/app:3.0"), ref(f"{DST}/app:3.0")),  # the same pair twice is no conflict
    ]

    results = await engine(src, dst).copy_many(pairs)
    planned = await engine(src, dst).dry_run(pairs[:2])

    assert [r.status for r in results] == ["failed", "failed", "copied", "copied"]
    for r in (*results[:2], *planned):
        assert r.error is not None
        assert f"{DST}/app:prod is the destination of 2 different sources" in r.error
        assert f"{SRC}/app:1.0, {SRC}/app:2.0" in r.error
    assert dst.tag("app", "prod") is None
    assert dst.tag("app", "3.0") == other


async def test_config_read_for_a_platform_check_is_fetched_again_when_corrupted(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    config = b'{"os": "linux", "architecture": "arm64"}'
    raw = store_image(src, "app", config, [b"layer"], tag="v1")
    src.corrupt_reads[Digest.of(config)] = 1
    wanted = CopyOptions(platforms=(Platform("linux", "arm64"),))

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"), wanted)

    assert result.status == "copied", result.error
    assert dst.tag("app", "v1") == raw
    assert result.retries == 1
