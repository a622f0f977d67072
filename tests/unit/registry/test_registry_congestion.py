"""The AIMD window and the token bucket, driven step by step without I/O."""

from __future__ import annotations

import pytest

from imageferry.errors import ConfigError
from imageferry.registry.congestion import (
    AimdSettings,
    Reply,
    TokenBucket,
    Window,
    ecr_action,
)

FAST = 0.04  # seconds: the path's round trip in these tables


def full_window(settings: AimdSettings | None = None) -> Window:
    """A window with every place taken, as under a busy copy."""
    window = Window(settings)
    for _ in range(window.allowed):
        window.sent()
    return window


def reply(window: Window, status: int = 200, *, now: float = 1.0, **kw: float) -> None:
    """One reply to a request sent at ``now - FAST``; its place is taken again at once."""
    latency = kw.pop("latency", FAST)
    window.replied(Reply(now - FAST, status, latency, **kw), now)  # type: ignore[arg-type]
    window.sent()


# -- the state machine, as a table ------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "limit"),
    [
        # Slow start: one more place per success.
        ([200] * 4, 20),
        # A 429 halves the window; successes then grow it by about 1 per window.
        ([429], 8),
        ([429] + [200] * 9, 9),
        # 503 is congestion too.
        ([503], 8),
        # Other errors hold the window: neither growth nor cut.
        ([500, 502, 0], 16),
        # A 4xx the client caused is an answer like any other.
        ([404, 401], 18),
    ],
)
def test_window_reacts_to_each_status(steps: list[int], limit: int) -> None:
    window = full_window()
    for i, status in enumerate(steps):
        reply(window, status, now=1.0 + i * 0.001 + (FAST if i else 0))
    assert int(window.limit) == limit


def test_one_cut_per_round_trip() -> None:
    window = full_window()
    # 16 requests in flight all get 429: the registry refused one window, cut it once.
    for _ in range(16):
        window.replied(Reply(0.5, 429, FAST), 1.0)
    assert window.limit == 8
    assert window.cuts == 1
    # A request sent after the cut and refused again cuts again.
    window.sent()
    window.replied(Reply(1.01, 429, FAST), 1.05)
    assert window.limit == 4


def test_window_never_leaves_its_bounds() -> None:
    settings = AimdSettings(initial=4, minimum=2, maximum=6)
    window = full_window(settings)
    for i in range(10):
        window.sent()
        window.replied(Reply(float(i), 429, None), float(i) + 0.5)
    assert window.limit == 2
    window = full_window(settings)
    for _ in range(50):
        reply(window)
    assert window.limit == 6


def test_slow_replies_stop_growth() -> None:
    window = full_window()
    reply(window, latency=FAST)
    assert window.limit == 17
    # Queued somewhere: five times the quickest round trip.
    for _ in range(5):
        reply(window, latency=5 * FAST)
    assert window.limit == 17
    reply(window, latency=FAST * 1.2)
    assert window.limit == 18


def test_an_unused_window_does_not_grow() -> None:
    window = Window()
    for _ in range(100):
        window.sent()
        window.replied(Reply(0.0, 200, FAST), 0.1)
    assert window.limit == 16


def test_retry_after_holds_new_requests_back() -> None:
    window = Window()
    window.sent()
    window.replied(Reply(0.9, 429, FAST, retry_after=2.0), 1.0)
    assert not window.can_send(1.5)
    assert window.wait(1.5) == pytest.approx(1.5)
    assert window.can_send(3.0)
    assert window.wait(3.0) == 0


def test_retry_after_on_a_success_is_ignored() -> None:
    window = full_window()
    window.replied(Reply(0.9, 200, FAST, retry_after=60.0), 1.0)
    assert window.can_send(1.0)


def test_quota_left_caps_the_window() -> None:
    window = Window()
    window.sent()
    window.replied(Reply(0.0, 200, FAST, quota_remaining=3), 0.1)
    assert window.allowed == 3
    for _ in range(3):
        window.sent()
    assert not window.can_send(0.2)
    window.replied(Reply(0.1, 200, FAST, quota_remaining=0), 0.2)
    assert window.allowed == 1  # one at a time: the next answer says what is left


def test_abandoned_request_frees_its_place_and_teaches_nothing() -> None:
    window = full_window()
    window.abandoned()
    assert window.in_flight == 15
    assert window.limit == 16


@pytest.mark.parametrize(
    "settings",
    [
        {"initial": 0},
        {"minimum": 5, "initial": 4},
        {"maximum": 8, "initial": 16},
        {"decrease": 1.0},
        {"decrease": 0.0},
    ],
)
def test_settings_are_checked(settings: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        AimdSettings(**settings)  # type: ignore[arg-type]


# -- token buckets and ECR actions ----------------------------------------------------


def test_token_bucket_allows_a_burst_then_paces() -> None:
    bucket = TokenBucket(10.0, now=0.0)
    assert [bucket.reserve(0.0) for _ in range(10)] == [0.0] * 10
    waits = [bucket.reserve(0.0) for _ in range(3)]
    assert waits == pytest.approx([0.1, 0.2, 0.3])
    # Time refills the bucket, up to its burst.
    assert bucket.reserve(100.0) == 0.0
    assert bucket.tokens == pytest.approx(9.0)


def test_token_bucket_rate_must_be_positive() -> None:
    with pytest.raises(ConfigError):
        TokenBucket(0.0)


@pytest.mark.parametrize(
    ("method", "path", "action"),
    [
        ("PUT", "/v2/app/manifests/v1", "PutImage"),
        ("POST", "/v2/app/blobs/uploads/", "InitiateLayerUpload"),
        ("PUT", "/v2/app/blobs/uploads/abc", "CompleteLayerUpload"),
        ("PATCH", "/v2/app/blobs/uploads/abc", None),
        ("GET", "/v2/app/manifests/v1", None),
        ("HEAD", "/v2/app/blobs/sha256:00", None),
    ],
)
def test_ecr_actions_behind_oci_requests(method: str, path: str, action: str | None) -> None:
    assert ecr_action(method, path) == action
