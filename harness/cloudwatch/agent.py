"""The metrics agent: what the ECS agent and the load balancer would publish to CloudWatch, put to the emulator.

The emulated cloud stores metrics but produces none, so alarms would never see a datapoint. This module
samples the service's tasks (CPU, memory) and the load balancer's counters every `sample_interval`
(template seconds) and puts them with PutMetricData under the names, namespaces, dimensions and units
AWS uses, timestamped in template time. The alarm evaluator then reads them back like any metric.

The arithmetic is in pure functions (`service_utilization`, `lb_datums`), table-tested; `MetricsAgent`
only reads the sources, calls them and puts the result (off the event loop).

ECS: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html
     (#service_utilization for the formula; ECS samples several times and publishes per minute,
     so several samples per alarm period is the AWS shape of the data).
ALB: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from harness.clock import Clock
from harness.ecs.container_instances import ServiceShare, cluster_utilization
from harness.errors import CloudError, TaskError
from harness.events import ServiceSample, Timeline

log = logging.getLogger(__name__)

ECS_NAMESPACE = "AWS/ECS"
ELB_NAMESPACE = "AWS/ApplicationELB"
# PutMetricData takes up to 1000 MetricDatum per request (and one namespace per request).
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html
MAX_DATUMS_PER_PUT = 1000
# ECS task definitions count CPU in units: 1024 units = 1 vCPU.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size
UNITS_PER_VCPU = 1024
MIB = 1024 * 1024
# The ALB's own error codes, each with its own metric HTTPCode_ELB_<code>_Count.
ELB_CODES = (500, 502, 503, 504)


# --------------------------------------------------------------------------------------- data ----
@dataclass(frozen=True)
class TaskSample:
    """One task read at one instant: cumulative CPU seconds since it started, memory in use now."""

    cpu_seconds: float
    memory_bytes: int


@dataclass(frozen=True)
class Utilization:
    """A service's sample. `None` where there is nothing honest to publish (see `service_utilization`)."""

    cpu_percent: float | None
    memory_percent: float | None
    cpu_tasks: int  # tasks counted in the CPU figure (present at both ends of the interval)
    memory_tasks: int  # tasks counted in the memory figure (present at the end)


@dataclass(frozen=True)
class StatisticSet:
    sample_count: int
    total: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class Datum:
    """One MetricDatum without its timestamp: a single value, or a statistic set."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    unit: str
    value: float | None = None
    stats: StatisticSet | None = None

    def to_api(self, timestamp: float) -> dict[str, Any]:
        d: dict[str, Any] = {
            "MetricName": self.name,
            "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
            "Timestamp": datetime.fromtimestamp(timestamp, tz=timezone.utc),
            "Unit": self.unit,
        }
        if self.stats is not None:
            s = self.stats
            d["StatisticValues"] = {
                "SampleCount": float(s.sample_count), "Sum": s.total, "Minimum": s.minimum, "Maximum": s.maximum,
            }
        else:
            d["Value"] = float(self.value if self.value is not None else 0.0)
        return d


@dataclass(frozen=True)
class Counters:
    """The load balancer's cumulative counters (all target groups, or one) at one instant."""

    request_count: int = 0
    target_2xx: int = 0
    target_3xx: int = 0
    target_4xx: int = 0
    target_5xx: int = 0
    elb_5xx: tuple[tuple[int, int], ...] = ()  # (code, count), sorted

    def elb(self, code: int) -> int:
        return dict(self.elb_5xx).get(code, 0)

    @property
    def elb_5xx_total(self) -> int:
        return sum(n for _, n in self.elb_5xx)


@dataclass(frozen=True)
class GroupSample:
    """One target group at the end of an interval, for `lb_datums`."""

    full_name: str
    before: Counters
    after: Counters
    response_times: Sequence[float]
    healthy: int
    unhealthy: int


