"""CloudWatch alarm history in the embedded cloud, kept and served as CloudWatch keeps it.

moto 5.2 has no DescribeAlarmHistory (HTTP 500), so a user's own `describe_alarm_history` could not see
why an alarm did nothing. This module, applied in the moto child (`harness.cloud.server.main`), keeps:

- ConfigurationUpdate items when PutMetricAlarm creates or updates an alarm;
- StateUpdate items whenever SetAlarmState changes an alarm's state (the harness's evaluator stores every
  transition that way), with AWS's HistoryData JSON: version, oldState / newState with stateValue,
  stateReason and stateReasonData;
- Action items, which only the harness knows about (it runs the actions): AWS has no public API to write
  history, so the harness POSTs them to the private path `/_harness/alarm-history` (`record_action`).

and serves DescribeAlarmHistory with AlarmName, AlarmTypes, HistoryItemType, StartDate/EndDate, ScanBy,
MaxRecords and NextToken.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_AlarmHistoryItem.html
"""

from __future__ import annotations

import json
import math
import threading
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

ALARM_HISTORY_PATH = "/_harness/alarm-history"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
MAX_RECORDS = 100  # DescribeAlarmHistory's MaxRecords: 1 to 100

ITEM_TYPES = ("ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction")


@dataclass(frozen=True)
class Item:
    alarm_name: str
    alarm_type: str
    timestamp: datetime  # aware, UTC
    item_type: str
    summary: str
    data: str  # HistoryData: a JSON document, as CloudWatch returns it

    def as_api(self) -> dict[str, Any]:
        return {"AlarmName": self.alarm_name, "AlarmType": self.alarm_type, "Timestamp": self.timestamp,
                "HistoryItemType": self.item_type, "HistorySummary": self.summary, "HistoryData": self.data}


_LOCK = threading.Lock()
_ITEMS: dict[tuple[str, str], list[Item]] = {}  # (account, region) -> items in the order they happened


def add(account: str, region: str, item: Item) -> None:
    with _LOCK:
        _ITEMS.setdefault((account, region), []).append(item)


def select(items: Iterable[Item], *, alarm_name: str | None = None, alarm_types: Iterable[str] = ("MetricAlarm",),
           item_type: str | None = None, start: datetime | None = None, end: datetime | None = None,
           ascending: bool = False) -> list[Item]:
    """DescribeAlarmHistory's filters and order. Pure.

    "If you omit AlarmTypes, only metric alarms are returned"; ScanBy TimestampDescending (the default)
    returns the newest first. StartDate and EndDate bound the items' timestamps (inclusive).
    """
    types = set(alarm_types) or {"MetricAlarm"}
    out = [i for i in items
           if (alarm_name is None or i.alarm_name == alarm_name) and i.alarm_type in types
           and (item_type is None or i.item_type == item_type)
           and (start is None or i.timestamp >= start) and (end is None or i.timestamp <= end)]
    return sorted(out, key=lambda i: i.timestamp, reverse=not ascending)


def _aware(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc)


def _query_date(reason_data: str | None) -> datetime | None:
    """The evaluation time a state change carries in its StateReasonData (`queryDate`, AWS's
    "2026-11-28T10:22:00.123+0000"): the item's timestamp, as on AWS, whatever the cloud's own clock says."""
    data = _reason_data(reason_data)
    text = data.get("queryDate") if isinstance(data, dict) else None
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(timezone.utc)
    except ValueError:
        return None


