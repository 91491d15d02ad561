"""Application Auto Scaling's scaling activities in the embedded cloud, served by DescribeScalingActivities.

moto 5.2 records no activity (it never runs a policy) and has no DescribeScalingActivities. The harness's
scaling executor runs the policies, so it writes each activity through the private path
`/_harness/scaling-activities` (`record`); this module, applied in the moto child, keeps them and answers
DescribeScalingActivities with AWS's fields: ActivityId, ServiceNamespace, ResourceId, ScalableDimension,
Description, Cause, StartTime, EndTime, StatusCode, StatusMessage, and NotScaledReasons for the "not
scaled" activities returned only with IncludeNotScaledActivities.
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DescribeScalingActivities.html
https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-scaling-activities.html
"""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SCALING_ACTIVITIES_PATH = "/_harness/scaling-activities"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
MAX_RESULTS = 50  # DescribeScalingActivities' MaxResults: 1 to 50, default 50

_LOCK = threading.Lock()
_ACTIVITIES: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (account, region) -> activities, oldest first


def select(activities: Iterable[dict[str, Any]], namespace: str, *, resource_id: str | None = None,
           dimension: str | None = None, include_not_scaled: bool = False) -> list[dict[str, Any]]:
    """DescribeScalingActivities' filters, newest first. Pure.

    "IncludeNotScaledActivities: Specifies whether to include activities that aren't scaled (not scaled
    activities) in the response." Without it those are left out.
    """
    out = [a for a in activities
           if a["ServiceNamespace"] == namespace and (resource_id is None or a["ResourceId"] == resource_id)
           and (dimension is None or a["ScalableDimension"] == dimension)
           and (include_not_scaled or not a.get("NotScaledReasons"))]
    return sorted(out, key=lambda a: a["StartTime"], reverse=True)


def describe(account: str, region: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeScalingActivities' answer from the activities kept for (account, region); `params` in the
    API's names. Shared by every cloud that serves them (moto here, LocalStack through its extension)."""
    with _LOCK:
        items = list(_ACTIVITIES.get((account, region), []))
    chosen = select(items, str(params.get("ServiceNamespace")), resource_id=params.get("ResourceId"),
                    dimension=params.get("ScalableDimension"),
                    include_not_scaled=bool(params.get("IncludeNotScaledActivities")))
    size = min(int(params.get("MaxResults") or MAX_RESULTS), MAX_RESULTS)
    offset = int(params.get("NextToken") or 0)
    result: dict[str, Any] = {"ScalingActivities": chosen[offset:offset + size]}
    if offset + size < len(chosen):
        result["NextToken"] = str(offset + size)
    return result


def apply() -> None:
    """Patch moto's Application Auto Scaling responses in this process to serve DescribeScalingActivities."""
    from moto.applicationautoscaling import responses

    def describe_scaling_activities(self: Any) -> str:
        return json.dumps(describe(self.current_account, self.region, {
            k: self._get_param(k) for k in ("ServiceNamespace", "ResourceId", "ScalableDimension",
                                            "IncludeNotScaledActivities", "MaxResults", "NextToken")}))

    responses.ApplicationAutoScalingResponse.describe_scaling_activities = describe_scaling_activities  # type: ignore[attr-defined]


_FIELDS = ("ActivityId", "ServiceNamespace", "ResourceId", "ScalableDimension", "Description", "Cause", "StartTime",
           "EndTime", "StatusCode", "StatusMessage", "Details", "NotScaledReasons")


def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """POST /_harness/scaling-activities: one activity with DescribeScalingActivities' fields."""
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(size) or b"{}")
        activity = {k: body[k] for k in _FIELDS if body.get(k) is not None}
        for required in ("ServiceNamespace", "ResourceId", "ScalableDimension", "Description", "Cause", "StartTime",
                         "StatusCode"):
            if required not in activity:
                raise KeyError(required)
        activity.setdefault("ActivityId", str(uuid.uuid4()))
        with _LOCK:
            _ACTIVITIES.setdefault((body.get("Account", DEFAULT_ACCOUNT), body.get("Region", DEFAULT_REGION)),
                                   []).append(activity)
    except (KeyError, ValueError, TypeError) as exc:
        text = json.dumps({"error": f"missing or bad field: {exc}"}).encode()
        start_response("400 Bad Request", [("Content-Type", "application/json"), ("Content-Length", str(len(text)))])
        return [text]
    start_response("204 No Content", [])
    return [b""]


