"""SNS topic delivery by protocol, for what the emulator keeps but does not send: email.

moto's SNS stores topics and subscriptions and records every Publish, but sends no mail; it also creates
email subscriptions already confirmed (`PendingConfirmation` is "false", `ConfirmSubscription` is a stub that
checks only the topic and returns a fixed ARN, moto 5.2.5 `sns/models.py` `subscribe`, `sns/responses.py`
`confirm_subscription`). So this module:

- mails each `email` / `email-json` subscription the confirmation AWS sends first, once, and records it as
  confirmed in its own table (keyed by topic, protocol and endpoint, since on AWS an unconfirmed
  subscription's ARN is the literal "PendingConfirmation");
- on an alarm state change calls the real SNS Publish API (so the emulator records the message and delivers
  what it can itself, e.g. SQS) and mails every email subscription of the topic a notification in
  CloudWatch's format.
Other protocols (sqs, http/https, lambda, sms, application, firehose) are not delivered here: each shows up in
the result as not delivered, with the reason.

Docs: https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html (email subscriptions, confirmation),
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html (alarm actions),
https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html (email-json envelope).
The email text itself is not specified by AWS; it follows public samples of real CloudWatch alarm mails.

Everything that decides a mail's content is a pure function of its inputs (tested from tables); `SnsDelivery`
only does I/O (SNS API, SMTP). Its methods block (boto3, smtplib): from the harness's event loop call the
`a`-prefixed coroutines, which run them in a worker thread.
"""

from __future__ import annotations

import asyncio
import email.policy
import json
import secrets
import smtplib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol
from urllib.parse import quote

from harness.clock import Clock
from harness.cloudwatch.reason import java_double
from harness.errors import CloudError, ConfigError
from harness.net import is_loopback

__all__ = [
    "EMAIL_PROTOCOLS",
    "REGION_LONG_NAMES",
    "AlarmLike",
    "Delivery",
    "PublishResult",
    "SnsDelivery",
    "Subscription",
    "alarm_body",
    "alarm_message_json",
    "alarm_subject",
    "aws_timestamp",
    "confirmation_email",
    "notification_email",
    "region_long_name",
    "threshold_sentence",
]

# SNS sends mail for these two protocols only; email-json carries the JSON envelope instead of the text.
# https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html
EMAIL_PROTOCOLS = frozenset({"email", "email-json"})

# The sender every SNS mail shows.
SNS_FROM = '"AWS Notifications" <no-reply@sns.amazonaws.com>'
CONFIRMATION_SUBJECT = "AWS Notification - Subscription Confirmation"
# SNS rejects a Publish whose Subject is 100 characters or more.
# https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
MAX_SUBJECT = 99

# Region long names as CloudWatch writes them in alarm mails and in the JSON "Region" field
# (public samples: "US East (N. Virginia)", "US West (Oregon)", "EU (Ireland)", "Asia Pacific (Tokyo)").
REGION_LONG_NAMES: Mapping[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "ca-central-1": "Canada (Central)",
    "sa-east-1": "South America (Sao Paulo)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-central-2": "EU (Zurich)",
    "eu-north-1": "EU (Stockholm)",
    "eu-south-1": "EU (Milan)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "me-south-1": "Middle East (Bahrain)",
    "af-south-1": "Africa (Cape Town)",
}


class AlarmLike(Protocol):
    """What the notifier reads from an alarm (the cloudwatch package's alarm model fits, duck-typed)."""

    name: str
    arn: str
    description: str | None
    namespace: str
    metric_name: str
    dimensions: Mapping[str, str]
    statistic: str | None
    extended_statistic: str | None
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int | None
    threshold: float
    comparison_operator: str
    treat_missing_data: str | None
    alarm_actions: Sequence[str]
    ok_actions: Sequence[str]
    insufficient_data_actions: Sequence[str]


@dataclass(frozen=True)
class Subscription:
    topic_arn: str
    protocol: str
    endpoint: str
    arn: str  # on AWS, "PendingConfirmation" until confirmed

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.topic_arn, self.protocol, self.endpoint)


