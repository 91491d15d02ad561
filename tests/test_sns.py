"""SNS email delivery: pure formatting from tables, then the real moto server + the real SMTP sink."""

from __future__ import annotations

import itertools
import json
import mailbox as stdlib_mailbox
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest

from harness.clock import ManualClock
from harness.errors import CloudError, ConfigError
from harness.mailbox import Mailbox, SmtpSink
from harness.net import free_port
from harness.sns import (
    SnsDelivery,
    alarm_body,
    alarm_message_json,
    alarm_subject,
    aws_timestamp,
    region_long_name,
    threshold_sentence,
)

ACCOUNT = "123456789012"  # moto's default account
T_ALARM = 1_794_990_400.0  # Wednesday 18 November 2026 08:26:40 UTC
T_START = 1_794_989_000.0


@dataclass
class Alarm:
    name: str = "svc-cpu-high"
    arn: str = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:svc-cpu-high"
    description: str | None = "Scale out when CPU is above 70%"
    namespace: str = "AWS/ECS"
    metric_name: str = "CPUUtilization"
    dimensions: dict[str, str] = field(default_factory=lambda: {"ClusterName": "demo", "ServiceName": "web"})
    statistic: str | None = "Average"
    extended_statistic: str | None = None
    period: int = 60
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None
    threshold: float = 70.0
    comparison_operator: str = "GreaterThanThreshold"
    treat_missing_data: str | None = None
    alarm_actions: list[str] = field(default_factory=lambda: [f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"])
    ok_actions: list[str] = field(default_factory=list)
    insufficient_data_actions: list[str] = field(default_factory=list)


REASON = (
    "Threshold Crossed: 1 out of the last 1 datapoints [91.2 (18/11/26 08:25:00)] was greater than the threshold "
    "(70.0) (minimum 1 datapoint for OK -> ALARM transition)."
)

# ---------------------------------------------------------------------------------------------------------------
# Pure formatting


@pytest.mark.parametrize(
    ("when", "text"),
    [
        (datetime(2019, 8, 5, 17, 4, 3, tzinfo=timezone.utc), "Monday 05 August, 2019 17:04:03 UTC"),
        (datetime(2020, 6, 18, 19, 24, 9, tzinfo=timezone.utc).timestamp(), "Thursday 18 June, 2020 19:24:09 UTC"),
        (T_ALARM, "Wednesday 18 November, 2026 08:26:40 UTC"),
    ],
)
def test_timestamp_format_of_alarm_mails(when: Any, text: str) -> None:
    assert aws_timestamp(when) == text


@pytest.mark.parametrize(
    ("region", "name"),
    [
        ("us-east-1", "US East (N. Virginia)"),
        ("us-west-2", "US West (Oregon)"),
        ("eu-west-1", "EU (Ireland)"),
        ("ap-northeast-1", "Asia Pacific (Tokyo)"),
        ("xx-nowhere-9", "xx-nowhere-9"),
    ],
)
def test_region_long_names(region: str, name: str) -> None:
    assert region_long_name(region) == name


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        ({}, "The alarm is in the ALARM state when the metric is GreaterThanThreshold 70.0 for at least 1 of the last 1 period(s) of 60 seconds."),
        (
            {"evaluation_periods": 3, "datapoints_to_alarm": 2, "period": 300, "threshold": 5, "comparison_operator": "LessThanOrEqualToThreshold"},
            "The alarm is in the ALARM state when the metric is LessThanOrEqualToThreshold 5.0 for at least 2 of the last 3 period(s) of 300 seconds.",
        ),
        # DatapointsToAlarm defaults to EvaluationPeriods.
        ({"evaluation_periods": 3}, "The alarm is in the ALARM state when the metric is GreaterThanThreshold 70.0 for at least 3 of the last 3 period(s) of 60 seconds."),
    ],
)
def test_threshold_sentence(changes: dict[str, Any], sentence: str) -> None:
    assert threshold_sentence(Alarm(**changes)) == sentence


