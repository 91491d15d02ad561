"""Scenario files: parsed into typed, frozen steps and expectations; every field checked when the file
is loaded (JSON Schema, then what a schema cannot say), the fault named on one line with the file, the
step (number and phase) or expectation, and the field."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jsonschema
import pytest
import yaml

from harness import scenarios
from harness.errors import ConfigError
from harness.scenarios import CpuLoad, Expectation, Hold, Load, Step, Until
from harness.scenarios.roles import ROLE_NAMES

OK_STEP = "{phase: a, until: {desired: desired}}"


@pytest.mark.parametrize("name", scenarios.available())
def test_every_shipped_scenario_is_valid_against_the_schema_and_typed(name: str) -> None:
    path = scenarios.HERE / f"{name}.yml"
    jsonschema.validate(yaml.safe_load(path.read_text()), scenarios.schema(),
                        cls=jsonschema.Draft202012Validator)
    s = scenarios.load(name)
    for step in s.steps:
        assert isinstance(step, Step) and isinstance(step.load, Load)
        assert (step.until is None) != (step.hold is None)
        assert step.until is None or isinstance(step.until, Until)
        assert step.hold is None or isinstance(step.hold, Hold)
        assert step.load.cpu is None or isinstance(step.load.cpu, CpuLoad)
    assert s.expect and all(isinstance(e, Expectation) for e in s.expect)


def test_the_schema_names_what_the_code_knows() -> None:
    defs = scenarios.schema()["$defs"]
    assert tuple(defs["role"]["enum"]) == ROLE_NAMES
    assert tuple(defs["quantity"]["enum"]) == scenarios.QUANTITIES
    assert tuple(defs["until"]["properties"]) == scenarios.UNTIL_KEYS
    assert set(defs["hold"]["properties"]) == {*scenarios.HOLD_KEYS, "count"}
    assert tuple(defs["step"]["properties"]["fault"]["enum"]) == scenarios.FAULTS
    assert set(defs["expectation"]["properties"]) == {*scenarios.EXPECT_KEYS, *scenarios.DURING_KEYS, "during"}


def test_typed_values_are_frozen_and_read_as_the_files_mapping() -> None:
    s = scenarios.load("threshold-edge")
    step = s.step("under-scale-out")
    assert step.load.cpu == CpuLoad(side="below", roles=("scale_out",), by=10.0)
    assert step.load == {"ping": 1, "cpu": {"below": "scale_out", "by": 10.0}} and step.load.get("errors") is None
    assert step.hold == Hold(kind="evaluations", role="scale_out", count=4)
    assert step.hold.get("count") == 4 and "cooldown" not in step.hold
    assert s.expect[0] == Expectation(kind="no_alarm", subject="scale_out", during="under-scale-out")
    assert s.expect[0] == {"during": "under-scale-out", "no_alarm": "scale_out"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.load.cpu.by = 99  # type: ignore[misc, union-attr]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.expect[0].kind = "alarm"  # type: ignore[misc]


@pytest.mark.parametrize(("text", "fault"), [
    # `by`
    ("steps: [{phase: a, until: {desired: desired}}, {phase: b, load: {cpu: {above: scale_out, by: -5}}, "
     "until: {desired: max_capacity}}]", "step 2 (phase 'b'): `load.cpu.by`: -5 must be more than 0"),
    ("steps: [{phase: a, load: {cpu: {below: scale_in, by: ten}}, until: {desired: desired}}]",
     "step 1 (phase 'a'): `load.cpu.by`: 'ten' must be of type number"),
    ("steps: [{phase: a, load: {cpu: {below: scale_in, by: 150}}, until: {desired: desired}}]",
     "step 1 (phase 'a'): `load.cpu.by`: 150 must be at most 100"),
    ("steps: [{phase: a, load: {cpu: {above: scale_out, below: scale_in, by: 5}}, until: {desired: desired}}]",
     "step 1 (phase 'a'): `load.cpu` must be {above: ROLE, by: POINTS} or {below: ROLE, by: POINTS}"),
    ("steps: [{phase: a, load: {cpu: {above: nobody, by: 5}}, until: {desired: desired}}]",
     "step 1 (phase 'a'): `load.cpu.above`: names no role: 'nobody'"),
    ("steps: [{phase: a, load: {cpu: {above: [scale_out, nobody], by: 5}}, until: {desired: desired}}]",
     "step 1 (phase 'a'): `load.cpu.above.1`: names no role: 'nobody'"),
    ("steps: [{phase: a, load: {cpu: {above: [], by: 5}}, until: {desired: desired}}]",
     "step 1 (phase 'a'): `load.cpu.above`: [] must not be empty"),
    # user counts
    ("steps: [{phase: a, load: {ping: -1}, until: {desired: desired}}]",
     "step 1 (phase 'a'): `load.ping`: -1 must be at least 0"),
    ("steps: [{phase: a, load: {errors: 2.5}, until: {desired: desired}}]",
     "step 1 (phase 'a'): `load.errors`: 2.5 must be of type integer"),
    ("steps: [{phase: a, load: {errors: many}}]", "step 1 (phase 'a'): `load.errors`: 'many' must be of type integer"),
    # hold roles
    ("steps: [{phase: a, hold: {cooldown: cpu_alert}}]",
     "step 1 (phase 'a'): `hold.cooldown`: names no role: 'cpu_alert' (roles here: scale_out, scale_in)"),
    ("steps: [{phase: a, hold: {evaluations: nobody, count: 2}}]",
     "step 1 (phase 'a'): `hold.evaluations`: names no role: 'nobody'"),
    ("steps: [{phase: a, hold: {cooldown: scale_out, evaluations: scale_in}}]",
     "step 1 (phase 'a'): `hold` needs exactly one of cooldown, evaluations"),
    ("steps: [{phase: a, hold: {cooldown: scale_out, count: 3}}]",
     "step 1 (phase 'a'): `hold.count` counts evaluations; give `evaluations: ROLE` with it"),
    ("steps: [{phase: a, hold: {evaluations: scale_out, count: 0}}]",
     "step 1 (phase 'a'): `hold.count`: 0 must be at least 1"),
    # until
    ("steps: [{phase: a, until: {desired: desired, email: cpu_alert}}]",
     "step 1 (phase 'a'): `until`: {desired: desired, email: cpu_alert} must have exactly one key"),
    ("steps: [{phase: a, until: {healthy: max_capacity}}]",
     "step 1 (phase 'a'): `until.healthy`: 'max_capacity': the only value here is 'desired'"),
    ("steps: [{phase: a, until: {scaled: cpu_alert}}]", "step 1 (phase 'a'): `until.scaled`: names no role: 'cpu_alert'"),
    ("steps: [{phase: a, until: {desired: lots}}]",
     "step 1 (phase 'a'): `until.desired`: 'lots' is not one of desired, min_capacity, max_capacity"),
    # unknown keys, anywhere
    ("steps: [{phase: a, lod: {ping: 1}, until: {desired: desired}}]", "step 1 (phase 'a'): unknown keys ['lod']"),
    ("steps: [{phase: a, load: {pings: 1}, until: {desired: desired}}]",
     "step 1 (phase 'a'): `load`: unknown keys ['pings'] (known: cpu, errors, ping)"),
    (f"steps: [{OK_STEP}]\nexpects: []", "unknown keys ['expects']"),
    (f"steps: [{OK_STEP}]\nexpect: [{{scales_to: max_capacity, emial: cpu_alert}}]",
     "expectation 1 ({emial: cpu_alert, scales_to: max_capacity}): unknown keys ['emial']"),
    # what a schema cannot say
    (f"steps: [{OK_STEP}]\nexpect: [{{scales_to: max_capacity, email: cpu_alert}}]",
     "expectation 1 ({email: cpu_alert, scales_to: max_capacity}): give exactly one of"),
    (f"steps: [{OK_STEP}]\nexpect: [{{during: a}}]", "expectation 1 ({during: a}): with `during` give exactly one of"),
    (f"steps: [{OK_STEP}]\nexpect: [{{during: a, email: cpu_alert}}]", "with `during` give exactly one of alarm"),
    (f"steps: [{OK_STEP}]\nexpect: [{{during: b, alarm: scale_out}}]",
     "expectation 1 ({alarm: scale_out, during: b}) names no phase of this scenario: 'b' (phases: a)"),
    (f"steps: [{OK_STEP}]\nexpect: [{{during: a, scaling: cpu_alert}}]", "`scaling`: names no role: 'cpu_alert'"),
    (f"steps: [{OK_STEP}, {OK_STEP}]", "phase names must be unique; 'a' is used more than once"),
])
def test_a_fault_is_named_with_file_step_and_field(tmp_path: Path, text: str, fault: str) -> None:
    path = tmp_path / "mine.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        scenarios.load(str(path))
    message = str(info.value)
    assert message.startswith(f"scenario {path}: ") and fault in message, message
    assert "\n" not in message
