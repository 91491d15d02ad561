"""The runner's pure parts: what a CPU load aims at, and how it corrects its aim."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.scenarios.runner import corrected_gain, target_utilization
from tests.scenarios.test_expect import ROLES


@pytest.mark.parametrize("spec, pct", [
    ({"above": "scale_out", "by": 15}, 85.0),
    ({"below": "scale_in", "by": 10}, 20.0),
    ({"above": "cpu_alert", "by": 8}, 93.0),
    # a list aims past every named role the stack has: the highest threshold up, the lowest down
    ({"above": ["scale_out", "cpu_alert"], "by": 8}, 93.0),
    ({"above": ["cpu_alert", "scale_out"], "by": 8}, 93.0),
    ({"below": ["scale_out", "scale_in"], "by": 10}, 20.0),
    ({"above": ["scale_out", "target_5xx"], "by": 8}, 78.0),  # a role the stack lacks (after the first) counts not
])
def test_a_cpu_load_aims_at_its_role_s_threshold_plus_or_minus_points(spec: dict[str, object], pct: float) -> None:
    assert target_utilization(spec, ROLES) == pct


def test_the_first_role_of_a_list_is_required() -> None:
    with pytest.raises(ConfigError, match="no alarm in the role 'target_5xx'"):
        target_utilization({"above": ["target_5xx", "scale_out"], "by": 8}, ROLES)


def test_a_cpu_load_outside_what_a_task_can_show_is_refused() -> None:
    with pytest.raises(ConfigError, match="outside"):
        target_utilization({"above": "cpu_alert", "by": 20}, ROLES)


@pytest.mark.parametrize("gain, target, measured, expected", [
    (1.0, 90.0, 90.0, 1.0),      # on target: no change
    (1.0, 90.0, 80.0, 1.125),    # short: more users, in proportion
    (1.0, 90.0, 30.0, 1.25),     # far short: one bounded step
    (1.0, 60.0, 90.0, 0.8),      # over: fewer users, one bounded step
    (2.9, 90.0, 10.0, 3.0),      # never beyond the total bound
    (0.55, 10.0, 90.0, 0.5),
    (1.3, 90.0, 0.0, 1.3),       # nothing measured: keep the aim
])
def test_the_aim_is_corrected_in_bounded_steps(gain: float, target: float, measured: float, expected: float) -> None:
    assert corrected_gain(gain, target, measured) == pytest.approx(expected)


@pytest.mark.parametrize("towards, target, measured, expected", [
    (+1, 60.0, 40.0, 1.1),      # a load held under a threshold creeps up on it
    (+1, 60.0, 80.0, 0.8),      # ... and backs off it at full step
    (-1, 40.0, 60.0, 1 / 1.1),  # a load held over a threshold creeps down on it
    (-1, 40.0, 20.0, 1.25),     # ... and climbs away at full step
    (+1, 60.0, 58.0, 60 / 58),  # small corrections are not cut
])
def test_a_step_towards_the_threshold_is_cautious(towards: int, target: float, measured: float,
                                                 expected: float) -> None:
    assert corrected_gain(1.0, target, measured, towards) == pytest.approx(expected)


@pytest.mark.parametrize("now, wait", [(120.0, 61.0), (119.0, 2.0), (150.5, 30.5)])
def test_phases_end_just_after_an_evaluation_minute(now: float, wait: float) -> None:
    from harness.scenarios.runner import grid_wait

    assert grid_wait(now) == pytest.approx(wait)


@pytest.mark.parametrize("now, expected", [(121.0, True), (121.9, True), (122.0, False), (120.5, False),
                                           (150.0, False), (61.2, True)])
def test_a_hold_that_reached_its_deadline_just_after_an_evaluation_is_on_the_grid(now: float, expected: bool) -> None:
    from harness.scenarios.runner import on_grid

    assert on_grid(now) is expected


def _step(**kw: object) -> object:
    from harness.scenarios import Hold, Step, Until

    fields = {"until": Until(kind="desired", value="max_capacity"), **kw}
    if fields["until"] is None:
        fields["hold"] = Hold(kind="cooldown", role="scale_in")
    return Step(phase="p", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("changes, start, holds, expected", [
    ({}, 121.0, True, True),                             # its condition holds as it starts on the grid
    ({}, 121.0, False, False),                           # not there yet: the phase runs
    ({}, 150.0, True, False),                            # off the grid (the first phase): it runs to the grid
    ({"until": None}, 121.0, True, False),               # a hold always holds
    ({"fault": "hang_tasks"}, 121.0, True, False),       # a fault is the phase's own doing
    ({"set_desired": "max_capacity"}, 121.0, True, False),
])
def test_a_phase_whose_condition_holds_as_it_starts_on_the_grid_ends_there(
        changes: dict[str, object], start: float, holds: bool, expected: bool) -> None:
    from harness.scenarios.runner import ends_as_it_starts

    assert ends_as_it_starts(_step(**changes), start, lambda: holds) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("start", "last_scaling", "end"), [
    (121.0, None, 481.0),      # no activity of the role yet: the cooldown counts from the phase's start
    (121.0, 60.0, 421.0),      # the activity a minute before: its cooldown runs out at 360, seen by 421
    (121.0, 120.0, 481.0),     # an activity at the phase's start minute: as from the start
    (901.0, 60.0, 961.0),      # ran out long ago: one evaluation inside the phase still
    (121.0, 300.0, 661.0),     # an activity after the start (the deadline is not before its cooldown)
])
def test_a_cooldown_hold_ends_an_evaluation_after_the_cooldown_from_the_last_activity(
        start: float, last_scaling: float | None, end: float) -> None:
    from harness.scenarios.runner import cooldown_hold_end, on_grid

    assert cooldown_hold_end(start, 300.0, last_scaling) == end
    assert on_grid(end)