# ------------------------------------------------------------------------------------ pure math ----
def service_utilization(
    before: Mapping[str, TaskSample],
    after: Mapping[str, TaskSample],
    *,
    wall_seconds: float,
    cpu_units_per_task: float,
    memory_mib_per_task: int | None,
) -> Utilization:
    """The service's CPUUtilization and MemoryUtilization over one sample interval.

    AWS (#service_utilization): CPUUtilization = CPU used by the service's tasks x 100 /
    (CPU reserved per task x number of tasks); MemoryUtilization likewise against the memory limit.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html#service_utilization

    The harness's rule for tasks that start or stop mid-interval (AWS does not document one):
    CPU counts only the tasks read at both ends, each for its CPU-seconds delta over the whole
    interval's wall seconds. A task first seen at the end is not counted yet (its start is unknown:
    counting it as a whole task would under-report, ignoring its start-up CPU is harmless); its
    reading becomes its baseline. A task gone by the end is dropped: its last moments cannot be read
    once its cgroup is removed. Memory is a gauge: every task read at the end counts.
    Several samples per alarm period average out the one-interval lag.

    `cpu_units_per_task` is the reservation the tasks really run with: the template's units times
    the run's CPU scale (harness.capacity), which is also each task's hard quota. The formula over
    the scaled reservation keeps every threshold meaningful: 70% is 70% of what a task may use.

    CPU can exceed 100% when a task uses more than its reservation (possible when only a soft share
    is enforced; the documented ECS behaviour for container-level reservations).
    """
    if cpu_units_per_task <= 0:
        raise ValueError(f"CPU units per task must be positive, got {cpu_units_per_task}")
    both = [t for t in after if t in before]
    cpu: float | None = None
    if both and wall_seconds > 0:
        # A counter that went backwards means a reset (never for a cgroup's usage): count nothing.
        used = sum(max(0.0, after[t].cpu_seconds - before[t].cpu_seconds) for t in both)
        reserved_vcpu_seconds = cpu_units_per_task / UNITS_PER_VCPU * len(both) * wall_seconds
        cpu = used * 100.0 / reserved_vcpu_seconds
    memory: float | None = None
    if after and memory_mib_per_task:
        memory = sum(s.memory_bytes for s in after.values()) * 100.0 / (memory_mib_per_task * MIB * len(after))
    return Utilization(cpu, memory, len(both) if cpu is not None else 0, len(after) if memory is not None else 0)


def _delta(after: int, before: int) -> int:
    # Counters only grow; a smaller value means the source restarted from zero.
    return after - before if after >= before else after


def lb_datums(lb_full_name: str, before: Counters, after: Counters, all_response_times: Sequence[float],
              groups: Sequence[GroupSample]) -> list[Datum]:
    """The AWS/ApplicationELB datums for one sample interval, from counter differences.

    Reporting rules from the ALB metrics page: counts are "reported if there is a nonzero value"
    (and "if there are no requests flowing through the load balancer ... the metric is not reported"),
    so a zero count is no datum at all: a TreatMissingData=notBreaching 5XX alarm then stays OK.
    TargetResponseTime exists only when targets answered; it is put as a statistic set (count, sum,
    min, max) so Average, Minimum, Maximum and SampleCount are right. HealthyHostCount and
    UnHealthyHostCount are gauges, reported every interval per target group (health checks enabled).
    Dimensions: LoadBalancer for the load-balancer metrics; LoadBalancer + TargetGroup for the
    target-group ones (the HTTPCode_ELB_* metrics have no TargetGroup dimension).
    RequestCountPerTarget (what target tracking's ALBRequestCountPerTarget tracks): "The average number of
    requests received by each target in a target group", the group's request count divided by its healthy
    targets, or by all its registered targets when none is healthy; "Reporting criteria: Always reported"
    (so 0 without traffic, while the group has targets); "The only valid statistic is Sum" (a Sum over a
    period of the per-interval values is the period's requests per target); dimensions TargetGroup, and
    TargetGroup + LoadBalancer. Unit "None", as AWS's own target tracking alarms on it show.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
    """
    out: list[Datum] = []
    lb_dims = (("LoadBalancer", lb_full_name),)

    def count(name: str, n: int, dims: tuple[tuple[str, str], ...]) -> None:
        if n > 0:
            out.append(Datum(ELB_NAMESPACE, name, dims, "Count", value=float(n)))

    def target_counts(b: Counters, a: Counters, dims: tuple[tuple[str, str], ...]) -> None:
        count("RequestCount", _delta(a.request_count, b.request_count), dims)
        count("HTTPCode_Target_2XX_Count", _delta(a.target_2xx, b.target_2xx), dims)
        count("HTTPCode_Target_3XX_Count", _delta(a.target_3xx, b.target_3xx), dims)
        count("HTTPCode_Target_4XX_Count", _delta(a.target_4xx, b.target_4xx), dims)
        count("HTTPCode_Target_5XX_Count", _delta(a.target_5xx, b.target_5xx), dims)

    def response_time(samples: Sequence[float], dims: tuple[tuple[str, str], ...]) -> None:
        if samples:
            stats = StatisticSet(len(samples), float(sum(samples)), float(min(samples)), float(max(samples)))
            out.append(Datum(ELB_NAMESPACE, "TargetResponseTime", dims, "Seconds", stats=stats))

    target_counts(before, after, lb_dims)
    count("HTTPCode_ELB_5XX_Count", _delta(after.elb_5xx_total, before.elb_5xx_total), lb_dims)
    for code in ELB_CODES:
        count(f"HTTPCode_ELB_{code}_Count", _delta(after.elb(code), before.elb(code)), lb_dims)
    response_time(all_response_times, lb_dims)
    for g in groups:
        dims = (("LoadBalancer", lb_full_name), ("TargetGroup", g.full_name))
        target_counts(g.before, g.after, dims)
        response_time(g.response_times, dims)
        out.append(Datum(ELB_NAMESPACE, "HealthyHostCount", dims, "Count", value=float(g.healthy)))
        out.append(Datum(ELB_NAMESPACE, "UnHealthyHostCount", dims, "Count", value=float(g.unhealthy)))
        targets = g.healthy or (g.healthy + g.unhealthy)
        if targets:
            per_target = _delta(g.after.request_count, g.before.request_count) / targets
            for d in (dims, (("TargetGroup", g.full_name),)):
                out.append(Datum(ELB_NAMESPACE, "RequestCountPerTarget", d, "None", value=per_target))
    return out


