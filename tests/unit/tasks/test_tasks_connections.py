"""Which registry a task's credentials go to: each secret to its own registry, no other."""

from __future__ import annotations

import pytest

from imageferry.errors import ConfigError
from imageferry.registry import Credentials
from imageferry.tasks.connections import SideCredentials, _credential_host
from imageferry.tasks.params import TaskSpec

ALICE = Credentials("alice", "alice-pw")
DEST = Credentials("robot", "robot-pw")


def public(images: str) -> TaskSpec:
    spec = TaskSpec.model_validate(
        {
            "sourceType": "Public",
            "srcList": "SELECTED",
            "srcImageList": images,
            "destRegistry": "dst.example:5000",
        }
    )
    # As a task stored before create-time checks refused such a pair would be.
    return spec.model_copy(update={"srcCredential": "alice"})


async def test_each_side_gets_its_own_and_other_hosts_get_none() -> None:
    creds = SideCredentials(
        "dst.example:5000", ALICE, DEST, frozenset({"a.example", "mirror.example"})
    )
    assert await creds.get("dst.example:5000") == DEST
    assert await creds.get("a.example") == ALICE
    assert await creds.get("mirror.example") == ALICE
    # Another party's registry named in the same image list: nothing.
    assert await creds.get("b.example") is None
    assert await creds.get("registry-1.docker.io") is None


def test_a_public_tasks_credential_is_for_the_registry_its_images_come_from() -> None:
    assert _credential_host(public("a.example/app:1,a.example/tool:2"), ALICE) == "a.example"
    assert _credential_host(public("ubuntu:22.04,nginx"), ALICE) == "docker.io"
    assert _credential_host(public("a.example/app:1,b.example/tool:1"), None) is None


def test_one_password_for_images_from_several_registries_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"names images from 2: a\.example, b\.example"):
        _credential_host(public("a.example/app:1,b.example/tool:1"), ALICE)
