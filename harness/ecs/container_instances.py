"""A cluster's EC2 capacity as ECS sees it: the container instances its Auto Scaling groups would register.

The harness stores EC2 capacity (an Auto Scaling group with a launch template) without launching
instances, and runs the tasks as local processes. ECS's cluster-level metrics need what those instances
would register: "Cluster CPU utilization ... is measured as the total CPU units in use by Amazon ECS tasks
on the cluster, divided by the total CPU units that were registered for all of the container instances in
the cluster" (and memory likewise; CPUReservation / MemoryReservation from the tasks' reservations).
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html

What an instance registers comes from its instance type, read from the cloud's DescribeInstanceTypes (the
instance-type data moto ships; no table of the harness's own): vCPUs x 1024 CPU units and its memory in
MiB. The ECS agent also keeps back the memory the OS uses (`ECS_RESERVED_MEMORY`, and what the kernel
takes); that overhead is not modelled: the instance type's whole memory is registered.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/memory-management.html

Which cluster an instance joins is what its user data writes to /etc/ecs/ecs.config as `ECS_CLUSTER`
(the cluster named `default` when it writes none), as the ECS container agent reads it.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-agent-config.html

How many: the group's DesiredCapacity (DescribeAutoScalingGroups), as stored.

The arithmetic is pure (`registered`, `cluster_of`, `cluster_utilization`); `read_capacity` reads the cloud.
The instances are not registered with ECS: the embedded moto's RegisterContainerInstance looks the EC2
instance up (ContainerInstance reads its attributes) and the harness launches none, so
`describe-container-instances` lists none; the figures are the agent's alone.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:  # the agent imports this module
    from harness.cloudwatch.agent import TaskSample

log = logging.getLogger(__name__)

# ECS counts CPU in units: 1024 units are one vCPU.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size
UNITS_PER_VCPU = 1024
MIB = 1024 * 1024
# The ECS agent's cluster when ecs.config names none.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-agent-config.html
DEFAULT_CLUSTER = "default"
_ECS_CLUSTER = re.compile(r"""ECS_CLUSTER=["']?([A-Za-z0-9_\-]+)""")


# --------------------------------------------------------------------------------------- data ----
@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int


@dataclass(frozen=True)
class GroupCapacity:
    """One Auto Scaling group's instances, as they would register in `cluster`."""

    group: str
    cluster: str
    instances: int
    instance_type: InstanceType

    @property
    def cpu_units(self) -> int:
        return registered(self.instances, self.instance_type)[0]

    @property
    def memory_mib(self) -> int:
        return registered(self.instances, self.instance_type)[1]


@dataclass(frozen=True)
class ClusterCapacity:
    """Everything registered in one cluster (summed over its groups)."""

    cluster: str
    groups: tuple[GroupCapacity, ...]

    @property
    def instances(self) -> int:
        return sum(g.instances for g in self.groups)

    @property
    def cpu_units(self) -> int:
        return sum(g.cpu_units for g in self.groups)

    @property
    def memory_mib(self) -> int:
        return sum(g.memory_mib for g in self.groups)

    def line(self) -> str:
        parts = ", ".join(f"{g.group}: {g.instances} x {g.instance_type.name} ({g.instance_type.vcpus} vCPU, "
                          f"{g.instance_type.memory_mib} MiB)" for g in self.groups)
        return (f"cluster    {self.cluster}: EC2 capacity of {self.instances} container instance(s), "
                f"{self.cpu_units} CPU units and {self.memory_mib} MiB ({parts}; stored, none launched)")


@dataclass(frozen=True)
class ServiceShare:
    """One service's tasks in the cluster over one interval, with what each task reserves."""

    before: Mapping[str, TaskSample]
    after: Mapping[str, TaskSample]
    cpu_units_per_task: float  # the reservation as the template has it (not scaled)
    memory_reserved_mib: int | None  # per task; None: it reserves none


@dataclass(frozen=True)
class ClusterUtilization:
    cpu_percent: float | None
    memory_percent: float | None
    cpu_reservation: float | None
    memory_reservation: float | None


