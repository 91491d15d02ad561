"""Services for the scheduler tests: the real `harness.stack` types, with one container behind one target
group, filled with ECS's defaults unless a test says otherwise."""

from __future__ import annotations

from harness.stack import Container, Service, ServiceLoadBalancer, TaskDefinition

TG_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/abc"
TD_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/app:1"


def service(*, container: str = "main", image: str = "sample_app", memory: int | None = 128,
            environment: dict[str, str] | None = None, cluster: str = "cluster", name: str = "svc",
            td_arn: str = TD_ARN, tg_arn: str = TG_ARN, port: int = 3000) -> Service:
    c = Container(name=container, image=image, cpu=None, memory=memory, memory_reservation=None,
                  container_port=port, environment=dict(environment or {}), log_group=None, log_stream_prefix=None)
    td = TaskDefinition(arn=td_arn, family="app", cpu=None, memory=None, network_mode="bridge", containers=(c,))
    return Service(cluster=cluster, name=name, arn=f"arn:aws:ecs:us-east-1:123456789012:service/{cluster}/{name}",
                   desired_count=1, task_definition=td, load_balancers=(ServiceLoadBalancer(tg_arn, container, port),),
                   minimum_healthy_percent=100, maximum_percent=200)
