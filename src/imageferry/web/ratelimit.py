"""Login rate limiting: a sliding window of recent failures.

Failures are counted per client address and per user name separately, so a
guesser cannot rotate user names from one address, nor rotate addresses
against one account. In-process memory is enough: ``ferry serve`` is one
process, and a restart forgetting the counts costs an attacker a restart.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LoginLimiter"]


@dataclass
class LoginLimiter:
    """At most ``max_failures`` failed logins per ``window`` seconds per key."""

    max_failures: int = 5
    window: float = 60.0
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.setdefault(key, deque())
        while stamps and now - stamps[0] >= self.window:
            stamps.popleft()
        return stamps

    def retry_after(self, *keys: str) -> int:
        """Seconds until any of ``keys`` may try again; 0 when none is blocked."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                stamps = self._recent(key, now)
                if len(stamps) >= self.max_failures:
                    wait = max(wait, self.window - (now - stamps[0]))
        return int(wait + 0.999) if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        """Record one failed attempt against each of ``keys``."""
        now = self.clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of ``keys`` (a correct password clears the slate)."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
