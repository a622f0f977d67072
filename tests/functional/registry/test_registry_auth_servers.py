"""Basic (htpasswd) and token-auth registries: credentials, token caching, scopes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from functional.registry.registry_helpers import copy_tree, read_blob
from imageferry.digest import Digest
from imageferry.errors import Unauthorized
from imageferry.manifest import Descriptor
from imageferry.registry.auth import pull_scope
from imageferry.registry.client import RegistryClient
from imageferry.registry.credentials import Credentials, StaticCredentials
from stand_ins import skopeo
from stand_ins.images import push_image, random_bytes
from stand_ins.registry import LocalRegistry
from stand_ins.token_server import TokenServer

ALICE = ("alice", "s3cret-pass")
BOB = ("bob", "t0ken-pass")


def creds_for(registry: LocalRegistry, user: str, password: str) -> StaticCredentials:
    return StaticCredentials({registry.host: Credentials(user, password)})


async def test_basic_registry_with_the_right_password(basic_registry: LocalRegistry) -> None:
    pushed = push_image(basic_registry.url, "private/app", "v1", auth=ALICE)
    async with RegistryClient(credentials=creds_for(basic_registry, *ALICE)) as client:
        src = client.repository(basic_registry.host, "private/app")
        dst = client.repository(basic_registry.host, "private/copy")
        await copy_tree(src, dst, "v1")
        assert await client.list_tags(basic_registry.host, "private/copy") == ["v1"]
    assert skopeo.inspect_digest(f"{basic_registry.host}/private/copy:v1", creds=ALICE) == (
        pushed.digest
    )


async def test_basic_registry_with_a_wrong_password(basic_registry: LocalRegistry) -> None:
    push_image(basic_registry.url, "private/app", "v1", auth=ALICE)
    async with RegistryClient(
        credentials=creds_for(basic_registry, "alice", "wrong-pass")
    ) as client:
        with pytest.raises(Unauthorized) as info:
            await client.repository(basic_registry.host, "private/app").get_manifest("v1")
    message = str(info.value)
    assert basic_registry.host in message
    assert "private/app:v1" in message
    assert "401" in message
    assert "credentials" in message
    assert "wrong-pass" not in message


async def test_basic_registry_without_credentials(basic_registry: LocalRegistry) -> None:
    async with RegistryClient() as client:
        with pytest.raises(Unauthorized, match="credentials"):
            await client.repository(basic_registry.host, "private/app").head_manifest("v1")


async def test_token_requests_are_cached(
    token_server: TokenServer, token_registry: LocalRegistry
) -> None:
    pushed = push_image(token_registry.url, "team/app", "v1", auth=BOB)
    token_server.requests.clear()
    async with RegistryClient(credentials=creds_for(token_registry, *BOB)) as client:
        repo = client.repository(token_registry.host, "team/app")
        for _ in range(3):
            assert (await repo.head_manifest("v1")) == pushed.descriptor
        manifest = await repo.get_manifest("v1")
        layer = manifest.parse().blobs[1]  # type: ignore[union-attr]
        assert len(await read_blob(repo, layer)) == layer.size
        assert await client.list_tags(token_registry.host, "team/app") == ["v1"]
    assert token_server.requests == [("bob", "repository:team/app:pull")]


async def test_insufficient_scope_is_re_asked(
    token_server: TokenServer, token_registry: LocalRegistry
) -> None:
    push_image(token_registry.url, "team/app", "v1", auth=BOB)
    token_server.requests.clear()
    async with RegistryClient(credentials=creds_for(token_registry, *BOB)) as client:
        repo = client.repository(token_registry.host, "team/app")
        await repo.head_manifest("v1")  # caches a pull-only token
        # Start an upload while claiming only pull: the registry answers 401
        # insufficient_scope naming push, and the client asks again.
        response = await client.transport.request(
            token_registry.host,
            "POST",
            f"{token_registry.url}/v2/team/app/blobs/uploads/",
            what="starting an upload",
            scopes=(pull_scope("team/app"),),
            ok=(202,),
        )
        assert response.status == 202
    assert token_server.requests == [
        ("bob", "repository:team/app:pull"),
        ("bob", "repository:team/app:pull,push"),
    ]


async def test_mount_asks_for_both_scopes_in_one_token(
    token_server: TokenServer, token_registry: LocalRegistry
) -> None:
    data = random_bytes("mounted", 50_000)
    descriptor = Descriptor("application/octet-stream", Digest.of(data), len(data))

    async def one_chunk() -> AsyncIterator[bytes]:
        yield data

    async with RegistryClient(credentials=creds_for(token_registry, *BOB)) as client:
        base = client.repository(token_registry.host, "team/base")
        await base.put_blob(descriptor, one_chunk())
        token_server.requests.clear()
        app = client.repository(token_registry.host, "team/app")
        assert await app.mount_blob(descriptor.digest, "team/base") is True
        assert await app.has_blob(descriptor.digest)
    scopes = [set(scope.split(" ")) for _, scope in token_server.requests]
    assert scopes[0] == {"repository:team/app:pull,push", "repository:team/base:pull"}
    assert len(token_server.requests) == 2  # the mount, then has_blob's pull scope


async def test_token_registry_wrong_password_and_anonymous(
    token_server: TokenServer, token_registry: LocalRegistry
) -> None:
    push_image(token_registry.url, "team/app", "v1", auth=BOB)
    async with RegistryClient(credentials=creds_for(token_registry, "bob", "nope")) as client:
        with pytest.raises(Unauthorized) as info:
            await client.repository(token_registry.host, "team/app").head_manifest("v1")
    assert "as bob" in str(info.value)
    assert "nope" not in str(info.value)
    async with RegistryClient() as client:
        with pytest.raises(Unauthorized, match="needs credentials"):
            await client.repository(token_registry.host, "team/app").head_manifest("v1")
