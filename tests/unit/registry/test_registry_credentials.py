"""Credentials: --src-creds parsing, Docker config.json, credential helpers."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from imageferry.errors import ConfigError
from imageferry.registry.credentials import (
    ChainCredentials,
    Credentials,
    DockerConfigCredentials,
    StaticCredentials,
    parse_user_pass,
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def write_config(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def helper_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ``docker-credential-test`` that logs its input and answers per server."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "helper.log"
    script = bindir / "docker-credential-test"
    script.write_text(
        f"""#!/bin/sh
[ "$1" = get ] || exit 3
read server
echo "$server" >> {log}
case "$server" in
  helped.example.com)
    echo '{{"ServerURL":"helped.example.com","Username":"helper-user","Secret":"helper-secret"}}' ;;
  https://index.docker.io/v1/) echo '{{"Username":"hub-user","Secret":"hub-secret"}}' ;;
  garbage.example.com) echo 'not json' ;;
  acr.example.com) echo '{{"Username":"<token>","Secret":"helper-refresh-token"}}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"""
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}:{Path('/usr/bin')}:{Path('/bin')}")
    return log


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alice:s3cret", Credentials("alice", "s3cret")),
        ("alice:pa:ss:word", Credentials("alice", "pa:ss:word")),
        ("AWS:eyJ0b2tlbiI6Ij==", Credentials("AWS", "eyJ0b2tlbiI6Ij==")),
    ],
)
def test_parse_user_pass(text: str, expected: Credentials) -> None:
    assert parse_user_pass(text) == expected


@pytest.mark.parametrize("text", ["alice", "alice:", ":secret", "", ":"])
def test_parse_user_pass_rejects_malformed_input(text: str) -> None:
    with pytest.raises(ConfigError, match="USER:PASSWORD"):
        parse_user_pass(text)


def test_repr_and_str_hide_the_password() -> None:
    creds = Credentials("alice", "s3cret-pass")
    assert "s3cret-pass" not in repr(creds)
    assert "s3cret-pass" not in str(creds)
    assert "alice" in repr(creds)
    assert "s3cret-pass" not in repr(StaticCredentials({"r.example.com": creds}))
    with pytest.raises(ConfigError) as info:
        parse_user_pass("alice-no-colon-s3cret")
    assert "s3cret" not in str(info.value)


async def test_static_credentials_match_registry_spellings() -> None:
    provider = StaticCredentials(
        {"docker.io": Credentials("hub", "x"), "Registry.Example.com:5000": Credentials("r", "y")}
    )
    assert await provider.get("registry-1.docker.io") == Credentials("hub", "x")
    assert await provider.get("docker.io") == Credentials("hub", "x")
    assert await provider.get("registry.example.com:5000") == Credentials("r", "y")
    assert await provider.get("registry.example.com") is None


async def test_chain_first_hit_wins_and_asks_each_time() -> None:
    calls: list[str] = []

    class Rotating:
        async def get(self, registry: str) -> Credentials | None:
            calls.append(registry)
            return Credentials("AWS", f"token-{len(calls)}") if registry.endswith(".aws") else None

    chain = ChainCredentials([Rotating(), StaticCredentials({"x.aws": Credentials("static", "s")})])
    assert await chain.get("x.aws") == Credentials("AWS", "token-1")
    assert await chain.get("x.aws") == Credentials("AWS", "token-2")
    assert await chain.get("other.io") is None


async def test_docker_config_auths_in_every_key_spelling(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": b64("hubuser:hubpass")},
                "quay.io": {"auth": b64("quser:qpa:ss")},
                "https://ghcr.io/v2/": {"username": "guser", "password": "gpass"},
                "localhost:5000": {},
            }
        },
    )
    provider = DockerConfigCredentials(path)
    assert await provider.get("docker.io") == Credentials("hubuser", "hubpass")
    assert await provider.get("registry-1.docker.io") == Credentials("hubuser", "hubpass")
    assert await provider.get("quay.io") == Credentials("quser", "qpa:ss")
    assert await provider.get("ghcr.io") == Credentials("guser", "gpass")
    assert await provider.get("localhost:5000") is None
    assert await provider.get("gcr.io") is None


