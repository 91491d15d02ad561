"""Roles are found from the deployed stack's structure, and scenario files are checked before a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import scenarios
from harness.errors import ConfigError
from harness.scenarios.roles import resolve
from harness.stack import StackModel


def test_the_template_s_alarms_get_their_roles(ecs_stack: StackModel) -> None:
    roles = resolve(ecs_stack)
    by_logical = {v: k for k, v in ecs_stack.logical_ids.items()}
    assert {role: by_logical[a.name] for role, a in roles.alarms.items()} == {
        "scale_out": "CPUUtilizationHighAlarm",
        "scale_in": "CPUUtilizationLowAlarm",
        "cpu_alert": "CPUTooHighAlarm",
        "target_5xx": "LoadBalancerTargetGroup5XXAlarm",
        "elb_5xx": "LoadBalancer5XXAlarm",
    }
    assert (roles.min_capacity, roles.max_capacity) == (2, 4)
    assert roles.cooldown("scale_out") == roles.cooldown("scale_in") == 300.0
    assert roles.emails == ("admin@example.com",)
    with pytest.raises(ConfigError, match="no alarm in the role 'nope'"):
        roles.alarm("nope")


def test_every_shipped_scenario_parses() -> None:
    names = scenarios.available()
    assert {"full-story", "scale-out", "scale-in", "5xx-alerts", "threshold-edge"} <= set(names)
    for name in names:
        assert scenarios.load(name).steps


@pytest.mark.parametrize("text, culprit", [
    ("steps: []", "non-empty `steps`"),
    ("steps: [{phase: a}]", "exactly one of `until` or `hold`"),
    ("steps: [{phase: a, until: {desired: max_capacity}, hold: {cooldown: scale_out}}]", "exactly one"),
    ("steps: [{phase: a, until: {email: nobody}}]", "names no role: 'nobody'"),
    ("steps: [{phase: a, until: {bogus: 1}}]", "unknown keys ['bogus']"),
    ("steps: [{phase: a, load: {cpu: {above: scale_out}}, until: {desired: desired}}]", "by: POINTS"),
    ("steps: [{phase: a, fault: melt, until: {desired: desired}}]", "unknown fault 'melt'"),
    ("steps: [{phase: a, until: {desired: desired}}]\nexpect: [{during: b, alarm: scale_out}]", "names no phase"),
    ("steps: [{phase: a, until: {desired: desired}}]\nexpect: [{explode: 1}]", "unknown keys ['explode']"),
    ("steps: [{phase: a, until: [1", "does not parse"),
])
def test_a_bad_scenario_file_is_named_with_its_fault(tmp_path: Path, text: str, culprit: str) -> None:
    path = tmp_path / "mine.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        scenarios.load(str(path))
    assert str(path) in str(err.value) and culprit in str(err.value)
