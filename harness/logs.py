"""awslogs for local tasks: ship each task's stdout/stderr to CloudWatch Logs, and read it back.

On ECS the awslogs log driver sends every line a container writes to the log group `awslogs-group`,
stream `<awslogs-stream-prefix>/<container name>/<task id>`. Local tasks write to a file instead, so
`LogShipper` tails those files and calls PutLogEvents on the emulated cloud; `read_logs` / `follow`
read them back for `harness logs`. Timestamps are template time (the clock's), like every timestamp
the harness writes, so a log line lines up with the metrics and alarm transitions of the same run.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html

The splitting and batching rules are pure functions (`split_lines`, `batches`), table-tested; the
shipper only reads files and calls the API (off the event loop).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol

from harness.clock import Clock

log = logging.getLogger(__name__)

# PutLogEvents limits: at most 10,000 events and 1,048,576 bytes per call, where the size is the
# sum of the UTF-8 messages plus 26 bytes per event; events in chronological order; one call may
# not span more than 24 hours.
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
MAX_EVENTS_PER_PUT = 10_000
MAX_BYTES_PER_PUT = 1_048_576
EVENT_OVERHEAD_BYTES = 26
MAX_SPAN_MS = 24 * 3600 * 1000
# Docker's awslogs driver (what ECS runs) cuts a line longer than 256 KiB less the per-event overhead
# into several events. https://docs.docker.com/engine/logging/drivers/awslogs/
MAX_EVENT_BYTES = 262_144 - EVENT_OVERHEAD_BYTES
# FilterLogEvents takes at most 100 stream names per call.
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
MAX_STREAMS_PER_FILTER = 100
# The most a shipper reads from one running task's file per pass (the rest waits for the next pass).
READ_CHUNK = 4 * 1024 * 1024


class LoggedTask(Protocol):
    """What the shipper needs of a task: its id and the file its container's stdout/stderr go to."""

    @property
    def task_id(self) -> str: ...

    @property
    def log_path(self) -> Path: ...


@dataclass(frozen=True)
class LogEvent:
    """One CloudWatch Logs event: `timestamp` in epoch milliseconds (template time)."""

    timestamp: int
    message: str


class LogLine(NamedTuple):
    """An event read back: template epoch seconds, stream name, message."""

    timestamp: float
    stream: str
    message: str


# ----------------------------------------------------------------------------------- pure rules ----
def stream_name(prefix: str | None, container: str, task_id: str) -> str:
    """awslogs' stream name: `prefix/container/task-id`; without a prefix ECS uses the container id
    (here: the task id). https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html"""
    return f"{prefix}/{container}/{task_id}" if prefix else task_id


def _utf8_cut(data: bytes, limit: int) -> int:
    """The largest cut <= limit that does not split a UTF-8 character (as Docker's awslogs does)."""
    if len(data) <= limit:
        return len(data)
    cut = limit
    while cut > 0 and (data[cut] & 0xC0) == 0x80:  # a continuation byte: the character starts earlier
        cut -= 1
    return cut or limit


def split_lines(
    pending: bytes, data: bytes, *, final: bool = False, max_bytes: int = MAX_EVENT_BYTES
) -> tuple[list[bytes], bytes]:
    """Cut `pending + data` into messages; return them and the unfinished rest.

    A message is a line without its newline. Empty lines are dropped (an event needs a message of at
    least 1 byte). A line longer than `max_bytes` becomes several messages, and so does an unfinished
    line that already exceeds it. The unfinished last line waits for its newline, unless `final`
    (the task stopped: nothing more will come), when it is a message of its own.
    """
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be > 0, got {max_bytes}")
    buf = pending + data
    parts = buf.split(b"\n")
    rest = parts.pop()  # after the last newline: unfinished (b"" if buf ends with a newline)
    out: list[bytes] = []

    def emit(line: bytes, keep_tail: bool) -> bytes:
        while len(line) > max_bytes:
            cut = _utf8_cut(line, max_bytes)
            out.append(line[:cut])
            line = line[cut:]
        if keep_tail:
            return line
        if line:
            out.append(line)
        return b""

    for line in parts:
        emit(line, keep_tail=False)
    rest = emit(rest, keep_tail=not final)
    return out, rest


