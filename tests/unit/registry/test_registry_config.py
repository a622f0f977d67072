"""Endpoint selection: loopback HTTP, HTTPS elsewhere, opt-ins, mirrors."""

from __future__ import annotations

import re

import pytest

from imageferry.errors import ConfigError, InsecureRegistry
from imageferry.registry.config import Endpoint, RegistryConfig


@pytest.mark.parametrize(
    ("registry", "expected"),
    [
        ("localhost:5000", Endpoint("http", "localhost:5000")),
        ("localhost", Endpoint("http", "localhost")),
        # Host names ignore case (RFC 4343); the name is kept as written.
        ("LocalHost:5000", Endpoint("http", "LocalHost:5000")),
        ("LOCALHOST", Endpoint("http", "LOCALHOST")),
        ("127.0.0.1:5000", Endpoint("http", "127.0.0.1:5000")),
        ("127.1.2.3:80", Endpoint("http", "127.1.2.3:80")),
        ("[::1]:5000", Endpoint("http", "[::1]:5000")),
        ("docker.io", Endpoint("https", "registry-1.docker.io")),
        ("quay.io", Endpoint("https", "quay.io")),
        ("10.0.0.5:5000", Endpoint("https", "10.0.0.5:5000")),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            Endpoint("https", "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
        ),
    ],
)
def test_default_endpoints(registry: str, expected: Endpoint) -> None:
    assert RegistryConfig().endpoint(registry) == expected


def test_endpoint_unpacks_as_scheme_and_host() -> None:
    scheme, host = RegistryConfig().endpoint("localhost:5000")
    assert (scheme, host) == ("http", "localhost:5000")
    assert RegistryConfig().endpoint("quay.io").base_url == "https://quay.io"


def test_insecure_host_still_tries_https_first() -> None:
    config = RegistryConfig(insecure=frozenset({"registry.lan:5000"}))
    assert config.endpoint("registry.lan:5000") == Endpoint("https", "registry.lan:5000")
    assert config.allows_plain_http("registry.lan:5000")


def test_plain_http_to_a_remote_host_needs_opt_in() -> None:
    config = RegistryConfig()
    with pytest.raises(InsecureRegistry) as info:
        config.check_plain_http("registry.lan:5000")
    assert "--insecure-registry registry.lan:5000" in str(info.value)
    config.check_plain_http("127.0.0.1:5000")
    RegistryConfig(insecure=frozenset({"REGISTRY.lan:5000"})).check_plain_http("registry.lan:5000")


def test_mirror_remaps_docker_hub() -> None:
    config = RegistryConfig(mirrors={"docker.io": "mirror.internal:5000"})
    assert config.endpoint("docker.io") == Endpoint("https", "mirror.internal:5000")
    assert config.repository_path("docker.io", "library/alpine") == "library/alpine"
    # Other registries are untouched.
    assert config.endpoint("quay.io") == Endpoint("https", "quay.io")


def test_mirror_with_namespace_prefixes_repositories() -> None:
    config = RegistryConfig(mirrors={"docker.io": "127.0.0.1:5000/hub"})
    assert config.endpoint("docker.io") == Endpoint("http", "127.0.0.1:5000")
    assert config.repository_path("docker.io", "library/alpine") == "hub/library/alpine"


def test_http_mirror_on_a_remote_host_is_refused_without_opt_in() -> None:
    config = RegistryConfig(mirrors={"docker.io": "http://mirror.internal:5000"})
    with pytest.raises(
        InsecureRegistry, match=re.escape("--insecure-registry mirror.internal:5000")
    ):
        config.endpoint("docker.io")
    allowed = RegistryConfig(
        mirrors={"docker.io": "http://mirror.internal:5000"},
        insecure=frozenset({"mirror.internal:5000"}),
    )
    assert allowed.endpoint("docker.io") == Endpoint("http", "mirror.internal:5000")


def test_config_is_frozen_and_validated() -> None:
    config = RegistryConfig()
    assert config.max_requests_per_registry == 256
    assert config.initial_requests_per_registry == 16
    assert config.retries == 5
    with pytest.raises(AttributeError):
        config.retries = 1  # type: ignore[misc]
    with pytest.raises(ConfigError):
        RegistryConfig(max_requests_per_registry=0)
    with pytest.raises(ConfigError):
        RegistryConfig(mirrors={"docker.io": "https:///ns"})


def test_mirror_names_match_in_any_letter_case() -> None:
    # Host names are case-insensitive: however either side spells it, the mirror applies.
    config = RegistryConfig(mirrors={"MyReg.Example": "mirror.internal:5000/ns"})
    for spelled in ("myreg.example", "MYREG.EXAMPLE", "MyReg.Example"):
        assert config.is_mirrored(spelled)
        assert config.endpoint(spelled) == Endpoint("https", "mirror.internal:5000")
        assert config.repository_path(spelled, "app") == "ns/app"
    assert not config.is_mirrored("other.example")