@pytest.mark.parametrize(
    ("state", "subject"),
    [
        ("ALARM", 'ALARM: "svc-cpu-high" in US East (N. Virginia)'),
        ("OK", 'OK: "svc-cpu-high" in US East (N. Virginia)'),
        ("INSUFFICIENT_DATA", 'INSUFFICIENT_DATA: "svc-cpu-high" in US East (N. Virginia)'),
    ],
)
def test_subject(state: str, subject: str) -> None:
    assert alarm_subject("svc-cpu-high", state, "us-east-1") == subject


def test_subject_is_cut_below_the_sns_limit_of_100_characters() -> None:
    subject = alarm_subject("x" * 200, "ALARM", "us-east-1")
    assert len(subject) < 100 and subject.startswith('ALARM: "xxx') and subject.endswith("...")


EXPECTED_BODY = f"""\
You are receiving this email because your Amazon CloudWatch Alarm "svc-cpu-high" in the US East (N. Virginia) region has entered the ALARM state, because "{REASON}" at "Wednesday 18 November, 2026 08:26:40 UTC".

View this alarm in the AWS Management Console:
https://us-east-1.console.aws.amazon.com/cloudwatch/deeplink.js?region=us-east-1#alarmsV2:alarm/svc-cpu-high

Alarm Details:
- Name:                       svc-cpu-high
- Description:                Scale out when CPU is above 70%
- State Change:               OK -> ALARM
- Reason for State Change:    {REASON}
- Timestamp:                  Wednesday 18 November, 2026 08:26:40 UTC
- AWS Account:                {ACCOUNT}
- Alarm Arn:                  arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:svc-cpu-high

Threshold:
- The alarm is in the ALARM state when the metric is GreaterThanThreshold 70.0 for at least 1 of the last 1 period(s) of 60 seconds.

Monitored Metric:
- MetricNamespace:                     AWS/ECS
- MetricName:                          CPUUtilization
- Dimensions:                          [ClusterName = demo] [ServiceName = web]
- Period:                              60 seconds
- Statistic:                           Average
- Unit:                                not specified
- TreatMissingData:                    missing


State Change Actions:
- OK:
- ALARM: [arn:aws:sns:us-east-1:{ACCOUNT}:alerts]
- INSUFFICIENT_DATA:
"""


def test_body_matches_cloudwatch_mail_layout() -> None:
    assert alarm_body(Alarm(), "OK", "ALARM", REASON, T_ALARM, "us-east-1", ACCOUNT) == EXPECTED_BODY


def test_body_without_description_and_with_several_actions() -> None:
    alarm = Alarm(description=None, ok_actions=["arn:a", "arn:b"], treat_missing_data="notBreaching")
    body = alarm_body(alarm, "ALARM", "OK", "back", T_ALARM, "us-east-1", ACCOUNT)
    assert "- Description:" not in body
    assert "- State Change:               ALARM -> OK\n" in body
    assert "region has entered the OK state" in body
    assert "- OK: [arn:a, arn:b]\n" in body
    assert "- TreatMissingData:                    notBreaching\n" in body


def test_json_message_has_cloudwatchs_fields() -> None:
    msg = json.loads(alarm_message_json(Alarm(datapoints_to_alarm=1), "OK", "ALARM", REASON, T_ALARM, "us-east-1", ACCOUNT))
    assert msg["AlarmName"] == "svc-cpu-high"
    assert msg["NewStateValue"] == "ALARM" and msg["OldStateValue"] == "OK"
    assert msg["StateChangeTime"] == "2026-11-18T08:26:40.000+0000"
    assert msg["Region"] == "US East (N. Virginia)"
    assert msg["AWSAccountId"] == ACCOUNT
    trigger = msg["Trigger"]
    assert trigger["Statistic"] == "AVERAGE" and trigger["Threshold"] == 70.0 and trigger["Period"] == 60
    assert trigger["Dimensions"] == [{"value": "demo", "name": "ClusterName"}, {"value": "web", "name": "ServiceName"}]


