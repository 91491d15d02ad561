"""ECS truth over the API: what the scheduler writes back (EcsWriteBack) is what ListTasks, DescribeTasks and
DescribeServices answer on the embedded cloud, in ECS's fields and event wording.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages-list.html"""

from __future__ import annotations

from datetime import datetime, timezone

from harness.cloud.clients import Aws
from harness.cloud.ecs_tasks import EcsWriteBack, is_steady, service_events
from harness.ecs.scheduler import ServiceSnapshot, TaskInfo
from harness.stack import StackModel

T = 1_796_000_000.0


def info(task_id: str, state: str, port: int, health: str | None = None, stop: str | None = None,
         code: int | None = None) -> TaskInfo:
    return TaskInfo(task_id, state, port, health, T, code, stop, None, None)


def snap(desired: int, *tasks: TaskInfo) -> ServiceSnapshot:
    return ServiceSnapshot(desired, sum(t.state == "RUNNING" for t in tasks),
                           sum(t.state in ("PROVISIONING", "PENDING") for t in tasks),
                           sum(t.health == "healthy" for t in tasks), tasks, 256, "test")


def test_service_event_wording() -> None:
    assert service_events("web", {}, {"a": "PENDING", "b": "PENDING"}, False, False) == [
        "(service web) has started 2 tasks: (task a) (task b)."]
    assert service_events("web", {"a": "RUNNING", "b": "RUNNING"}, {"a": "RUNNING", "b": "STOPPING"}, True, False) == [
        "(service web) has stopped 1 running tasks: (task b)."]
    assert service_events("web", {"a": "RUNNING"}, {"a": "RUNNING"}, False, True) == [
        "(service web) has reached a steady state."]
    assert service_events("web", {"a": "RUNNING"}, {"a": "RUNNING"}, True, True) == []


def test_steady_needs_desired_running_and_healthy_behind_a_load_balancer() -> None:
    up = [info("a", "RUNNING", 1, "healthy"), info("b", "RUNNING", 2, "initial")]
    assert not is_steady(2, up, behind_lb=True) and is_steady(2, up, behind_lb=False)
    assert is_steady(2, [info("a", "RUNNING", 1, "healthy"), info("b", "RUNNING", 2, "healthy")], behind_lb=True)
    assert not is_steady(3, up, behind_lb=False) and not is_steady(None, up, behind_lb=False)


def test_written_tasks_and_events_are_what_ecs_answers(aws: Aws, ecs_stack: StackModel) -> None:
    svc = ecs_stack.service()
    ecs = aws.client("ecs")
    writer = EcsWriteBack(ecs, svc, svc.task_definition.containers[0])
    writer.sync(snap(2, info("t1", "PENDING", 41001), info("t2", "PENDING", 41002)), T)
    writer.sync(snap(2, info("t1", "RUNNING", 41001, "healthy"), info("t2", "RUNNING", 41002, "healthy")), T + 30)
    writer.sync(snap(1, info("t1", "RUNNING", 41001, "healthy"),
                     info("t2", "STOPPED", 41002, stop="Scaling activity initiated by (deployment ecs-svc/1)")), T + 60)

    running = ecs.list_tasks(cluster=svc.cluster, serviceName=svc.name)["taskArns"]
    stopped = ecs.list_tasks(cluster=svc.cluster, serviceName=svc.name, desiredStatus="STOPPED")["taskArns"]
    assert [a.rsplit("/", 1)[1] for a in running] == ["t1"] and [a.rsplit("/", 1)[1] for a in stopped] == ["t2"]
    tasks = {t["taskArn"].rsplit("/", 1)[1]: t for t in ecs.describe_tasks(cluster=svc.cluster, tasks=running + ["t2"])["tasks"]}
    t1, t2 = tasks["t1"], tasks["t2"]
    assert (t1["lastStatus"], t1["desiredStatus"], t1["healthStatus"]) == ("RUNNING", "RUNNING", "UNKNOWN")
    assert t1["group"] == f"service:{svc.name}" and t1["taskDefinitionArn"] == svc.task_definition.arn
    (container,) = t1["containers"]
    assert container["name"] == "main"
    assert container["networkBindings"] == [{"bindIP": "127.0.0.1", "containerPort": 3000, "hostPort": 41001,
                                             "protocol": "tcp"}]
    assert (t2["lastStatus"], t2["desiredStatus"], t2["stopCode"]) == ("STOPPED", "STOPPED", "ServiceSchedulerInitiated")
    assert t2["stoppedReason"] == "Scaling activity initiated by (deployment ecs-svc/1)"
    assert t2["stoppedAt"] == datetime.fromtimestamp(T + 60, timezone.utc)

    (described,) = ecs.describe_services(cluster=svc.cluster, services=[svc.name])["services"]
    assert (described["runningCount"], described["pendingCount"]) == (1, 0)
    assert [e["message"] for e in described["events"]] == [  # newest first, as ECS lists them
        f"(service {svc.name}) has stopped 1 running tasks: (task t2).",
        f"(service {svc.name}) has reached a steady state.",
        f"(service {svc.name}) has started 2 tasks: (task t1) (task t2).",
    ]
    assert described["events"][0]["createdAt"] == datetime.fromtimestamp(T + 60, timezone.utc)
    primary = [d for d in described["deployments"] if d["status"] == "PRIMARY"]
    assert primary and primary[0]["runningCount"] == 1
    # an unknown task is a failure, as in ECS
    assert ecs.describe_tasks(cluster=svc.cluster, tasks=["nope"])["failures"][0]["reason"] == "MISSING"
