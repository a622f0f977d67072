"""LocalRegistry: a real docker-registry process on loopback."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from stand_ins import skopeo
from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry, SandboxError, free_port


def test_registry_answers_v2_and_stop_removes_its_data() -> None:
    reg = LocalRegistry().start()
    try:
        assert reg.url == f"http://{reg.host}"
        assert reg.host == f"127.0.0.1:{reg.port}"
        response = httpx.get(f"{reg.url}/v2/")
        assert response.status_code == 200
        assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
        data_dir = reg.data_dir
        push_image(reg.url, "app", "v1")
        assert any(data_dir.rglob("data"))
    finally:
        reg.stop()
    assert not reg.running
    assert not data_dir.exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{reg.port}/v2/")


def test_given_data_dir_survives_a_restart(tmp_path: Path) -> None:
    with LocalRegistry(data_dir=tmp_path / "store") as first:
        pushed = push_image(first.url, "keep/me", "v1")
    assert (tmp_path / "store").is_dir()

    with LocalRegistry(data_dir=tmp_path / "store") as second:
        assert skopeo.inspect_digest(f"{second.host}/keep/me:v1") == pushed.digest


def test_ipv6_loopback_registry() -> None:
    # skopeo 1.9's reference parser rejects "[::1]:port" hosts, so the check
    # here reads the manifest back with plain httpx.
    with LocalRegistry(host="::1") as reg:
        assert reg.host == f"[::1]:{reg.port}"
        pushed = push_image(reg.url, "v6/app", "v1")
        response = httpx.get(
            f"{reg.url}/v2/v6/app/manifests/v1", headers={"Accept": pushed.media_type}
        )
        assert response.status_code == 200
        assert response.content == pushed.body
        assert response.headers["Docker-Content-Digest"] == pushed.digest


def test_failed_start_reports_the_registry_log() -> None:
    broken = LocalRegistry(
        config_overrides={"http": {"tls": {"certificate": "/nonexistent/cert.pem"}}}
    )
    with pytest.raises(SandboxError, match=r"exited with status .*nonexistent/cert\.pem"):
        broken.start()
    assert not broken.running


def test_config_overrides_reach_the_registry() -> None:
    readonly = {"storage": {"maintenance": {"readonly": {"enabled": True}}}}
    with LocalRegistry(config_overrides=readonly) as reg, pytest.raises(SandboxError, match="405"):
        push_image(reg.url, "app", "v1")


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_auth_modes_need_their_settings() -> None:
    with pytest.raises(ValueError, match="users"):
        LocalRegistry(auth="htpasswd")
    with pytest.raises(ValueError, match="token_server"):
        LocalRegistry(auth="token")
