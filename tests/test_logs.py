"""awslogs: the pure splitting/batching rules from tables, file tailing, and shipping to a real moto
server (real sample_app tasks included), read back with read_logs / follow.

https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from harness.clock import ManualClock, ScaledClock
from harness.ecs.process import ProcessRuntime
from harness.ecs.runtime import TaskSpec
from harness.logs import (
    EVENT_OVERHEAD_BYTES,
    LogEvent,
    LogLine,
    LogShipper,
    _rejected,
    _Tail,
    batches,
    follow,
    read_logs,
    split_lines,
    stream_name,
)
from harness.net import free_port

pytestmark = pytest.mark.timeout(60)


# ------------------------------------------------------------------------------------ pure rules ----
@pytest.mark.parametrize(
    "pending, data, final, max_bytes, lines, rest",
    [
        (b"", b"a\nb\n", False, 100, [b"a", b"b"], b""),
        (b"", b"a\nb", False, 100, [b"a"], b"b"),  # an unfinished line waits for its newline
        (b"b", b"c\n", False, 100, [b"bc"], b""),  # ... and is joined with what follows
        (b"", b"a\nb", True, 100, [b"a", b"b"], b""),  # the task stopped: the unfinished line goes too
        (b"", b"", True, 100, [], b""),
        (b"", b"\n\na\n\n", False, 100, [b"a"], b""),  # an event needs at least one byte
        (b"", b"a\r\n", False, 100, [b"a\r"], b""),  # only the newline is removed, as Docker does
        (b"", b"abcdefg\n", False, 3, [b"abc", b"def", b"g"], b""),  # a long line becomes several events
        (b"", b"abcdefg", False, 3, [b"abc", b"def"], b"g"),  # a long unfinished line too
        (b"", "aé\n".encode(), False, 2, [b"a", "é".encode()], b""),  # never split a UTF-8 character
    ],
)
def test_split_lines(pending: bytes, data: bytes, final: bool, max_bytes: int, lines: list[bytes], rest: bytes) -> None:
    assert split_lines(pending, data, final=final, max_bytes=max_bytes) == (lines, rest)


def ev(ts: int, msg: str = "x") -> LogEvent:
    return LogEvent(ts, msg)


@pytest.mark.parametrize(
    "events, limits, sizes",
    [
        ([], {}, []),
        ([ev(1)] * 5, {"max_events": 2}, [2, 2, 1]),
        # 4 events of 10 + 26 bytes: 72 fits, 108 does not
        ([ev(1, "0123456789")] * 4, {"max_bytes": 2 * (10 + EVENT_OVERHEAD_BYTES)}, [2, 2]),
        ([ev(1, "0123456789")] * 3, {"max_bytes": 2 * (10 + EVENT_OVERHEAD_BYTES) - 1}, [1, 1, 1]),
        # one call may not span more than 24 hours
        ([ev(0), ev(86_400_000), ev(86_400_001)], {}, [2, 1]),
        ([ev(1)] * 10_001, {}, [10_000, 1]),
    ],
)
def test_batches_respect_limits(events: list[LogEvent], limits: dict[str, int], sizes: list[int]) -> None:
    assert [len(b) for b in batches(events, **limits)] == sizes


def test_batches_are_chronological_and_keep_write_order_within_a_timestamp() -> None:
    out = batches([ev(5, "c"), ev(1, "a"), ev(5, "d"), ev(1, "b")], max_events=3)
    assert [[e.message for e in b] for b in out] == [["a", "b", "c"], ["d"]]


def test_batches_refuse_an_event_larger_than_a_call() -> None:
    with pytest.raises(ValueError, match="cannot fit"):
        batches([ev(1, "x" * 100)], max_bytes=50)


def test_batches_bytes_are_utf8() -> None:
    # "é" is 2 bytes in UTF-8: two 1-character events weigh 2 * (2 + 26) = 56 bytes.
    assert [len(b) for b in batches([ev(1, "é"), ev(1, "é")], max_bytes=55)] == [1, 1]


@pytest.mark.parametrize(
    "info, n, rejected",
    [
        ({}, 5, 0),
        ({"tooNewLogEventStartIndex": 3}, 5, 2),
        ({"tooOldLogEventEndIndex": 1}, 5, 2),
        ({"tooOldLogEventEndIndex": 1, "expiredLogEventEndIndex": 2, "tooNewLogEventStartIndex": 4}, 5, 4),
    ],
)
def test_rejected_counts(info: dict[str, int], n: int, rejected: int) -> None:
    assert _rejected(info, n) == rejected


def test_stream_name_is_prefix_container_task() -> None:
    assert stream_name("ecs", "main", "abc") == "ecs/main/abc"
    assert stream_name(None, "main", "abc") == "abc"


# ----------------------------------------------------------------------------------------- tail ----
def test_tail_follows_appends_truncation_rotation_and_deletion(tmp_path: Path) -> None:
    path = tmp_path / "t.log"
    tail = _Tail(path)
    assert tail.read(100) == b""  # not created yet
    with open(path, "ab") as f:
        f.write(b"one\n")
        f.flush()
        assert tail.read(100) == b"one\n"
        assert tail.read(100) == b""
        f.write(b"two\n")
        f.flush()
        assert tail.read(2) == b"tw"  # bounded reads resume where they stopped
        assert tail.read(100) == b"o\n"
    path.write_bytes(b"x\n")  # truncated in place, shorter than what was read
    assert tail.read(100) == b"x\n"
    with open(path, "ab") as old:
        os.rename(path, tmp_path / "t.log.1")  # rotated: the old file gets a last line
        old.write(b"last of old\n")
        old.flush()
        path.write_bytes(b"new\n")
        assert tail.read(100) == b"last of old\n"
        assert tail.read(100) == b"new\n"
    with open(path, "ab") as w:
        path.unlink()  # deleted while its writer still holds it
        w.write(b"ghost\n")
        w.flush()
        assert tail.read(100) == b"ghost\n"
        assert tail.read(100) == b""
    tail.close()


# ----------------------------------------------------------------------------------------- moto ----
@pytest.fixture(scope="module")
def logs() -> Iterator[Any]:
    """CloudWatch Logs of a real moto server on a free loopback port, with a log group to ship to."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        client = boto3.client(
            "logs",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        yield client
    finally:
        server.stop()