# ---------------------------------------------------------------------------------------------------------------
# Against the real moto server and the real SMTP sink


@pytest.fixture
def sns(moto_client: Callable[[str], Any]) -> Any:
    return moto_client("sns")


_topic_seq = itertools.count()


@pytest.fixture
def topic(sns: Any) -> str:
    return str(sns.create_topic(Name=f"alerts-{next(_topic_seq)}")["TopicArn"])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=T_START)


@pytest.fixture
def delivery(sns: Any, sink: SmtpSink, clock: ManualClock) -> SnsDelivery:
    return SnsDelivery(sns, "127.0.0.1", sink.port, clock)


def test_moto_creates_email_subscriptions_already_confirmed(sns: Any, topic: str) -> None:
    """Why the harness keeps its own confirmation record (if moto changes, revisit sns.py)."""
    arn = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")["SubscriptionArn"]
    attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert arn.startswith(topic + ":") and attrs["PendingConfirmation"] == "false"


def test_confirmation_mail_lands_once_per_email_subscription(
    sns: Any, topic: str, delivery: SnsDelivery, box: Mailbox, clock: ManualClock
) -> None:
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@example.com")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{ACCOUNT}:q")

    results = delivery.confirm_pending([topic])
    assert sorted((r.subscription.endpoint, r.delivered) for r in results) == [
        (f"arn:aws:sqs:us-east-1:{ACCOUNT}:q", False),
        ("oncall@example.com", True),
        ("ops@example.com", True),
    ]
    [skipped] = [r for r in results if not r.delivered]
    assert "sqs" in skipped.detail and "email and email-json" in skipped.detail

    mails = box.find(subject_prefix="AWS Notification - Subscription Confirmation")
    assert sorted(m.to[0] for m in mails) == ["oncall@example.com", "ops@example.com"]
    mail = box.find(to="ops@example.com")[0]
    assert mail.sender == "AWS Notifications <no-reply@sns.amazonaws.com>"
    assert mail.date is not None and mail.date.timestamp() == T_START  # template time, not the wall clock
    assert f"You have chosen to subscribe to the topic: \n{topic}\n" in mail.body
    assert "To confirm this subscription, click or visit the link below (If this was in error no action is necessary)" in mail.body
    assert f"https://sns.us-east-1.amazonaws.com/confirmation.html?TopicArn={topic}&Token=" in mail.body

    # Once only.
    again = delivery.confirm_pending([topic])
    assert [r.delivered for r in again] == [False]  # only the sqs one is reported again
    assert len(box.find(subject_prefix="AWS Notification - Subscription Confirmation")) == 2


