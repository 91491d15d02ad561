"""The model loop: a traffic trace through the stack's own alarms and policies on a virtual clock, in one process.

A day of traffic takes 48 minutes of live running at 30x; capacity planning needs it in seconds. This loop
runs the same pure decisions as live runs, on numbers read back from the deployed stack:
`harness.cloudwatch.evaluate` (alarm states, every template minute, with its reasons and actions),
`harness.autoscaling.decide` (step scaling with cooldowns), `harness.ecs.scheduler.plan` (which tasks to
start and stop) and `harness.elb.health.next_health` (via `rules.start_up`). What live runs measure (CPU
per request, start-up, queueing) comes from `harness.model.rules`. No process, no cloud call, no wall
clock: time is a virtual clock that jumps from one event to the next.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness import autoscaling
from harness.autoscaling import NO_COOLDOWN, Cooldown
from harness.autoscaling import target_tracking as tt
from harness.autoscaling.executor import metric_value_for
from harness.autoscaling.step import cooldown_or_default
from harness.cloudwatch import evaluate as ev
# `_newest`: the breach value a policy sees, exactly as the live evaluator picks it.
from harness.cloudwatch.alarms import PeriodStats, _newest
from harness.cloudwatch.reason import java_double
from harness.ecs.runtime import DEFAULT_CPU_UNITS, cpu_reservation, memory_limit
from harness.ecs.scheduler import StartTask, StopCause, StopTask, TaskState, TaskView, plan
from harness.errors import ConfigError
from harness.events import KINDS, Event, Timeline
from harness.model import rules
from harness.model.traffic import MINUTE, Trace
from harness.sns import alarm_body, alarm_subject
from harness.stack import Alarm, ScalingPolicy, Service, StackModel

# The live harness's cadences (harness/app.py), so the model reconciles and samples as live runs do.
SCHEDULER_TICK = 5.0
SAMPLES_PER_MINUTE = 6  # the metrics agent samples every 10 template seconds
TARGET_TRACKING = tt.POLICY_TYPE

# Metrics the model produces, by (namespace, metric name).
CPU = ("AWS/ECS", "CPUUtilization")
MEMORY = ("AWS/ECS", "MemoryUtilization")
ELB_5XX = ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count")
TARGET_5XX = ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count")
REQUESTS = ("AWS/ApplicationELB", "RequestCount")
REQUESTS_PER_TARGET = ("AWS/ApplicationELB", "RequestCountPerTarget")
HEALTHY_HOSTS = ("AWS/ApplicationELB", "HealthyHostCount")
UNHEALTHY_HOSTS = ("AWS/ApplicationELB", "UnHealthyHostCount")


@dataclass(frozen=True)
class ModelConfig:
    """The model's knobs; every default is stated in the report's assumptions."""

    cost_ms: float
    startup_seconds: float = 10.0
    queue_timeout: float = 60.0
    target_error_rate: float = 0.0
    noise: float = 0.0
    seed: int = 0
    default_cpu_units: int = DEFAULT_CPU_UNITS
    vcpu_hour_price: float = rules.FARGATE_VCPU_HOUR
    gb_hour_price: float = rules.FARGATE_GB_HOUR
    cost_source: str = "--cost-ms"
    # The memory model (rules.memory_utilization): None = MemoryUtilization is not modelled.
    memory_baseline_mib: float | None = None
    memory_per_request_mib: float = 0.0
    memory_source: str = "--memory-baseline-mib"

    def check(self) -> None:
        if not (math.isfinite(self.cost_ms) and self.cost_ms > 0):
            raise ConfigError(f"--cost-ms {self.cost_ms:g}: the CPU one request costs must be > 0 ms")
        for name, value in (("--startup-seconds", self.startup_seconds), ("--queue-timeout", self.queue_timeout),
                            ("--noise", self.noise), ("--vcpu-hour-price", self.vcpu_hour_price),
                            ("--gb-hour-price", self.gb_hour_price)):
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} {value:g}: must be a number >= 0")
        if not 0 <= self.target_error_rate <= 1:
            raise ConfigError(f"--target-error-rate {self.target_error_rate:g}: must be a fraction from 0 to 1")
        if self.default_cpu_units <= 0:
            raise ConfigError(f"--default-cpu {self.default_cpu_units}: must be > 0 CPU units")
        for name, mib in (("--memory-baseline-mib", self.memory_baseline_mib),
                          ("--memory-per-request-mib", self.memory_per_request_mib)):
            if mib is not None and not (math.isfinite(mib) and mib >= 0):
                raise ConfigError(f"{name} {mib:g}: must be a number of MiB >= 0")


@dataclass(frozen=True)
class _Tracking:
    """A target tracking policy with its effective cooldowns (fits `target_tracking.TrackingPolicyLike`)."""

    name: str
    target_value: float
    scale_out_cooldown: float
    scale_in_cooldown: float
    disable_scale_in: bool


def _tracking(policy: ScalingPolicy) -> _Tracking:
    conf = policy.target_tracking
    assert conf is not None
    # AWS's default cooldowns where the policy sets none (API_TargetTrackingScalingPolicyConfiguration).
    return _Tracking(
        name=policy.name,
        target_value=float(conf.target_value),
        scale_out_cooldown=cooldown_or_default(conf.scale_out_cooldown, policy.service_namespace),
        scale_in_cooldown=cooldown_or_default(conf.scale_in_cooldown, policy.service_namespace),
        disable_scale_in=bool(conf.disable_scale_in),
    )


@dataclass
class _Task:
    task_id: str
    started: float
    running_at: float
    healthy_at: float
    stopping_at: float | None = None  # deregistered: draining from here
    stopped_at: float | None = None


@dataclass
class Minute:
    """What one template minute of the model held (the per-minute series of the report)."""

    start: float
    offered_rps: float = 0.0
    arrived: float = 0.0
    served: float = 0.0
    elb_503: float = 0.0
    elb_504: float = 0.0
    target_5xx: float = 0.0
    cpu_seconds: float = 0.0
    running_seconds: float = 0.0  # task-seconds of RUNNING tasks (the CPUUtilization denominator)
    healthy_seconds: float = 0.0
    billed_seconds: float = 0.0  # task-seconds from start to stop (what Fargate bills)
    queued: float = 0.0  # waiting at the end of the minute
    cpu: float | None = None  # the published CPUUtilization
    memory: float | None = None  # the published MemoryUtilization (None: not modelled, or no task ran)
    desired: int = 0
    running: int = 0
    healthy: int = 0

    @property
    def elb_5xx(self) -> float:
        return self.elb_503 + self.elb_504


@dataclass
class ModelResult:
    stack: StackModel
    service: Service
    trace: Trace
    config: ModelConfig
    cpu_units: int
    cpu_source: str
    memory_mib: int
    minutes: list[Minute]
    timeline: Timeline
    t0: float
    t1: float
    unmodeled: list[str] = field(default_factory=list)

    @property
    def events(self) -> list[Event]:
        return self.timeline.events


def task_memory_mib(service: Service) -> int:
    """The memory a task reserves: the task definition's limit, else its containers' reservations (0: none)."""
    td = service.task_definition
    return memory_limit(td) or sum(c.memory_reservation or 0 for c in td.containers)


def check_supported(stack: StackModel, config: ModelConfig | None = None) -> Service:
    """The service the model runs; refuse what it cannot model, naming the resource."""
    if not stack.services:
        raise ConfigError(f"stack {stack.stack_name} has no ECS service to model")
    for p in stack.policies:
        if p.policy_type == TARGET_TRACKING:
            conf = p.target_tracking
            if conf is None:
                raise ConfigError(f"target tracking policy {p.name} has no TargetTrackingScalingPolicyConfiguration")
            if conf.predefined_metric_type == tt.ECS_MEMORY or (
                    conf.customized_metric and conf.customized_metric.get("MetricName") == "MemoryUtilization"):
                if config is None or config.memory_baseline_mib is None:
                    raise ConfigError(
                        f"target tracking policy {p.name} tracks MemoryUtilization: give the model's memory per task "
                        "with --memory-baseline-mib MIB (and --memory-per-request-mib), or a --calibration file "
                        "with memory_mib (see the README's \"Model mode\")")
                if not task_memory_mib(stack.services[0]):
                    raise ConfigError(
                        f"target tracking policy {p.name} tracks MemoryUtilization, but the task definition of "
                        f"{stack.services[0].name} reserves no memory (Memory or MemoryReservation) to divide by")
            continue
        if p.policy_type != "StepScaling":
            raise ConfigError(f"scaling policy {p.name} has policy type {p.policy_type}, which the model does not run")
    for a in stack.alarms:
        if a.period < MINUTE or a.period % MINUTE:
            raise ConfigError(
                f"alarm {a.name} has a period of {a.period} s: the model runs at one-minute resolution "
                "(periods of whole minutes only)"
            )
    return stack.services[0]


class _Series:
    """Per-minute (sum, sample count, minimum, maximum) of one metric; None = no datapoint published."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float, float, float] | None] = []