@pytest.fixture
def group(logs: Any) -> str:
    name = f"cluster-LogGroup-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    return name


def now_clock() -> ManualClock:
    # CloudWatch Logs accepts events from the last 14 days only: template time starts at today.
    return ManualClock(start=float(int(time.time())))


@dataclass
class FileTask:
    """A task as the shipper sees it: an id and a log file (here written by the test)."""

    task_id: str
    log_path: Path

    def write(self, data: bytes) -> None:
        with open(self.log_path, "ab") as f:
            f.write(data)


def messages(logs: Any, group: str, stream: str) -> list[tuple[int, str]]:
    resp = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    return [(e["timestamp"], e["message"]) for e in resp["events"]]


def test_lines_land_in_the_task_stream_with_template_timestamps(logs: Any, group: str, tmp_path: Path) -> None:
    async def main() -> None:
        clock = now_clock()
        t0 = int(clock.now() * 1000)
        shipper = LogShipper(logs, clock, interval=5)
        task = FileTask("task1", tmp_path / "task1.log")
        assert shipper.add(task, group, "ecs", "main") == "ecs/main/task1"
        await shipper.flush()  # nothing written yet: no stream needed
        task.write(b"first\nsecond\nhalf")
        await shipper.flush()
        await clock.advance(7)
        task.write(b" done\nthird\n")
        await shipper.flush()
        assert messages(logs, group, "ecs/main/task1") == [
            (t0, "first"),
            (t0, "second"),
            (t0 + 7000, "half done"),  # the unfinished line waited for its newline
            (t0 + 7000, "third"),
        ]
        assert shipper.counts("task1") == (4, 0)
        await clock.advance(1)
        task.write(b"last words, no newline")
        shipper.remove(task)
        await shipper.flush()
        assert messages(logs, group, "ecs/main/task1")[-1] == (t0 + 8000, "last words, no newline")
        assert shipper.streams() == {}  # forgotten after its final flush

    asyncio.run(main())


