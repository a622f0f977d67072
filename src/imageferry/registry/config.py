"""How to reach registries: mirrors, insecure opt-ins, limits, timeouts, retries.

A small frozen value passed into :class:`~imageferry.registry.client.RegistryClient`;
nothing here reads the environment. Scheme selection follows Docker's rules:
loopback registries speak plain HTTP, every other host speaks HTTPS unless the
user opted it in as insecure (then HTTPS is tried first, falling back to HTTP).
Mirrors follow containers-registries.conf(5) ``location``: ``host[:port][/namespace]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from imageferry.errors import ConfigError, InsecureRegistry
from imageferry.reference import DOCKER_HUB, DOCKER_HUB_API, is_loopback

__all__ = ["Endpoint", "RegistryConfig"]


class Endpoint(NamedTuple):
    """Where a registry's API is served: ``scheme://host`` (host may carry a port)."""

    scheme: str
    host: str

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"


def _empty_mapping() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RegistryConfig:
    """Client-wide settings.

    ``mirrors`` maps a registry name (``docker.io``, kept lower-case) to a location
    (``mirror.internal:5000`` or ``mirror.internal:5000/dockerhub``), optionally
    prefixed with ``http://`` or ``https://``. ``insecure`` lists hosts allowed
    plain HTTP or unverified TLS. ``max_requests_per_registry`` is the ceiling
    of each registry's adaptive request window. Backoff is exponential from ``backoff_base``
    seconds, capped at ``backoff_max``, with full jitter.
    """

    mirrors: Mapping[str, str] = field(default_factory=_empty_mapping)
    insecure: frozenset[str] = frozenset()
    #: The adaptive request window per registry starts here and grows up to the maximum.
    initial_requests_per_registry: int = 16
    max_requests_per_registry: int = 256
    connect_timeout: float = 30.0
    read_timeout: float = 300.0
    retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    # The largest Retry-After we will sleep for; beyond it we give up at once.
    max_retry_after: float = 300.0
    read_chunk_size: int = 1 << 20

    def __post_init__(self) -> None:
        if self.max_requests_per_registry < 1 or self.initial_requests_per_registry < 1:
            raise ConfigError("max_requests_per_registry must be at least 1")
        if self.retries < 0:
            raise ConfigError("retries must be 0 or more")
        # Host names are case-insensitive (RFC 4343): a mirror is found however it is spelled.
        mirrors = {name.lower(): location for name, location in self.mirrors.items()}
        object.__setattr__(self, "mirrors", MappingProxyType(mirrors))
        object.__setattr__(self, "insecure", frozenset(h.lower() for h in self.insecure))
        for registry in self.mirrors:
            self.location(registry)  # fail at configuration time, not at first use

    def location(self, registry: str) -> tuple[str | None, str, str]:
        """``(explicit scheme or None, host, namespace)`` serving ``registry``."""
        target = self.mirrors.get(registry.lower())
        if target is None:
            host = DOCKER_HUB_API if registry == DOCKER_HUB else registry
            return None, host, ""
        scheme: str | None = None
        for prefix in ("https://", "http://"):
            if target.startswith(prefix):
                scheme, target = prefix[:-3], target[len(prefix) :]
        host, _, namespace = target.rstrip("/").partition("/")
        if not host:
            raise ConfigError(f"mirror location for {registry!r} has no host: {target!r}")
        return scheme, host, namespace

    def is_mirrored(self, registry: str) -> bool:
        """True when ``mirrors`` remaps ``registry`` (in any letter case)."""
        return registry.lower() in self.mirrors

    def is_insecure(self, host: str) -> bool:
        return host.lower() in self.insecure

    def allows_plain_http(self, host: str) -> bool:
        """Loopback hosts always; others only when opted in."""
        return is_loopback(host) or self.is_insecure(host)

    def check_plain_http(self, host: str, *, registry: str = "", url: str = "") -> None:
        """Raise :class:`InsecureRegistry` unless plain HTTP to ``host`` is allowed."""
        if not self.allows_plain_http(host):
            raise InsecureRegistry(
                f"refusing plain HTTP to {host}: it is not a loopback address; "
                f"if you trust the network, opt in with --insecure-registry {host}",
                registry=registry or host,
                url=url,
            )

    def endpoint(self, registry: str) -> Endpoint:
        """The first endpoint to try for ``registry`` (after mirror remapping).

        Loopback: HTTP. Other hosts: HTTPS (an insecure host falls back to HTTP
        on a TLS or connection failure, see the transport). A mirror location
        spelled ``http://`` must be loopback or opted in.
        """
        scheme, host, _ = self.location(registry)
        if scheme == "http":
            self.check_plain_http(host, registry=registry)
            return Endpoint("http", host)
        if scheme == "https":
            return Endpoint("https", host)
        if is_loopback(host):
            return Endpoint("http", host)
        return Endpoint("https", host)

    def repository_path(self, registry: str, repository: str) -> str:
        """The repository's name on the serving host (a mirror may add a namespace)."""
        _, _, namespace = self.location(registry)
        return f"{namespace}/{repository}" if namespace else repository
