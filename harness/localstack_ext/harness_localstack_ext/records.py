"""What the harness did, kept and served by LocalStack as the embedded cloud keeps and serves it.

The harness runs what AWS runs itself (alarm actions, scaling policies, the ECS scheduler) and writes what
happened back to the cloud through private paths (`/_harness/alarm-history`, `/_harness/scaling-activities`,
`/_harness/ecs-service`); users read it with AWS's public APIs. The embedded cloud's implementation is
the harness's own (harness.cloud.alarm_history, scaling_activities, ecs_tasks, target_tracking); this
module uses the very same code inside LocalStack:

- the private paths are routes of LocalStack's gateway, answered by the same WSGI handlers;
- ECS (ListTasks, DescribeTasks, DescribeServices) and Application Auto Scaling (DescribeScalingActivities,
  target tracking alarms) are served by LocalStack's bundled moto, so the same moto patches apply;
- CloudWatch is LocalStack's own provider (not moto), so its SetAlarmState, PutMetricAlarm and
  DescribeAlarmHistory are wrapped here to keep and serve the same items (`harness.cloud.alarm_history`).

What LocalStack 2026.3.0's CloudWatch does on its own, and why it is replaced (read in
localstack/services/cloudwatch/provider_v2.py):
- SetAlarmState records a StateUpdate, stamped with the *previous* StateUpdatedTimestamp, with no
  stateReasonData in oldState, and overwrites the evaluator's startDate with its queryDate;
- SetAlarmState publishes to SNS / invokes Lambda itself; the harness runs every action (and records it
  as an Action item), so LocalStack's publish would be a second notification of each state change;
- PutMetricAlarm records no ConfigurationUpdate;
- DescribeAlarmHistory ignores HistoryItemType, AlarmTypes, ScanBy, MaxRecords and NextToken and returns
  the oldest first (AWS: newest first unless ScanBy TimestampAscending).

The harness's modules come from the harness package the LocalStack child has on its PYTHONPATH
(harness.cloud.localstack puts it there). Without it, this module says so once and LocalStack answers as
it ships.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import io
import json
import logging
from collections.abc import Callable, Iterable
from types import ModuleType, SimpleNamespace
from typing import Any

LOG = logging.getLogger(__name__)

WsgiHandler = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def harness_modules() -> dict[str, ModuleType] | None:
    """The harness's shared implementation, or None when the harness package is not importable here."""
    try:
        from harness.cloud import alarm_history, ecs_tasks, private_api, scaling_activities, target_tracking
    except ImportError as exc:
        LOG.warning("harness extension: the harness package is not importable (%s); alarm history, scaling "
                    "activities and ECS tasks are not served", exc)
        return None
    return {"alarm_history": alarm_history, "ecs_tasks": ecs_tasks, "private_api": private_api,
            "scaling_activities": scaling_activities, "target_tracking": target_tracking}


# ------------------------------------------------------------------------------------ private paths


def wsgi_endpoint(handler: WsgiHandler, default_account: str) -> Callable[..., Any]:
    """A LocalStack gateway route calling one of the harness's private-path WSGI handlers.

    A write that names no account goes to LocalStack's default account, the one the harness's fake
    credentials ("test") map to, as the embedded cloud takes it into moto's default one.
    """
    from localstack.http import Response

    def endpoint(request: Any, **_: Any) -> Any:
        raw = request.get_data()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if isinstance(body, dict) and not body.get("Account"):
            raw = json.dumps({**body, "Account": default_account}).encode()
        environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}
        answer: list[tuple[str, list[tuple[str, str]]]] = []
        out = b"".join(handler(environ, lambda status, headers: answer.append((status, headers))))
        status, headers = answer[0]
        return Response(out, status=int(status.split()[0]), headers=dict(headers))

    return endpoint


def add_routes(mods: dict[str, ModuleType]) -> list[str]:
    """Serve the harness's private write paths on LocalStack's gateway. Returns the paths."""
    from localstack.constants import DEFAULT_AWS_ACCOUNT_ID
    from localstack.services.edge import ROUTER

    private_api = mods["private_api"]
    paths = [mods["alarm_history"].ALARM_HISTORY_PATH, mods["scaling_activities"].SCALING_ACTIVITIES_PATH,
             mods["ecs_tasks"].ECS_SERVICE_PATH]
    for path in paths:
        handler = private_api.route(path, "POST")
        ROUTER.add(path, wsgi_endpoint(handler, DEFAULT_AWS_ACCOUNT_ID), methods=["POST"])
    return paths


# ------------------------------------------------------------------------------------ CloudWatch


