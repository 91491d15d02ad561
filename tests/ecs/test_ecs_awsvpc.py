"""awsvpc (Fargate) tasks behind an `ip` target group, against the embedded cloud with real processes:
each task is registered by its address and its own port, deregistered the same way, and the ELBv2 API
shows ip targets while tasks run and none after.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-networking.html
https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetDescription.html
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from harness.cloud.clients import Aws
from harness.clock import ManualClock
from harness.ecs.process import ProcessRuntime
from harness.ecs.scheduler import ServiceScheduler
from harness.elb.targets import TargetGroupRuntime
from harness.errors import TaskError
from harness.stack import Container, Service, ServiceLoadBalancer, TaskDefinition, _read_target_groups

pytestmark = pytest.mark.timeout(120)


def _fargate_service(cluster: str, name: str, tg_arn: str, td_arn: str, *, network_mode: str = "awsvpc") -> Service:
    c = Container(name="web", image="sample_app", cpu=None, memory=None, memory_reservation=None,
                  container_port=3000, environment={}, log_group=None, log_stream_prefix=None)
    td = TaskDefinition(arn=td_arn, family=name, cpu=256, memory=512, network_mode=network_mode, containers=(c,),
                        requires_compatibilities=("FARGATE",))
    return Service(cluster=cluster, name=name, arn=f"arn:aws:ecs:us-east-1:123456789012:service/{cluster}/{name}",
                   desired_count=2, task_definition=td, load_balancers=(ServiceLoadBalancer(tg_arn, "web", 3000),),
                   minimum_healthy_percent=100, maximum_percent=200, launch_type="FARGATE")


def _setup(aws: Aws, target_type: str) -> tuple[str, str, str, str]:
    ecs, elbv2, ec2 = aws.client("ecs"), aws.client("elbv2"), aws.client("ec2")
    uid = uuid.uuid4().hex[:8]
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    tg_arn = elbv2.create_target_group(Name=f"fg-{uid}", Protocol="HTTP", Port=3000, VpcId=vpc,
                                       TargetType=target_type)["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=tg_arn, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}])
    cluster = f"c-{uid}"
    ecs.create_cluster(clusterName=cluster)
    td = ecs.register_task_definition(
        family=f"fg-{uid}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "web", "image": "sample_app", "portMappings": [{"containerPort": 3000}]}],
    )["taskDefinition"]
    ecs.create_service(cluster=cluster, serviceName="svc", taskDefinition=td["taskDefinitionArn"], desiredCount=2,
                       launchType="FARGATE",
                       loadBalancers=[{"targetGroupArn": tg_arn, "containerName": "web", "containerPort": 3000}])
    return cluster, tg_arn, td["taskDefinitionArn"], td["networkMode"]


def test_awsvpc_tasks_are_ip_targets_while_they_run_and_gone_after(
        aws: Aws, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ecs, elbv2 = aws.client("ecs"), aws.client("elbv2")
    cluster, tg_arn, td_arn, mode = _setup(aws, "ip")
    assert mode == "awsvpc"
    (tg,) = _read_target_groups(aws, [tg_arn])
    clock = ManualClock()
    group = TargetGroupRuntime(tg, clock)
    runtime = ProcessRuntime(log_dir=tmp_path)
    sched = ServiceScheduler(ecs, elbv2, _fargate_service(cluster, "svc", tg_arn, td_arn), runtime, group, clock,
                             tick=1.0, stop_timeout=5.0)
    assert sched.network == "awsvpc (ip targets)"
    assert (sched.cpu_units, sched.memory_mib) == (256, 512)  # task-level Cpu and Memory

    def running() -> list[int]:
        return sorted(t.port for t in sched.snapshot().tasks if t.state == "RUNNING")

    def api_targets() -> list[tuple[str, int]]:
        health = elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
        return sorted((h["Target"]["Id"], h["Target"]["Port"]) for h in health)

    async def until(pred: Callable[[], bool]) -> None:
        for _ in range(80):
            await sched.tick()
            if pred():
                return
            await clock.advance(1)
            await asyncio.sleep(0.1)
        raise AssertionError(f"not reached: {sched.snapshot()}")

    async def scenario() -> None:
        try:
            await until(lambda: len(running()) == 2)
            ports = running()
            assert len(set(ports)) == 2
            # Two tasks at one address, each its own target (Id, Port), as AWS keeps them.
            assert api_targets() == [("127.0.0.1", p) for p in ports]
            assert elbv2.describe_target_groups(TargetGroupArns=[tg_arn])["TargetGroups"][0]["TargetType"] == "ip"
            ecs.update_service(cluster=cluster, service="svc", desiredCount=1)
            await until(lambda: len(running()) == 1 and sched.snapshot().pending == 0
                        and all(t.state in ("RUNNING", "STOPPED") for t in sched.snapshot().tasks))
            assert api_targets() == [("127.0.0.1", running()[0])]
            ecs.update_service(cluster=cluster, service="svc", desiredCount=0)
            await until(lambda: not running() and all(t.state == "STOPPED" for t in sched.snapshot().tasks))
            assert api_targets() == []
        finally:
            await sched.shutdown()
            runtime.close()

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    assert not [r for r in caplog.records if "DeregisterTargets" in r.getMessage() or "InvalidTarget" in r.getMessage()]


def test_an_ip_target_group_refuses_an_instance_id_and_keys_targets_by_id_and_port(aws: Aws) -> None:
    elbv2 = aws.client("elbv2")
    _, tg_arn, _, _ = _setup(aws, "ip")
    with pytest.raises(ClientError, match="ValidationError"):
        elbv2.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": "i-0123456789abcdef0", "Port": 80}])
    elbv2.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": "127.0.0.1", "Port": 4001},
                                                          {"Id": "127.0.0.1", "Port": 4002}])
    elbv2.deregister_targets(TargetGroupArn=tg_arn, Targets=[{"Id": "127.0.0.1", "Port": 4001}])
    health = elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
    assert [(h["Target"]["Id"], h["Target"]["Port"]) for h in health] == [("127.0.0.1", 4002)]
    with pytest.raises(ClientError, match="InvalidTarget"):
        elbv2.deregister_targets(TargetGroupArn=tg_arn, Targets=[{"Id": "127.0.0.1", "Port": 4001}])


def test_a_network_mode_that_does_not_suit_the_target_group_is_refused_at_start(aws: Aws, tmp_path: Path) -> None:
    cluster, tg_arn, td_arn, _ = _setup(aws, "instance")
    (tg,) = _read_target_groups(aws, [tg_arn])
    clock = ManualClock()
    with pytest.raises(TaskError, match="network mode awsvpc needs a target group of target type ip, not instance"):
        ServiceScheduler(aws.client("ecs"), aws.client("elbv2"), _fargate_service(cluster, "svc", tg_arn, td_arn),
                         ProcessRuntime(log_dir=tmp_path), TargetGroupRuntime(tg, clock), clock)
