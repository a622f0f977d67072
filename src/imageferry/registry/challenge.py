"""Parse ``WWW-Authenticate`` headers (RFC 7235 section 4.1, RFC 6750 section 3).

Registries answer 401 with ``Basic realm="..."`` or
``Bearer realm="...",service="...",scope="...",error="insufficient_scope"``
(distribution token auth spec). One header may hold several challenges, and a
response may carry several headers. This module is pure: text in, values out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["Challenge", "parse_challenges", "pick_challenge"]

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")
_SPACE = re.compile(r"[ \t]*")
# RFC 7235 allows only a token unquoted; servers also send bare URLs, so be lenient.
_BARE_VALUE = re.compile(r"[^,\s]+")


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge: scheme lower-cased, parameter names lower-cased."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scope(self) -> str:
        return self.params.get("scope", "")

    @property
    def error(self) -> str:
        return self.params.get("error", "")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        match = _SPACE.match(self.text, self.pos)
        assert match is not None
        self.pos = match.end()

    def skip_commas(self) -> None:
        while True:
            self.skip_space()
            if self.peek() != ",":
                return
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def match(self, pattern: re.Pattern[str]) -> str | None:
        found = pattern.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group()

    def quoted(self) -> str:
        # RFC 7230 3.2.6 quoted-string with quoted-pair escapes; tolerate a missing close.
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\" and self.pos < len(self.text):
                out.append(self.text[self.pos])
                self.pos += 1
            elif char == '"':
                break
            else:
                out.append(char)
        return "".join(out)

    def at_param(self) -> bool:
        """Is the scanner at ``name=`` (a parameter) rather than a new scheme?"""
        found = _TOKEN.match(self.text, self.pos)
        if found is None:
            return False
        rest = _SPACE.match(self.text, found.end())
        assert rest is not None
        after = rest.end()
        return after < len(self.text) and self.text[after] == "="


def parse_challenges(headers: str | Iterable[str]) -> list[Challenge]:
    """All challenges in one header value or a list of values, in order.

    Malformed pieces are skipped rather than raised: a registry's odd header
    should degrade to "no usable challenge", which the caller reports.
    """
    values = [headers] if isinstance(headers, str) else list(headers)
    challenges: list[Challenge] = []
    for value in values:
        challenges.extend(_parse_one(value))
    return challenges


def _parse_one(value: str) -> list[Challenge]:
    scanner = _Scanner(value)
    out: list[Challenge] = []
    while True:
        scanner.skip_commas()
        start = scanner.pos
        scheme = scanner.match(_TOKEN)
        if scheme is None:
            return out
        params: dict[str, str] = {}
        scanner.skip_space()
        token68_start = scanner.pos
        token68 = scanner.match(_TOKEN68)
        if token68 is not None:
            scanner.skip_space()
            if scanner.peek() in (",", ""):
                params["token68"] = token68
            else:
                scanner.pos = token68_start
        while "token68" not in params:
            scanner.skip_commas()
            if not scanner.at_param():
                break
            name = scanner.match(_TOKEN)
            assert name is not None
            scanner.skip_space()
            scanner.pos += 1  # the '='
            scanner.skip_space()
            if scanner.peek() == '"':
                params[name.lower()] = scanner.quoted()
            else:
                params[name.lower()] = scanner.match(_BARE_VALUE) or ""
        out.append(Challenge(scheme.lower(), MappingProxyType(params)))
        scanner.skip_commas()
        if scanner.pos == start or (scanner.peek() and not _TOKEN.match(scanner.peek())):
            # Garbage we cannot tokenise: stop rather than loop.
            return out


def pick_challenge(challenges: Iterable[Challenge]) -> Challenge | None:
    """The challenge we answer: Bearer over Basic; None if neither is offered."""
    by_scheme = {c.scheme: c for c in reversed(list(challenges))}
    return by_scheme.get("bearer") or by_scheme.get("basic")