async def test_docker_config_env_var_and_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    provider = DockerConfigCredentials()
    assert provider.path == tmp_path / "config.json"
    assert await provider.get("quay.io") is None  # no file yet: anonymous
    write_config(tmp_path, {"auths": {"quay.io": {"auth": b64("u:p")}}})
    assert await provider.get("quay.io") == Credentials("u", "p")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "not a JSON object"),
        (json.dumps({"auths": {"quay.io": {"auth": "%%%"}}}), "not base64"),
        (json.dumps({"auths": {"quay.io": {"auth": b64("nocolon")}}}), "not user:password"),
    ],
)
async def test_broken_docker_config_is_a_config_error(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        await DockerConfigCredentials(path).get("quay.io")
    assert str(path) in str(info.value)


async def test_cred_helpers_per_registry(tmp_path: Path, helper_on_path: Path) -> None:
    path = write_config(
        tmp_path,
        {
            "auths": {"helped.example.com": {"auth": b64("file-user:file-pass")}},
            "credHelpers": {"helped.example.com": "test", "docker.io": "test"},
        },
    )
    provider = DockerConfigCredentials(path)
    # credHelpers wins over auths for its registry.
    assert await provider.get("helped.example.com") == Credentials("helper-user", "helper-secret")
    # Docker Hub is asked for under its legacy index URL.
    assert await provider.get("docker.io") == Credentials("hub-user", "hub-secret")
    assert helper_on_path.read_text().split() == [
        "helped.example.com",
        "https://index.docker.io/v1/",
    ]


async def test_creds_store_is_the_default_and_not_found_means_anonymous(
    tmp_path: Path, helper_on_path: Path
) -> None:
    path = write_config(
        tmp_path,
        {"auths": {"quay.io": {"auth": b64("q:p")}}, "credsStore": "test"},
    )
    provider = DockerConfigCredentials(path)
    assert await provider.get("helped.example.com") == Credentials("helper-user", "helper-secret")
    assert await provider.get("unknown.example.com") is None
    # auths entries with credentials still count when a store is configured.
    assert await provider.get("quay.io") == Credentials("q", "p")


async def test_helper_printing_garbage_or_missing_is_a_config_error(
    tmp_path: Path, helper_on_path: Path
) -> None:
    path = write_config(tmp_path, {"credHelpers": {"garbage.example.com": "test"}})
    with pytest.raises(ConfigError, match="docker-credential-test"):
        await DockerConfigCredentials(path).get("garbage.example.com")
    path = write_config(tmp_path, {"credsStore": "absent"})
    with pytest.raises(ConfigError, match="docker-credential-absent is not on PATH"):
        await DockerConfigCredentials(path).get("quay.io")


async def test_helper_answers_are_reused_and_config_changes_are_seen(
    tmp_path: Path, helper_on_path: Path
) -> None:
    path = write_config(tmp_path, {"credHelpers": {"helped.example.com": "test"}})
    provider = DockerConfigCredentials(path)
    for _ in range(3):
        assert await provider.get("helped.example.com") == Credentials(
            "helper-user", "helper-secret"
        )
    assert helper_on_path.read_text().split() == ["helped.example.com"]
    # `docker login` rewrites the file: the new entry is used at once.
    path.write_text(json.dumps({"auths": {"helped.example.com": {"auth": b64("new:login")}}}))
    assert await provider.get("helped.example.com") == Credentials("new", "login")
    # A zero TTL runs the helper every time (fresh credentials on each call).
    fresh = DockerConfigCredentials(write_config(tmp_path, {"credsStore": "test"}), helper_ttl=0)
    await fresh.get("helped.example.com")
    await fresh.get("helped.example.com")
    assert helper_on_path.read_text().split().count("helped.example.com") == 3


async def test_identity_tokens_from_auths_and_from_helpers(
    tmp_path: Path, helper_on_path: Path
) -> None:
    path = write_config(
        tmp_path,
        {
            "auths": {
                # docker login to a registry that hands out refresh tokens.
                "login.example.com": {
                    "auth": b64("00000000-0000-0000-0000-000000000000:"),
                    "identitytoken": "file-refresh-token",
                },
                "bare.example.com": {"identitytoken": "bare-refresh-token"},
            },
            "credHelpers": {"acr.example.com": "test"},
        },
    )
    provider = DockerConfigCredentials(path)
    login = await provider.get("login.example.com")
    assert login is not None
    assert login.username == "00000000-0000-0000-0000-000000000000"
    assert login.identity_token == "file-refresh-token"
    bare = await provider.get("bare.example.com")
    assert bare is not None and bare.identity_token == "bare-refresh-token"
    helped = await provider.get("acr.example.com")
    assert helped is not None and helped.identity_token == "helper-refresh-token"
    assert "refresh-token" not in repr(login) + repr(bare) + repr(helped)


async def test_a_file_named_on_purpose_must_exist(tmp_path: Path) -> None:
    # A typo in --authfile must not silently mean anonymous requests.
    with pytest.raises(ConfigError) as info:
        DockerConfigCredentials(tmp_path / "typo.json", label="--authfile")
    assert str(info.value) == (
        f"cannot read --authfile {tmp_path / 'typo.json'}: No such file or directory"
    )
    with pytest.raises(ConfigError, match="Is a directory"):
        DockerConfigCredentials(tmp_path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xe9t\xe9", "not valid JSON ("),
        (b"{not json", "not valid JSON ("),
        (b"[]", "not a JSON object"),
    ],
)
def test_a_broken_file_named_on_purpose_fails_when_made(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "auth.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        DockerConfigCredentials(path, label="--authfile")
    assert str(info.value).startswith(f"cannot read --authfile {path}: {reason}")
