"""The model loop on stacks deployed to the real embedded cloud and read back: exact virtual times, the live
evaluator's transitions on the same datapoints, AWS's text for a scale-in step that never matches, expectations.

Alarm rules: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
Step scaling: https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-step-scaling-policies.html
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cloud.clients import Aws
from harness.cloudwatch import evaluate as ev
from harness.model.engine import CPU, ELB_5XX, ModelConfig, run_model
from harness.errors import ConfigError
from harness.model.outputs import assumptions, check, summary
from harness.model.stacks import StackReader
from harness.model.traffic import DEFAULT_START, Trace, shape
from harness.stack import StackModel

DATA = Path(__file__).resolve().parent / "data"
S = DEFAULT_START
COST = ModelConfig(cost_ms=10.0)  # 256 CPU units per task (the template reserves none): 25 requests/s a task


def _times(result, kind: str, **match: object) -> list[float]:  # type: ignore[no-untyped-def]
    return [e.time for e in result.events if e.kind == kind and all(e.data.get(k) == v for k, v in match.items())]


def test_exact_virtual_times_of_a_scale_out(ecs_stack: StackModel) -> None:
    # Two tasks: 25 requests/s is 50 % CPU, 40 requests/s is 80 % (above the 70 % scale-out threshold).
    result = run_model(ecs_stack, shape("step:levels=25/40,minutes=5"), COST)
    high = ecs_stack.alarm("CPUUtilizationHighAlarm").name
    assert [m.cpu for m in result.minutes[:6]] == pytest.approx([50.0] * 5 + [80.0])
    # Minute 5 ([S+300, S+360)) breaches; the alarm is evaluated when that minute ends.
    assert _times(result, "alarm", name=high, new="ALARM") == [S + 360]
    assert _times(result, "scaling", description="Setting desired count to 3.") == [S + 360]
    # The scheduler reads the desired count on its next 5 s tick and starts one task ...
    started = [e for e in result.events if e.kind == "task" and e.data["action"] == "started"]
    assert [e.time for e in started] == [S, S, S + 365]
    new_task = started[-1].data["task_id"]
    # ... which listens after the 10 s start-up and serves after 2 health checks of 15 s (the target group's).
    assert _times(result, "task", task_id=new_task, action="running") == [S + 375]
    assert _times(result, "target", target=new_task, new="healthy") == [S + 405]
    # Minute 6 counts the new task from S+375: 24 CPU-s over 165 task-seconds of 0.25 vCPU.
    assert result.minutes[6].cpu == pytest.approx(2400 * 0.010 / (165 * 0.25) * 100)
    assert _times(result, "alarm", name=high, new="OK") == [S + 60, S + 420]
    assert result.t1 == S + 600


def _live_transitions(alarm, samples, minutes: int) -> list[tuple[float, str, str, str]]:  # type: ignore[no-untyped-def]
    """What the live evaluator's pure path (`assess`, bucketing raw samples) decides each minute."""
    state, out = ev.INITIAL_STATE, []
    for i in range(minutes):
        now = S + 60.0 * (i + 1)
        got = ev.assess(alarm, [s for s in samples if s[0] < now], now, current_state=state)
        if got.evaluation.state != state:
            out.append((now, state, got.evaluation.state, got.reason))
            state = got.evaluation.state
    return out