def batches(datums: Sequence[dict[str, Any]], size: int = MAX_DATUMS_PER_PUT) -> list[Sequence[dict[str, Any]]]:
    return [datums[i:i + size] for i in range(0, len(datums), size)]


# -------------------------------------------------------------------------------- the sources ----
class UsageLike(Protocol):
    """harness.ecs.runtime.Usage: cumulative CPU seconds since the task started, memory in use now."""

    @property
    def cpu_seconds(self) -> float: ...

    @property
    def memory_bytes(self) -> int: ...


class StatsLike(Protocol):
    """What the agent reads from harness.elb.proxy.LoadBalancerStats (and its counters, by name)."""

    @property
    def groups(self) -> Mapping[str, Any]: ...

    def drain(self) -> dict[str, list[float]]: ...


class TargetGroupLike(Protocol):
    """harness.elb.targets.TargetGroupRuntime: `name` keys its counters in LoadBalancerStats.groups."""

    @property
    def name(self) -> str: ...

    def healthy_count(self) -> int: ...

    def unhealthy_count(self) -> int: ...


def counters_of(source: Any) -> Counters:
    """Counters from a LoadBalancerStats (totals) or a GroupStats (one target group)."""
    elb = getattr(source, "elb_5xx", None) or {}
    return Counters(
        int(source.request_count),
        int(source.target_2xx_count),
        int(source.target_3xx_count),
        int(source.target_4xx_count),
        int(source.target_5xx_count),
        tuple(sorted((int(c), int(n)) for c, n in dict(elb).items())),
    )


@dataclass
class _Service:
    cluster: str
    name: str
    tasks: Callable[[], Sequence[Any]]
    usage: Callable[[Any], UsageLike]
    cpu_units: float
    memory_mib: int | None
    last: dict[str, TaskSample] = field(default_factory=dict)
    last_time: float = 0.0

    def read(self) -> dict[str, TaskSample]:
        out: dict[str, TaskSample] = {}
        for task in self.tasks():
            try:
                u = self.usage(task)
            except (TaskError, OSError) as e:  # stopped between listing and reading: absent at this end
                log.debug("service %s: task %s not read: %s", self.name, getattr(task, "task_id", task), e)
                continue
            out[str(task.task_id)] = TaskSample(float(u.cpu_seconds), int(u.memory_bytes))
        return out


@dataclass
class _Cluster:
    """A cluster with registered EC2 capacity: its cluster-level metrics come from every service in it."""

    name: str
    cpu_units: int  # registered by its container instances (template units)
    memory_mib: int
    cpu_scale: float
    memory_reserved: dict[str, int | None]  # service name -> MiB each task reserves