def test_alarm_notification_reaches_every_email_subscription_in_cloudwatch_format(
    sns: Any, topic: str, delivery: SnsDelivery, box: Mailbox
) -> None:
    from moto.sns.models import sns_backends

    for who in ("ops@example.com", "oncall@example.com"):
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=who)
    delivery.confirm_pending([topic])
    alarm = Alarm(alarm_actions=[topic])

    result = delivery.publish_alarm(topic, alarm, "OK", "ALARM", REASON, '{"version":"1.0"}', T_ALARM)

    subject = 'ALARM: "svc-cpu-high" in US East (N. Virginia)'
    assert result.subject == subject
    assert sorted(result.mailed) == ["oncall@example.com", "ops@example.com"]
    notices = box.find(subject_prefix="ALARM:")
    assert sorted(m.to[0] for m in notices) == ["oncall@example.com", "ops@example.com"]
    for mail in notices:
        assert mail.subject == subject
        assert mail.date is not None and mail.date.timestamp() == T_ALARM
        expected = EXPECTED_BODY.replace(f"{ACCOUNT}:alerts", topic.split(":", 4)[4])
        assert mail.body.startswith(expected)
        for section in ("Alarm Details:\n", "Threshold:\n", "Monitored Metric:\n", "State Change Actions:\n"):
            assert section in mail.body
        # SNS's footer, with this subscription's unsubscribe link.
        assert "\n--\nIf you wish to stop receiving notifications from this topic" in mail.body
        assert f"&Endpoint={mail.to[0]}" in mail.body

    # The emulator recorded the Publish (moto's documented internal record of sent notifications).
    sent = sns_backends[ACCOUNT]["us-east-1"].topics[topic].sent_notifications
    assert [(s[0], s[2]) for s in sent] == [(result.message_id, subject)]

    # The stored files open with the stdlib mailbox and email modules.
    maildir = stdlib_mailbox.Maildir(str(box.folder), factory=None, create=False)
    subjects = sorted(m["Subject"] for m in maildir)
    assert subjects.count(subject) == 2
    with notices[0].path.open("rb") as fh:
        parsed = BytesParser(policy=policy.default).parse(fh)
    assert parsed["From"] == "AWS Notifications <no-reply@sns.amazonaws.com>"
    assert "Monitored Metric:" in parsed.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def test_email_json_gets_the_sns_envelope_and_unconfirmed_subscriptions_are_confirmed_first(
    sns: Any, topic: str, delivery: SnsDelivery, box: Mailbox
) -> None:
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint="robot@example.com")

    result = delivery.publish_alarm(topic, Alarm(), "ALARM", "OK", "Threshold Crossed: back", None, T_ALARM)

    assert [(d.kind, d.delivered) for d in result.deliveries] == [("confirmation", True), ("notification", True)]
    confirmation, notice = box.find(to="robot@example.com")
    assert confirmation.subject == "AWS Notification - Subscription Confirmation"
    assert json.loads(confirmation.body)["Type"] == "SubscriptionConfirmation"
    envelope = json.loads(notice.body)
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == result.message_id
    assert envelope["TopicArn"] == topic
    assert envelope["Subject"] == 'OK: "svc-cpu-high" in US East (N. Virginia)'
    assert envelope["Timestamp"] == "2026-11-18T08:26:40.000Z"
    message = json.loads(envelope["Message"])
    assert (message["AlarmName"], message["OldStateValue"], message["NewStateValue"]) == ("svc-cpu-high", "ALARM", "OK")


def test_a_dead_smtp_sink_is_a_clear_error_naming_it(sns: Any, topic: str, clock: ManualClock) -> None:
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    port = free_port()  # nothing listens here
    delivery = SnsDelivery(sns, "127.0.0.1", port, clock)
    with pytest.raises(CloudError, match=rf"ops@example\.com.*127\.0\.0\.1:{port}"):
        delivery.confirm_pending([topic])


def test_a_missing_topic_is_a_clear_error(sns: Any, delivery: SnsDelivery) -> None:
    missing = f"arn:aws:sns:us-east-1:{ACCOUNT}:no-such-topic"
    with pytest.raises(CloudError, match="no-such-topic"):
        delivery.publish_alarm(missing, Alarm(), "OK", "ALARM", REASON, None, T_ALARM)


def test_smtp_host_must_be_loopback(sns: Any, clock: ManualClock) -> None:
    with pytest.raises(ConfigError, match="10.0.0.1"):
        SnsDelivery(sns, "10.0.0.1", 25, clock)


def test_the_async_wrappers_run_from_an_event_loop_and_mails_stay_plain_text(
    sns: Any, topic: str, delivery: SnsDelivery, box: Mailbox
) -> None:
    import asyncio

    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")

    async def main() -> None:
        await delivery.aconfirm_pending([topic])
        await delivery.apublish_alarm(topic, Alarm(), "OK", "ALARM", REASON, None, T_ALARM)

    asyncio.run(main())
    [notice] = box.find(subject_prefix="ALARM:")
    # ASCII lines under 998 characters are stored 7bit: the file itself reads as the mail text.
    assert "- Reason for State Change:    " + REASON in notice.path.read_text()
