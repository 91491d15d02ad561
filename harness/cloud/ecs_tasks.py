"""ECS truth over the API: the harness's real tasks in ListTasks/DescribeTasks, and DescribeServices' counts
and events as ECS reports them.

The emulator stores the service but runs nothing; the harness's scheduler runs the tasks. So that a user's
test can assert with boto3 exactly as against AWS, the scheduler writes its state back after every tick
(`EcsWriteBack.sync`, through the private path `/_harness/ecs-service`), and this module, applied in the
moto child, serves it:

- ListTasks / DescribeTasks: every task the harness started for the service, with lastStatus,
  desiredStatus, healthStatus, stoppedReason, stopCode, the container with its host port
  (networkBindings), createdAt/startedAt/stoppedAt;
- DescribeServices: runningCount, pendingCount, the primary deployment's counts and the service events
  in ECS's wording: "(service x) has started 1 tasks: (task y).", "(service x) has stopped 1 running
  tasks: (task y).", "(service x) has reached a steady state.".

healthStatus is the container health check's (API_Task: HEALTHY, UNHEALTHY or UNKNOWN); the harness runs
no container health checks, so it is UNKNOWN, as on AWS for a task definition without one. Load balancer
health is the target group's (DescribeTargetHealth).
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages-list.html
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger(__name__)

ECS_SERVICE_PATH = "/_harness/ecs-service"
MAX_EVENTS = 100  # DescribeServices returns the 100 most recent events
LIVE = ("PROVISIONING", "PENDING", "RUNNING")
PENDING = ("PROVISIONING", "PENDING")

_LOCK = threading.Lock()
# (account, region, cluster, service) -> {"tasks": {task_arn: record}, "events": [...newest first]}
_SERVICES: dict[tuple[str, str, str, str], dict[str, Any]] = {}


# ------------------------------------------------------------------------------------ pure parts


def task_arn(region: str, account: str, cluster: str, task_id: str) -> str:
    return f"arn:aws:ecs:{region}:{account}:task/{cluster}/{task_id}"


def service_events(service: str, before: dict[str, str], after: dict[str, str], steady_before: bool,
                   steady_now: bool) -> list[str]:
    """The service event messages one scheduler tick causes, in ECS's words (oldest first). Pure.

    `before` / `after`: task id -> lastStatus at the previous and at this tick.
    """
    out: list[str] = []
    started = [t for t in after if t not in before]
    if started:
        out.append(f"(service {service}) has started {len(started)} tasks: "
                   + " ".join(f"(task {t})" for t in started) + ".")
    stopped = [t for t, s in after.items() if before.get(t) == "RUNNING" and s not in ("RUNNING",)]
    if stopped:
        out.append(f"(service {service}) has stopped {len(stopped)} running tasks: "
                   + " ".join(f"(task {t})" for t in stopped) + ".")
    if steady_now and not steady_before:
        out.append(f"(service {service}) has reached a steady state.")
    return out


def is_steady(desired: int | None, tasks: Sequence[Any], behind_lb: bool) -> bool:
    """Desired tasks running, none pending or stopping, and (behind a load balancer) all healthy."""
    if desired is None:
        return False
    running = [t for t in tasks if t.state == "RUNNING"]
    busy = [t for t in tasks if t.state in ("PROVISIONING", "PENDING", "STOPPING")]
    return len(running) == desired and not busy and (not behind_lb or all(t.health == "healthy" for t in running))


def _stop_code(reason: str | None, exit_code: int | None) -> str | None:
    if reason is None and exit_code is None:
        return None
    # ECS's codes (API_Task stopCode): the scheduler's own stops vs an essential container that exited.
    if exit_code is not None and not reason:
        return "EssentialContainerExited"
    return "ServiceSchedulerInitiated"


def task_record(info: Any, *, region: str, account: str, cluster: str, service: str, task_definition_arn: str,
                container: str, container_port: int | None, created: float | None, stopped: float | None) -> dict[str, Any]:
    """One harness task (`harness.ecs.scheduler.TaskInfo`) as DescribeTasks describes a task. Pure."""
    arn = task_arn(region, account, cluster, info.task_id)
    last = str(info.state)
    record: dict[str, Any] = {
        "taskArn": arn,
        "clusterArn": f"arn:aws:ecs:{region}:{account}:cluster/{cluster}",
        "taskDefinitionArn": task_definition_arn,
        "group": f"service:{service}",
        "startedBy": "ecs-svc/harness",
        "launchType": "EC2",
        "lastStatus": last,
        "desiredStatus": "RUNNING" if last in LIVE else "STOPPED",
        "healthStatus": "UNKNOWN",
        "containers": [{
            "containerArn": f"arn:aws:ecs:{region}:{account}:container/{cluster}/{info.task_id}/{container}",
            "taskArn": arn,
            "name": container,
            "lastStatus": last,
            "healthStatus": "UNKNOWN",
            "networkBindings": [{"bindIP": "127.0.0.1", "containerPort": container_port or info.port,
                                 "hostPort": info.port, "protocol": "tcp"}],
            **({"exitCode": info.exit_code} if info.exit_code is not None else {}),
        }],
    }
    if created is not None:
        record["createdAt"] = created
    if info.started_at is not None:
        record["startedAt"] = info.started_at
    if last == "STOPPED":
        record["stoppedReason"] = info.stop_reason or ""
        code = _stop_code(info.stop_reason, info.exit_code)
        if code:
            record["stopCode"] = code
        if stopped is not None:
            record["stoppedAt"] = stopped
    elif last == "STOPPING" and info.stop_reason:
        record["stoppedReason"] = info.stop_reason
    return record


# --------------------------------------------------------------------------------- the moto child


def _dt(value: Any) -> Any:
    return datetime.fromtimestamp(float(value), timezone.utc) if isinstance(value, (int, float)) else value


def _for_api(record: dict[str, Any]) -> dict[str, Any]:
    return {k: _dt(v) if k.endswith("At") else v for k, v in record.items()}


def apply() -> None:
    """Patch moto's ECS responses in this process: ListTasks, DescribeTasks, DescribeServices."""
    from moto.core.responses import ActionResult
    from moto.ecs import responses

    cls = responses.EC2ContainerServiceResponse
    moto_list, moto_services = cls.list_tasks, cls.describe_services

    def _cluster_name(value: str | None) -> str:
        value = value or "default"
        return value.split(":cluster/", 1)[1] if ":cluster/" in value else value

    def _ours(self: Any, cluster: str) -> list[tuple[str, dict[str, Any]]]:
        with _LOCK:
            return [(key[3], rec) for key, svc in _SERVICES.items()
                    if key[:3] == (self.current_account, self.region, cluster) for rec in svc["tasks"].values()]

    def list_tasks(self: Any) -> ActionResult:
        result = moto_list(self)
        cluster = _cluster_name(self._get_param("cluster"))
        service = self._get_param("serviceName")
        # "desiredStatus: The task desired status to use when filtering"; RUNNING when not given.
        wanted = self._get_param("desiredStatus") or "RUNNING"
        family = self._get_param("family")
        arns = [rec["taskArn"] for svc, rec in _ours(self, cluster)
                if (service is None or svc == service) and rec["desiredStatus"] == wanted
                and (family is None or f":task-definition/{family}:" in rec["taskDefinitionArn"])]
        body = dict(getattr(result, "result", {}) or {})
        body["taskArns"] = list(body.get("taskArns", [])) + arns
        return ActionResult(body)

    def describe_tasks(self: Any) -> ActionResult:
        cluster = _cluster_name(self._get_param("cluster"))
        wanted = self._get_param("tasks", [])
        ours = {rec["taskArn"]: rec for _, rec in _ours(self, cluster)}
        by_id = {arn.rsplit("/", 1)[1]: arn for arn in ours}
        mine = [ours.get(t) or ours.get(by_id.get(t, "")) for t in wanted]
        found = [_for_api(r) for r in mine if r is not None]
        rest = [t for t, r in zip(wanted, mine) if r is None]
        tasks: list[Any] = []
        failures: list[Any] = []
        if rest:  # tasks moto itself ran (RunTask) answer as moto answers them
            try:
                tasks = list(self.ecs_backend.describe_tasks(self._get_param("cluster", "default"), rest))
            except Exception:
                tasks = []
            known = {getattr(t, "task_arn", None) for t in tasks} | {getattr(t, "id", None) for t in tasks}
            failures = [{"arn": t, "reason": "MISSING"} for t in rest if t not in known]
        return ActionResult({"tasks": tasks + found, "failures": failures})

    def describe_services(self: Any) -> ActionResult:
        cluster = _cluster_name(self._get_param("cluster"))
        result = moto_services(self)
        body = getattr(result, "result", {}) or {}
        for svc in body.get("services", []):
            name = getattr(svc, "name", None)
            with _LOCK:
                state = _SERVICES.get((self.current_account, self.region, cluster, str(name)))
                if state is None:
                    continue
                records = list(state["tasks"].values())
                events = list(state["events"])
            running = sum(r["lastStatus"] == "RUNNING" for r in records)
            pending = sum(r["lastStatus"] in PENDING for r in records)
            svc.running_count = running
            svc.pending_count = pending
            svc.events = [{**e, "createdAt": _dt(e["createdAt"])} for e in events]
            for d in getattr(svc, "deployments", None) or []:
                if d.get("status") == "PRIMARY":
                    d["runningCount"], d["pendingCount"] = running, pending
                    d["desiredCount"] = svc.desired_count
        return result

    cls.list_tasks = list_tasks  # type: ignore[method-assign]
    cls.describe_tasks = describe_tasks  # type: ignore[method-assign]
    cls.describe_services = describe_services  # type: ignore[method-assign]