def test_read_logs_filters_by_task_prefix_and_time(logs: Any, group: str, tmp_path: Path) -> None:
    async def main() -> None:
        clock = now_clock()
        t0 = clock.now()
        shipper = LogShipper(logs, clock, interval=5)
        a, b = FileTask("aaa", tmp_path / "a.log"), FileTask("bbb", tmp_path / "b.log")
        shipper.add(a, group, "svc", "web")
        shipper.add(b, group, "svc", "web")
        a.write(b"a1\n")
        b.write(b"b1\n")
        await shipper.flush()
        await clock.advance(60)
        b.write(b"b2\n")
        a.write(b"a2\n")
        await shipper.close()

        every = read_logs(logs, group)
        assert every == [
            LogLine(t0, "svc/web/aaa", "a1"),
            LogLine(t0, "svc/web/bbb", "b1"),
            LogLine(t0 + 60, "svc/web/aaa", "a2"),
            LogLine(t0 + 60, "svc/web/bbb", "b2"),
        ]
        assert [l.message for l in read_logs(logs, group, task_id="bbb")] == ["b1", "b2"]
        assert [l.message for l in read_logs(logs, group, "svc", since=t0 + 1)] == ["a2", "b2"]
        assert read_logs(logs, group, "other") == []
        assert read_logs(logs, group, task_id="nope") == []

    asyncio.run(main())