def test_a_trace_crossing_each_threshold_gives_the_live_evaluators_transitions(ecs_stack: StackModel) -> None:
    # 2..4 tasks: 0 to 120 requests/s crosses 30 % and 70 % and 85 %, and overloads (ELB 504s).
    trace = Trace("up-and-down", S, tuple([3.0] * 8 + [40.0] * 12 + [120.0] * 12 + [60.0] * 8 + [3.0] * 20))
    result = run_model(ecs_stack, trace, COST)
    # The datapoints the model published, as the live agent would sample them: six CPU samples a minute;
    # one 5XX count a minute in which there were any.
    cpu = [(m.start + 10.0 * k, m.cpu) for m in result.minutes if m.cpu is not None for k in range(6)]
    elb = [(m.start + 30.0, m.elb_5xx) for m in result.minutes if m.elb_5xx > 0]
    assert elb, "the trace must overload the service"
    checked = 0
    for alarm in ecs_stack.alarms:
        key = (alarm.namespace, alarm.metric_name)
        samples = cpu if key == CPU else elb if key == ELB_5XX else None
        if samples is None:
            continue
        model = [(e.time, e.data["old"], e.data["new"], e.data["reason"]) for e in result.events
                 if e.kind == "alarm" and e.data["name"] == alarm.name]
        assert model == _live_transitions(alarm, samples, trace.minutes), alarm.name
        assert any(new == "ALARM" for _, _, new, _ in model), f"{alarm.name} never crossed its threshold"
        checked += 1
    assert checked == 4  # three CPU alarms (one of 5-minute periods) and the ELB 5XX alarm


@pytest.fixture
def no_scale_in_stack(aws: Aws) -> Iterator[StackModel]:
    reader = StackReader(aws, DATA / "no-scale-in.yml", "model-no-scale-in")
    try:
        yield reader.read({"DesiredCount": "3"})
    finally:
        reader.close()


def test_a_scale_in_step_that_never_matches_shows_no_scale_in_with_awss_text(no_scale_in_stack: StackModel) -> None:
    # 3 tasks at 3 requests/s: 4 % CPU, far below the 30 % scale-in threshold, for ten minutes.
    result = run_model(no_scale_in_stack, shape("step:levels=3,minutes=10"), COST)
    low = no_scale_in_stack.alarm("CPUUtilizationLowAlarm").name
    assert _times(result, "alarm", name=low, new="ALARM") == [S + 60]
    assert not [e for e in result.events if e.kind == "scaling"]
    assert {m.desired for m in result.minutes} == {3}
    failed = [e for e in result.events if e.kind == "action"]
    # Invoked on the transition and again every minute it stays in ALARM.
    assert [e.time for e in failed] == [S + 60 * i for i in range(1, 11)]
    assert failed[0].data["summary"] == (
        "Failed to execute AutoScaling action: No step adjustment found for metric value [4] and breach threshold 30.0"
    )


def test_figures_and_model_expectations(ecs_stack: StackModel) -> None:
    result = run_model(ecs_stack, shape("step:levels=25/200/25,minutes=20"), COST)
    figures = summary(result)
    assert figures["peak_tasks"] == 4 and figures["minutes_at_max"] > 0
    assert figures["peak_utilization"] == pytest.approx(100.0)
    assert figures["elb_504"] > 0 and figures["5xx"] == figures["elb_5xx"]
    verdicts = check([{"max_utilization_below": 90.0}, {"no_errors": True}, {"scales_to": "max_capacity"},
                      {"never_above": "max_capacity"}], result)
    assert [v["passed"] for v in verdicts] == [False, False, True, True]
    calm = run_model(ecs_stack, shape("step:levels=20,minutes=30"), COST)
    assert [v["passed"] for v in check([{"max_utilization_below": 90.0}, {"no_errors": True}], calm)] == [True, True]
    # Task-hours: two tasks for 30 minutes.
    assert summary(calm)["task_hours"] == pytest.approx(1.0)


def test_noise_is_seeded(ecs_stack: StackModel) -> None:
    trace = shape("step:levels=25,minutes=30")
    a = run_model(ecs_stack, trace, ModelConfig(cost_ms=10.0, noise=0.1, seed=7))
    b = run_model(ecs_stack, trace, ModelConfig(cost_ms=10.0, noise=0.1, seed=7))
    c = run_model(ecs_stack, trace, ModelConfig(cost_ms=10.0, noise=0.1, seed=8))
    assert [m.cpu for m in a.minutes] == [m.cpu for m in b.minutes] != [m.cpu for m in c.minutes]
    assert len({round(m.cpu or 0, 6) for m in a.minutes}) > 1


