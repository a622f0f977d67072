"""Counting what we ask of each registry, for logs, metrics and the benchmark.

The transport reports through a :class:`StatsHook`; :class:`RegistryStats`
is the default hook and keeps plain counters a caller can read or export.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["RegistryStats", "StatsHook"]


class StatsHook(Protocol):
    def on_request(self, registry: str, method: str, status: int, seconds: float) -> None:
        """One HTTP exchange finished with ``status`` (0 when the connection failed)."""

    def on_retry(self, registry: str, reason: str) -> None:
        """A request will be retried; ``reason`` is a status (``"503"``) or ``"connection"``."""

    def on_rate_limit_wait(self, registry: str, seconds: float) -> None:
        """A 429 made us wait ``seconds`` (Retry-After or backoff) before retrying."""


@dataclass(slots=True)
class RegistryStats:
    """Counters per registry: requests by (registry, method, status), retries by reason."""

    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    retries: Counter[tuple[str, str]] = field(default_factory=Counter)
    rate_limit_waits: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    seconds_waiting: dict[str, float] = field(default_factory=dict)

    def on_request(self, registry: str, method: str, status: int, seconds: float) -> None:
        self.requests[(registry, method, status)] += 1
        self.seconds[registry] = self.seconds.get(registry, 0.0) + seconds

    def on_retry(self, registry: str, reason: str) -> None:
        self.retries[(registry, reason)] += 1
        if reason == "429":
            self.rate_limit_waits[registry] += 1

    def on_rate_limit_wait(self, registry: str, seconds: float) -> None:
        self.seconds_waiting[registry] = self.seconds_waiting.get(registry, 0.0) + seconds

    def request_count(self, registry: str | None = None) -> int:
        return sum(n for (r, _, _), n in self.requests.items() if registry in (None, r))