def test_missing_group_is_logged_not_fatal_and_retried(
    logs: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        clock = now_clock()
        shipper = LogShipper(logs, clock, interval=5)
        name = f"late-{uuid.uuid4().hex[:8]}"
        task = FileTask("t", tmp_path / "t.log")
        shipper.add(task, name, "p", "c")
        task.write(b"hello\n")
        with caplog.at_level(logging.WARNING, logger="harness.logs"):
            await shipper.flush()
            await shipper.flush()
        warnings = [r.getMessage() for r in caplog.records if "does not exist" in r.getMessage()]
        assert len(warnings) == 1 and repr(name) in warnings[0]  # said once, naming the group
        logs.create_log_group(logGroupName=name)
        await shipper.flush()
        assert [m for _, m in messages(logs, name, "p/c/t")] == ["hello"]

    asyncio.run(main())


def test_events_outside_the_accepted_window_are_counted_and_reported(
    logs: Any, group: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        # Template time 30 days ago: CloudWatch Logs refuses events older than 14 days.
        clock = ManualClock(start=time.time() - 30 * 86400)
        shipper = LogShipper(logs, clock, interval=5)
        task = FileTask("old", tmp_path / "old.log")
        shipper.add(task, group, "p", "c")
        task.write(b"x\ny\n")
        with caplog.at_level(logging.WARNING, logger="harness.logs"):
            await shipper.flush()
        assert shipper.counts("old") == (0, 2)
        assert any("rejected 2 of 2 log events of task old" in r.getMessage() for r in caplog.records)

    asyncio.run(main())


def test_batching_limits_hold_against_the_api(logs: Any, group: str, tmp_path: Path) -> None:
    """12,000 lines in one pass: more than one PutLogEvents call can take, all shipped in order."""

    async def main() -> None:
        clock = now_clock()
        shipper = LogShipper(logs, clock, interval=5)
        task = FileTask("many", tmp_path / "many.log")
        shipper.add(task, group, "p", "c")
        task.write(b"".join(b"line %d\n" % i for i in range(12_000)))
        await shipper.flush()
        assert shipper.counts("many") == (12_000, 0)
        got = read_logs(logs, group, task_id="many")
        assert [l.message for l in got] == [f"line {i}" for i in range(12_000)]

    asyncio.run(main())


# ------------------------------------------------------------------------ real sample_app task ----
def test_a_real_sample_app_task_logs_are_shipped_and_flushed_when_it_stops(
    logs: Any, group: str, tmp_path: Path
) -> None:
    async def main() -> None:
        clock = now_clock()
        t0 = clock.now()
        shipper = LogShipper(logs, clock, interval=5)
        with ProcessRuntime(log_dir=tmp_path, enforce_quota=False) as rt:
            spec = TaskSpec(uuid.uuid4().hex, "svc", "web", "sample_app", free_port())
            task = rt.start(spec)
            try:
                stream = shipper.add(task, group, "ecs", spec.container)
                rt.wait_ready(task, 15)
                for path in ("/3", "/4"):
                    with urllib.request.urlopen(f"http://127.0.0.1:{spec.host_port}{path}", timeout=5) as r:
                        r.read()
                await shipper.flush()
                await clock.advance(10)
                with urllib.request.urlopen(f"http://127.0.0.1:{spec.host_port}/5", timeout=5) as r:
                    r.read()
            finally:
                assert rt.stop(task, 5) == 0
            shipper.remove(task)
            await shipper.flush()
        assert stream == f"ecs/web/{spec.task_id}"
        got = read_logs(logs, group, "ecs", task_id=spec.task_id)
        assert all(l.stream == stream for l in got)
        lines = [(l.timestamp, l.message) for l in got]
        assert (t0, f"sample_app listening on 127.0.0.1:{spec.host_port}") in lines
        requests = [(ts, m) for ts, m in lines if m.startswith("GET ")]
        assert requests == [(t0, "GET /3 200"), (t0, "GET /4 200"), (t0 + 10, "GET /5 200")]
        assert shipper.streams() == {}

    asyncio.run(main())


# --------------------------------------------------------------------------------- loops (wall) ----
def test_run_ships_on_its_own_and_follow_yields_each_event_once(logs: Any, group: str, tmp_path: Path) -> None:
    """The loops with a real clock: generous wall deadlines, no exact timing asserted."""

    async def main() -> None:
        clock = ScaledClock(1.0)
        shipper = LogShipper(logs, clock, interval=0.05)
        task = FileTask("live", tmp_path / "live.log")
        shipper.add(task, group, "p", "c")
        task.write(b"one\n")
        runner = asyncio.create_task(shipper.run())
        seen: list[str] = []

        async def consume() -> None:
            async for line in follow(logs, clock, group, "p", poll=0.05):
                seen.append(line.message)
                if line.message == "one":
                    task.write(b"two\nthree\n")

        consumer = asyncio.create_task(consume())
        try:
            for _ in range(400):  # up to 20 wall seconds
                if len(seen) >= 3:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # about ten more polls: nothing may be yielded twice
        finally:
            for t in (runner, consumer):
                t.cancel()
            await asyncio.gather(runner, consumer, return_exceptions=True)
            await shipper.close()
        assert seen == ["one", "two", "three"]

    asyncio.run(main())


def test_sync_adds_new_tasks_and_flushes_then_forgets_gone_ones(logs: Any, group: str, tmp_path: Path) -> None:
    async def main() -> None:
        shipper = LogShipper(logs, now_clock(), interval=5)
        a, b = FileTask("a", tmp_path / "a.log"), FileTask("b", tmp_path / "b.log")
        shipper.sync([a], group, "p", "c")
        assert shipper.streams() == {"a": "p/c/a"}
        a.write(b"bye")  # no newline: only a stop ships it
        shipper.sync([b], group, "p", "c")
        await shipper.flush()
        assert shipper.streams() == {"b": "p/c/b"}
        assert [l.message for l in read_logs(logs, group, task_id="a")] == ["bye"]

    asyncio.run(main())