def _region_account(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return (parts[3] or "us-east-1", parts[4] or "123456789012") if len(parts) > 4 else ("us-east-1", "123456789012")


def no_step_text(metric_value: float, threshold: float) -> str:
    """Application Auto Scaling's alarm-history text when no step adjustment covers the breach, as AWS writes
    it (quoted in public reports, e.g. mapbox/ecs-watchbot PR 187): "Failed to execute AutoScaling action:
    No step adjustment found for metric value [0.1428] and breach threshold 85.0"."""
    value = f"{metric_value:.4f}".rstrip("0").rstrip(".") if math.isfinite(metric_value) else str(metric_value)
    return f"Failed to execute AutoScaling action: No step adjustment found for metric value [{value}] and breach threshold {java_double(threshold)}"


class Model:
    """One run of the model; `run()` returns a `ModelResult`. Single use."""

    def __init__(self, stack: StackModel, trace: Trace, config: ModelConfig) -> None:
        config.check()
        self.stack = stack
        self.trace = trace
        self.config = config
        self.service = check_supported(stack, config)
        self.cpu_units, self.cpu_source = cpu_reservation(self.service.task_definition, config.default_cpu_units)
        self.memory_mib = task_memory_mib(self.service)
        self.memory_modelled = config.memory_baseline_mib is not None and self.memory_mib > 0
        tg = stack.target_group(self.service.target_group_arns[0]) if self.service.target_group_arns else None
        self.health_interval = tg.health.interval if tg else 0.0
        self.healthy_threshold = tg.health.healthy_threshold if tg else 1
        self.deregistration_delay = tg.deregistration_delay if tg else 0.0
        self.lb = stack.load_balancer_for(tg.arn) if tg else None
        self.capacity_per_task = rules.task_capacity_rps(self.cpu_units, config.cost_ms)
        self.timeline = Timeline()
        self.rng = random.Random(config.seed)
        self.now = trace.start
        self.t0 = trace.start
        self.desired = self.service.desired_count
        self.tasks: dict[str, _Task] = {}
        self._ids = itertools.count(1)
        self._heap: list[tuple[float, int, int, str, str]] = []
        self._seq = itertools.count()
        self.cooldowns: dict[tuple[str, str, str], Cooldown] = {}
        self.alarm_state: dict[str, str] = {a.name: ev.INITIAL_STATE for a in stack.alarms}
        self.series: dict[tuple[str, str], _Series] = {}
        self.minutes: list[Minute] = []
        self.backlog = 0.0
        self._emitted: dict[tuple[str, float], float] = {}
        self._reconcile_at: float | None = None
        self.unmodeled: list[str] = []
        self._sources = {a.name: self._source(a) for a in stack.alarms}
        self.policies = {p.arn: p for p in stack.policies}

    # -- which series an alarm watches

    def _source(self, alarm: Alarm) -> tuple[str, str] | None:
        key = (alarm.namespace, alarm.metric_name)
        dims = alarm.dimensions
        if key == CPU or (key == MEMORY and self.memory_modelled):
            if dims.get("ServiceName") == self.service.name and dims.get("ClusterName") in (None, self.service.cluster):
                return key
        elif key in (ELB_5XX, TARGET_5XX, REQUESTS, REQUESTS_PER_TARGET, HEALTHY_HOSTS, UNHEALTHY_HOSTS):
            lb_ok = "LoadBalancer" not in dims or (self.lb is not None and dims["LoadBalancer"] == self.lb.full_name)
            tg_ok = "TargetGroup" not in dims or any(
                self.stack.target_groups[arn].full_name == dims["TargetGroup"]
                for arn in self.service.target_group_arns if arn in self.stack.target_groups)
            if lb_ok and tg_ok:
                return key
        self.unmodeled.append(
            f"alarm {alarm.name} watches {alarm.namespace} {alarm.metric_name} "
            f"({', '.join(f'{k}={v}' for k, v in dims.items())}), which the model does not produce: "
            "its datapoints are missing and its TreatMissingData applies"
            + (" (MemoryUtilization: give --memory-baseline-mib)" if key == MEMORY else "")
        )
        return None

    # -- the virtual clock

    def _at(self, when: float, prio: int, kind: str, task_id: str = "") -> None:
        heapq.heappush(self._heap, (when, prio, next(self._seq), kind, task_id))

    def _emit(self, kind: str, **data: Any) -> None:
        """Emit the kind's typed event: fields that do not fit its dataclass are the model's bug (TypeError)."""
        self.timeline.emit(self.now, KINDS[kind](**data))

    # -- tasks

    def _start_task(self, reason: str, *, warm: bool = False) -> None:
        task_id = f"model-{next(self._ids):04d}"
        if warm:  # the tasks the run starts with are already serving (steady state)
            t = _Task(task_id, self.now, self.now, self.now)
        else:
            s = rules.start_up(self.now, self.config.startup_seconds, self.healthy_threshold, self.health_interval)
            t = _Task(task_id, s.started, s.running, s.healthy)
            self._at(t.running_at, 0, "running", task_id)
            self._at(t.healthy_at, 0, "healthy", task_id)
        self.tasks[task_id] = t
        self._emit("task", task_id=task_id, action="started", reason=reason)
        if warm:
            self._emit("task", task_id=task_id, action="running", reason="serving from the start of the model")

    def _view(self, t: _Task) -> TaskView:
        if t.stopped_at is not None and t.stopped_at <= self.now:
            return TaskView(t.task_id, TaskState.STOPPED, t.started)
        if t.stopping_at is not None:
            return TaskView(t.task_id, TaskState.STOPPING, t.started, health="draining")
        if self.now < t.running_at:
            return TaskView(t.task_id, TaskState.PENDING, t.started)
        return TaskView(t.task_id, TaskState.RUNNING, t.started, health="healthy" if self.now >= t.healthy_at else "initial")

    def _reconcile(self) -> None:
        views = [self._view(t) for t in self.tasks.values() if t.stopped_at is None]
        for action in plan(self.desired, views, self.now):
            if isinstance(action, StartTask):
                self._start_task(action.reason)
            elif isinstance(action, StopTask) and action.cause is StopCause.SCALE_IN:
                t = self.tasks[action.task_id]
                was_healthy = self.now >= t.healthy_at
                t.stopping_at = self.now
                t.stopped_at = self.now + self.deregistration_delay
                if t.running_at > self.now:  # never listened: nothing to drain
                    t.stopped_at = self.now
                self._emit("target", target=t.task_id, old="healthy" if was_healthy else "initial", new="draining",
                           reason="Target.DeregistrationInProgress")
                self._emit("task", task_id=t.task_id, action="stopping", reason=action.reason)
                self._at(t.stopped_at, 0, "stopped", t.task_id)

    def _schedule_reconcile(self) -> None:
        """The scheduler reads the desired count on its next tick (every SCHEDULER_TICK from the start)."""
        k = math.floor((self.now - self.t0) / SCHEDULER_TICK + 1e-9) + 1
        when = self.t0 + k * SCHEDULER_TICK
        if self._reconcile_at is None or when < self._reconcile_at:
            self._reconcile_at = when
            self._at(when, 2, "reconcile")

    def _task_event(self, kind: str, task_id: str) -> None:
        t = self.tasks.get(task_id)
        if t is None:
            return
        if kind == "running" and t.stopping_at is None:
            self._emit("task", task_id=task_id, action="running", reason="listening")
        elif kind == "healthy" and t.stopping_at is None:
            self._emit("target", target=task_id, old="initial", new="healthy", reason="")
        elif kind == "stopped":
            self._emit("task", task_id=task_id, action="stopped", reason="Scaling activity initiated by deployment")

    # -- load

    def _counts(self, at: float) -> tuple[int, int, int, int]:
        """(billed, running, registered, healthy) tasks over a stretch starting at `at`."""
        billed = running = registered = healthy = 0
        for t in self.tasks.values():
            if t.stopped_at is not None and t.stopped_at <= at:
                continue
            billed += 1
            if t.stopping_at is not None and t.stopping_at <= at:
                continue
            if at >= t.running_at:
                running += 1
                registered += 1
                if at >= t.healthy_at:
                    healthy += 1
        return billed, running, registered, healthy

    def _integrate(self, until: float, m: Minute) -> None:
        seconds = until - self.now
        if seconds <= 0:
            return
        billed, running, registered, healthy = self._counts(self.now)
        s = rules.serve(m.offered_rps, seconds, self.backlog, rules.routable(healthy, registered),
                        self.capacity_per_task, self.config.cost_ms, queue_timeout=self.config.queue_timeout,
                        target_error_rate=self.config.target_error_rate)
        self.backlog = s.queued
        m.arrived += s.arrived
        m.served += s.served
        m.elb_503 += s.elb_503
        m.elb_504 += s.elb_504
        m.target_5xx += s.target_5xx
        m.cpu_seconds += s.cpu_seconds
        m.running_seconds += running * seconds
        m.healthy_seconds += healthy * seconds
        m.billed_seconds += billed * seconds
        self.now = until

    # -- the run

    def run(self) -> ModelResult:
        for _ in range(self.desired):
            self._start_task(f"desired count is {self.desired} at the start of the model", warm=True)
        for i, rps in enumerate(self.trace.rps):
            m = Minute(start=self.trace.start + i * MINUTE, offered_rps=rps)
            end = m.start + MINUTE
            while self._heap and self._heap[0][0] < end:
                when, _, _, kind, task_id = heapq.heappop(self._heap)
                self._integrate(when, m)
                if kind == "reconcile":
                    self._reconcile_at = None
                    self._reconcile()
                else:
                    self._task_event(kind, task_id)
            self._integrate(end, m)
            self._close(m)
            self._evaluate()
        return ModelResult(self.stack, self.service, self.trace, self.config, self.cpu_units, self.cpu_source,
                           self.memory_mib, self.minutes, self.timeline, self.t0, self.now, self.unmodeled)

    def _close(self, m: Minute) -> None:
        """The minute's datapoints, as the metrics agent and the load balancer would publish them."""
        m.queued = self.backlog
        cpu = rules.utilization(m.cpu_seconds, m.running_seconds, self.cpu_units)
        if cpu is not None and self.config.noise > 0:
            cpu = max(0.0, cpu * (1.0 + self.rng.gauss(0.0, self.config.noise)))
        m.cpu = cpu
        _, m.running, _, m.healthy = self._counts(self.now)
        m.desired = self.desired
        self.minutes.append(m)
        self._publish(CPU, None if cpu is None else (cpu * SAMPLES_PER_MINUTE, SAMPLES_PER_MINUTE, cpu, cpu))
        if self.memory_modelled and m.running_seconds > 0:
            c = self.config
            assert c.memory_baseline_mib is not None
            load = rules.in_flight(m.served, m.running_seconds, c.cost_ms, self.cpu_units, m.queued, max(m.running, 1))
            m.memory = rules.memory_utilization(c.memory_baseline_mib, c.memory_per_request_mib, load, self.memory_mib)
        mem = m.memory
        self._publish(MEMORY, None if mem is None else (mem * SAMPLES_PER_MINUTE, SAMPLES_PER_MINUTE, mem, mem))
        # Load balancer counts are published only for minutes in which they are non-zero (as AWS does).
        for key, value in ((ELB_5XX, m.elb_5xx), (TARGET_5XX, m.target_5xx), (REQUESTS, m.arrived)):
            self._publish(key, (value, 1.0, value, value) if value > 0 else None)
        hosts = m.healthy_seconds / MINUTE
        per_target = m.arrived / max(hosts, 1e-9) if m.arrived > 0 and hosts > 0 else None
        self._publish(REQUESTS_PER_TARGET, None if per_target is None else (per_target, 1.0, per_target, per_target))
        self._publish(HEALTHY_HOSTS, (hosts, 1.0, hosts, hosts))
        self._publish(UNHEALTHY_HOSTS, (0.0, 1.0, 0.0, 0.0))
        self._emit("sample", namespace="AWS/ECS", cluster=self.service.cluster, service=self.service.name, cpu=cpu,
                   memory=m.memory, tasks=m.running)
        self._emit("tasks", service=self.service.name, desired=m.desired, running=m.running, healthy=m.healthy)
        # The fields of the live "lb" counters (harness.events); served and queued stay in `Minute`.
        self._emit("lb", requests=m.arrived, elb_5xx=m.elb_5xx, target_5xx=m.target_5xx, healthy=m.healthy,
                   unhealthy=0)

    def _publish(self, key: tuple[str, str], point: tuple[float, float, float, float] | None) -> None:
        self.series.setdefault(key, _Series()).points.append(point)

    # -- alarms

    def _period_stats(self, alarm: Alarm, key: tuple[str, str] | None, start: float, statistic: str) -> PeriodStats | None:
        if key is None:
            return None
        points = self.series[key].points
        first = int(round((start - self.trace.start) / MINUTE))
        last = first + int(alarm.period // MINUTE)
        got: list[tuple[float, float, float, float]] = [
            p for p in points[max(first, 0):min(last, len(points))] if p is not None]
        if not got:
            return None
        total = math.fsum(p[0] for p in got)
        count = math.fsum(p[1] for p in got)
        lo = min(p[2] for p in got)
        hi = max(p[3] for p in got)
        if statistic == "Average":
            value = total / count
        elif statistic == "Sum":
            value = total
        elif statistic == "SampleCount":
            value = count
        elif statistic == "Minimum":
            value = lo
        elif statistic == "Maximum":
            value = hi
        else:  # a percentile, over the per-minute values
            value = ev.aggregate([p[0] / p[1] for p in got], statistic)
        return PeriodStats(start, count, total, lo, hi, value)

    def _evaluate(self) -> None:
        """Every alarm at this whole minute, as the live evaluator does (harness/cloudwatch/alarms.py)."""
        now = self.now
        for alarm in self.stack.alarms:
            key = self._sources[alarm.name]
            size = ev.evaluation_range_size(alarm.evaluation_periods)
            starts = ev.period_starts(alarm.period, now, size)
            statistic = ev.alarm_statistic(alarm)
            stats = [self._period_stats(alarm, key, s, statistic) for s in starts]
            points: list[float | None] = [s.value if s is not None else None for s in stats]
            for s in stats:
                if s is not None and self._emitted.get((alarm.name, s.start)) != s.value:
                    self._emitted[(alarm.name, s.start)] = s.value
                    self._emit("metric", alarm=alarm.name, namespace=alarm.namespace, metric=alarm.metric_name,
                               dimensions=dict(alarm.dimensions), statistic=statistic, period_start=s.start,
                               period=alarm.period, value=s.value, sample_count=s.sample_count)
            old = self.alarm_state[alarm.name]
            result = ev.evaluate(points, alarm.evaluation_periods, alarm.datapoints_to_alarm, alarm.threshold,
                                 alarm.comparison_operator, alarm.treat_missing_data, old)
            new = result.state
            if new != old:
                counts: list[float | None] = [s.sample_count if s is not None else None for s in stats]
                assessed = ev.assess_points(alarm, starts, points, counts, now, current_state=old, unit=alarm.unit)
                self.alarm_state[alarm.name] = new
                self._emit("alarm", name=alarm.name, old=old, new=new, reason=assessed.reason)
                arns = ev.actions_for(old, new, alarm)
                for arn in arns:
                    self._action(arn, alarm, old, new, assessed.reason, result, stats)
            else:
                for arn in ev.repeat_actions(new, alarm):
                    self._action(arn, alarm, old, new, "", result, stats)

    def _action(self, arn: str, alarm: Alarm, old: str, new: str, reason: str, result: ev.Evaluation,
                stats: Sequence[PeriodStats | None]) -> None:
        # A target tracking alarm's action is the policy ARN plus ":createdBy/<uuid>".
        arn = arn.split(":createdBy/", 1)[0]
        if arn in self.policies:
            self._scale(self.policies[arn], alarm, _newest(result, stats))
            return
        topic = next((t for t in self.stack.topics if t.arn == arn), None)
        if topic is not None:
            region, account = _region_account(alarm.arn)
            subject = alarm_subject(alarm.name, new, region)
            body = alarm_body(alarm, old, new, reason, self.now, region, account)  # type: ignore[arg-type]
            for sub in topic.subscriptions:
                if sub.protocol in ("email", "email-json"):
                    self._emit("mail", to=[sub.endpoint], subject=subject, body=body)
            return
        self._emit("action", alarm=alarm.name, arn=arn, ok=False, state=new,
                   summary=f"Failed to execute action {arn}: the model runs SNS topics and scaling policies of the stack only")

    def _scale(self, policy: ScalingPolicy, alarm: Alarm, newest: PeriodStats | None) -> None:
        target = self.stack.scalable_target(policy.resource_id)
        if target is None or newest is None:
            self._emit("action", alarm=alarm.name, arn=policy.arn, ok=False, state=self.alarm_state[alarm.name],
                       summary=f"Failed to execute AutoScaling action: no scalable target or datapoint for {policy.name}")
            return
        key = (policy.service_namespace, policy.resource_id, policy.scalable_dimension)
        if policy.policy_type == TARGET_TRACKING:
            # The policy tracks the alarm's own metric and statistic, as the live executor reads it.
            value = metric_value_for(newest.as_mapping(), alarm.statistic)
            decision = tt.decide(
                _tracking(policy), target, current=self.desired, metric_value=value, now=self.now,
                scale_out=tt.invoked_by_high(alarm.comparison_operator),
                cooldown_state=self.cooldowns.get(key, NO_COOLDOWN), alarm_name=alarm.name,
                resource_id=policy.resource_id,
            )
        else:
            value = metric_value_for(newest.as_mapping(), policy.metric_aggregation_type)
            decision = autoscaling.decide(
                policy, target, current=self.desired, metric_value=value, threshold=float(alarm.threshold),
                now=self.now, cooldown_state=self.cooldowns.get(key, NO_COOLDOWN),
                above=autoscaling.is_above(alarm.comparison_operator), alarm_name=alarm.name,
                resource_id=policy.resource_id,
            )
        if policy.policy_type != TARGET_TRACKING and decision.step is None:
            self._emit("action", alarm=alarm.name, arn=policy.arn, ok=False, state=self.alarm_state[alarm.name],
                       summary=no_step_text(value, alarm.threshold), detail=decision.reason)
            return
        if decision.new_desired is None:
            return
        self.cooldowns[key] = decision.cooldown
        activity = decision.activity
        old = self.desired
        self.desired = decision.new_desired
        if activity is not None:
            self._emit("scaling", resource_id=policy.resource_id, policy=policy.name, alarm=alarm.name,
                       description=activity.description, cause=activity.cause, status=activity.status_code)
        self._emit("desired", resource_id=policy.resource_id, old=old, new=self.desired, policy=policy.name)
        self._schedule_reconcile()


def run_model(stack: StackModel, trace: Trace, config: ModelConfig) -> ModelResult:
    return Model(stack, trace, config).run()


def decisions(events: Sequence[Event] | Sequence[Mapping[str, Any]]) -> list[str]:
    """The decision sequence of a run: alarm transitions and scaling activities, in order, without times."""
    out: list[str] = []
    for e in events:
        kind, data = (e.kind, e.data) if isinstance(e, Event) else (e.get("kind"), e)
        if kind == "alarm":
            out.append(f"alarm {_short(str(data.get('name')))} {data.get('old')} -> {data.get('new')}")
        elif kind == "scaling":
            out.append(f"scale {data.get('description')}")
    return out


def _short(name: str) -> str:
    """An alarm name without its stack prefix and random suffix (`ecs-CPUHigh-ABC123` -> `CPUHigh`)."""
    parts = name.split("-")
    return "-".join(parts[1:-1]) if len(parts) >= 3 else name