@dataclass(frozen=True)
class Delivery:
    """The outcome for one subscription: mailed, or why not."""

    subscription: Subscription
    delivered: bool
    kind: str  # "confirmation" | "notification"
    detail: str  # the Message-ID when delivered, else the reason


@dataclass(frozen=True)
class PublishResult:
    message_id: str  # as returned by the SNS Publish API
    subject: str
    deliveries: tuple[Delivery, ...]

    @property
    def mailed(self) -> list[str]:
        return [d.subscription.endpoint for d in self.deliveries if d.delivered and d.kind == "notification"]


# ---------------------------------------------------------------------------------------------------------------
# Pure formatting


def region_long_name(region: str) -> str:
    """The long name CloudWatch puts in subjects; an unknown Region is shown by its code."""
    return REGION_LONG_NAMES.get(region, region)


def _utc(timestamp: float | datetime) -> datetime:
    if isinstance(timestamp, datetime):
        return timestamp.astimezone(timezone.utc) if timestamp.tzinfo else timestamp.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(timestamp), tz=timezone.utc)


def aws_timestamp(timestamp: float | datetime) -> str:
    """`Monday 05 August, 2019 17:04:03 UTC`, the date format of CloudWatch alarm mails."""
    return _utc(timestamp).strftime("%A %d %B, %Y %H:%M:%S UTC")