def event_size(event: LogEvent) -> int:
    """An event's share of a PutLogEvents call: its UTF-8 message plus 26 bytes."""
    return len(event.message.encode("utf-8")) + EVENT_OVERHEAD_BYTES


def batches(
    events: Sequence[LogEvent],
    *,
    max_events: int = MAX_EVENTS_PER_PUT,
    max_bytes: int = MAX_BYTES_PER_PUT,
    max_span_ms: int = MAX_SPAN_MS,
) -> list[list[LogEvent]]:
    """Group events, in chronological order, into PutLogEvents calls within the API's limits.

    The sort is stable: lines with the same timestamp keep the order the task wrote them in.
    """
    ordered = sorted(events, key=lambda e: e.timestamp)
    out: list[list[LogEvent]] = []
    cur: list[LogEvent] = []
    size = 0
    for e in ordered:
        n = event_size(e)
        if n > max_bytes:
            raise ValueError(f"a log event of {n} bytes cannot fit a PutLogEvents call of {max_bytes} bytes")
        if cur and (len(cur) >= max_events or size + n > max_bytes or e.timestamp - cur[0].timestamp > max_span_ms):
            out.append(cur)
            cur, size = [], 0
        cur.append(e)
        size += n
    if cur:
        out.append(cur)
    return out