@pytest.fixture
def target_tracking_stack(aws: Aws) -> Iterator[StackModel]:
    reader = StackReader(aws, DATA / "target-tracking.yml", "model-tt")
    try:
        yield reader.read({"MaxCapacity": "8"})
    finally:
        reader.close()


def test_target_tracking_runs_the_live_decision(target_tracking_stack: StackModel) -> None:
    """AWS's AlarmHigh (3 of 3 minutes above the target), then ceil(capacity x metric / target)
    (target-tracking-scaling-policy-overview.html; harness.autoscaling.target_tracking)."""
    result = run_model(target_tracking_stack, shape("step:levels=20/40,minutes=10"), COST)
    high = next(a.name for a in target_tracking_stack.alarms if "-AlarmHigh-" in a.name)
    # 40 % for ten minutes, then 80 % with two tasks: the third breaching minute ends at S+780.
    assert _times(result, "alarm", name=high, new="ALARM") == [S + 780]
    first = next(e for e in result.events if e.kind == "scaling")
    assert (first.time, first.data["description"]) == (S + 780, "Setting desired count to 4.")  # ceil(2 x 80 / 50)
    assert "policy model-tt-cpu-target" in first.data["cause"]


@pytest.fixture(scope="module")
def memory_stack(aws: Aws) -> Iterator[StackModel]:
    """tests/data/target-tracking/memory.yml: ECSServiceAverageMemoryUtilization, target 75 %, DisableScaleIn,
    128 MiB per task (Memory), 2 to 4 tasks."""
    reader = StackReader(aws, DATA.parents[1] / "data" / "target-tracking" / "memory.yml", "model-mem")
    try:
        yield reader.read({})
    finally:
        reader.close()


# Baseline 64 MiB + 64 MiB per request in a task at once, 10 ms a request on 0.25 vCPU (40 ms of service).
MEMORY = ModelConfig(cost_ms=10.0, memory_baseline_mib=64.0, memory_per_request_mib=64.0)


def test_memory_target_tracking_runs_the_live_decision(memory_stack: StackModel) -> None:
    """AWS's AlarmHigh on MemoryUtilization (3 of 3 minutes above 75 %), then ceil(capacity x metric / target)
    (target-tracking-scaling-policy-overview.html), by the same pure decision as live runs."""
    result = run_model(memory_stack, shape("step:levels=10/45,minutes=10"), MEMORY)
    # 5 requests/s a task: 0.2 in flight -> 64 + 12.8 MiB = 60 %; 22.5 a task: 0.9 -> 121.6 MiB = 95 %.
    assert [m.memory for m in result.minutes[:13]] == pytest.approx([60.0] * 10 + [95.0] * 3)
    high = next(a.name for a in memory_stack.alarms if "-AlarmHigh-" in a.name)
    assert next(a for a in memory_stack.alarms if a.name == high).metric_name == "MemoryUtilization"
    assert _times(result, "alarm", name=high, new="ALARM") == [S + 780]
    first = next(e for e in result.events if e.kind == "scaling")
    assert (first.time, first.data["description"]) == (S + 780, "Setting desired count to 3.")  # ceil(2 x 95 / 75)
    assert not any("-AlarmLow-" in a.name for a in memory_stack.alarms)  # DisableScaleIn: no scale-in alarm
    assert summary(result)["peak_memory_utilization"] == pytest.approx(95.0)
    box = " ".join(assumptions(result))
    assert "Memory per task = 64 MiB (--memory-baseline-mib) + 64 MiB per request" in box and "128 MiB" in box


def test_memory_target_tracking_without_a_memory_figure_is_refused(memory_stack: StackModel) -> None:
    with pytest.raises(ConfigError, match="tracks MemoryUtilization: give the model's memory per task with "
                                          "--memory-baseline-mib"):
        run_model(memory_stack, shape("step:levels=10,minutes=5"), COST)
    with pytest.raises(ConfigError, match="--memory-baseline-mib -1"):
        run_model(memory_stack, shape("step:levels=10,minutes=5"), ModelConfig(cost_ms=10.0, memory_baseline_mib=-1))