def _iso_millis(timestamp: float | datetime, z: bool) -> str:
    dt = _utc(timestamp)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{dt.microsecond // 1000:03d}"
    return base + ("Z" if z else "+0000")


def _statistic(alarm: AlarmLike) -> str:
    return alarm.statistic or alarm.extended_statistic or ""


def _datapoints_to_alarm(alarm: AlarmLike) -> int:
    # DatapointsToAlarm defaults to EvaluationPeriods.
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
    return alarm.datapoints_to_alarm or alarm.evaluation_periods


def threshold_sentence(alarm: AlarmLike) -> str:
    """`The alarm is in the ALARM state when the metric is GreaterThanThreshold 70.0 for at least 1 of the last 1
    period(s) of 60 seconds.` (the M-of-N wording CloudWatch mails have used since DatapointsToAlarm exists)."""
    return (
        f"The alarm is in the ALARM state when the metric is {alarm.comparison_operator} "
        f"{java_double(alarm.threshold)} for at least {_datapoints_to_alarm(alarm)} of the last "
        f"{alarm.evaluation_periods} period(s) of {int(alarm.period)} seconds."
    )


def alarm_subject(alarm_name: str, new_state: str, region: str) -> str:
    """`ALARM: "name" in US East (N. Virginia)`; cut to what SNS Publish accepts."""
    subject = f'{new_state}: "{alarm_name}" in {region_long_name(region)}'
    return subject if len(subject) <= MAX_SUBJECT else subject[: MAX_SUBJECT - 3] + "..."


def _actions(arns: Sequence[str]) -> str:
    # Printed as a Java list ("[a, b]"); an empty list leaves the line empty, as in real mails.
    return f"[{', '.join(arns)}]" if arns else ""


def _line(label: str, value: str, width: int) -> str:
    """`- Label:` then the value from column `width` (30 in Alarm Details, 39 in Monitored Metric, as in real
    mails; 0 means one space); an empty value leaves the line bare."""
    head = f"- {label}:"
    return (head.ljust(width) if width else head + " ") + value if value else head


def alarm_body(
    alarm: AlarmLike,
    old_state: str,
    new_state: str,
    reason: str,
    timestamp: float | datetime,
    region: str,
    account_id: str,
) -> str:
    """The text of the mail a CloudWatch alarm sends through an SNS email subscription (before SNS's footer)."""
    when = aws_timestamp(timestamp)
    long_region = region_long_name(region)
    console = (
        f"https://{region}.console.aws.amazon.com/cloudwatch/deeplink.js?region={region}"
        f"#alarmsV2:alarm/{quote(alarm.name, safe='')}"
    )
    details = [
        _line("Name", alarm.name, 30),
        *([_line("Description", alarm.description, 30)] if alarm.description else []),
        _line("State Change", f"{old_state} -> {new_state}", 30),
        _line("Reason for State Change", reason, 30),
        _line("Timestamp", when, 30),
        _line("AWS Account", account_id, 30),
        _line("Alarm Arn", alarm.arn, 30),
    ]
    actions = [
        _line("OK", _actions(alarm.ok_actions), 0),
        _line("ALARM", _actions(alarm.alarm_actions), 0),
        _line("INSUFFICIENT_DATA", _actions(alarm.insufficient_data_actions), 0),
    ]
    intro = (f'You are receiving this email because your Amazon CloudWatch Alarm "{alarm.name}" in the {long_region} '
             f'region has entered the {new_state} state, because "{reason}" at "{when}".')
    head = [intro, "", "View this alarm in the AWS Management Console:", console, "", "Alarm Details:", *details, ""]
    rule = getattr(alarm, "alarm_rule", None)
    if rule is not None:
        # A composite alarm watches no metric: its rule takes the Threshold and Monitored Metric sections.
        return "\n".join([*head, "Alarm Rule:", f"- {rule}", "", "", "State Change Actions:", *actions]) + "\n"
    dimensions = " ".join(f"[{k} = {v}]" for k, v in alarm.dimensions.items())
    unit = getattr(alarm, "unit", None) or "not specified"
    metric = [
        _line("MetricNamespace", alarm.namespace, 39),
        _line("MetricName", alarm.metric_name, 39),
        _line("Dimensions", dimensions, 39),
        _line("Period", f"{int(alarm.period)} seconds", 39),
        _line("Statistic", _statistic(alarm), 39),
        _line("Unit", unit, 39),
        # TreatMissingData defaults to "missing".
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
        _line("TreatMissingData", alarm.treat_missing_data or "missing", 39),
    ]
    parts = [
        *head,
        "Threshold:",
        f"- {threshold_sentence(alarm)}",
        "",
        "Monitored Metric:",
        *metric,
        "",
        "",
        "State Change Actions:",
        *actions,
    ]
    return "\n".join(parts) + "\n"


def alarm_message_json(
    alarm: AlarmLike,
    old_state: str,
    new_state: str,
    reason: str,
    timestamp: float | datetime,
    region: str,
    account_id: str,
) -> str:
    """The JSON message CloudWatch publishes to SNS (what email-json, SQS and Lambda subscribers receive);
    a composite alarm's carries its AlarmRule where a metric alarm's carries its Trigger."""
    message: dict[str, Any] = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account_id,
        "NewStateValue": new_state,
        "NewStateReason": reason,
        "StateChangeTime": _iso_millis(timestamp, z=False),
        "Region": region_long_name(region),
        "AlarmArn": alarm.arn,
        "OldStateValue": old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
    }
    rule = getattr(alarm, "alarm_rule", None)
    if rule is not None:
        message["AlarmRule"] = rule
        return json.dumps(message, separators=(",", ":"))
    trigger: dict[str, Any] = {
        "MetricName": alarm.metric_name,
        "Namespace": alarm.namespace,
        "StatisticType": "Statistic" if alarm.statistic else "ExtendedStatistic",
        "Statistic": (alarm.statistic or "").upper() if alarm.statistic else None,
        "Unit": getattr(alarm, "unit", None),
        "Dimensions": [{"value": v, "name": k} for k, v in alarm.dimensions.items()],
        "Period": int(alarm.period),
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": _datapoints_to_alarm(alarm),
        "ComparisonOperator": alarm.comparison_operator,
        "Threshold": float(alarm.threshold),
        "TreatMissingData": alarm.treat_missing_data or "missing",
        "EvaluateLowSampleCountPercentile": "",
    }
    if not alarm.statistic:
        trigger["ExtendedStatistic"] = alarm.extended_statistic
    message["Trigger"] = trigger
    return json.dumps(message, separators=(",", ":"))