# ------------------------------------------------------------------------------------- tailing ----
class _Tail:
    """Reads what was appended to a file since the last read, across truncation and rotation.

    - not there yet: nothing to read (a runtime may create it late);
    - truncated in place (copytruncate): start again from its beginning;
    - rotated (the path now names another file): finish the old file, then read the new one from 0;
    - deleted: keep reading the open file (a writer may still hold it).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None
        self._ino: int | None = None
        self._offset = 0

    def read(self, limit: int) -> bytes:
        if self._fh is None:
            try:
                self._fh = open(self.path, "rb")
            except FileNotFoundError:
                return b""
            self._ino = os.fstat(self._fh.fileno()).st_ino
            self._offset = 0
        if os.fstat(self._fh.fileno()).st_size < self._offset:
            log.warning("log file %s was truncated: reading it again from its start", self.path)
            self._fh.seek(0)
            self._offset = 0
        data = self._fh.read(limit)
        self._offset += len(data)
        if data:
            return data
        try:
            ino = os.stat(self.path).st_ino
        except FileNotFoundError:
            return b""  # deleted: the open handle still reads whatever its writer appends
        if ino != self._ino:  # rotated, and the old file is read to its end
            self.close()
            return self.read(limit)
        return b""

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


@dataclass
class _Shipped:
    task_id: str
    log_group: str
    stream: str
    tail: _Tail
    pending: bytes = b""
    queue: list[LogEvent] = field(default_factory=list)
    created: bool = False
    closing: bool = False
    last_ms: int = 0
    last_problem: str | None = None
    shipped: int = 0
    rejected: int = 0


class LogShipper:
    """The awslogs driver for every task the harness runs.

    `add()` when a task starts and `remove()` when it has stopped (both synchronous, no I/O: safe from
    a scheduler listener); `run()` ships every `interval` template seconds; `flush()` ships now;
    `close()` ships what is left and forgets every task. A failing call is logged (once per distinct
    problem) and retried on the next pass; it never stops the loop.
    """

    def __init__(self, logs_client: Any, clock: Clock, *, interval: float) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be > 0 template seconds, got {interval}")
        self._logs = logs_client
        self.clock = clock
        self.interval = interval
        self._tasks: dict[str, _Shipped] = {}
        self._lock = asyncio.Lock()

    # ----- registration (called by the scheduler's listeners)
    def add(self, task: LoggedTask, log_group: str, stream_prefix: str | None, container_name: str) -> str:
        """Start shipping `task`'s log file; returns its stream name (created on the next pass)."""
        existing = self._tasks.get(task.task_id)
        if existing is not None:
            existing.closing = False
            return existing.stream
        name = stream_name(stream_prefix, container_name, task.task_id)
        self._tasks[task.task_id] = _Shipped(task.task_id, log_group, name, _Tail(Path(task.log_path)))
        return name

    def remove(self, task: LoggedTask | str) -> None:
        """The task stopped: the next pass ships its last lines (an unfinished one too) and forgets it."""
        tid = task if isinstance(task, str) else task.task_id
        st = self._tasks.get(tid)
        if st is not None:
            st.closing = True

    def sync(self, tasks: Iterable[LoggedTask], log_group: str, stream_prefix: str | None, container_name: str) -> None:
        """Make the shipped set `tasks` (of one container): add the new ones, remove the missing ones."""
        live = {t.task_id: t for t in tasks}
        for t in live.values():
            if t.task_id not in self._tasks:
                self.add(t, log_group, stream_prefix, container_name)
        for tid, st in self._tasks.items():
            if tid not in live and st.log_group == log_group:
                st.closing = True

    def streams(self) -> dict[str, str]:
        """task id -> stream name, for the tasks being shipped."""
        return {tid: st.stream for tid, st in self._tasks.items()}

    def counts(self, task_id: str) -> tuple[int, int]:
        """(events shipped, events the cloud rejected) for a task still known to the shipper."""
        st = self._tasks[task_id]
        return st.shipped, st.rejected

    # ----- shipping
    async def run(self) -> None:
        """Ship every `interval` template seconds until cancelled (then call `close()`)."""
        while True:
            try:
                await self.flush()
            except Exception:  # one bad pass must not end log shipping for the run
                log.exception("log shipping pass failed")
            await self.clock.sleep(self.interval)

    async def flush(self) -> None:
        """Read every task's new lines and put them; forget removed tasks once all is shipped."""
        async with self._lock:
            for tid, st in list(self._tasks.items()):
                try:
                    self._read(st)
                    await self._ship(st)
                except Exception as e:
                    self._problem(st, f"log shipping for task {tid} failed: {e}")
                if st.closing and not st.queue and not st.pending:
                    st.tail.close()
                    del self._tasks[tid]

    async def close(self) -> None:
        """Final pass for every task (all are treated as stopped), then forget them all."""
        for st in self._tasks.values():
            st.closing = True
        try:
            await self.flush()
        finally:
            for st in self._tasks.values():
                if st.queue:
                    log.warning(
                        "%d log events of task %s were never shipped to %s/%s",
                        len(st.queue), st.task_id, st.log_group, st.stream,
                    )
                st.tail.close()
            self._tasks.clear()

    def _read(self, st: _Shipped) -> None:
        while True:
            data = st.tail.read(READ_CHUNK)
            lines, st.pending = split_lines(st.pending, data, final=st.closing and not data)
            if lines:
                # awslogs stamps a line when the driver receives it; here, when the shipper reads it.
                # Clamped so a stream's events never go back in time.
                ts = max(int(self.clock.now() * 1000), st.last_ms)
                st.last_ms = ts
                st.queue.extend(LogEvent(ts, line.decode("utf-8", "replace")) for line in lines)
            if not data or not st.closing:
                return

    async def _ship(self, st: _Shipped) -> None:
        if not st.queue:
            return
        if not st.created:
            try:
                await asyncio.to_thread(self._logs.create_log_stream, logGroupName=st.log_group, logStreamName=st.stream)
            except Exception as e:
                if _code(e) != "ResourceAlreadyExistsException":
                    if _code(e) == "ResourceNotFoundException":
                        # awslogs does not create the group unless awslogs-create-group is true.
                        raise RuntimeError(
                            f"log group {st.log_group!r} does not exist (the cluster stack should create it)"
                        ) from e
                    raise
            st.created = True
        for batch in batches(st.queue):
            resp = await asyncio.to_thread(
                self._logs.put_log_events,
                logGroupName=st.log_group,
                logStreamName=st.stream,
                logEvents=[{"timestamp": e.timestamp, "message": e.message} for e in batch],
            )
            st.queue = st.queue[len(batch):]
            rejected = _rejected(resp.get("rejectedLogEventsInfo") or {}, len(batch))
            st.shipped += len(batch) - rejected
            st.rejected += rejected
            if rejected:
                # CloudWatch Logs accepts events from 14 days ago to 2 hours ahead of its own clock; a
                # fast time scale can run template time past that window.
                self._problem(
                    st,
                    f"CloudWatch Logs rejected {rejected} of {len(batch)} log events of task {st.task_id} "
                    f"({resp['rejectedLogEventsInfo']}): template time is outside the accepted window",
                )
        st.last_problem = None

    def _problem(self, st: _Shipped, message: str) -> None:
        if message != st.last_problem:
            log.warning("%s", message)
            st.last_problem = message