# ------------------------------------------------------------------------------------ pure math ----
def registered(instances: int, instance_type: InstanceType) -> tuple[int, int]:
    """(CPU units, memory MiB) `instances` container instances of `instance_type` register."""
    if instances < 0:
        raise ValueError(f"an Auto Scaling group has at least 0 instances, got {instances}")
    return instances * instance_type.vcpus * UNITS_PER_VCPU, instances * instance_type.memory_mib


def cluster_of(user_data: str | None) -> str:
    """The cluster an instance launched with this (base64) user data joins: its ECS_CLUSTER, else `default`."""
    if not user_data:
        return DEFAULT_CLUSTER
    try:
        text = base64.b64decode(user_data, validate=False).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        text = user_data
    found = _ECS_CLUSTER.findall(text) or _ECS_CLUSTER.findall(user_data)
    return found[-1] if found else DEFAULT_CLUSTER  # the agent reads the file: a later line wins


def cluster_utilization(shares: Sequence[ServiceShare], *, wall_seconds: float, cpu_units: int, memory_mib: int,
                        cpu_scale: float = 1.0) -> ClusterUtilization:
    """ECS's cluster-level metrics over one interval, from the cluster's tasks and its registered capacity.

    CPUUtilization = CPU used by the cluster's tasks / CPU registered by its container instances x 100, over
    the registered CPU x the run's CPU scale K, as the service figure is over the scaled reservation
    (harness.capacity): each task may use its reservation x K, so 80 % of the cluster is 80 % of what its
    tasks could use were the cluster full. Tasks count as in the service figure: those read at both ends,
    for their CPU-seconds delta over the whole interval. MemoryUtilization = memory in use by the tasks read
    at the end / memory registered. CPUReservation and MemoryReservation = what the tasks running at the end
    reserve / what is registered (K cancels: both sides are template units).
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html
    None where nothing is registered (no container instance: ECS publishes no cluster figure).
    """
    if cpu_units <= 0 or memory_mib <= 0:
        return ClusterUtilization(None, None, None, None)
    if cpu_scale <= 0:
        raise ValueError(f"the CPU scale must be positive, got {cpu_scale}")
    cpu: float | None = None
    if wall_seconds > 0:
        used = sum(max(0.0, s.after[t].cpu_seconds - s.before[t].cpu_seconds)
                   for s in shares for t in s.after if t in s.before)
        cpu = used * 100.0 / (cpu_units / UNITS_PER_VCPU * cpu_scale * wall_seconds)
    memory = sum(x.memory_bytes for s in shares for x in s.after.values()) * 100.0 / (memory_mib * MIB)
    cpu_reserved = sum(s.cpu_units_per_task * len(s.after) for s in shares)
    mem_reserved = sum((s.memory_reserved_mib or 0) * len(s.after) for s in shares)
    return ClusterUtilization(cpu, memory, cpu_reserved * 100.0 / cpu_units, mem_reserved * 100.0 / memory_mib)


def memory_reserved_mib(task_definition: Any) -> int | None:
    """What a task reserves of an instance's memory: task-level memory, else per container its
    memoryReservation, else its hard memory (ECS reserves the soft limit when one is set).
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_memory
    """
    if getattr(task_definition, "memory", None):
        return int(task_definition.memory)
    each = [getattr(c, "memory_reservation", None) or getattr(c, "memory", None)
            for c in getattr(task_definition, "containers", ())]
    return sum(int(m) for m in each if m) or None