@dataclass
class _LoadBalancer:
    full_name: str
    stats: StatsLike
    groups: dict[str, TargetGroupLike]  # target group full name -> runtime
    last: Counters
    last_groups: dict[str, Counters]


def _group_counters(stats: StatsLike, group: TargetGroupLike) -> Counters:
    g = stats.groups.get(group.name)
    return counters_of(g) if g is not None else Counters()


# --------------------------------------------------------------------------------- the agent ----
class MetricsAgent:
    """Samples registered services and load balancers every `sample_interval` template seconds.

    `wall` converts a template interval into the wall seconds the tasks' (real) CPU time was spent
    in; it defaults to `clock.wall`. Under a `ManualClock` (whose wall time is 0) tests pass their
    own, e.g. `wall=lambda s: s` with fake usage in the same seconds.
    """

    def __init__(
        self,
        cloudwatch: Any,
        clock: Clock,
        timeline: Timeline | None = None,
        *,
        sample_interval: float,
        wall: Callable[[float], float] | None = None,
    ) -> None:
        if not sample_interval > 0:
            raise ValueError(f"the metrics sample interval must be > 0 template seconds, got {sample_interval}")
        self._cw = cloudwatch
        self.clock = clock
        self.timeline = timeline
        self.sample_interval = float(sample_interval)
        self._wall = wall or clock.wall
        self._services: list[_Service] = []
        self._clusters: list[_Cluster] = []
        self._lbs: list[_LoadBalancer] = []

    def add_service(
        self,
        cluster: str,
        service_name: str,
        tasks: Callable[[], Sequence[Any]],
        usage: Callable[[Any], UsageLike],
        cpu_units_per_task: float,
        memory_mib_per_task: int | None,
    ) -> None:
        """Publish CPUUtilization/MemoryUtilization (AWS/ECS; ClusterName, ServiceName) for a service.

        `cpu_units_per_task`: the reservation x the run's CPU scale (what each task's quota allows).

        `tasks()` lists the running tasks (objects with `task_id`), `usage(task)` reads one (e.g.
        `ProcessRuntime.usage`). Without a memory limit or reservation no MemoryUtilization is put.
        The tasks running now are the baseline of the first sample.
        """
        if cpu_units_per_task <= 0:
            raise ValueError(f"service {service_name}: CPU units per task must be positive, got {cpu_units_per_task}")
        s = _Service(cluster, service_name, tasks, usage, float(cpu_units_per_task), memory_mib_per_task)
        s.last, s.last_time = s.read(), self.clock.now()
        self._services.append(s)

    def add_cluster(self, cluster: str, cpu_units: int, memory_mib: int, *, cpu_scale: float,
                    memory_reserved: Mapping[str, int | None]) -> None:
        """Also publish the cluster-level CPUUtilization, MemoryUtilization, CPUReservation and
        MemoryReservation (AWS/ECS; ClusterName) of `cluster`, whose container instances registered
        `cpu_units` and `memory_mib` (harness.ecs.container_instances), from the services added with that
        cluster. `cpu_scale` is the run's K (each service's units per task are its reservation x K);
        `memory_reserved`: service name -> MiB each of its tasks reserves."""
        if cpu_scale <= 0:
            raise ValueError(f"cluster {cluster}: the CPU scale must be positive, got {cpu_scale}")
        self._clusters.append(_Cluster(cluster, int(cpu_units), int(memory_mib), float(cpu_scale), dict(memory_reserved)))

    def add_load_balancer(self, lb_full_name: str, stats: StatsLike, groups: Mapping[str, TargetGroupLike]) -> None:
        """Publish the AWS/ApplicationELB metrics of a load balancer (`stats` = LoadBalancerStats) and
        of its target groups (`groups`: target group full name -> TargetGroupRuntime).

        Counts are differences from now on. The agent owns `stats.drain()` (TargetResponseTime samples):
        nobody else may call it; samples collected before this call are dropped.
        """
        stats.drain()
        g = dict(groups)
        self._lbs.append(
            _LoadBalancer(lb_full_name, stats, g, counters_of(stats), {fn: _group_counters(stats, tg) for fn, tg in g.items()})
        )

    # ----- one step
    def _sample_services(self, now: float) -> list[Datum]:
        out: list[Datum] = []
        shares: dict[str, list[ServiceShare]] = {}
        walls: dict[str, float] = {}
        for s in self._services:
            current = s.read()
            wall = self._wall(now - s.last_time)
            u = service_utilization(
                s.last,
                current,
                wall_seconds=wall,
                cpu_units_per_task=s.cpu_units,
                memory_mib_per_task=s.memory_mib,
            )
            for c in self._clusters:
                if c.name == s.cluster:
                    shares.setdefault(c.name, []).append(ServiceShare(s.last, current, s.cpu_units / c.cpu_scale,
                                                                      c.memory_reserved.get(s.name)))
                    walls[c.name] = wall
            s.last, s.last_time = current, now
            dims = (("ClusterName", s.cluster), ("ServiceName", s.name))
            if u.cpu_percent is not None:
                out.append(Datum(ECS_NAMESPACE, "CPUUtilization", dims, "Percent", value=u.cpu_percent))
            if u.memory_percent is not None:
                out.append(Datum(ECS_NAMESPACE, "MemoryUtilization", dims, "Percent", value=u.memory_percent))
            if self.timeline is not None:
                self.timeline.emit(now, ServiceSample(namespace=ECS_NAMESPACE, cluster=s.cluster, service=s.name,
                                                      cpu=u.cpu_percent, memory=u.memory_percent, tasks=len(current)))
        for c in self._clusters:
            cu = cluster_utilization(shares.get(c.name, []), wall_seconds=walls.get(c.name, 0.0), cpu_units=c.cpu_units,
                                     memory_mib=c.memory_mib, cpu_scale=c.cpu_scale)
            cluster_dims = (("ClusterName", c.name),)
            for name, value in (("CPUUtilization", cu.cpu_percent), ("MemoryUtilization", cu.memory_percent),
                                ("CPUReservation", cu.cpu_reservation), ("MemoryReservation", cu.memory_reservation)):
                if value is not None:
                    out.append(Datum(ECS_NAMESPACE, name, cluster_dims, "Percent", value=value))
        return out

    def _sample_lbs(self) -> list[Datum]:
        out: list[Datum] = []
        for lb in self._lbs:
            after = counters_of(lb.stats)
            drained = lb.stats.drain()
            groups: list[GroupSample] = []
            for full_name, tg in lb.groups.items():
                ga = _group_counters(lb.stats, tg)
                groups.append(GroupSample(full_name, lb.last_groups.get(full_name, Counters()), ga,
                                          drained.get(tg.name, []), tg.healthy_count(), tg.unhealthy_count()))
                lb.last_groups[full_name] = ga
            every = [t for times in drained.values() for t in times]
            out.extend(lb_datums(lb.full_name, lb.last, after, every, groups))
            lb.last = after
        return out

    async def sample_once(self) -> list[dict[str, Any]]:
        """Read every source once and put the datums (timestamped `clock.now()`); returns what was put."""
        now = self.clock.now()
        datums = self._sample_services(now) + self._sample_lbs()
        return await self.put(datums, now)

    async def put(self, datums: Iterable[Datum], timestamp: float) -> list[dict[str, Any]]:
        """PutMetricData, one namespace per call, batched, in a worker thread (boto3 blocks)."""
        by_ns: dict[str, list[dict[str, Any]]] = {}
        for d in datums:
            by_ns.setdefault(d.namespace, []).append(d.to_api(timestamp))
        put: list[dict[str, Any]] = []
        for ns, items in by_ns.items():
            for chunk in batches(items):
                try:
                    await asyncio.to_thread(self._cw.put_metric_data, Namespace=ns, MetricData=list(chunk))
                except Exception as e:  # botocore's errors (connection, ClientError) have no common base
                    names = sorted({str(c["MetricName"]) for c in chunk})
                    raise CloudError(f"PutMetricData of {len(chunk)} {ns} datums ({', '.join(names)}) failed: {e}") from e
                put.extend(chunk)
        return put

    async def run(self) -> None:
        """Sample every `sample_interval` template seconds until cancelled. A failed put is logged and
        recorded on the timeline (kind "sample", error=...), and sampling goes on."""
        while True:
            await self.clock.sleep(self.sample_interval)
            try:
                await self.sample_once()
            except CloudError as e:
                log.warning("%s", e)
                if self.timeline is not None:
                    self.timeline.emit(self.clock.now(), ServiceSample(error=str(e)))