def _sns_host(region: str) -> str:
    return f"https://sns.{region}.amazonaws.com"


def _envelope(
    kind: str, sub: Subscription, message_id: str, message: str, timestamp: float | datetime, region: str, **extra: str
) -> str:
    """The SNS JSON envelope email-json subscribers receive. Not signed: the harness holds no SNS signing key,
    so Signature / SigningCertURL are left out. https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html"""
    body: dict[str, str] = {"Type": kind, "MessageId": message_id}
    if "Token" in extra:
        body["Token"] = extra.pop("Token")
    body["TopicArn"] = sub.topic_arn
    if "Subject" in extra:
        body["Subject"] = extra.pop("Subject")
    body["Message"] = message
    body.update(extra)
    body["Timestamp"] = _iso_millis(timestamp, z=True)
    body["SignatureVersion"] = "1"
    return json.dumps(body, indent=2)


# Lines up to SMTP's 998-character limit (RFC 5322 section 2.1.1) stay 7bit, so an ASCII mail is readable as
# plain text in the Maildir file; longer or non-ASCII text is quoted-printable, as mail clients expect.
_POLICY = email.policy.default.clone(max_line_length=998)


def _new_message(subject: str, to: str, timestamp: float | datetime) -> EmailMessage:
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = SNS_FROM
    msg["To"] = to
    msg["Subject"] = subject
    # Template time, not the wall clock: the mail is dated when the alarm changed state.
    msg["Date"] = format_datetime(_utc(timestamp))
    msg["Message-ID"] = f"<{uuid.uuid4()}@email.amazonses.com>"
    return msg


def confirmation_email(sub: Subscription, token: str, timestamp: float | datetime, region: str) -> EmailMessage:
    """The first mail SNS sends a new email / email-json subscription.
    https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html"""
    topic = sub.topic_arn
    msg = _new_message(CONFIRMATION_SUBJECT, sub.endpoint, timestamp)
    if sub.protocol == "email-json":
        url = f"{_sns_host(region)}/?Action=ConfirmSubscription&TopicArn={topic}&Token={token}"
        text = (
            f"You have chosen to subscribe to the topic {topic}.\n"
            "To confirm the subscription, visit the SubscribeURL included in this message."
        )
        msg.set_content(
            _envelope(
                "SubscriptionConfirmation", sub, str(uuid.uuid4()), text, timestamp, region, Token=token, SubscribeURL=url
            )
            + "\n"
        )
        return msg
    url = f"{_sns_host(region)}/confirmation.html?TopicArn={topic}&Token={token}&Endpoint={quote(sub.endpoint, safe='@')}"
    opt_out = (
        "Please do not reply directly to this email. If you wish to remove yourself from receiving all future SNS "
        "subscription confirmation requests please send an email to sns-opt-out"
    )
    msg.set_content(
        f"You have chosen to subscribe to the topic: \n{topic}\n\n"
        "To confirm this subscription, click or visit the link below (If this was in error no action is necessary): \n"
        f"Confirm subscription: {url}\n\n{opt_out}\n"
    )
    msg.add_alternative(
        f"<html><body><p>You have chosen to subscribe to the topic: <br>{topic}</p>"
        "<p>To confirm this subscription, click or visit the link below (If this was in error no action is "
        f'necessary): <br><a href="{url}">Confirm subscription</a></p>'
        '<p><small>Please do not reply directly to this email. If you wish to remove yourself from receiving all '
        'future SNS subscription confirmation requests please send an email to '
        '<a href="mailto:sns-opt-out@amazon.com">sns-opt-out</a></small></p></body></html>\n',
        subtype="html",
    )
    return msg


