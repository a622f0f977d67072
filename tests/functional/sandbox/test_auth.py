"""Authenticated sandbox registries: htpasswd Basic and Docker token auth."""

from __future__ import annotations

import httpx
import pytest

from stand_ins import skopeo
from stand_ins.images import push_image, push_large_image
from stand_ins.registry import LocalRegistry, SandboxError
from stand_ins.token_server import TokenServer


def test_basic_registry_accepts_its_user_and_rejects_a_wrong_password(
    basic_registry: LocalRegistry,
) -> None:
    creds = ("alice", basic_registry.users["alice"])
    pushed = push_image(basic_registry.url, "private/app", "v1", auth=creds)

    assert skopeo.inspect_digest(f"{basic_registry.host}/private/app:v1", creds=creds) == (
        pushed.digest
    )
    with pytest.raises(SandboxError, match=r"unauthorized|401"):
        skopeo.inspect_digest(f"{basic_registry.host}/private/app:v1", creds=("alice", "wrong"))
    with pytest.raises(SandboxError):
        skopeo.inspect_digest(f"{basic_registry.host}/private/app:v1")


def test_basic_registry_push_with_wrong_password_fails(basic_registry: LocalRegistry) -> None:
    with pytest.raises(SandboxError, match="401"):
        push_image(basic_registry.url, "private/app", "v1", auth=("alice", "nope"))


def test_token_registry_accepts_bob_and_rejects_anonymous(
    token_server: TokenServer, token_registry: LocalRegistry
) -> None:
    creds = ("bob", token_registry.users["bob"])
    pushed = push_image(token_registry.url, "team/app", "v1", auth=creds)

    assert skopeo.inspect_digest(f"{token_registry.host}/team/app:v1", creds=creds) == (
        pushed.digest
    )
    assert skopeo.list_tags(f"{token_registry.host}/team/app", creds=creds) == ["v1"]
    token_server.requests.clear()
    with pytest.raises(SandboxError, match="unauthorized"):
        skopeo.inspect_digest(f"{token_registry.host}/team/app:v1")
    with pytest.raises(SandboxError, match="unauthorized"):
        skopeo.inspect_digest(f"{token_registry.host}/team/app:v1", creds=("bob", "wrong"))
    # Both were refused by the token server itself, neither got as far as a token.
    assert [user for user, _ in token_server.requests] == [None, None]
    # The registry challenges for a token; it does not take Basic credentials itself.
    response = httpx.get(f"{token_registry.url}/v2/team/app/tags/list", auth=creds)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith(f'Bearer realm="{token_server.realm}"')


def test_token_server_records_requests_and_pusher_caches_tokens(
    token_server: TokenServer, token_registry: LocalRegistry
) -> None:
    creds = ("bob", "t0ken-pass")
    push_image(token_registry.url, "team/app", "v1", auth=creds, layers=3)

    # One token per repository for a whole image push: config, three layers, manifest.
    assert token_server.requests == [("bob", "repository:team/app:pull,push")]


def test_token_acl_limits_granted_actions() -> None:
    def read_only(user: str | None, repository: str, actions: str) -> set[str]:
        return {"pull"} & set(actions.split(","))

    with (
        TokenServer({"carol": "pw"}, read_only) as ts,
        LocalRegistry(auth="token", token_server=ts) as reg,
        pytest.raises(SandboxError, match="401"),
    ):
        push_image(reg.url, "team/app", "v1", auth=("carol", "pw"))


def test_token_server_allows_anonymous_pull_when_configured() -> None:
    def public_pull(user: str | None, repository: str, actions: str) -> set[str]:
        wanted = set(actions.split(","))
        return wanted if user else wanted & {"pull"}

    with (
        TokenServer({"bob": "pw"}, public_pull, allow_anonymous=True) as ts,
        LocalRegistry(auth="token", token_server=ts) as reg,
    ):
        pushed = push_image(reg.url, "public/app", "v1", auth=("bob", "pw"))
        assert skopeo.inspect_digest(f"{reg.host}/public/app:v1") == pushed.digest
        assert (None, "repository:public/app:pull") in ts.requests
        with pytest.raises(SandboxError):
            push_image(reg.url, "public/app", "v2")


def test_large_image_streams_to_a_token_registry(
    token_server: TokenServer, token_registry: LocalRegistry
) -> None:
    creds = ("bob", "t0ken-pass")
    pushed = push_large_image(token_registry.url, "big", "v1", 3 * 1024 * 1024, auth=creds)

    assert token_server.requests == [("bob", "repository:big:pull,push")]
    assert skopeo.inspect_digest(f"{token_registry.host}/big:v1", creds=creds) == pushed.digest
