"""Composite alarms: the AlarmRule language and the composite's state, as pure functions.

A composite alarm "determines its alarm state by watching the alarm states of other alarms"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html, "Rule expressions";
the same grammar in https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html):

- `ALARM(x)`, `OK(x)`, `INSUFFICIENT_DATA(x)` are TRUE when alarm x (a name or an ARN, in double quotes or
  not) is in that state; `TRUE` and `FALSE` are constants;
- `AND`, `OR` and `NOT` combine them, parentheses group. NOT binds tighter than AND, AND tighter than OR (the
  documented examples, e.g. `ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)`, read so).
- The composite is in ALARM when its rule is TRUE and in OK when it is FALSE; "for a composite alarm, this
  initial time after creation is the only time that the alarm can be in INSUFFICIENT_DATA state"
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-compositealarm.html).
- "The evaluation of composite alarms stops if CloudWatch detects a cycle in the evaluation path"
  (API_PutCompositeAlarm): `evaluation_order` leaves the alarms of a cycle out.
- Actions suppression (PutCompositeAlarm `ActionsSuppressor`, `ActionsSuppressorExtensionPeriod`): actions are
  suppressed while the suppressor alarm is in ALARM, and for ExtensionPeriod seconds after it leaves ALARM.
  `ActionsSuppressorWaitPeriod` (waiting for a suppressor that has not gone to ALARM yet) is not modelled:
  the actions then run at once.

A small recursive-descent parser: the grammar has four productions and no library the project already
depends on parses it better.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "And",
    "ChildState",
    "CompositeAlarm",
    "CompositeDecision",
    "Const",
    "Not",
    "Or",
    "RuleError",
    "StateOf",
    "children",
    "composite_state",
    "evaluate",
    "evaluation_order",
    "parse_composite",
    "parse_rule",
    "reason_json",
    "suppressed_by",
]

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
FUNCTIONS = (ALARM, OK, INSUFFICIENT_DATA)


class RuleError(ValueError):
    """An AlarmRule that does not parse, or one that names an alarm that does not exist."""


# ------------------------------------------------------------------------------------------------ the tree


@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class StateOf:
    """`ALARM(x)`, `OK(x)` or `INSUFFICIENT_DATA(x)`."""

    state: str
    alarm: str  # a name or an ARN, as written (quotes removed)


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node = Const | StateOf | Not | And | Or

# ---------------------------------------------------------------------------------------------- the parser

_TOKEN = re.compile(r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<quoted>"(?:[^"\\]|\\.)*")|(?P<word>[^\s()"]+))')


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise RuleError(f"unexpected {text[pos:].strip()[:20]!r} at character {pos + 1}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def keyword(self, *words: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok[0] == "word" and tok[1].upper() in words:
            self.i += 1
            return tok[1].upper()
        return None

    def expect(self, kind: str, what: str) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None or tok[0] != kind:
            where = f"at character {tok[2] + 1}" if tok else "at the end"
            raise RuleError(f"expected {what} {where} of {self.text!r}")
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.toks:
            raise RuleError("the alarm rule is empty")
        node = self.or_()
        tok = self.peek()
        if tok is not None:
            raise RuleError(f"unexpected {tok[1]!r} at character {tok[2] + 1} of {self.text!r}")
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.keyword("OR"):
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.not_()]
        while self.keyword("AND"):
            items.append(self.not_())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_(self) -> Node:
        if self.keyword("NOT"):
            return Not(self.not_())
        return self.atom()

    def atom(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise RuleError(f"the alarm rule {self.text!r} ends where a term is expected")
        if tok[0] == "lp":
            self.i += 1
            node = self.or_()
            self.expect("rp", "')'")
            return node
        word = self.keyword("TRUE", "FALSE", *FUNCTIONS)
        if word in ("TRUE", "FALSE"):
            return Const(word == "TRUE")
        if word is None:
            raise RuleError(f"unexpected {tok[1]!r} at character {tok[2] + 1} of {self.text!r}: expected "
                            "ALARM(...), OK(...), INSUFFICIENT_DATA(...), TRUE, FALSE, NOT or '('")
        self.expect("lp", f"'(' after {word}")
        return StateOf(word, self.alarm_name(word))

    def alarm_name(self, function: str) -> str:
        tok = self.peek()
        if tok is not None and tok[0] == "quoted":
            self.i += 1
            name = re.sub(r"\\(.)", r"\1", tok[1][1:-1])
        else:
            # Unquoted: everything up to the closing parenthesis (names may hold spaces).
            start = tok[2] if tok else len(self.text)
            parts = []
            while (t := self.peek()) is not None and t[0] in ("word", "quoted"):
                parts.append(t)
                self.i += 1
            end = self.toks[self.i - 1][2] + len(self.toks[self.i - 1][1]) if parts else start
            name = self.text[start:end].strip()
        self.expect("rp", f"')' closing {function}(")
        if not name:
            raise RuleError(f"{function}() names no alarm in {self.text!r}")
        return name


def parse_rule(text: str) -> Node:
    """The AlarmRule as a tree; RuleError names what does not parse."""
    return _Parser(str(text)).parse()


def children(node: Node) -> tuple[str, ...]:
    """The alarms (names or ARNs, as written) the rule reads, first mention first."""
    out: dict[str, None] = {}

    def walk(n: Node) -> None:
        if isinstance(n, StateOf):
            out.setdefault(n.alarm, None)
        elif isinstance(n, Not):
            walk(n.operand)
        elif isinstance(n, (And, Or)):
            for o in n.operands:
                walk(o)

    walk(node)
    return tuple(out)


def evaluate(node: Node, states: Mapping[str, str]) -> bool:
    """The rule's value given each alarm's state, looked up by name or ARN (RuleError for one not there)."""
    if isinstance(node, Const):
        return node.value
    if isinstance(node, StateOf):
        if node.alarm not in states:
            raise RuleError(f"the alarm rule names alarm {node.alarm!r}, which does not exist")
        return states[node.alarm] == node.state
    if isinstance(node, Not):
        return not evaluate(node.operand, states)
    if isinstance(node, And):
        return all(evaluate(o, states) for o in node.operands)
    return any(evaluate(o, states) for o in node.operands)


# --------------------------------------------------------------------------------------- the alarm itself


@dataclass(frozen=True)
class CompositeAlarm:
    """A composite alarm as DescribeAlarms(AlarmTypes=[CompositeAlarm]) returns it."""

    name: str
    arn: str
    alarm_rule: str
    state_value: str = INSUFFICIENT_DATA
    state_reason: str = ""
    description: str | None = None
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    actions_enabled: bool = True
    actions_suppressor: str | None = None
    actions_suppressor_wait_period: int | None = None
    actions_suppressor_extension_period: int | None = None
    rule: Node = field(default=Const(False), compare=False, repr=False)


def parse_composite(item: Mapping[str, Any]) -> CompositeAlarm:
    """One `CompositeAlarms[]` entry of DescribeAlarms (RuleError if its rule does not parse)."""
    text = str(item.get("AlarmRule") or "")

    def _opt_int(key: str) -> int | None:
        value = item.get(key)
        return None if value in (None, "") else int(value)

    return CompositeAlarm(
        name=str(item["AlarmName"]),
        arn=str(item.get("AlarmArn", "")),
        alarm_rule=text,
        state_value=str(item.get("StateValue") or INSUFFICIENT_DATA),
        state_reason=str(item.get("StateReason") or ""),
        description=item.get("AlarmDescription") or None,
        alarm_actions=tuple(item.get("AlarmActions") or ()),
        ok_actions=tuple(item.get("OKActions") or ()),
        insufficient_data_actions=tuple(item.get("InsufficientDataActions") or ()),
        actions_enabled=bool(item.get("ActionsEnabled", True)),
        actions_suppressor=item.get("ActionsSuppressor") or None,
        actions_suppressor_wait_period=_opt_int("ActionsSuppressorWaitPeriod"),
        actions_suppressor_extension_period=_opt_int("ActionsSuppressorExtensionPeriod"),
        rule=parse_rule(text),
    )


@dataclass(frozen=True)
class ChildState:
    """A child alarm as the composite sees it: its state and when it last changed (epoch seconds)."""

    name: str
    arn: str
    state: str
    since: float


@dataclass(frozen=True)
class CompositeDecision:
    state: str
    reason: str
    reason_data: dict[str, Any]


def _aws_time(epoch: float) -> str:
    # CloudWatch's long form, as in metric alarms' reasons and mails: "Wednesday 02 December, 2026 05:44:00 UTC".
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%A %d %B, %Y %H:%M:%S UTC")


def _iso(epoch: float) -> str:
    d = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}+0000"


def composite_state(alarm: CompositeAlarm, kids: Mapping[str, ChildState]) -> CompositeDecision:
    """The composite's state from its rule and its children (`kids` by name AND by ARN).

    TRUE -> ALARM, FALSE -> OK. The reason names the child that changed last among those the rule reads
    (`triggeringAlarms` in StateReasonData, the shape DescribeAlarms shows for composites); a rule of constants
    names none.
    """
    value = evaluate(alarm.rule, {k: v.state for k, v in kids.items()})
    state = ALARM if value else OK
    read = [kids[c] for c in children(alarm.rule)]
    if not read:
        return CompositeDecision(state, f"The alarm rule {alarm.alarm_rule} evaluated to {'TRUE' if value else 'FALSE'}",
                                 {"triggeringAlarms": []})
    last = max(read, key=lambda k: k.since)
    return CompositeDecision(
        state,
        f"{last.arn or last.name} transitioned to {last.state} at {_aws_time(last.since)}",
        {"triggeringAlarms": [{"arn": last.arn or last.name,
                               "state": {"value": last.state, "timestamp": _iso(last.since)}}]},
    )


def reason_json(decision: CompositeDecision) -> str:
    return json.dumps(decision.reason_data)


def suppressed_by(alarm: CompositeAlarm, suppressor: Sequence[tuple[float, str, str]], suppressor_state: str | None,
                  now: float) -> str | None:
    """"Alarm" or "ExtensionPeriod" when the composite's actions are suppressed at `now`, else None.

    `suppressor` is the suppressor alarm's transitions (time, old, new), oldest first; `suppressor_state` its
    state now. https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html
    (ActionsSuppressor, ActionsSuppressorExtensionPeriod).
    """
    if not alarm.actions_suppressor:
        return None
    if suppressor_state == ALARM:
        return "Alarm"
    extension = alarm.actions_suppressor_extension_period or 0
    if extension and suppressor:
        t, old, new = suppressor[-1]
        if old == ALARM and new != ALARM and now - t < extension:
            return "ExtensionPeriod"
    return None


def evaluation_order(alarms: Iterable[CompositeAlarm]) -> tuple[list[CompositeAlarm], list[CompositeAlarm]]:
    """(composites children first, composites in or behind a cycle): a composite is evaluated after the
    composites its rule reads, so a change travels up a chain in one evaluation."""
    items = list(alarms)
    by_key: dict[str, CompositeAlarm] = {}
    for a in items:
        by_key[a.name] = a
        if a.arn:
            by_key[a.arn] = a
    done: list[CompositeAlarm] = []
    seen: set[str] = set()
    stuck: set[str] = set()

    def visit(a: CompositeAlarm, path: tuple[str, ...]) -> bool:
        if a.name in seen:
            return a.name not in stuck
        if a.name in path:
            return False
        ok = True
        for c in children(a.rule):
            child = by_key.get(c)
            if child is not None and not visit(child, (*path, a.name)):
                ok = False
        if a.name in seen:  # settled while its children were visited (a cycle through it)
            return a.name not in stuck
        seen.add(a.name)
        if ok:
            done.append(a)
        else:
            stuck.add(a.name)
        return ok

    for a in items:
        visit(a, ())
    return done, [a for a in items if a.name in stuck]
