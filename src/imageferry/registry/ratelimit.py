"""Pull quotas a registry announces in ``RateLimit`` headers (Docker Hub).

Docker Hub answers each manifest GET with ``RateLimit-Limit: 100;w=21600``
and ``RateLimit-Remaining: 76;w=21600``: pulls allowed, and pulls left, per
window of ``w`` seconds (the IETF httpapi RateLimit header draft's older
syntax). Once none are left it answers 429, usually without ``Retry-After``.
The quota comes back only as the window rolls on, hours later, so retrying
within seconds only makes more refused requests. The transport gives up at
once instead, and says what raises the quota.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Quota", "parse_quota"]


@dataclass(frozen=True, slots=True)
class Quota:
    """What ``RateLimit-Limit`` / ``RateLimit-Remaining`` said; ``window`` in seconds."""

    remaining: int
    limit: int | None = None
    window: int | None = None

    @property
    def exhausted(self) -> bool:
        return self.remaining <= 0

    def describe(self) -> str:
        """E.g. ``pull quota used up (100 per 6 h)``."""
        per = f" per {self.window / 3600:g} h" if self.window else ""
        amount = f" ({self.limit}{per})" if self.limit is not None else ""
        return f"pull quota used up{amount}"


def _value(header: str | None) -> tuple[int, int | None] | None:
    """``"76;w=21600"`` → (76, 21600); None when absent or unreadable."""
    if not header:
        return None
    first, *params = (part.strip() for part in header.split(";"))
    if not first.isdigit():
        return None
    window = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "w" and value.strip().isdigit():
            window = int(value.strip())
    return int(first), window


def parse_quota(headers: Mapping[str, str]) -> Quota | None:
    """The quota in ``headers``, or None when the registry announces none."""
    remaining = _value(headers.get("RateLimit-Remaining"))
    if remaining is None:
        return None
    limit = _value(headers.get("RateLimit-Limit"))
    return Quota(
        remaining=remaining[0],
        limit=limit[0] if limit else None,
        window=remaining[1] or (limit[1] if limit else None),
    )