def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """POST /_harness/ecs-service {Account, Region, Cluster, Service, Tasks: [DescribeTasks records], Events: [...]}."""
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(size) or b"{}")
        key = (str(body.get("Account", "123456789012")), str(body.get("Region", "us-east-1")),
               str(body["Cluster"]), str(body["Service"]))
        with _LOCK:
            state = _SERVICES.setdefault(key, {"tasks": {}, "events": []})
            for rec in body.get("Tasks", []):
                state["tasks"][str(rec["taskArn"])] = rec
            for message, at in body.get("Events", []):
                state["events"].insert(0, {"id": str(uuid.uuid4()), "createdAt": float(at), "message": str(message)})
            del state["events"][MAX_EVENTS:]
    except (KeyError, ValueError, TypeError) as exc:
        text = json.dumps({"error": f"missing or bad field: {exc}"}).encode()
        start_response("400 Bad Request", [("Content-Type", "application/json"), ("Content-Length", str(len(text)))])
        return [text]
    start_response("204 No Content", [])
    return [b""]


# ------------------------------------------------------------------------------------- the client


class EcsWriteBack:
    """What one service's scheduler calls after each tick: its tasks and the events they make, into the cloud."""

    def __init__(self, ecs_client: Any, service: Any, container: Any) -> None:
        meta = getattr(ecs_client, "meta", None)
        self.endpoint = getattr(meta, "endpoint_url", None)
        self.region = getattr(meta, "region_name", None) or "us-east-1"
        self.account = service.arn.split(":")[4] if service.arn.count(":") >= 5 else "123456789012"
        self.service = service
        self.container = container
        self._states: dict[str, str] = {}
        self._created: dict[str, float] = {}
        self._stopped: dict[str, float] = {}
        self._steady = False
        self._refused = False
        self._last: list[dict[str, Any]] = []

    def sync(self, snapshot: Any, now: float) -> None:
        """Write the tasks of `snapshot` (a ServiceSnapshot) and the service events since the last call."""
        if not self.endpoint or self._refused:
            return
        after = {t.task_id: str(t.state) for t in snapshot.tasks}
        for t in snapshot.tasks:
            self._created.setdefault(t.task_id, t.started_at if t.started_at is not None else now)
            if str(t.state) == "STOPPED":
                self._stopped.setdefault(t.task_id, now)
        steady = is_steady(snapshot.desired, snapshot.tasks, bool(self.service.load_balancers))
        messages = service_events(self.service.name, self._states, after, self._steady, steady)
        self._states, self._steady = after, steady
        port = getattr(self.container, "container_port", None)
        records = [task_record(t, region=self.region, account=self.account, cluster=self.service.cluster,
                               service=self.service.name, task_definition_arn=self.service.task_definition.arn,
                               container=self.container.name, container_port=port,
                               created=self._created.get(t.task_id), stopped=self._stopped.get(t.task_id))
                   for t in snapshot.tasks]
        if not messages and records == self._last:
            return
        self._last = records
        body = json.dumps({"Account": self.account, "Region": self.region, "Cluster": self.service.cluster,
                           "Service": self.service.name, "Tasks": records,
                           "Events": [[m, now] for m in messages]}).encode()
        req = urllib.request.Request(self.endpoint.rstrip("/") + ECS_SERVICE_PATH, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5):
                pass
        except OSError as exc:  # a cloud without the private path (LocalStack): the harness keeps its own view
            self._refused = True
            log.warning("ECS tasks stay in the harness: %s%s does not take them (%s)", self.endpoint, ECS_SERVICE_PATH, exc)