def notification_email(
    sub: Subscription,
    subject: str,
    text: str,
    json_message: str,
    message_id: str,
    timestamp: float | datetime,
    region: str,
) -> EmailMessage:
    """One SNS notification mail: `email` gets the text plus SNS's unsubscribe footer, `email-json` the envelope."""
    msg = _new_message(subject, sub.endpoint, timestamp)
    if sub.protocol == "email-json":
        unsubscribe = f"{_sns_host(region)}/?Action=Unsubscribe&SubscriptionArn={sub.arn}"
        msg.set_content(
            _envelope(
                "Notification", sub, message_id, json_message, timestamp, region, Subject=subject,
                UnsubscribeURL=unsubscribe,
            )
            + "\n"
        )
        return msg
    unsubscribe = f"{_sns_host(region)}/unsubscribe.html?SubscriptionArn={sub.arn}&Endpoint={sub.endpoint}"
    footer = (
        "\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link below "
        f"to unsubscribe:\n{unsubscribe}\n\nPlease do not reply directly to this email. If you have any questions or "
        "comments regarding this email, please contact us at https://aws.amazon.com/support\n"
    )
    msg.set_content(text.rstrip("\n") + footer)
    return msg


def _not_mailed(sub: Subscription, kind: str) -> Delivery:
    return Delivery(
        sub,
        False,
        kind,
        f"the harness mails only email and email-json subscriptions; the {sub.protocol} subscription "
        f"{sub.arn} to {sub.endpoint} is left to the emulator",
    )


# ---------------------------------------------------------------------------------------------------------------
# I/O


@dataclass(frozen=True)
class _Confirmation:
    token: str
    at: float


