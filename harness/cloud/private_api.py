"""The embedded cloud's records of what the harness did, in one place: patches and private write paths.

The harness runs what AWS runs itself (alarm actions, scaling policies, the ECS scheduler), so it is the
only one that can tell the cloud what happened. AWS has no public API to write alarm history, scaling
activities or task states; the harness writes them through private `/_harness/...` paths of the moto
child, and users read them back with the public APIs (DescribeAlarmHistory, DescribeScalingActivities,
DescribeServices, ListTasks, DescribeTasks) exactly as they would against AWS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WsgiHandler = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _routes() -> dict[str, WsgiHandler]:
    from harness.cloud import alarm_history, ecs_tasks, scaling_activities

    return {
        alarm_history.ALARM_HISTORY_PATH: alarm_history.wsgi,
        scaling_activities.SCALING_ACTIVITIES_PATH: scaling_activities.wsgi,
        ecs_tasks.ECS_SERVICE_PATH: ecs_tasks.wsgi,
    }


def route(path: str, method: str) -> WsgiHandler | None:
    """The handler of a private write path (POST only), or None for everything else."""
    if method != "POST" or not path.startswith("/_harness/"):
        return None
    return _routes().get(path.rstrip("/"))


def apply() -> None:
    """Patch moto in this process (the child) so the public read APIs serve the records."""
    from harness.cloud import alarm_history, ecs_tasks, scaling_activities

    alarm_history.apply()
    scaling_activities.apply()
    ecs_tasks.apply()
