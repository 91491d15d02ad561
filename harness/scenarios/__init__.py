"""Scenarios are data: a YAML file per scenario, with phases of load and the expectations to check.

A scenario names *roles* (`scale_out`, `scale_in`, `cpu_alert`, `target_5xx`, `elb_5xx`) and stack
quantities (`desired`, `min_capacity`, `max_capacity`), never a threshold or a capacity: those are
resolved against the deployed stack (see `roles.py`), so one scenario fits any template of this shape.

    name: scale-out
    steps:
      - phase: cpu-high
        load: {ping: 1, cpu: {above: scale_out, by: 15}}   # 15 points above that alarm's threshold
                                                            #    ({above: [ROLE, ...]}: past all of them)
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

A file is checked whole when it is loaded, before anything starts: its shape against the JSON Schema
`scenario.schema.json` (types, user counts, `by`, roles, unknown keys), then what a schema cannot say
(exactly one of `until`/`hold`, `above` or `below`, a `during` that names a phase); the first fault is
one line naming the file, the step (number and phase) or expectation, and the field. What comes out
is typed: frozen dataclasses (`Step`, `Load`, `CpuLoad`, `Until`, `Hold`, `Expectation`). Each of
them also reads as the file's mapping (`step.load.get("cpu")`, `e["during"]`), for code written
against the dicts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml

from harness import resources
from harness.errors import ConfigError
from harness.scenarios.roles import ROLE_NAMES

HERE = resources.scenarios()  # package data: found from any folder
SCHEMA_PATH = HERE / "scenario.schema.json"
DEFAULT = "full-story"
QUANTITIES = ("desired", "min_capacity", "max_capacity")
UNTIL_KEYS = ("healthy", "desired", "email", "scaled")
HOLD_KEYS = ("cooldown", "evaluations")
FAULTS = ("hang_tasks",)
EXPECT_KEYS = ("alarm_follows_crossing", "scales_to", "never_above", "never_below", "cooldown_respected", "email")
DURING_KEYS = ("alarm", "no_alarm", "scaling", "no_scaling")


class _ReadsAsMapping(Mapping[str, Any]):
    """A typed value that also reads as the mapping it was written as in the file."""

    def _items(self) -> dict[str, Any]:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self._items()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def __repr__(self) -> str:
        return repr(self._items())

    def __eq__(self, other: object) -> bool:  # equal to the file's mapping, and to a typed value with the same
        return self._items() == dict(other.items()) if isinstance(other, Mapping) else NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._items().items())))


@dataclass(frozen=True, repr=False, eq=False)
class CpuLoad(_ReadsAsMapping):
    """`{above|below: ROLE, by: POINTS}`: the role's alarm threshold plus or minus POINTS of CPU.
    `{above: [ROLE, ...], by: POINTS}` aims past every one of them the stack has (the first is required):
    a load that must cross one alarm's threshold and stay clear of another's."""

    side: Literal["above", "below"]
    roles: tuple[str, ...]
    by: float

    def _items(self) -> dict[str, Any]:
        return {self.side: self.roles[0] if len(self.roles) == 1 else list(self.roles), "by": self.by}


@dataclass(frozen=True, repr=False, eq=False)
class Load(_ReadsAsMapping):
    """A phase's load: light ping users, error users, and a CPU load aimed at a threshold."""

    ping: int = 0
    errors: int = 0
    cpu: CpuLoad | None = None

    def _items(self) -> dict[str, Any]:
        items: dict[str, Any] = {"ping": self.ping, "errors": self.errors, "cpu": self.cpu}
        return {k: v for k, v in items.items() if v}


@dataclass(frozen=True, repr=False, eq=False)
class Until(_ReadsAsMapping):
    """The condition that ends a phase: `healthy: desired`, `desired: QUANTITY`, `email: ROLE`, `scaled: ROLE`."""

    kind: Literal["healthy", "desired", "email", "scaled"]
    value: str

    def _items(self) -> dict[str, Any]:
        return {self.kind: self.value}


