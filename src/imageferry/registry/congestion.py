"""How many requests a registry gets at once: AIMD windows and per-action token buckets.

Pure state, no I/O and no clock of its own (every method takes ``now``), so
the rules are tested with tables; :mod:`imageferry.registry.pacing` puts
them in front of the transport.

The window works like TCP's congestion window (RFC 5681):

- it starts at ``initial`` and doubles per round trip (slow start, one more
  request per success) until the first sign of congestion, then grows by one
  request per window of successes (congestion avoidance);
- it grows only while it is used (RFC 7661: an application-limited window
  says nothing about the path) and while replies come back about as fast as
  the quickest seen (a request queued at a busy server or link says stop);
- a 429 or 503 halves it, once per round trip: replies to requests sent
  before the cut were caused by the old window and do not cut again;
- ``Retry-After`` on such a reply holds every new request to that registry
  until it has passed, so the requests waiting do not all hit the limit too;
- ``RateLimit-Remaining`` (Docker Hub's pull quota) caps the window at the
  requests left, so a wide window does not overrun a quota into 429s.

ECR's API has per-action rate limits (Service Quotas, "Rate of ... requests"):
PutImage about 10 per second, InitiateLayerUpload and CompleteLayerUpload
about 100. A :class:`TokenBucket` per action keeps to them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from imageferry.errors import ConfigError

__all__ = [
    "CONGESTION_STATUSES",
    "ECR_ACTION_RATES",
    "AimdSettings",
    "Reply",
    "TokenBucket",
    "Window",
    "ecr_action",
]

#: Statuses that say the registry (or the path to it) is overloaded.
CONGESTION_STATUSES = frozenset({429, 503})

#: ECR API actions behind the OCI requests the transport sends, in requests
#: per second (AWS Service Quotas for Amazon ECR, default values).
ECR_ACTION_RATES: dict[str, float] = {
    "PutImage": 10.0,
    "InitiateLayerUpload": 100.0,
    "CompleteLayerUpload": 100.0,
}


@dataclass(frozen=True, slots=True)
class AimdSettings:
    """The window's bounds and rules.

    ``maximum`` bounds what one client asks of a registry however well it
    answers; ``latency_tolerance`` and ``latency_slack`` say how much slower
    than the quickest reply seen a reply may be and still count as fast.
    """

    initial: int = 16
    minimum: int = 1
    maximum: int = 256
    decrease: float = 0.5
    latency_tolerance: float = 2.0
    latency_slack: float = 0.02

    def __post_init__(self) -> None:
        if not 1 <= self.minimum <= self.initial <= self.maximum:
            raise ConfigError("the request window needs 1 <= minimum <= initial <= maximum")
        if not 0 < self.decrease < 1:
            raise ConfigError("the request window's decrease must be between 0 and 1")


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back for one request, as far as pacing cares.

    ``status`` 0: the connection failed. ``latency`` None: not a sample (a
    streamed upload, whose reply waits for all its bytes). ``started``: when
    the request was let go, on the window's clock.
    """

    started: float
    status: int
    latency: float | None = None
    retry_after: float | None = None
    quota_remaining: int | None = None


class Window:
    """The AIMD window of one registry: what may be sent now, and what replies teach."""

    def __init__(self, settings: AimdSettings | None = None) -> None:
        self.settings = settings or AimdSettings()
        self.limit = float(self.settings.initial)
        #: Slow start lasts until the first congestion signal.
        self.threshold = float(self.settings.maximum)
        self.in_flight = 0
        self.fastest: float | None = None
        self.last_cut = -math.inf
        self.paused_until = -math.inf
        self.quota: int | None = None
        self.cuts = 0

    @property
    def allowed(self) -> int:
        """Requests that may be in flight: the window, within the quota, at least one."""
        allowed = int(self.limit)
        if self.quota is not None:
            allowed = min(allowed, self.quota)
        return max(1, allowed)

    def has_room(self) -> bool:
        return self.in_flight < self.allowed

    def can_send(self, now: float) -> bool:
        return self.has_room() and now >= self.paused_until

    def wait(self, now: float) -> float:
        """Seconds until a ``Retry-After`` pause ends (0 when none holds)."""
        return max(0.0, self.paused_until - now)

    def sent(self) -> None:
        self.in_flight += 1

    def abandoned(self) -> None:
        """A request left without a reply (cancelled): it frees its place, teaches nothing."""
        self.in_flight -= 1

    def replied(self, reply: Reply, now: float) -> None:
        was_used = self.in_flight >= self.allowed / 2
        self.in_flight -= 1
        if reply.quota_remaining is not None:
            self.quota = reply.quota_remaining
        if reply.retry_after is not None and reply.status in CONGESTION_STATUSES:
            self.paused_until = max(self.paused_until, now + reply.retry_after)
        if reply.status in CONGESTION_STATUSES:
            self._cut(reply, now)
            return
        if reply.status == 0 or reply.status >= 500:
            return  # an error that is not about load: hold
        if reply.latency is not None:
            slow = self._slow(reply.latency)
            self.fastest = min(self.fastest or reply.latency, reply.latency)
            if slow:
                return
        if was_used:
            self._grow()

    def _slow(self, latency: float) -> bool:
        if self.fastest is None:
            return False
        s = self.settings
        return latency > self.fastest * s.latency_tolerance + s.latency_slack

    def _grow(self) -> None:
        step = 1.0 if self.limit < self.threshold else 1.0 / self.limit
        self.limit = min(float(self.settings.maximum), self.limit + step)

    def _cut(self, reply: Reply, now: float) -> None:
        if reply.started < self.last_cut:
            return  # sent under the old window: that window was already cut
        self.limit = max(float(self.settings.minimum), self.limit * self.settings.decrease)
        self.threshold = self.limit
        self.last_cut = now
        self.cuts += 1


class TokenBucket:
    """``rate`` requests per second, up to ``burst`` at once after a quiet spell.

    :meth:`reserve` takes a token now and says how long to wait before using
    it (tokens may go negative), like Go's ``rate.Limiter.Reserve``: callers
    queue in the order they reserved, without a lock.
    """

    def __init__(self, rate: float, burst: float | None = None, now: float = 0.0) -> None:
        if rate <= 0:
            raise ConfigError("a token bucket's rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self.tokens = self.burst
        self.updated = now

    def reserve(self, now: float) -> float:
        """Take one token; return the seconds to wait before sending."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


def ecr_action(method: str, path: str) -> str | None:
    """The rate-limited ECR action an OCI request to ECR becomes, or None.

    ECR serves the distribution API by calling its own API: a manifest PUT is
    PutImage, opening a blob upload is InitiateLayerUpload (a mount attempt
    too), and the upload's closing PUT is CompleteLayerUpload.
    """
    if method == "PUT" and "/manifests/" in path:
        return "PutImage"
    if "/blobs/uploads/" not in path:
        return None
    if method == "POST":
        return "InitiateLayerUpload"
    if method == "PUT":
        return "CompleteLayerUpload"
    return None
