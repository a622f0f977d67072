"""Login rate limiting: five failures a minute per key, then a wait."""

from __future__ import annotations

from imageferry.web.ratelimit import LoginLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_blocks_after_five_failures_until_the_window_passes() -> None:
    clock = Clock()
    limiter = LoginLimiter(max_failures=5, window=60, clock=clock)
    for _ in range(4):
        limiter.failed("ip:a", "user:x")
    assert limiter.retry_after("ip:a") == 0
    limiter.failed("ip:a", "user:x")
    assert limiter.retry_after("ip:a") == 60
    clock.now += 45
    assert limiter.retry_after("user:x") == 15
    clock.now += 15
    assert limiter.retry_after("ip:a", "user:x") == 0


def test_keys_are_counted_separately_and_success_clears() -> None:
    limiter = LoginLimiter(max_failures=2, window=60, clock=Clock())
    limiter.failed("ip:a", "user:x")
    limiter.failed("ip:b", "user:x")
    assert limiter.retry_after("ip:a") == 0
    assert limiter.retry_after("ip:c", "user:x") > 0
    limiter.succeeded("user:x")
    assert limiter.retry_after("user:x") == 0
