"""One alarm evaluator: LocalStack's own CloudWatch alarm scheduler is turned off.

LocalStack (localstack/services/cloudwatch/alarm_scheduler.py, 2026.3.0) evaluates each metric alarm
in real time every EvaluationPeriods x Period seconds and runs only SNS and Lambda actions. AWS
evaluates alarms of period >= 60 s every minute and also runs Auto Scaling actions
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html). The
harness's evaluator implements AWS's rules on the harness's (compressed) clock, so it must be the only
one that changes alarm states. LocalStack has no setting for this, so the scheduler's entry points are
replaced with no-ops before any service starts.
"""

from __future__ import annotations

import logging

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


def patch_alarm_scheduler() -> None:
    from localstack.services.cloudwatch.alarm_scheduler import AlarmScheduler

    def schedule_metric_alarm(self: AlarmScheduler, alarm_arn: str) -> None:
        LOG.debug("harness extension: not scheduling LocalStack's evaluation of %s", alarm_arn)

    def restart_existing_alarms(self: AlarmScheduler) -> None:
        return None

    AlarmScheduler.schedule_metric_alarm = schedule_metric_alarm
    AlarmScheduler.restart_existing_alarms = restart_existing_alarms
    AlarmScheduler.harness_disabled = True


@hooks.on_infra_start()  # type: ignore[untyped-decorator]  # LocalStack is untyped where mypy runs
def disable_alarm_scheduler() -> None:
    patch_alarm_scheduler()
    LOG.info("harness extension: LocalStack's CloudWatch alarm scheduler is off")


@hooks.on_infra_start()  # type: ignore[untyped-decorator]  # LocalStack is untyped where mypy runs
def serve_harness_records() -> None:
    """Alarm history, scaling activities, ECS tasks and target tracking alarms as the embedded cloud has
    them (harness_localstack_ext.records)."""
    from . import records

    records.install()