class SnsDelivery:
    """Mails what SNS would mail, through the local SMTP sink; the SNS API stays the source of topics.

    `account_id` defaults to the account in each topic's ARN.
    """

    def __init__(
        self,
        sns_client: Any,
        smtp_host: str,
        smtp_port: int,
        clock: Clock,
        region: str = "us-east-1",
        account_id: str | None = None,
        smtp_timeout: float = 10.0,
    ) -> None:
        if not is_loopback(smtp_host):
            raise ConfigError(f"The SMTP server for SNS email must be on a loopback address, not {smtp_host!r}.")
        self._sns = sns_client
        self.smtp_host = smtp_host
        self.smtp_port = int(smtp_port)
        self._clock = clock
        self.region = region
        self._account_id = account_id
        self._smtp_timeout = smtp_timeout
        self._confirmed: dict[tuple[str, str, str], _Confirmation] = {}

    # -- reading the emulator

    def subscriptions(self, topic_arn: str) -> list[Subscription]:
        """Every subscription of the topic, through ListSubscriptionsByTopic (all pages)."""
        out: list[Subscription] = []
        try:
            pages = self._sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
            for page in pages:
                for item in page.get("Subscriptions", []):
                    out.append(
                        Subscription(
                            topic_arn=str(item.get("TopicArn", topic_arn)),
                            protocol=str(item["Protocol"]),
                            endpoint=str(item["Endpoint"]),
                            arn=str(item["SubscriptionArn"]),
                        )
                    )
        except Exception as exc:  # botocore ClientError / EndpointConnectionError
            raise CloudError(f"Cannot list the subscriptions of SNS topic {topic_arn}: {exc}") from exc
        return out

    def is_confirmed(self, sub: Subscription) -> bool:
        return sub.key in self._confirmed

    # -- confirmation

    def confirm_pending(self, topic_arns: Iterable[str]) -> list[Delivery]:
        """Mail the subscription confirmation to every email / email-json subscription not confirmed yet, then
        confirm it (the harness plays the user who clicks the link). Idempotent: one mail per subscription."""
        results: list[Delivery] = []
        for topic_arn in topic_arns:
            for sub in self.subscriptions(topic_arn):
                if sub.protocol not in EMAIL_PROTOCOLS:
                    results.append(_not_mailed(sub, "confirmation"))
                elif not self.is_confirmed(sub):
                    results.append(self._confirm(sub))
        return results

    def _confirm(self, sub: Subscription) -> Delivery:
        token = secrets.token_hex(64)
        now = self._clock.now()
        msg = confirmation_email(sub, token, now, self._region_of(sub.topic_arn))
        self._send(msg, sub.endpoint)
        # The click on the link: AWS's ConfirmSubscription. moto accepts any token (a stub); an endpoint that
        # checks tokens rejects ours, which is fine: the harness's own record is what delivery relies on.
        try:
            self._sns.confirm_subscription(TopicArn=sub.topic_arn, Token=token)
        except Exception:  # noqa: BLE001 - best effort, see above
            pass
        self._confirmed[sub.key] = _Confirmation(token, now)
        return Delivery(sub, True, "confirmation", str(msg["Message-ID"]))

    # -- alarm notifications

    def publish_alarm(
        self,
        topic_arn: str,
        alarm: AlarmLike,
        old_state: str,
        new_state: str,
        reason: str,
        reason_data: str | None,
        timestamp: float | datetime,
    ) -> PublishResult:
        """Publish an alarm state change to the topic as CloudWatch does, then mail every email subscription.

        `reason_data` (the alarm's StateReasonData) is accepted for the caller's record; CloudWatch's SNS message
        does not carry it. A subscription still unconfirmed is confirmed first (its confirmation mail precedes the
        notification), since the harness always plays the user who confirms.
        """
        del reason_data
        region = self._region_of(topic_arn)
        account = self._account_id or _account_of(topic_arn)
        subject = alarm_subject(alarm.name, new_state, region)
        text = alarm_body(alarm, old_state, new_state, reason, timestamp, region, account)
        as_json = alarm_message_json(alarm, old_state, new_state, reason, timestamp, region, account)
        try:
            # One Publish per state change: JSON for every protocol, the readable text for email.
            response = self._sns.publish(
                TopicArn=topic_arn,
                Subject=subject,
                MessageStructure="json",
                Message=json.dumps({"default": as_json, "email": text}),
            )
        except Exception as exc:
            raise CloudError(f"SNS Publish to topic {topic_arn} for alarm {alarm.name} failed: {exc}") from exc
        message_id = str(response["MessageId"])
        deliveries: list[Delivery] = []
        for sub in self.subscriptions(topic_arn):
            if sub.protocol not in EMAIL_PROTOCOLS:
                deliveries.append(_not_mailed(sub, "notification"))
                continue
            if not self.is_confirmed(sub):
                deliveries.append(self._confirm(sub))
            msg = notification_email(sub, subject, text, as_json, message_id, timestamp, region)
            self._send(msg, sub.endpoint)
            deliveries.append(Delivery(sub, True, "notification", str(msg["Message-ID"])))
        return PublishResult(message_id, subject, tuple(deliveries))

    async def aconfirm_pending(self, topic_arns: Iterable[str]) -> list[Delivery]:
        return await asyncio.to_thread(self.confirm_pending, list(topic_arns))

    async def apublish_alarm(
        self,
        topic_arn: str,
        alarm: AlarmLike,
        old_state: str,
        new_state: str,
        reason: str,
        reason_data: str | None,
        timestamp: float | datetime,
    ) -> PublishResult:
        return await asyncio.to_thread(
            self.publish_alarm, topic_arn, alarm, old_state, new_state, reason, reason_data, timestamp
        )

    # -- helpers

    def _region_of(self, topic_arn: str) -> str:
        parts = topic_arn.split(":")
        return parts[3] if len(parts) > 5 and parts[3] else self.region

    def _send(self, msg: EmailMessage, to: str) -> None:
        try:
            with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self._smtp_timeout) as smtp:
                smtp.send_message(msg, from_addr="no-reply@sns.amazonaws.com", to_addrs=[to])
        except (OSError, smtplib.SMTPException) as exc:
            raise CloudError(
                f"Cannot deliver SNS mail to {to} through the SMTP sink at {self.smtp_host}:{self.smtp_port}: {exc}"
            ) from exc


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) < 6 or not parts[4]:
        raise ConfigError(f"{arn!r} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>).")
    return parts[4]
