"""Building a copy request from the command line's values."""

from __future__ import annotations

import pytest

from imageferry.errors import ConfigError
from imageferry.reference import Reference
from imageferry.runner import CopyRequest


def pair(src: str, dst: str) -> tuple[Reference, Reference]:
    return Reference.parse(src), Reference.parse(dst)


def test_one_destination_tag_for_two_sources_is_refused_before_any_work() -> None:
    with pytest.raises(ConfigError, match=r"r\.example/app:prod is the destination of 2"):
        CopyRequest.build(
            pairs=[
                pair("a.example/app:1", "r.example/app:prod"),
                pair("a.example/app:2", "r.example/app:prod"),
            ]
        )


def test_insecure_hosts_and_mirrors_may_be_comma_lists() -> None:
    # As FERRY_INSECURE_REGISTRIES and FERRY_REGISTRY_MIRRORS give them.
    request = CopyRequest.build(
        pairs=[pair("a.example/app:1", "r.example/app:1")],
        insecure=["a.example, b.example:5000", "c.example"],
        mirrors=["docker.io=m.example:5000,quay.io=q.example"],
    )
    assert request.config.insecure == frozenset({"a.example", "b.example:5000", "c.example"})
    assert request.config.mirrors == {"docker.io": "m.example:5000", "quay.io": "q.example"}
