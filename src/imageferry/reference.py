"""Image references: the Docker reference grammar, with Docker Hub normalisation.

Grammar (distribution/reference)::

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [ domain "/" ] path
    domain     := host [ ":" port ]
    host       := domain-name | IPv4 | "[" IPv6 "]"
    path       := component ( "/" component )*
    component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}

The first ``/``-separated part is a domain when it contains ``.`` or ``:``,
is ``localhost``, starts with ``[`` or has an uppercase letter; otherwise
the reference lives on Docker Hub and one-component paths get ``library/``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

from imageferry.digest import Digest
from imageferry.errors import InvalidReference

__all__ = [
    "DOCKER_HUB",
    "DOCKER_HUB_API",
    "Reference",
    "is_loopback",
]

DOCKER_HUB = "docker.io"
# docker.io is a name, not a server: the registry API is served here.
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}

# ASCII spelled out, never ``\w`` or ``\d``: in Python those match any Unicode
# letter or digit. Used with fullmatch: ``$`` alone would accept a trailing newline.
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
_DOMAIN_COMPONENT = re.compile(r"[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_PORT = re.compile(r"[0-9]{1,5}")
_MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class Reference:
    """A normalised image reference.

    ``registry`` is the host[:port] as named (``docker.io`` for Docker Hub),
    ``repository`` the path inside it. A reference always has a tag or a
    digest or both; with neither given, the tag is ``latest``.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str) -> Reference:
        original = text
        if not text or text != text.strip():
            raise InvalidReference(original, "reference", "is empty or has surrounding spaces")
        name, at, digest_text = text.partition("@")
        digest: Digest | None = None
        if at:
            try:
                digest = Digest.parse(digest_text)
            except ValueError as e:
                raise InvalidReference(
                    original, "digest", f"{digest_text!r} is not valid: {e}"
                ) from None
        registry, rest = _split_domain(original, name)
        path, tag = _split_tag(original, rest)
        if not path:
            raise InvalidReference(original, "path", "is empty")
        for component in path.split("/"):
            if not _COMPONENT.fullmatch(component):
                raise InvalidReference(
                    original,
                    "path",
                    f"component {component!r} must be lowercase letters and digits, "
                    "separated by '.', '_', '__' or '-'",
                )
        if tag is not None and not _TAG.fullmatch(tag):
            raise InvalidReference(
                original, "tag", f"{tag!r} must match [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}"
            )
        if registry is None or registry.lower() in _HUB_ALIASES:
            registry = DOCKER_HUB
        if registry == DOCKER_HUB and "/" not in path:
            path = f"library/{path}"
        if len(registry) + 1 + len(path) > _MAX_NAME:
            raise InvalidReference(original, "path", f"name is longer than {_MAX_NAME} characters")
        if tag is None and digest is None:
            tag = "latest"
        return cls(registry, path, tag, digest)

    @property
    def name(self) -> str:
        """``registry/repository``: the repository's full name."""
        return f"{self.registry}/{self.repository}"

    @property
    def manifest_ref(self) -> str:
        """What to put after ``/manifests/``: the digest when pinned, else the tag."""
        if self.digest is not None:
            return str(self.digest)
        assert self.tag is not None
        return self.tag

    def with_tag(self, tag: str | None) -> Reference:
        return replace(self, tag=tag)

    def with_digest(self, digest: Digest | None) -> Reference:
        return replace(self, digest=digest)

    def with_repository(self, repository: str) -> Reference:
        return replace(self, repository=repository)

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def _split_domain(original: str, name: str) -> tuple[str | None, str]:
    first, slash, rest = name.partition("/")
    if not slash:
        return None, name
    looks_like_domain = (
        "." in first
        or ":" in first
        or first == "localhost"
        or first.startswith("[")
        or first != first.lower()
    )
    if not looks_like_domain:
        return None, name
    _validate_domain(original, first)
    return first, rest


def _validate_domain(original: str, domain: str) -> None:
    if domain.startswith("["):
        host, bracket, port = domain[1:].partition("]")
        if not bracket:
            raise InvalidReference(original, "host", f"{domain!r} has an unclosed '['")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise InvalidReference(original, "host", f"{host!r} is not an IPv6 address") from None
        if port and not (port.startswith(":") and _valid_port(port[1:])):
            raise InvalidReference(
                original, "host", f"port {port!r} must be ':' and a number 1-65535"
            )
        return
    host, colon, port = domain.partition(":")
    if colon and not _valid_port(port):
        raise InvalidReference(original, "host", f"port {port!r} must be a number 1-65535")
    labels = host.split(".")
    if not host or not all(_DOMAIN_COMPONENT.fullmatch(label) for label in labels):
        raise InvalidReference(
            original, "host", f"{host!r} is not a valid host name (letters, digits, '-', '.')"
        )


def _valid_port(port: str) -> bool:
    # str.isdigit() and int() take any Unicode digit; a port is ASCII digits.
    return bool(_PORT.fullmatch(port)) and 0 < int(port) < 65536


def _split_tag(original: str, rest: str) -> tuple[str, str | None]:
    # The tag separator is the last ':' after the last '/': ports live in the domain.
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        return rest[:colon], rest[colon + 1 :]
    return rest, None


def is_loopback(registry: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1, with or without a port.

    Host names compare without case (RFC 4343): ``LocalHost:5000`` is loopback.
    """
    host = registry
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    else:
        host = host.rpartition(":")[0] if host.count(":") == 1 else host
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