@dataclass(frozen=True, repr=False, eq=False)
class Hold(_ReadsAsMapping):
    """How long a phase holds: a scaling role's cooldown (from its last scaling activity, runner.cooldown_hold_end),
    or `count` evaluations of a role's alarm."""

    kind: Literal["cooldown", "evaluations"]
    role: str
    count: int = 1

    def _items(self) -> dict[str, Any]:
        return {self.kind: self.role, "count": self.count} if self.kind == "evaluations" else {self.kind: self.role}


@dataclass(frozen=True, repr=False, eq=False)
class Expectation(_ReadsAsMapping):
    """One expectation: `kind` (scales_to, email, ... or, within `during` a phase, alarm/no_alarm/
    scaling/no_scaling) about `subject` (a role or a quantity)."""

    kind: str
    subject: str
    during: str | None = None

    def _items(self) -> dict[str, Any]:
        return {"during": self.during, self.kind: self.subject} if self.during else {self.kind: self.subject}


@dataclass(frozen=True)
class Step:
    phase: str
    load: Load = field(default_factory=Load)
    until: Until | None = None
    hold: Hold | None = None
    fault: str | None = None
    set_desired: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    steps: tuple[Step, ...]
    expect: tuple[Expectation, ...]
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
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"scenario {path} cannot be read: {err}") from err
    return parse(raw, path)


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The scenario file's JSON Schema (scenario.schema.json, shipped next to the scenarios)."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


def parse(raw: Any, path: Path) -> Scenario:
    """The typed scenario of a loaded YAML document; ConfigError naming file, step and field otherwise."""

    def bad(msg: str) -> ConfigError:
        return ConfigError(f"scenario {path}: {msg}")

    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list) or not raw["steps"]:
        raise bad("needs a non-empty `steps` list")
    for i, s in enumerate(raw["steps"]):
        if not isinstance(s, dict) or "phase" not in s:
            raise bad(f"step {i + 1} needs a `phase` name")
    _check_schema(raw, bad)

    steps = []
    for i, s in enumerate(raw["steps"]):
        where = f"step {i + 1} (phase {s['phase']!r})"
        if ("until" in s) == ("hold" in s):
            raise bad(f"{where} needs exactly one of `until` or `hold`")
        load_spec = s.get("load") or {}
        cpu = load_spec.get("cpu")
        if cpu is not None and len({"above", "below"} & set(cpu)) != 1:
            raise bad(f"{where}: `load.cpu` must be {{above: ROLE, by: POINTS}} or {{below: ROLE, by: POINTS}}")
        hold = s.get("hold")
        if hold is not None:
            if len(set(HOLD_KEYS) & set(hold)) != 1:
                raise bad(f"{where}: `hold` needs exactly one of {', '.join(HOLD_KEYS)}")
            if "count" in hold and "evaluations" not in hold:
                raise bad(f"{where}: `hold.count` counts evaluations; give `evaluations: ROLE` with it")
        ((until_kind, until_value),) = (s["until"] or {}).items() if "until" in s else ((None, None),)
        steps.append(Step(
            phase=s["phase"],
            load=Load(ping=int(load_spec.get("ping", 0)), errors=int(load_spec.get("errors", 0)),
                      cpu=None if cpu is None else CpuLoad(side="above" if "above" in cpu else "below",
                                                           roles=_role_list(cpu.get("above") or cpu["below"]),
                                                           by=float(cpu["by"]))),
            until=None if until_kind is None else Until(kind=until_kind, value=str(until_value)),
            hold=None if hold is None else Hold(kind="cooldown" if "cooldown" in hold else "evaluations",
                                                role=hold.get("cooldown") or hold["evaluations"],
                                                count=int(hold.get("count", 1))),
            fault=s.get("fault"), set_desired=s.get("set_desired")))
    names = [s.phase for s in steps]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise bad(f"phase names must be unique; {', '.join(map(repr, twice))} is used more than once")

    expect = []
    for i, e in enumerate(raw.get("expect") or []):
        where = f"expectation {i + 1} ({_flow(e)})"
        if "during" in e:
            if e["during"] not in names:
                raise bad(f"{where} names no phase of this scenario: {e['during']!r} (phases: {', '.join(names)})")
            kinds = [k for k in e if k != "during"]
            if len(kinds) != 1 or kinds[0] not in DURING_KEYS:
                raise bad(f"{where}: with `during` give exactly one of {', '.join(DURING_KEYS)}")
        else:
            kinds = list(e)
            if len(kinds) != 1 or kinds[0] not in EXPECT_KEYS:
                raise bad(f"{where}: give exactly one of {', '.join(EXPECT_KEYS)} (or `during: PHASE` with one of "
                          f"{', '.join(DURING_KEYS)})")
        expect.append(Expectation(kind=kinds[0], subject=str(e[kinds[0]]), during=e.get("during")))
    return Scenario(name=str(raw.get("name") or path.stem), description=str(raw.get("description") or ""),
                    steps=tuple(steps), expect=tuple(expect), path=path)