def _rejected(info: dict[str, Any], n: int) -> int:
    """How many events of an n-event call `rejectedLogEventsInfo` says were dropped."""
    bad: set[int] = set()
    if "tooNewLogEventStartIndex" in info:
        bad.update(range(int(info["tooNewLogEventStartIndex"]), n))
    for key in ("tooOldLogEventEndIndex", "expiredLogEventEndIndex"):
        if key in info:
            bad.update(range(0, int(info[key]) + 1))
    return len(bad)


def _code(e: BaseException) -> str | None:
    resp = getattr(e, "response", None)
    if isinstance(resp, dict):
        code = resp.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


# ------------------------------------------------------------------------------------- reading ----
def _stream_names(logs_client: Any, log_group: str, stream_prefix: str | None, task_id: str | None) -> list[str]:
    kwargs: dict[str, Any] = {"logGroupName": log_group}
    if stream_prefix:
        kwargs["logStreamNamePrefix"] = f"{stream_prefix}/"
    names: list[str] = []
    while True:
        resp = logs_client.describe_log_streams(**kwargs)
        names += [s["logStreamName"] for s in resp.get("logStreams", [])]
        token = resp.get("nextToken")
        if not token or token == kwargs.get("nextToken"):
            break
        kwargs["nextToken"] = token
    if task_id is not None:
        names = [n for n in names if n == task_id or n.endswith(f"/{task_id}")]
    return sorted(names)


def _read_events(
    logs_client: Any, log_group: str, stream_prefix: str | None, task_id: str | None, since_ms: int | None
) -> list[tuple[int, str, str, str]]:
    """(timestamp ms, stream, message, event id) in time order (stable within a stream)."""
    names = _stream_names(logs_client, log_group, stream_prefix, task_id)
    found: list[tuple[int, str, str, str]] = []
    for i in range(0, len(names), MAX_STREAMS_PER_FILTER):
        kwargs: dict[str, Any] = {"logGroupName": log_group, "logStreamNames": names[i : i + MAX_STREAMS_PER_FILTER]}
        if since_ms is not None:
            kwargs["startTime"] = since_ms
        while True:
            resp = logs_client.filter_log_events(**kwargs)
            found += [
                (int(e["timestamp"]), e["logStreamName"], e["message"], str(e.get("eventId", "")))
                for e in resp.get("events", [])
            ]
            token = resp.get("nextToken")
            if not token or token == kwargs.get("nextToken"):
                break
            kwargs["nextToken"] = token
    found.sort(key=lambda e: e[0])
    return found


def read_logs(
    logs_client: Any,
    log_group: str,
    stream_prefix: str | None = None,
    task_id: str | None = None,
    since: float | None = None,
) -> list[LogLine]:
    """Every event of the group's awslogs streams, oldest first: all of them, those under
    `stream_prefix`, or one task's; `since` (template epoch seconds) drops older ones."""
    since_ms = int(since * 1000) if since is not None else None
    return [
        LogLine(ts / 1000.0, stream, msg)
        for ts, stream, msg, _ in _read_events(logs_client, log_group, stream_prefix, task_id, since_ms)
    ]


async def follow(
    logs_client: Any,
    clock: Clock,
    log_group: str,
    stream_prefix: str | None = None,
    task_id: str | None = None,
    since: float | None = None,
    *,
    poll: float = 1.0,
) -> AsyncIterator[LogLine]:
    """`read_logs`, then each new event as it arrives (polling every `poll` template seconds), forever.

    Events are never yielded twice: each poll asks from the newest timestamp seen and skips the event
    ids already yielded at that timestamp.
    """
    since_ms = int(since * 1000) if since is not None else None
    seen_at_last: set[tuple[str, str]] = set()
    while True:
        events = await asyncio.to_thread(_read_events, logs_client, log_group, stream_prefix, task_id, since_ms)
        for ts, stream, msg, eid in events:
            key = (stream, eid)
            if since_ms is not None and ts == since_ms and key in seen_at_last:
                continue
            if since_ms is None or ts > since_ms:
                since_ms, seen_at_last = ts, set()
            seen_at_last.add(key)
            yield LogLine(ts / 1000.0, stream, msg)
        await clock.sleep(poll)
