"""The clock: exact virtual times on ManualClock, scaling on ScaledClock."""

from __future__ import annotations

import asyncio

import pytest

from harness.clock import ManualClock, ScaledClock


def test_manual_clock_wakes_sleepers_in_time_order_at_their_own_time() -> None:
    async def scenario() -> list[tuple[str, float]]:
        clock = ManualClock(start=1000.0)
        seen: list[tuple[str, float]] = []

        async def ticker(name: str, every: float) -> None:
            while True:
                await clock.sleep(every)
                seen.append((name, clock.now()))

        tasks = [asyncio.create_task(ticker("fast", 15)), asyncio.create_task(ticker("slow", 60))]
        await clock.advance(60)
        assert clock.now() == 1060.0
        for t in tasks:
            t.cancel()
        return seen

    seen = asyncio.run(scenario())
    # Sleepers due at the same instant wake in the order they went to sleep.
    assert seen == [
        ("fast", 1015.0), ("fast", 1030.0), ("fast", 1045.0), ("slow", 1060.0), ("fast", 1060.0)
    ]


def test_manual_clock_does_not_move_by_itself() -> None:
    clock = ManualClock(start=5.0)
    assert clock.now() == 5.0
    assert clock.now() == 5.0


@pytest.mark.slow
def test_scaled_clock_runs_faster_than_wall_time() -> None:
    async def scenario() -> float:
        clock = ScaledClock(scale=50.0)
        before = clock.now()
        await clock.sleep(5.0)  # 0.1 s of wall time
        return clock.now() - before

    elapsed = asyncio.run(scenario())
    # asyncio.sleep never wakes early; the upper bound leaves 2 s of wall time for a noisy machine.
    assert 5.0 <= elapsed < 5.0 + 2.0 * 50.0
    assert ScaledClock(scale=10.0).wall(30.0) == 3.0


@pytest.mark.parametrize("scale", [0, -1.0])
def test_scaled_clock_rejects_non_positive_scale(scale: float) -> None:
    with pytest.raises(ValueError, match="time scale"):
        ScaledClock(scale=scale)


@pytest.mark.parametrize("scale, limit, wall", [
    (30.0, 10.0, 1.0),   # 10/30 = 0.33 s would be shorter than the floor
    (30.0, 60.0, 2.0),   # scaled as any period once above the floor
    (2.0, 0.5, 0.5),     # never longer than the limit itself as real seconds
    (1.0, 5.0, 5.0),
])
def test_a_latency_limit_is_scaled_but_floored(scale: float, limit: float, wall: float) -> None:
    clock = ScaledClock(scale=scale)
    assert clock.wall(clock.budget(limit)) == pytest.approx(wall)


def test_manual_clock_keeps_latency_limits_exact() -> None:
    assert ManualClock().budget(10.0) == 10.0