# ------------------------------------------------------------------------------------------ I/O ----
def _launch_data(aws: Any, group: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(instance type, user data) of a group's launch template version or launch configuration."""
    spec = group.get("LaunchTemplate") or (group.get("MixedInstancesPolicy") or {}).get(
        "LaunchTemplate", {}).get("LaunchTemplateSpecification")
    if spec:
        ec2 = aws.client("ec2")
        ident = ({"LaunchTemplateId": spec["LaunchTemplateId"]} if spec.get("LaunchTemplateId")
                 else {"LaunchTemplateName": spec["LaunchTemplateName"]})
        versions = ec2.describe_launch_template_versions(**ident, Versions=[str(spec.get("Version") or "$Default")])
        data = (versions.get("LaunchTemplateVersions") or [{}])[0].get("LaunchTemplateData") or {}
        overrides = ((group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}).get("Overrides") or []
        itype = data.get("InstanceType") or next((o.get("InstanceType") for o in overrides if o.get("InstanceType")), None)
        return itype, data.get("UserData")
    if group.get("LaunchConfigurationName"):
        lcs = aws.client("autoscaling").describe_launch_configurations(
            LaunchConfigurationNames=[group["LaunchConfigurationName"]])["LaunchConfigurations"]
        if lcs:
            return lcs[0].get("InstanceType"), lcs[0].get("UserData")
    return None, None


def _instance_types(aws: Any, names: Iterable[str]) -> dict[str, InstanceType]:
    wanted = sorted(set(names))
    if not wanted:
        return {}
    out: dict[str, InstanceType] = {}
    for name in wanted:  # one at a time: an unknown type fails the whole request
        try:
            found = aws.client("ec2").describe_instance_types(InstanceTypes=[name])["InstanceTypes"]
        except ClientError as exc:
            log.warning("instance type %s: %s", name, exc)
            continue
        for t in found:
            out[t["InstanceType"]] = InstanceType(t["InstanceType"], int(t["VCpuInfo"]["DefaultVCpus"]),
                                                  int(t["MemoryInfo"]["SizeInMiB"]))
    return out


def read_capacity(aws: Any, groups: Sequence[str], say: Callable[[str], None] = lambda _: None
                  ) -> dict[str, ClusterCapacity]:
    """The clusters the stored Auto Scaling `groups` (names) would register instances in, with their capacity."""
    if not groups:
        return {}
    found: list[dict[str, Any]] = []
    asg = aws.client("autoscaling")
    for i in range(0, len(groups), 50):
        found += asg.describe_auto_scaling_groups(AutoScalingGroupNames=list(groups[i:i + 50]))["AutoScalingGroups"]
    launch = {g["AutoScalingGroupName"]: _launch_data(aws, g) for g in found}
    types = _instance_types(aws, (t for t, _ in launch.values() if t))
    by_cluster: dict[str, list[GroupCapacity]] = {}
    for g in found:
        name = g["AutoScalingGroupName"]
        itype, user_data = launch[name]
        if itype is None or itype not in types:
            say(f"cluster    {name}: instance type {itype or '(none)'} unknown to the cloud; its capacity is not registered")
            continue
        cluster = cluster_of(user_data)
        by_cluster.setdefault(cluster, []).append(
            GroupCapacity(name, cluster, int(g.get("DesiredCapacity", g.get("MinSize", 0))), types[itype]))
    return {c: ClusterCapacity(c, tuple(gs)) for c, gs in by_cluster.items()}


def attach_clusters(agent: Any, aws: Any, model: Any, cpu_scale: float,
                    say: Callable[[str], None] = lambda _: None) -> dict[str, ClusterCapacity]:
    """Read the EC2 capacity of the deployment's Auto Scaling groups and have the metrics `agent` publish the
    cluster-level metrics of every cluster a service of `model` runs in."""
    try:
        capacity = read_capacity(aws, list(model.auto_scaling_groups), say)
    except (ClientError, BotoCoreError) as exc:  # a cloud without these APIs: no cluster figures, said
        say(f"cluster    EC2 capacity not read ({exc}); no cluster-level ECS metrics are published")
        return {}
    used = {s.cluster for s in model.services}
    out: dict[str, ClusterCapacity] = {}
    for name, cap in capacity.items():
        if name not in used or cap.cpu_units <= 0:
            continue
        reserved = {s.name: memory_reserved_mib(s.task_definition) for s in model.services if s.cluster == name}
        agent.add_cluster(name, cap.cpu_units, cap.memory_mib, cpu_scale=cpu_scale, memory_reserved=reserved)
        say(cap.line())
        out[name] = cap
    return out