def patch_cloudwatch(alarm_history: ModuleType) -> None:
    """LocalStack's CloudWatch keeps and serves the alarm history as the embedded cloud does (see above)."""
    from localstack.aws.api.cloudwatch import ResourceNotFound
    from localstack.services.cloudwatch import provider_v2
    from localstack.utils.aws import arns

    cls = provider_v2.CloudwatchProvider
    if getattr(cls, "harness_history", False):
        return
    lock = provider_v2._STORE_LOCK
    moto_put = cls.put_metric_alarm

    def now() -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC)

    @functools.wraps(cls.set_alarm_state)
    def set_alarm_state(self: Any, context: Any, alarm_name: str, state_value: str, state_reason: str,
                        state_reason_data: str | None = None, **kwargs: Any) -> None:
        # The same checks and answers as LocalStack's own SetAlarmState.
        if state_value not in ("OK", "ALARM", "INSUFFICIENT_DATA"):
            raise provider_v2.ValidationException(
                f"1 validation error detected: Value '{state_value}' at 'stateValue' failed to satisfy constraint: "
                "Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]")
        if state_reason_data:
            try:
                json.loads(state_reason_data)
            except ValueError:
                raise provider_v2.InvalidParameterValueException("Json was not correctly formatted") from None
        with lock:
            store = self.get_store(context.account_id, context.region)
            alarm = store.alarms.get(arns.cloudwatch_alarm_arn(alarm_name, account_id=context.account_id,
                                                              region_name=context.region))
            if not alarm:
                raise ResourceNotFound()
            fields = alarm.alarm
            old = (fields["StateValue"], fields.get("StateReason") or "", fields.get("StateReasonData"))
            if old[0] == state_value:
                return
            item = alarm_history.state_update_item(alarm_name, old, (state_value, state_reason, state_reason_data),
                                                   now())
            if fields.get("AlarmRule") is not None:  # a composite alarm (the harness evaluates those too)
                item = dataclasses.replace(item, alarm_type="CompositeAlarm")
            fields.update(StateValue=state_value, StateReason=state_reason, StateUpdatedTimestamp=item.timestamp,
                          StateTransitionedTimestamp=item.timestamp)
            if state_reason_data:
                fields["StateReasonData"] = state_reason_data  # as the evaluator wrote it
            else:
                fields.pop("StateReasonData", None)
            alarm_history.add(context.account_id, context.region, item)
        # No action is run here: the harness's evaluator runs them and records each as an Action item.

    @functools.wraps(moto_put)
    def put_metric_alarm(self: Any, context: Any, request: Any) -> None:
        arn = arns.cloudwatch_alarm_arn(request["AlarmName"], account_id=context.account_id, region_name=context.region)
        store = self.get_store(context.account_id, context.region)
        existed = arn in store.alarms
        moto_put(self, context, request)
        alarm = store.alarms.get(arn)
        if alarm is not None:
            alarm_history.add(context.account_id, context.region,
                              alarm_history.configuration_item(alarm.alarm, existed, now()))

    @functools.wraps(cls.describe_alarm_history)
    def describe_alarm_history(self: Any, context: Any, alarm_name: str | None = None,
                               alarm_contributor_id: str | None = None, alarm_types: list[str] | None = None,
                               history_item_type: str | None = None, start_date: Any = None, end_date: Any = None,
                               max_records: int | None = None, next_token: str | None = None,
                               scan_by: str | None = None, **kwargs: Any) -> dict[str, Any]:
        return dict(alarm_history.describe(context.account_id, context.region, {
            "AlarmName": alarm_name, "AlarmTypes": alarm_types, "HistoryItemType": history_item_type,
            "StartDate": start_date, "EndDate": end_date, "MaxRecords": max_records, "NextToken": next_token,
            "ScanBy": scan_by}))

    cls.set_alarm_state = set_alarm_state
    cls.put_metric_alarm = put_metric_alarm
    cls.describe_alarm_history = describe_alarm_history
    cls.harness_history = True


class LocalStackAlarms:
    """LocalStack's CloudWatch with the two calls of moto's CloudWatchBackend that target tracking makes
    (`harness.cloud.target_tracking.apply(cloudwatch=...)`): the policy's alarms go where DescribeAlarms
    reads, and are deleted with the policy."""

    def __init__(self, account: str, region: str) -> None:
        from localstack.aws.connect import connect_to

        self.account, self.region = account, region
        # LocalStack's own way to act in an account: the account id as the access key.
        self.client = connect_to(aws_access_key_id=account, region_name=region).cloudwatch

    def put_metric_alarm(self, *, name: str, namespace: str, metric_name: str, comparison_operator: str,
                         evaluation_periods: int, period: int, threshold: float, statistic: str,
                         dimensions: list[dict[str, str]], alarm_actions: list[str], datapoints_to_alarm: int | None = None,
                         unit: str | None = None, treat_missing_data: str | None = None, description: str | None = None,
                         metric_data_queries: list[Any] | None = None, **_: Any) -> SimpleNamespace:
        from localstack.utils.aws import arns

        params: dict[str, Any] = {
            "AlarmName": name, "Namespace": namespace, "MetricName": metric_name,
            "ComparisonOperator": comparison_operator, "EvaluationPeriods": int(evaluation_periods),
            "Period": int(period), "Threshold": float(threshold), "Statistic": statistic,
            "Dimensions": dimensions, "AlarmActions": alarm_actions, "DatapointsToAlarm": datapoints_to_alarm,
            "Unit": unit, "TreatMissingData": treat_missing_data, "AlarmDescription": description,
        }
        self.client.put_metric_alarm(**{k: v for k, v in params.items() if v is not None})
        return SimpleNamespace(name=name, alarm_arn=arns.cloudwatch_alarm_arn(name, account_id=self.account,
                                                                             region_name=self.region))

    def delete_alarms(self, names: list[str]) -> None:
        self.client.delete_alarms(AlarmNames=list(names))


# ------------------------------------------------------------------------------------ all of it


def install() -> bool:
    """Everything above, in this (LocalStack's) process, before any service starts. False without the harness."""
    mods = harness_modules()
    if mods is None:
        return False
    mods["scaling_activities"].apply()  # moto: DescribeScalingActivities
    mods["ecs_tasks"].apply()  # moto: ListTasks, DescribeTasks, DescribeServices with the harness's tasks
    mods["target_tracking"].apply(cloudwatch=LocalStackAlarms)  # moto: a target tracking policy's alarms
    patch_cloudwatch(mods["alarm_history"])
    paths = add_routes(mods)
    LOG.info("harness extension: serving %s", ", ".join(paths))
    return True
