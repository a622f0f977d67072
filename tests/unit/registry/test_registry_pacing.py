"""The pacer in front of the transport: waiting for room, pauses, ECR action rates."""

from __future__ import annotations

import asyncio

import pytest

from imageferry.registry.congestion import AimdSettings
from imageferry.registry.pacing import Pacer, ecr_rates

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


async def test_requests_beyond_the_window_wait_their_turn_in_order() -> None:
    pacer = Pacer(AimdSettings(initial=2, maximum=2))
    order: list[int] = []
    release = asyncio.Event()

    async def request(i: int) -> None:
        async with pacer.slot("r", "GET", "/v2/") as ticket:
            order.append(i)
            await release.wait()
            ticket.record(200)

    tasks = [asyncio.create_task(request(i)) for i in range(5)]
    await asyncio.sleep(0.01)
    assert order == [0, 1]
    assert pacer.window("r").in_flight == 2
    release.set()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
    assert pacer.window("r").in_flight == 0


async def test_retry_after_pauses_the_registry_then_lets_waiters_go() -> None:
    pacer = Pacer()
    async with pacer.slot("r", "GET", "/v2/") as ticket:
        ticket.record(429, retry_after=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with pacer.slot("r", "GET", "/v2/") as ticket:
        ticket.record(200)
    assert loop.time() - started >= 0.18
    # Another registry is not held back.
    started = loop.time()
    async with pacer.slot("other", "GET", "/v2/"):
        pass
    assert loop.time() - started < 0.1


async def test_cancelled_waiter_gives_its_place_back() -> None:
    pacer = Pacer(AimdSettings(initial=1, maximum=1))
    gate = asyncio.Event()

    async def holder() -> None:
        async with pacer.slot("r", "GET", "/") as ticket:
            await gate.wait()
            ticket.record(200)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(holder())
    await asyncio.sleep(0.01)
    waiting.cancel()
    gate.set()
    await first
    assert pacer.window("r").in_flight == 0
    async with pacer.slot("r", "GET", "/") as ticket:  # not blocked by the cancelled one
        ticket.record(200)


async def test_failed_request_counts_as_a_connection_error() -> None:
    pacer = Pacer()
    try:
        async with pacer.slot("r", "GET", "/"):
            raise OSError("reset")
    except OSError:
        pass
    window = pacer.window("r")
    assert window.in_flight == 0
    assert window.limit == 16


async def test_ecr_actions_are_paced_by_their_token_buckets() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    pacer = Pacer(rates=ecr_rates, sleep=sleep, clock=lambda: 100.0)
    for _ in range(12):
        async with pacer.slot(ECR, "PUT", "/v2/app/manifests/v1") as ticket:
            ticket.record(201)
    # PutImage: 10 per second, so the 11th and 12th wait 0.1 s and 0.2 s.
    assert slept == pytest.approx([0.1, 0.2])
    # Blob reads are not rate-limited actions, and other registries have none.
    for _ in range(50):
        async with pacer.slot(ECR, "GET", "/v2/app/blobs/sha256:00"):
            pass
        async with pacer.slot("registry.example", "PUT", "/v2/app/manifests/v1"):
            pass
    assert len(slept) == 2


@pytest.mark.parametrize("clock_moves", [True, False])
async def test_a_pause_is_waited_out_once_with_the_injected_sleep(clock_moves: bool) -> None:
    now = [10.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if clock_moves:
            now[0] += seconds

    pacer = Pacer(clock=lambda: now[0], sleep=sleep)
    async with pacer.slot("r", "GET", "/v2/") as ticket:
        ticket.record(429, retry_after=5.0)
    # Each request waits a pause out once, even with a sleep that does not move
    # the clock (a test's); with a clock that moves, the next finds it over.
    for _ in range(2):
        async with pacer.slot("r", "GET", "/v2/") as ticket:
            ticket.record(200)
    assert slept == [5.0] if clock_moves else [5.0, 5.0]