def _check_schema(raw: dict[str, Any], bad: Any) -> None:
    """The first schema fault (in file order) as one line: where (step/expectation), the field, the fault."""
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(raw), key=lambda err: [str(p) for p in err.absolute_path])
    if not errors:
        return
    err = errors[0]
    while err.validator == "oneOf" and err.context:  # a role or a list of roles: the branch the value took
        err = min(err.context, key=lambda e: (-len(e.relative_path), e.validator == "type",
                                               e.validator == "enum" and isinstance(e.instance, list)))
    path = list(err.absolute_path)
    where = ""
    if len(path) >= 2 and path[0] == "steps":
        where = f"step {int(path[1]) + 1} (phase {raw['steps'][path[1]].get('phase')!r}): "
        path = path[2:]
    elif len(path) >= 2 and path[0] == "expect":
        where = f"expectation {int(path[1]) + 1} ({_flow(raw['expect'][path[1]])}): "
        path = path[2:]
    field_name = ".".join(str(p) for p in path)
    raise bad(f"{where}{'`' + field_name + '`: ' if field_name else ''}{_problem(err)}")


def _problem(err: jsonschema.ValidationError) -> str:
    value, spec = err.instance, err.validator_value
    if err.validator == "additionalProperties":
        known = sorted((err.schema.get("properties") or {}))
        unknown = sorted(set(value) - set(known)) if isinstance(value, dict) else []
        return f"unknown keys {unknown} (known: {', '.join(known)})"
    if err.validator == "enum":
        if set(spec) <= set(ROLE_NAMES):
            return f"names no role: {value!r} (roles here: {', '.join(spec)})"
        if tuple(spec) == FAULTS:
            return f"unknown fault {value!r} (known: {', '.join(FAULTS)})"
        return f"{value!r} is not one of {', '.join(map(str, spec))}"
    if err.validator == "const":
        return f"{value!r}: the only value here is {spec!r}"
    if err.validator in ("type", "minimum", "maximum", "exclusiveMinimum", "minItems", "minLength"):
        what = {"type": f"must be of type {spec}", "minimum": f"must be at least {spec}",
                "maximum": f"must be at most {spec}", "exclusiveMinimum": f"must be more than {spec}",
                "minItems": "must not be empty", "minLength": "must not be empty"}[str(err.validator)]
        return f"{value!r} {what}"
    if err.validator in ("minProperties", "maxProperties"):
        return f"{_flow(value)} must have exactly one key" if err.schema.get("maxProperties") == 1 \
            else f"{_flow(value)} must not be empty"
    if err.validator == "required":
        missing = ", ".join(repr(k) for k in spec if k not in value)
        if "above" in (err.schema.get("properties") or {}):
            return f"must be {{above: ROLE, by: POINTS}} or {{below: ROLE, by: POINTS}} (missing {missing})"
        return f"missing {missing}"
    return str(err.message)


def _role_list(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _flow(value: Any) -> str:
    """A mapping as one line of YAML flow style, as the file writes it."""
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
