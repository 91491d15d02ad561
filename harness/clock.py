"""The one source of time for the harness.

AWS periods are minutes and CI cannot wait, so every period, cooldown, interval and timestamp the
harness uses is in *template time*: seconds as the template and AWS count them. A live run maps
template time onto wall time with a scale factor (`--time-scale`); unit tests use `ManualClock`,
which only moves when the test moves it, so tests assert exact virtual times.

This module is the only place in `harness/` that reads the wall clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


# The shortest real time a task is given to answer, whatever the time scale (see ScaledClock.budget).
LATENCY_FLOOR = 1.0


class Clock(Protocol):
    """Template time. `now()` is epoch seconds; `sleep()` and `wall()` take template seconds."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def wall(self, seconds: float) -> float:
        """How many wall seconds `seconds` of template time last (for socket timeouts)."""
        ...

    def budget(self, seconds: float) -> float:
        """A latency limit of the template (health-check timeout, idle timeout) as template seconds to wait."""
        ...


class ScaledClock:
    """Real time, sped up `scale` times. Starts at the real epoch time of its creation."""

    def __init__(self, scale: float = 1.0) -> None:
        if not scale > 0:
            raise ValueError(f"time scale must be > 0, got {scale}")
        self.scale = float(scale)
        self._epoch0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._epoch0 + (time.monotonic() - self._mono0) * self.scale

    @property
    def origin(self) -> tuple[float, float]:
        """(real epoch seconds at which template time equals real time, scale): enough for another
        process (the embedded cloud) to keep the same template time from its own wall clock."""
        return self._epoch0, self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.scale)

    def wall(self, seconds: float) -> float:
        return seconds / self.scale

    def budget(self, seconds: float) -> float:
        """Time scaling compresses waiting, not the app: a task answers in real time. So a latency limit
        (say a 10 s health-check timeout) is scaled like any period, but never below LATENCY_FLOOR wall
        seconds, nor above the limit itself taken as real seconds; otherwise at 30x a 5 s timeout would
        give a task 0.17 s, and a response AWS finds fast would fail here."""
        wall = min(seconds, max(seconds / self.scale, LATENCY_FLOOR))
        return wall * self.scale


class ManualClock:
    """Virtual time that moves only through `advance()` / `run_until()`.

    Coroutines that `await clock.sleep(s)` wake, in time order, when a test advances the clock past
    their deadline; each wake-up runs to its next sleep before the clock moves on, as in simpy.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def wall(self, seconds: float) -> float:
        return 0.0

    def budget(self, seconds: float) -> float:
        return seconds

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (self._now + max(0.0, seconds), next(self._seq), fut))
        await fut

    async def run_until(self, deadline: float) -> None:
        """Move to `deadline`, waking every sleeper due on the way at its own time."""
        await _settle()
        while self._waiters and self._waiters[0][0] <= deadline:
            when, _, fut = heapq.heappop(self._waiters)
            self._now = max(self._now, when)
            if not fut.done():
                fut.set_result(None)
            await _settle()
        self._now = max(self._now, deadline)

    async def advance(self, seconds: float) -> None:
        await self.run_until(self._now + seconds)


async def _settle() -> None:
    """Let every ready coroutine run until it blocks again (on the clock or on I/O that is done)."""
    for _ in range(20):
        await asyncio.sleep(0)
