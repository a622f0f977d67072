"""``docker login`` identity tokens (OAuth2 refresh tokens) against a real token-auth registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry
from stand_ins.skopeo import inspect_digest
from stand_ins.token_server import TokenServer

FERRY = str(Path(sys.executable).parent / "ferry")
USERS = {"carol": "c4rol-pass"}
REFRESH = "rt-4c1d-carol-offline"


@pytest.fixture
def oauth_registry() -> Iterator[tuple[LocalRegistry, TokenServer]]:
    with (
        TokenServer(USERS, refresh_tokens={REFRESH: "carol"}) as tokens,
        LocalRegistry(auth="token", token_server=tokens) as registry,
    ):
        yield registry, tokens


def ferry_with_config(
    tmp_path: Path, auths: dict[str, object], *args: str
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "docker"
    config.mkdir(exist_ok=True)
    (config / "config.json").write_text(json.dumps({"auths": auths}))
    return subprocess.run(
        [FERRY, "copy", "-q", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_CONFIG": str(config)},
        timeout=120,
    )


def test_copy_with_an_identity_token_from_docker_login(
    oauth_registry: tuple[LocalRegistry, TokenServer], dst_registry: LocalRegistry, tmp_path: Path
) -> None:
    source, tokens = oauth_registry
    image = push_image(source.url, "private/app", "v1", auth=("carol", "c4rol-pass"))
    tokens.requests.clear()
    result = ferry_with_config(
        tmp_path,
        {source.host: {"identitytoken": REFRESH}},
        f"{source.host}/private/app:v1",
        f"{dst_registry.host}/private/app:v1",
    )
    assert result.returncode == 0, result.stderr
    assert inspect_digest(f"{dst_registry.host}/private/app:v1") == image.digest
    # The token server saw carol, identified by her refresh token alone.
    assert ("carol", "repository:private/app:pull") in tokens.requests


def test_a_revoked_identity_token_is_one_clear_line(
    oauth_registry: tuple[LocalRegistry, TokenServer], dst_registry: LocalRegistry, tmp_path: Path
) -> None:
    source, _ = oauth_registry
    push_image(source.url, "private/app", "v1", auth=("carol", "c4rol-pass"))
    revoked = "rt-9e0f-revoked"
    result = ferry_with_config(
        tmp_path,
        {source.host: {"identitytoken": revoked}},
        f"{source.host}/private/app:v1",
        f"{dst_registry.host}/private/app:v1",
    )
    assert result.returncode == 1
    assert "identity token" in result.stderr and "docker login" in result.stderr
    assert revoked not in result.stderr
