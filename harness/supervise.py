"""Supervised control loops: a loop that raises stops the run at once, named, with its traceback.

Without supervision an asyncio task that raises just ends: the scheduler stops reconciling, the alarm
evaluator stops evaluating, and the run shows only as a phase that "timed out" minutes later.
`Supervisor.start(coro, name)` runs each loop as a task and watches its end: an exception (not a
cancellation) is logged with the loop's name and traceback, recorded as the run's `failure` (the first
one wins) and wakes whoever waits in `watch()`, which then cancels its own work and raises LoopFailed.
The CLI writes the report with the cause and exits non-zero.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from harness.errors import HarnessError

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class LoopFailure:
    """Which loop raised, what, when (template time), and the traceback."""

    loop: str
    error: str
    time: float
    traceback: str

    def as_dict(self) -> dict[str, Any]:
        return {"loop": self.loop, "error": self.error, "time": self.time, "traceback": self.traceback}


class LoopFailed(HarnessError):
    """A control loop raised: the run cannot go on. `str()` names the loop and the error."""

    def __init__(self, failure: LoopFailure) -> None:
        super().__init__(f"control loop '{failure.loop}' failed: {failure.error} (traceback in the log)")
        self.failure = failure


class LoopError(Exception):
    """Raised by a loop of ours that found its own work impossible (a child process gone, an evaluation
    that failed): the message is the whole story, no traceback is needed beyond it."""


class Supervisor:
    """Starts loops as tasks and turns the first one that raises into the run's failure."""

    def __init__(self, now: Callable[[], float], on_failure: Callable[[LoopFailure], None] | None = None) -> None:
        self._now = now
        self._on_failure = on_failure
        self.tasks: list[asyncio.Task[Any]] = []
        self.failure: LoopFailure | None = None
        self._failed: asyncio.Event | None = None
        self._stopping = False  # cancel_all() runs: what loops raise now is logged there

    def _event(self) -> asyncio.Event:
        if self._failed is None:
            self._failed = asyncio.Event()
            if self.failure is not None:
                self._failed.set()
        return self._failed

    def start(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run `coro` as the loop `name`; its exception, if any, stops the run."""
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._done)
        self.tasks.append(task)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or self._stopping:
            return
        exc = task.exception()
        if exc is None:
            return  # a loop with an end (the subscription confirmations) ended
        self.fail(task.get_name(), exc)

    def fail(self, loop: str, exc: BaseException) -> None:
        """Record `exc` of `loop` as the run's failure (the first one wins), log it, wake `watch()`."""
        tb = "".join(traceback.format_exception(exc)) if not isinstance(exc, LoopError) else f"{exc}\n"
        text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, LoopError) else str(exc)
        log.error("control loop %r failed: %s\n%s", loop, text, tb.rstrip())
        if self.failure is not None:
            return
        self.failure = LoopFailure(loop, text, self._now(), tb)
        if self._on_failure is not None:
            self._on_failure(self.failure)
        self._event().set()

    async def wait_failed(self) -> LoopFailure:
        await self._event().wait()
        assert self.failure is not None
        return self.failure

    async def watch(self, work: Awaitable[T]) -> T:
        """Await `work`, unless a loop fails first: then cancel `work` and raise LoopFailed."""
        if self.failure is not None:
            if asyncio.iscoroutine(work):
                work.close()
            raise LoopFailed(self.failure)
        job = asyncio.ensure_future(work)
        failed = asyncio.ensure_future(self.wait_failed())
        try:
            await asyncio.wait([job, failed], return_when=asyncio.FIRST_COMPLETED)
        finally:
            failed.cancel()
        if job.done():
            return job.result()
        job.cancel()
        try:
            await job
        except asyncio.CancelledError:
            pass
        except Exception:  # the work's own error while being cancelled says less than the loop's
            log.exception("the work stopped by the failure of loop %r raised while stopping", self.failure.loop
                          if self.failure else "?")
        assert self.failure is not None
        raise LoopFailed(self.failure)

    async def cancel_all(self) -> None:
        """Cancel every loop and wait for them; a loop that raises while stopping is logged, not hidden."""
        self._stopping = True
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception as exc:
                if self.failure is None or self.failure.loop != task.get_name():
                    log.error("control loop %r raised while stopping: %s", task.get_name(), exc, exc_info=exc)
        self.tasks.clear()


async def poll_process(name: str, exited: Callable[[], str | None], interval: Callable[[], Awaitable[None]]) -> None:
    """A loop for a child process the run depends on (Locust): raise LoopError as soon as `exited()`
    says it ended on its own (the message), checking after every `interval()`."""
    while True:
        await interval()
        why = exited()
        if why is not None:
            raise LoopError(f"{name}: {why}")


def stopped_result(runner: Any, failure: LoopFailure, now: float) -> Any:
    """The RunResult of a scenario run a failed loop stopped: the phases it got through, and one failed
    verdict naming the loop and its error (no expectation is judged on a run cut short)."""
    from harness.scenarios.runner import RunResult

    result = runner.result if runner.result is not None else RunResult(runner.scenario, runner.roles,
                                                                       runner.h.t0, runner.h.t0)
    result.t1 = now
    result.verdicts = [{"name": f"control loop '{failure.loop}' keeps running", "expected": "no exception",
                        "observed": f"{failure.error} at +{failure.time - runner.h.t0:.0f} s; the run was stopped",
                        "passed": False}]
    return result
