"""One timeline of everything that happens in a run, and event hooks between the parts.

The alarm evaluator, the scaling executor, the scheduler, the notifier and the report talk through
`Timeline.emit()`; a listener that fails is logged, never propagated into the emitter (as Locust's
`events` do), so a broken report cannot stop a scaling action.

Every kind of event has one frozen dataclass here (`AlarmTransition`, `ScalingActivity`,
`DesiredChange`, `TaskChange`, `TargetChange`, `MetricDatapoint`, `ServiceSample`, `MailSent`,
`PhaseChange`, `FaultInjected`, `LoadChange`, ...), the fields report.json's schema documents for that
kind (harness/report.schema.json; a test keeps the two equal). An emitter hands one over,
`timeline.emit(now, AlarmTransition(name=..., old=..., new=..., reason=...))`, and a reader asks for
them by type, `timeline.typed(AlarmTransition)`. The older spelling `emit(now, "alarm", name=...)`
still works: the fields are checked against the kind's dataclass then (a mismatch is logged, naming
the kind and the fields, and the event is kept untyped rather than lost). `Event.data` stays the
flat mapping report.json is written from.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

log = logging.getLogger(__name__)

OPTIONAL: Any = {"optional": True}  # field metadata: absent from the event's data while None


@dataclass(frozen=True)
class TypedEvent:
    """The fields of one kind of event (its time is the Event's)."""

    KIND: ClassVar[str] = ""

    def as_data(self) -> dict[str, Any]:
        """The event's fields as report.json holds them (shallow: lists and dicts stay as they are); a
        field marked OPTIONAL is left out while None (`"error" in sample` tells a failed sample)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if not (f.metadata.get("optional") and getattr(self, f.name) is None)}


@dataclass(frozen=True)
class AlarmTransition(TypedEvent):
    """An alarm's state change, as its CloudWatch alarm history records it."""

    KIND: ClassVar[str] = "alarm"
    name: str
    old: str
    new: str
    reason: str


@dataclass(frozen=True)
class ScalingActivity(TypedEvent):
    """A scaling activity, as Application Auto Scaling's DescribeScalingActivities lists it."""

    KIND: ClassVar[str] = "scaling"
    resource_id: str
    policy: str
    alarm: str
    description: str
    cause: str
    status: str


@dataclass(frozen=True)
class DesiredChange(TypedEvent):
    """A change of a service's desired count (a policy, or the scenario's own UpdateService)."""

    KIND: ClassVar[str] = "desired"
    old: int | None
    new: int
    policy: str
    resource_id: str = ""


@dataclass(frozen=True)
class TaskChange(TypedEvent):
    """A task's lifecycle step (`action`: started, running, stopped, start-failed, ...)."""

    KIND: ClassVar[str] = "task"
    task_id: str
    action: str
    reason: str


@dataclass(frozen=True)
class TargetChange(TypedEvent):
    """A target's health transition in its target group."""

    KIND: ClassVar[str] = "target"
    target: str
    old: str
    new: str
    reason: str


@dataclass(frozen=True)
class MetricDatapoint(TypedEvent):
    """A datapoint an alarm evaluated: its statistic over one period."""

    KIND: ClassVar[str] = "metric"
    alarm: str
    namespace: str
    metric: str
    statistic: str
    period: int
    period_start: float
    value: float | None
    dimensions: Mapping[str, str] = field(default_factory=dict)
    sample_count: float | None = None


@dataclass(frozen=True)
class ServiceSample(TypedEvent):
    """The metrics agent's sample of a service (the utilization it published), or the error sampling hit."""

    KIND: ClassVar[str] = "sample"
    service: str = ""
    cluster: str = ""
    namespace: str = ""
    cpu: float | None = None
    memory: float | None = None
    tasks: int = 0
    error: str | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class MailSent(TypedEvent):
    """An email the SNS delivery handed to the mailbox."""

    KIND: ClassVar[str] = "mail"
    to: list[str]
    subject: str
    body: str


@dataclass(frozen=True)
class PhaseChange(TypedEvent):
    """A scenario phase starting, ending (maybe timed out) or skipped."""

    KIND: ClassVar[str] = "phase"
    name: str
    action: str
    timed_out: bool | None = field(default=None, metadata=OPTIONAL)  # on "end" only


@dataclass(frozen=True)
class FaultInjected(TypedEvent):
    """A fault the scenario injected (hang_tasks: these pids were SIGSTOPped)."""

    KIND: ClassVar[str] = "fault"
    name: str
    pids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class LoadChange(TypedEvent):
    """The Locust users the runner asked for, and the CPU it aims at."""

    KIND: ClassVar[str] = "load"
    users: Mapping[str, int]
    gain: float = 1.0
    target_cpu: float | None = None


@dataclass(frozen=True)
class TaskCounts(TypedEvent):
    """A service's desired, running and healthy task counts."""

    KIND: ClassVar[str] = "tasks"
    service: str
    desired: int | None
    running: int
    healthy: int


@dataclass(frozen=True)
class LbCounters(TypedEvent):
    """The load balancer's counters since the previous LbCounters."""

    KIND: ClassVar[str] = "lb"
    requests: int
    elb_5xx: int
    target_5xx: int
    healthy: int = 0
    unhealthy: int = 0


@dataclass(frozen=True)
class AlarmAction(TypedEvent):
    """An alarm action the evaluator ran (an SNS publish, a scaling policy), in CloudWatch's words."""

    KIND: ClassVar[str] = "action"
    alarm: str
    arn: str
    ok: bool
    summary: str = ""
    detail: str = ""
    state: str = ""


@dataclass(frozen=True)
class RunStopped(TypedEvent):
    """The scenario stopped before its end (why)."""

    KIND: ClassVar[str] = "stopped"
    reason: str


@dataclass(frozen=True)
class LoopFailed(TypedEvent):
    """A control loop failed; the run stops."""

    KIND: ClassVar[str] = "loop-failed"
    loop: str
    error: str


@dataclass(frozen=True)
class EvaluationLag(TypedEvent):
    """An alarm evaluation finished late (template seconds behind its minute)."""

    KIND: ClassVar[str] = "lag"
    loop: str
    tick: float
    behind: float
    started_behind: float = 0.0


KINDS: dict[str, type[TypedEvent]] = {cls.KIND: cls for cls in (
    AlarmTransition, ScalingActivity, DesiredChange, TaskChange, TargetChange, MetricDatapoint, ServiceSample,
    MailSent, PhaseChange, FaultInjected, LoadChange, TaskCounts, LbCounters, AlarmAction, RunStopped, LoopFailed,
    EvaluationLag,
)}

T = TypeVar("T", bound=TypedEvent)


def typed_from(kind: str, data: Mapping[str, Any]) -> TypedEvent | None:
    """The typed payload of a `kind` event with these fields: None for a kind without a dataclass.

    TypeError names the kind and the fields when they do not fit it (a missing field, an unknown one)."""
    cls = KINDS.get(kind)
    if cls is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise TypeError(f"{kind} event: unknown fields {unknown} (a {cls.__name__} has {', '.join(sorted(names))})")
    try:
        return cls(**data)
    except TypeError as err:
        raise TypeError(f"{kind} event: {err} (a {cls.__name__} has {', '.join(sorted(names))})") from err


@dataclass(frozen=True)
class Event:
    time: float  # template epoch seconds
    kind: str  # KINDS' keys, or a kind without a dataclass yet
    data: dict[str, Any]
    typed: TypedEvent | None = field(default=None, compare=False, repr=False)  # the kind's dataclass, when it has one


Listener = Callable[[Event], None]


@dataclass
class Timeline:
    events: list[Event] = field(default_factory=list)
    _listeners: list[Listener] = field(default_factory=list)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, time: float, what: str | TypedEvent, /, **data: Any) -> Event:
        """Record `what` (a typed event; or a kind and its fields) at `time` and tell every listener."""
        typed: TypedEvent | None
        if isinstance(what, TypedEvent):
            if data:
                raise TypeError(f"emit({type(what).__name__}(...)) takes no extra fields, got {sorted(data)}")
            typed, kind, data = what, what.KIND, what.as_data()
        else:
            kind = what
            try:
                typed = typed_from(kind, data)
            except TypeError as err:  # the event is kept (untyped) rather than lost, and the mismatch is said
                log.error("%s", err)
                typed = None
        event = Event(time, kind, data, typed)
        self.events.append(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's failure is its own, not the emitter's
                log.exception("event listener %r failed on %s", listener, kind)
        return event

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    def typed(self, cls: type[T]) -> list[tuple[float, T]]:
        """(time, payload) of every event of that type, in timeline order."""
        return [(e.time, e.typed) for e in self.events if isinstance(e.typed, cls)]