def _reason_data(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _state(value: str, reason: str, data: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"stateValue": value, "stateReason": reason}
    parsed = _reason_data(data)
    if parsed:  # AWS leaves stateReasonData out when there is none ("Unchecked: Initial alarm creation")
        out["stateReasonData"] = parsed
    return out


def state_update_data(old: tuple[str, str, str | None], new: tuple[str, str, str | None]) -> str:
    """AWS's HistoryData of a StateUpdate: {"version": "1.0", "oldState": {...}, "newState": {...}}."""
    return json.dumps({"version": "1.0", "oldState": _state(*old), "newState": _state(*new)})


# ------------------------------------------------- what any cloud serving the history shares (moto, LocalStack)


def state_update_item(alarm_name: str, old: tuple[str, str, str | None], new: tuple[str, str, str | None],
                      now: datetime) -> Item:
    """The StateUpdate item of a SetAlarmState that changed the state (old/new: value, reason, reason data),
    at the evaluation time its StateReasonData carries, else `now`. Pure."""
    return Item(alarm_name, "MetricAlarm", _query_date(new[2]) or now, "StateUpdate",
                f"Alarm updated from {old[0]} to {new[0]}", state_update_data(old, new))


def configuration_item(alarm: Mapping[str, Any], existed: bool, now: datetime) -> Item:
    """The ConfigurationUpdate item of a PutMetricAlarm; `alarm` in DescribeAlarms' field names. Pure."""
    kind = "Update" if existed else "Create"
    described = {
        "alarmName": alarm["AlarmName"], "alarmArn": alarm.get("AlarmArn"), "namespace": alarm.get("Namespace"),
        "metricName": alarm.get("MetricName"), "statistic": alarm.get("Statistic"), "period": alarm.get("Period"),
        "evaluationPeriods": alarm.get("EvaluationPeriods"), "threshold": alarm.get("Threshold"),
        "comparisonOperator": alarm.get("ComparisonOperator"),
        "dimensions": [{"name": d["Name"], "value": d["Value"]} for d in alarm.get("Dimensions") or []],
        "alarmActions": list(alarm.get("AlarmActions") or []), "okActions": list(alarm.get("OKActions") or []),
        "insufficientDataActions": list(alarm.get("InsufficientDataActions") or []),
    }
    name = str(alarm["AlarmName"])
    return Item(name, "MetricAlarm", now, "ConfigurationUpdate", f'Alarm "{name}" {kind.lower()}d',
                json.dumps({"version": "1.0", "type": kind, f"{kind.lower()}dAlarm": described}))


def describe(account: str, region: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeAlarmHistory's answer from the items kept for (account, region); `params` in the API's names."""
    with _LOCK:
        items = list(_ITEMS.get((account, region), []))
    chosen = select(items, alarm_name=params.get("AlarmName"), alarm_types=params.get("AlarmTypes") or ["MetricAlarm"],
                    item_type=params.get("HistoryItemType"), start=_aware(params.get("StartDate")),
                    end=_aware(params.get("EndDate")), ascending=params.get("ScanBy") == "TimestampAscending")
    size = min(int(params.get("MaxRecords") or MAX_RECORDS), MAX_RECORDS)
    offset = int(params.get("NextToken") or 0)
    result: dict[str, Any] = {"AlarmHistoryItems": [i.as_api() for i in chosen[offset:offset + size]]}
    if offset + size < len(chosen):
        result["NextToken"] = str(offset + size)
    return result


# --------------------------------------------------------------------------------- the moto child


def apply() -> None:
    """Patch moto's CloudWatch in this process: record history, serve DescribeAlarmHistory."""
    from moto.cloudwatch import models, responses
    from moto.core.responses import ActionResult

    backend_cls = models.CloudWatchBackend
    moto_set_state = backend_cls.set_alarm_state
    moto_put_alarm = backend_cls.put_metric_alarm

    def now() -> datetime:
        # moto reads its clock through models.utcnow, which is template time when the harness sets it.
        return _aware(getattr(models, "utcnow")()) or datetime.now(timezone.utc)

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        old = (alarm.state_value, alarm.state_reason, alarm.state_reason_data) if alarm is not None else None
        moto_set_state(self, alarm_name, reason, reason_data, state_value)
        if old is not None and old[0] != state_value:
            add(self.account_id, self.region_name,
                state_update_item(alarm_name, old, (state_value, reason, reason_data), now()))

    def put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        existed = name in self.alarms
        alarm = moto_put_alarm(self, name, *args, **kwargs)
        add(self.account_id, self.region_name, configuration_item({
            "AlarmName": alarm.name, "AlarmArn": alarm.alarm_arn, "Namespace": alarm.namespace,
            "MetricName": alarm.metric_name, "Statistic": alarm.statistic, "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods, "Threshold": alarm.threshold,
            "ComparisonOperator": alarm.comparison_operator,
            "Dimensions": [{"Name": d.name, "Value": d.value} for d in alarm.dimensions],
            "AlarmActions": alarm.alarm_actions, "OKActions": alarm.ok_actions,
            "InsufficientDataActions": alarm.insufficient_data_actions,
        }, existed, now()))
        return alarm

    def describe_alarm_history(self: Any) -> ActionResult:
        return ActionResult(describe(self.current_account, self.region, {
            k: self._get_param(k) for k in ("AlarmName", "AlarmTypes", "HistoryItemType", "StartDate", "EndDate",
                                            "ScanBy", "MaxRecords", "NextToken")}))

    backend_cls.set_alarm_state = set_alarm_state  # type: ignore[method-assign]
    backend_cls.put_metric_alarm = put_metric_alarm  # type: ignore[method-assign]
    responses.CloudWatchResponse.describe_alarm_history = describe_alarm_history  # type: ignore[attr-defined]


def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """POST /_harness/alarm-history {AlarmName, HistoryItemType, HistorySummary, HistoryData, Timestamp}."""
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(size) or b"{}")
        item_type = body.get("HistoryItemType", "Action")
        if item_type not in ITEM_TYPES:
            raise ValueError(f"HistoryItemType {item_type!r} is not one of {', '.join(ITEM_TYPES)}")
        data = body.get("HistoryData", {})
        add(body.get("Account", DEFAULT_ACCOUNT), body.get("Region", DEFAULT_REGION), Item(
            str(body["AlarmName"]), body.get("AlarmType", "MetricAlarm"), _aware(body["Timestamp"]) or datetime.now(timezone.utc),
            item_type, str(body["HistorySummary"]), data if isinstance(data, str) else json.dumps(data)))
    except (KeyError, ValueError, TypeError) as exc:
        text = json.dumps({"error": str(exc)}).encode()
        start_response("400 Bad Request", [("Content-Type", "application/json"), ("Content-Length", str(len(text)))])
        return [text]
    start_response("204 No Content", [])
    return [b""]


# ------------------------------------------------------------------------------------- the client


def record_action(endpoint: str, alarm_name: str, summary: str, data: dict[str, Any], timestamp: float,
                  *, region: str = DEFAULT_REGION, account: str | None = None) -> None:
    """Write one Action item into the cloud's alarm history (raises OSError if it cannot). Without `account`,
    the cloud's own default account (moto's 123456789012, LocalStack's 000000000000)."""
    body = json.dumps({"AlarmName": alarm_name, "HistoryItemType": "Action", "HistorySummary": summary,
                       "HistoryData": data, "Timestamp": timestamp, "Region": region,
                       **({"Account": account} if account else {})}).encode()
    req = urllib.request.Request(endpoint.rstrip("/") + ALARM_HISTORY_PATH, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5):
        pass


def action_texts(arn: str, ok: bool, error: str, *, no_step: tuple[float, float] | None = None) -> tuple[str, str]:
    """(HistorySummary, the error for HistoryData) of an Action item, in CloudWatch's words. Pure.

    Success: "Successfully executed action <arn>". A scaling policy none of whose steps covers the breach:
    "Failed to execute AutoScaling action: No step adjustment found for metric value [9.52] and breach
    threshold 30.0" (quoted in public bug reports, e.g. mapbox/ecs-watchbot PR 187).
    """
    from harness.cloudwatch.reason import java_double

    if ok:
        return f"Successfully executed action {arn}", ""
    if no_step is not None:
        value, threshold = no_step
        # The metric value as AWS's messages show it (at most 4 decimals: "[0.1428]", "[9.52]").
        shown = f"{value:.4f}".rstrip("0").rstrip(".") if math.isfinite(value) else java_double(value)
        why = f"No step adjustment found for metric value [{shown}] and breach threshold {java_double(threshold)}"
        return f"Failed to execute AutoScaling action: {why}", why
    if ":autoscaling:" in arn:
        return f"Failed to execute AutoScaling action: {error}", error
    return f"Failed to execute action {arn}. Received error: {error}", error
