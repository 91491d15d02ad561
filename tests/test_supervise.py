"""Supervised control loops (harness.supervise): a loop that raises stops the work at once, named."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from harness.supervise import LoopError, LoopFailed, LoopFailure, Supervisor, poll_process


async def _raises_after(seconds: float, exc: BaseException) -> None:
    await asyncio.sleep(seconds)
    raise exc


async def _forever() -> None:
    while True:
        await asyncio.sleep(1)


def test_a_loop_that_raises_stops_the_work_at_once_with_the_loop_named(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[LoopFailure] = []

    async def main() -> float:
        sup = Supervisor(lambda: 42.0, seen.append)
        sup.start(_forever(), "metrics agent")
        sup.start(_raises_after(0.05, ValueError("no such dimension")), "alarm evaluator")
        t0 = time.monotonic()
        with pytest.raises(LoopFailed) as err:
            await sup.watch(asyncio.sleep(30))  # the work: would take 30 s
        elapsed = time.monotonic() - t0
        assert "control loop 'alarm evaluator' failed: ValueError: no such dimension" in str(err.value)
        f = err.value.failure
        assert (f.loop, f.time) == ("alarm evaluator", 42.0)
        assert "Traceback" in f.traceback and "_raises_after" in f.traceback
        await sup.cancel_all()
        return elapsed

    with caplog.at_level(logging.ERROR, logger="harness.supervise"):
        elapsed = asyncio.run(main())
    assert elapsed < 5.0  # at once, not after the work's own time
    assert [f.loop for f in seen] == ["alarm evaluator"]  # the hook ran once
    assert any("'alarm evaluator' failed" in r.getMessage() and "Traceback" in r.getMessage() for r in caplog.records)


def test_the_first_failure_wins_and_a_later_watch_fails_at_once() -> None:
    async def main() -> None:
        sup = Supervisor(lambda: 0.0)
        sup.start(_raises_after(0.01, RuntimeError("first")), "scheduler s")
        sup.start(_raises_after(0.05, RuntimeError("second")), "health checks tg")
        await asyncio.sleep(0.1)
        assert sup.failure is not None and sup.failure.loop == "scheduler s"
        with pytest.raises(LoopFailed, match="scheduler s"):
            await sup.watch(asyncio.sleep(30))
        await sup.cancel_all()

    asyncio.run(main())


def test_work_that_ends_first_returns_its_result_and_cancelled_or_finished_loops_are_no_failure() -> None:
    async def main() -> None:
        sup = Supervisor(lambda: 0.0)

        async def done() -> None:
            return None

        sup.start(done(), "sns confirmations")
        loop = sup.start(_forever(), "observer")
        assert await sup.watch(asyncio.sleep(0.05, result="verdict")) == "verdict"
        loop.cancel()
        await asyncio.sleep(0)
        await sup.cancel_all()
        assert sup.failure is None

    asyncio.run(main())


def test_a_loop_that_raises_while_stopping_is_logged_not_hidden(caplog: pytest.LogCaptureFixture) -> None:
    async def stubborn() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise OSError("cannot flush the log stream")

    async def main() -> None:
        sup = Supervisor(lambda: 0.0)
        sup.start(stubborn(), "log shipper")
        await asyncio.sleep(0.01)
        await sup.cancel_all()

    with caplog.at_level(logging.ERROR, logger="harness.supervise"):
        asyncio.run(main())
    assert any("'log shipper' raised while stopping" in r.getMessage() for r in caplog.records)


def test_a_child_process_that_ends_on_its_own_stops_the_run() -> None:
    state: dict[str, str | None] = {"code": None}

    async def main() -> LoopFailed:
        sup = Supervisor(lambda: 0.0)
        sup.start(poll_process("load (Locust)", lambda: state["code"], lambda: asyncio.sleep(0.01)), "load (Locust)")
        await asyncio.sleep(0.05)
        assert sup.failure is None  # running: nothing to say
        state["code"] = "Locust exited by itself with code 1"
        with pytest.raises(LoopFailed) as err:
            await sup.watch(asyncio.sleep(30))
        await sup.cancel_all()
        return err.value

    failed = asyncio.run(main())
    assert str(failed).startswith("control loop 'load (Locust)' failed: load (Locust): Locust exited by itself")
    assert "Traceback" not in failed.failure.traceback  # a LoopError's message is the whole story


def test_loop_error_is_an_exception_of_ours() -> None:
    assert issubclass(LoopError, Exception) and not issubclass(LoopError, LoopFailed)
