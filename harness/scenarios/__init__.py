"""Scenarios are data: a YAML file per scenario, with phases of load and the expectations to check.

A scenario names *roles* (`scale_out`, `scale_in`, `cpu_alert`, `target_5xx`, `elb_5xx`) and stack
quantities (`desired`, `min_capacity`, `max_capacity`), never a threshold or a capacity: those are
resolved against the deployed stack (see `roles.py`), so one scenario fits any template of this shape.

    name: scale-out
    steps:
      - phase: cpu-high
        load: {ping: 1, cpu: {above: scale_out, by: 15}}   # 15 points above that alarm's threshold
        until: {desired: max_capacity}                      # or {healthy: desired}, {email: role},
                                                            #    {scaled: role}
      - phase: at-max
        hold: {cooldown: scale_out}                         # or {evaluations: role, count: k}
        fault: hang_tasks                                   # optional: SIGSTOP every running task
        set_desired: max_capacity                           # optional: UpdateService first
    expect:
      - {alarm_follows_crossing: scale_out}
      - {scales_to: max_capacity}
      - {during: at-max, no_scaling: scale_out}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness import resources
from harness.errors import ConfigError
from harness.scenarios.roles import ROLE_NAMES

HERE = resources.scenarios()  # package data: found from any folder
DEFAULT = "full-story"
QUANTITIES = ("desired", "min_capacity", "max_capacity")
UNTIL_KEYS = ("healthy", "desired", "email", "scaled")
HOLD_KEYS = ("cooldown", "evaluations")
FAULTS = ("hang_tasks",)
EXPECT_KEYS = ("alarm_follows_crossing", "scales_to", "never_above", "never_below", "cooldown_respected", "email")
DURING_KEYS = ("alarm", "no_alarm", "scaling", "no_scaling")


@dataclass(frozen=True)
class Step:
    phase: str
    load: dict[str, Any] = field(default_factory=dict)
    until: dict[str, Any] | None = None
    hold: dict[str, Any] | None = None
    fault: str | None = None
    set_desired: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    steps: tuple[Step, ...]
    expect: tuple[dict[str, Any], ...]
    path: Path

    def step(self, phase: str) -> Step:
        return next(s for s in self.steps if s.phase == phase)


def available() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.yml"))


def load(name_or_path: str | None) -> Scenario:
    """A shipped scenario by name (`full-story`), or a scenario file by path."""
    name = name_or_path or DEFAULT
    path = Path(name)
    if not (path.suffix in (".yml", ".yaml") and path.exists()):
        path = HERE / f"{name}.yml"
    if not path.is_file():
        raise ConfigError(f"no scenario {name!r}: give a file, or one of {', '.join(available())}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"scenario {path} does not parse: {err}") from err
    return parse(raw, path)


def parse(raw: Any, path: Path) -> Scenario:
    def bad(msg: str) -> ConfigError:
        return ConfigError(f"scenario {path}: {msg}")

    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list) or not raw["steps"]:
        raise bad("needs a non-empty `steps` list")
    steps = []
    for i, s in enumerate(raw["steps"]):
        if not isinstance(s, dict) or "phase" not in s:
            raise bad(f"step {i + 1} needs a `phase` name")
        where = f"phase {s['phase']!r}"
        unknown = set(s) - {"phase", "load", "until", "hold", "fault", "set_desired"}
        if unknown:
            raise bad(f"{where}: unknown keys {sorted(unknown)}")
        if ("until" in s) == ("hold" in s):
            raise bad(f"{where} needs exactly one of `until` or `hold`")
        _check_keys(s.get("until") or {}, UNTIL_KEYS, f"{where} until", bad)
        _check_keys(s.get("hold") or {}, HOLD_KEYS + ("count",), f"{where} hold", bad)
        _check_load(s.get("load") or {}, where, bad)
        if s.get("fault") not in (None, *FAULTS):
            raise bad(f"{where}: unknown fault {s['fault']!r} (known: {', '.join(FAULTS)})")
        if s.get("set_desired") not in (None, *QUANTITIES):
            raise bad(f"{where}: set_desired must be one of {', '.join(QUANTITIES)}")
        for key in ("email", "scaled"):
            if key in (s.get("until") or {}) and s["until"][key] not in ROLE_NAMES:
                raise bad(f"{where}: until {key} names no role: {s['until'][key]!r}")
        steps.append(Step(phase=s["phase"], load=s.get("load") or {}, until=s.get("until"), hold=s.get("hold"),
                          fault=s.get("fault"), set_desired=s.get("set_desired")))
    phases = {s.phase for s in steps}
    expect = []
    for e in raw.get("expect") or []:
        if not isinstance(e, dict):
            raise bad(f"expectation {e!r} is not a mapping")
        if "during" in e:
            if e["during"] not in phases:
                raise bad(f"expectation {e} names no phase of this scenario")
            _check_keys({k: v for k, v in e.items() if k != "during"}, DURING_KEYS, "expectation", bad)
        else:
            _check_keys(e, EXPECT_KEYS, "expectation", bad)
        expect.append(e)
    return Scenario(name=str(raw.get("name") or path.stem), description=str(raw.get("description") or ""),
                    steps=tuple(steps), expect=tuple(expect), path=path)


def _check_keys(d: dict[str, Any], allowed: tuple[str, ...], where: str, bad: Any) -> None:
    if not isinstance(d, dict):
        raise bad(f"{where} must be a mapping")
    unknown = set(d) - set(allowed)
    if unknown:
        raise bad(f"{where}: unknown keys {sorted(unknown)} (known: {', '.join(allowed)})")


def _check_load(load: dict[str, Any], where: str, bad: Any) -> None:
    _check_keys(load, ("ping", "errors", "cpu"), f"{where} load", bad)
    cpu = load.get("cpu")
    if cpu is not None:
        if not isinstance(cpu, dict) or len({"above", "below"} & set(cpu)) != 1 or "by" not in cpu:
            raise bad(f"{where} load cpu must be {{above: ROLE, by: POINTS}} or {{below: ROLE, by: POINTS}}")
        role = cpu.get("above") or cpu.get("below")
        if role not in ROLE_NAMES:
            raise bad(f"{where} load cpu names no role: {role!r}")