def record(endpoint: str, activity: dict[str, Any], *, region: str = DEFAULT_REGION,
           account: str | None = None) -> None:
    """Write one activity (DescribeScalingActivities' field names; times as epoch seconds) into the cloud;
    without `account`, into the cloud's own default account."""
    body = json.dumps({**activity, "Region": region, **({"Account": account} if account else {})}).encode()
    req = urllib.request.Request(endpoint.rstrip("/") + SCALING_ACTIVITIES_PATH, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5):
        pass


def from_activity(activity: Any, *, namespace: str = "ecs", dimension: str = "ecs:service:DesiredCount",
                  activity_id: str | None = None, not_scaled: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A `harness.autoscaling.ScalingActivity` in DescribeScalingActivities' fields. Pure."""
    out: dict[str, Any] = {
        "ActivityId": activity_id or str(uuid.uuid4()),
        "ServiceNamespace": namespace,
        "ResourceId": activity.resource_id,
        "ScalableDimension": dimension,
        "Description": activity.description,
        "Cause": activity.cause,
        "StartTime": activity.start_time,
        "StatusCode": activity.status_code,
        "StatusMessage": activity.status_message or "",
    }
    if activity.end_time is not None:
        out["EndTime"] = activity.end_time
    if not_scaled:
        out["NotScaledReasons"] = not_scaled
    return out


_REFUSED: set[str] = set()  # endpoints without the private path (LocalStack): warned about once


def write_back(client: Any, activity: Any, *, namespace: str, dimension: str,
               not_scaled: list[dict[str, Any]] | None = None) -> None:
    """What the scaling executor calls: the activity into the cloud `client` (an Application Auto Scaling
    client) talks to. A cloud that does not take it keeps it out; the harness's own record stays."""
    import logging

    endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None)
    if not endpoint or endpoint in _REFUSED:
        return
    try:
        record(endpoint, from_activity(activity, namespace=namespace, dimension=dimension, not_scaled=not_scaled),
               region=getattr(getattr(client, "meta", None), "region_name", None) or DEFAULT_REGION)
    except OSError as exc:
        _REFUSED.add(endpoint)
        logging.getLogger(__name__).warning("scaling activities stay in the harness: %s%s does not take them (%s)",
                                            endpoint, SCALING_ACTIVITIES_PATH, exc)


def not_scaled_reasons(change: int, current: int, minimum: int, maximum: int) -> list[dict[str, Any]]:
    """NotScaledReasons of an invocation the capacity limits stop, in AWS's codes. Pure.
    ("AlreadyAtMaxCapacity" / "AlreadyAtMinCapacity", with MaxCapacity / MinCapacity and CurrentCapacity;
    application-auto-scaling-scaling-activities.html, "Not scaled activities")."""
    if change > 0 and current >= maximum:
        return [{"Code": "AlreadyAtMaxCapacity", "MaxCapacity": maximum, "CurrentCapacity": current}]
    if change < 0 and current <= minimum:
        return [{"Code": "AlreadyAtMinCapacity", "MinCapacity": minimum, "CurrentCapacity": current}]
    return []


def write_not_scaled(client: Any, *, resource_id: str, namespace: str, dimension: str, policy: str, alarm: str,
                     current: int, change: int, minimum: int, maximum: int, now: float) -> None:
    """A not scaled activity (only listed with IncludeNotScaledActivities) when the capacity limits stop an
    invocation; nothing when something else did (cooldown, no step: those are not activities)."""
    reasons = not_scaled_reasons(change, current, minimum, maximum)
    if not reasons:
        return
    wanted = current + change
    activity = SimpleActivity(
        description=f"Setting desired count to {wanted}.",
        cause=f"monitor alarm {alarm} in state ALARM triggered policy {policy}",
        start_time=now, end_time=now, status_code="Failed",
        status_message=f"Failed to set desired count to {wanted}", resource_id=resource_id)
    write_back(client, activity, namespace=namespace, dimension=dimension, not_scaled=reasons)


@dataclass(frozen=True)
class SimpleActivity:
    """The fields of `harness.autoscaling.ScalingActivity` that `from_activity` reads."""

    description: str
    cause: str
    start_time: float
    end_time: float | None
    status_code: str
    status_message: str
    resource_id: str
