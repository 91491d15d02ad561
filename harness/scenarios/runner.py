"""Run a scenario against a started `Harness`: steer Locust phase by phase, wait for each phase's
condition in template time, then check the expectations and build the report.

Load is chosen by a target CPU utilization, never by a user count: the runner measures what one
CPU request really costs a task (CPU seconds, from the task's own accounting), then asks Locust for
as many paced users as give "threshold + N points" of the *running* tasks' reserved CPU, re-aims
as tasks come and go, and corrects its aim from the utilization the metrics agent measures (paced
users fall behind when the machine is busy; a gain on the user count makes up for it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import resources
from harness.app import Harness
from harness.cloudwatch.evaluate import ALARM
from harness.ecs.scheduler import ServiceSnapshot
from harness.errors import ConfigError, TaskError
from harness.events import DesiredChange, Event, FaultInjected, LoadChange, PhaseChange, RunStopped
from harness.load import ControlledLocustProcess, plan_users
from harness.scenarios import Expectation, Scenario, Step
from harness.scenarios.expect import EVALUATION_INTERVAL, check_all, quantity
from harness.elb.entry import entry
from harness.scenarios.roles import RolePlan, Roles, plan_roles, resolve
from harness.stack import HealthCheck
from harness.userapp import startup_budget
from harness.userload import (
    Calibration, PhaseNeed, UserMix, available_cores, check_reachable, inspect_locustfile, rate_per_user,
)

log = logging.getLogger(__name__)

LOCUSTFILE = resources.locustfile()  # package data: found from any folder

# The harness's load settings (how it produces load, not what the template says).
CPU_MS = 10.0  # CPU milliseconds each /cpu request asks the task to burn
CPU_RATE = 4.0  # requests per second per CPU user
PING_RATE = 2.0  # requests per second per ping user
ERROR_RATE = 2.0  # requests per second per error user
CALIBRATION_REQUESTS = 12  # each burns CPU_MS at the task's quota: 12 take about a second of wall time
POLL = 5.0  # template seconds between checks of a phase's condition
UTILIZATION_RANGE = (2.0, 98.0)  # percent: the loads a CPU phase may aim at
GRID_SLACK = 1.0  # template seconds after a whole minute: that minute's evaluation has its datapoint
SETTLE = 10.0  # template seconds after a change of load before its utilization is measured
CORRECT_EVERY = 30.0  # template seconds of samples behind each correction of the aim
GAIN_STEP = (0.8, 1.25)  # how far one correction may move the user count
CAUTIOUS_STEP = 1.1  # how far one correction may move it towards the threshold the load stays clear of
GAIN_RANGE = (0.5, 3.0)  # how far the corrections together may move it


def grid_wait(now: float) -> float:
    """Template seconds until just after the next evaluation of the alarms (every whole minute)."""
    return EVALUATION_INTERVAL - now % EVALUATION_INTERVAL + GRID_SLACK


def ends_as_it_starts(step: Step, start: float, holds: Callable[[], bool]) -> bool:
    """Whether a phase that starts at `start` ends there, taking no minute of its own: it waits for a
    condition that `holds()` already (cpu-alert when its email went out during cpu-high already),
    it changes nothing itself (no fault, no desired count), and it starts on the grid, so the next phase's
    first minute is whole. Pure, but for `holds`."""
    return step.until is not None and not step.set_desired and not step.fault and on_grid(start) and holds()


def on_grid(now: float) -> bool:
    """Whether `now` is just after an evaluation of the alarms (within GRID_SLACK past the grid's slack)."""
    return 0.0 <= (now - GRID_SLACK) % EVALUATION_INTERVAL < GRID_SLACK


def corrected_gain(gain: float, target: float, measured: float, towards: int = 0) -> float:
    """The next gain on the user count: proportional to target / measured, in bounded steps.

    `towards` is the side of the target the role's threshold is on (+1 above: a `below` load; -1 below:
    an `above` load). A step that way is at most CAUTIOUS_STEP: one noisy window that read low must
    not push the next minute over the threshold the phase holds clear of."""
    if measured <= 0:
        return gain
    step = min(max(target / measured, GAIN_STEP[0]), GAIN_STEP[1])
    if towards > 0:
        step = min(step, CAUTIOUS_STEP)
    elif towards < 0:
        step = max(step, 1.0 / CAUTIOUS_STEP)
    return min(max(gain * step, GAIN_RANGE[0]), GAIN_RANGE[1])


@dataclass
class RunResult:
    scenario: Scenario
    roles: Roles | None  # None: the stack lacks what roles need (no service or scalable target), see verdicts
    t0: float
    t1: float
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    timed_out: list[str] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    cost_ms: float = 0.0
    load: dict[str, Any] = field(default_factory=dict)

    skipped: list[str] = field(default_factory=list)  # phases not run (no error traffic in the user's mix)
    skip_reasons: dict[str, str] = field(default_factory=dict)  # phase or "expect:<i>" -> why it is not checked
    calibration: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        # A skipped expectation is not a pass: it is left out, and at least one must have been checked.
        checked = [v for v in self.verdicts if not v.get("skipped")]
        return bool(checked) and all(v["passed"] for v in checked) and not self.timed_out


def target_utilization(spec: Mapping[str, Any], roles: Roles) -> float:
    """Percent CPU a `{above|below: role, by: points}` load aims at, from the role's alarm threshold. A list
    of roles aims past all of them the stack has: the highest threshold plus `by` (the lowest minus `by`);
    its first role is required."""
    named = spec.get("above") or spec.get("below")
    first, *others = [named] if isinstance(named, str) else list(named)
    sign = 1.0 if "above" in spec else -1.0
    thresholds = [roles.alarm(str(first)).threshold] + [roles.alarm(r).threshold for r in others if r in roles.alarms]
    pct = (max(thresholds) if sign > 0 else min(thresholds)) + sign * float(spec["by"])
    lo, hi = UTILIZATION_RANGE
    if not lo <= pct <= hi:
        raise ConfigError(f"a CPU load {spec} aims at {pct:g}% utilization, outside {lo:g}..{hi:g}%")
    return pct


def budget(step: Step, roles: Roles, current_desired: int, health: HealthCheck) -> float:
    """How long (template seconds) a phase may take before it counts as timed out, from the stack's own
    numbers: evaluation periods, cooldowns and health-check intervals."""
    if step.hold:
        if "cooldown" in step.hold:
            return roles.cooldown(str(step.hold["cooldown"])) + EVALUATION_INTERVAL
        alarm = roles.alarm(str(step.hold["evaluations"]))
        return float(step.hold.get("count", 1)) * max(alarm.period * alarm.evaluation_periods, EVALUATION_INTERVAL)
    assert step.until is not None
    if "healthy" in step.until:
        # Starting tasks, then enough health checks to turn healthy, with as many failures again of slack.
        return (health.healthy_threshold + health.unhealthy_threshold + 2) * health.interval + EVALUATION_INTERVAL
    if "desired" in step.until:
        steps = abs(quantity(step.until["desired"], roles) - current_desired) + 1
        slowest = max((a.period * a.evaluation_periods for a in roles.alarms.values()), default=60)
        cooldown = max(roles.cooldown("scale_out"), roles.cooldown("scale_in"))
        return steps * (cooldown + slowest + 2 * EVALUATION_INTERVAL)
    role = step.until.get("email") or step.until.get("scaled")
    alarm = roles.alarm(str(role))
    return 3 * alarm.period * alarm.evaluation_periods + cooldown_of(roles, str(role)) + 4 * EVALUATION_INTERVAL


def cooldown_hold_end(start: float, cooldown: float, last_scaling: float | None) -> float:
    """When a `hold: {cooldown: role}` phase ends (template s). Pure.

    A cooldown runs from the role's last scaling activity ("the amount of time, in seconds, after a
    scaling activity completes ...",
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepScalingPolicyConfiguration.html),
    not from the phase's start: the hold lasts until the evaluation at which it ran out has been seen
    (one evaluation interval after it, its lag included), and at least one evaluation inside the phase.
    With no activity of the role yet, the cooldown counts from the phase's start.
    """
    if last_scaling is None:
        return start + cooldown + EVALUATION_INTERVAL
    return max(start + EVALUATION_INTERVAL, last_scaling + cooldown + EVALUATION_INTERVAL + GRID_SLACK)


def cooldown_of(roles: Roles, role: str) -> float:
    return roles.cooldown(role) if role in roles.policies else 0.0


class ScenarioRunner:
    def __init__(self, harness: Harness, scenario: Scenario, workdir: Path) -> None:
        self.h = harness
        self.scenario = scenario
        self.workdir = workdir
        assert harness.model is not None
        # A stack without what the roles need (no ECS service, no scalable target) stops the run before any
        # load, as a missing role does: with its reason in the report (run()), not as an error with none.
        self.unresolved: str | None = None
        try:
            self.roles: Roles = resolve(harness.model)
        except ConfigError as err:
            self.roles = None  # type: ignore[assignment]  # run() stops before anything reads the roles
            self.unresolved = str(err)
        self.clock = harness.clock
        self.locust: ControlledLocustProcess | None = None
        self.entry_args: list[str] = []  # the locustfile's --request-headers/--request-query (harness.elb.entry)
        self.cost_ms = CPU_MS
        self._load: Mapping[str, Any] = {}
        self._tasks_seen = 0
        self._gain = 1.0
        self._aimed_at = 0.0
        # The user's own traffic (--locustfile), paced by the harness; None: the sample app's /cpu load.
        self.mix: UserMix | None = None
        self.calibration: Calibration | None = None
        self._mix_rate = CPU_RATE
        self._calibrated = False
        self._cost: asyncio.Future[float] | None = None  # calibrate(), started with the run
        self.result: RunResult | None = None
        self.role_plan = RolePlan({}, ())

    # -- observations -------------------------------------------------------------------------------
    def _snapshot(self) -> ServiceSnapshot:
        return self.h.schedulers[0].snapshot()

    def _events(self, kind: str, since: float) -> list[Event]:
        return [e for e in self.h.timeline.events if e.kind == kind and e.time >= since]

    def _condition(self, step: Step, since: float) -> bool:
        until: Mapping[str, Any] = step.until or {}
        snap = self._snapshot()
        if "healthy" in until:
            want = snap.desired if until["healthy"] == "desired" else quantity(until["healthy"], self.roles)
            if want is None:  # the scheduler has not read the desired count yet
                return False
            return snap.healthy >= want and snap.running == want
        if "desired" in until:
            return snap.desired == quantity(until["desired"], self.roles)
        if "email" in until:
            # The alert may have gone out in an earlier phase already (its alarm only needs its period
            # above the threshold): any time in this run counts.
            name = self.roles.alarm(until["email"]).name
            return any(str(e.data.get("subject", "")).startswith(f'{ALARM}: "{name}"')
                       for e in self._events("mail", self.h.t0))
        name = self.roles.alarm(until["scaled"]).name
        return any(e.data.get("alarm") == name for e in self._events("scaling", since))

    # -- load -----------------------------------------------------------------------------------------
    def _units(self) -> float:
        """CPU units a task runs with: its reservation x the run's CPU scale (1 without one)."""
        return float(self._snapshot().cpu_units) * self.h.cpu_scale

    def _needs(self) -> list[PhaseNeed]:
        """Each CPU phase's target at the most tasks it may run with (MaxCapacity)."""
        return [PhaseNeed(s.phase, target_utilization(s.load["cpu"], self.roles), self.roles.max_capacity)
                for s in self._steps() if s.load.get("cpu")]

    def _steps(self) -> list[Step]:
        """The phases this stack can have (those the role plan skips are not run, nor planned for)."""
        return [s for s in self.scenario.steps if s.phase not in self.role_plan.skip_phases]

    async def calibrate_mix(self, say: Any) -> float:
        """The user's mix measured on one real task, its per-user pace chosen, and every CPU phase checked
        to be reachable here (ConfigError with the numbers when not)."""
        assert self.mix is not None and self.h.runtime is not None and self.h.model is not None
        task = self.h.schedulers[0].running_tasks()[0]
        # Measured on the trial task before the CPU scale was chosen (harness.app), else here on a running one.
        cal = self.h.calibration or await self.mix.calibrate(self.h.runtime, task,
                                                                             self.workdir / "calibration")
        units = self._units()
        health = self.h.model.target_groups[self.roles.service.load_balancers[0].target_group_arn].health
        scale = float(getattr(self.clock, "scale", 1.0))
        rows = check_reachable(cal, self._needs(), units, available_cores(), health.timeout / scale,
                               f"--locustfile {self.mix.path}")
        self.calibration, self.cost_ms = cal, cal.cost_ms
        self._mix_rate = rate_per_user(cal.cost_ms, units)
        say(f"load       {cal.line()}")
        say(f"load       each user of your mix is paced at {self._mix_rate:.1f} requests/s; tasks run with "
            f"{units:g} CPU units (CPU scale {units / max(self._snapshot().cpu_units, 1):g})")
        for row in rows:
            say(f"load       {row}")
        return self.cost_ms

    def begin(self) -> None:
        """Start measuring what a /cpu request costs (calibrate()) if a phase loads CPU with the sample app's
        /cpu: `harness run` calls this as soon as the harness is up, beside the stack's check, so that the
        measurement is done before the first CPU phase; run() calls it again (once is enough)."""
        if (self._cost is None and self.unresolved is None and getattr(self.h.options, "locustfile", None) is None
                and any(s.load.get("cpu") for s in self._steps())):
            self._cost = asyncio.ensure_future(self.calibrate())

    async def end(self) -> None:
        """Stop the measurement if it is still running (the run stopped before its first CPU phase)."""
        if self._cost is not None:
            self._cost.cancel()
            await asyncio.gather(self._cost, return_exceptions=True)

    async def calibrate(self) -> float:
        """CPU milliseconds one /cpu request really costs a task (burn + HTTP handling), measured on a task of
        the service's own (same app, CPU quota and environment) that no target group, metric or count sees:
        started for this while the phases before the first CPU phase run, so that phase's load starts on its
        first minute instead of after the measurement."""
        sched = self.h.schedulers[0]
        runtime = self.h.runtime
        assert runtime is not None and self.h.model is not None
        health = self.h.model.target_groups[self.roles.service.load_balancers[0].target_group_arn].health
        spec = sched.task_spec(f"calibrate-{uuid.uuid4().hex[:8]}")
        task = runtime.start(spec)  # from the event loop's thread: the task dies with the thread that started it
        url = f"http://127.0.0.1:{spec.host_port}/cpu?ms={CPU_MS}"

        # The task starts at its quota's pace: at 0.03 of a core, Python's start-up alone takes 10 s of wall.
        quota_cores = spec.cpu_units * self.h.cpu_scale / 1024.0
        patience = startup_budget(health, float(getattr(self.clock, "scale", 1.0))) / min(1.0, max(quota_cores, 0.01))

        def measure() -> float:
            runtime.wait_ready(task, patience)
            with urllib.request.urlopen(url, timeout=30) as resp:  # the first request warms the app's path up
                resp.read()
            before = runtime.usage(task).cpu_seconds
            for _ in range(CALIBRATION_REQUESTS):
                with urllib.request.urlopen(url, timeout=30) as resp:
                    resp.read()
            after = runtime.usage(task).cpu_seconds
            return (after - before) * 1000.0 / CALIBRATION_REQUESTS

        try:
            cost = await asyncio.to_thread(measure)
        except TaskError as err:
            raise ConfigError(f"service {self.roles.service.name}: the task that measures what a /cpu request "
                              f"costs did not start: {err}") from None
        finally:
            await asyncio.to_thread(runtime.stop, task, 5.0)
        self.cost_ms = cost if cost > 0 else CPU_MS
        return self.cost_ms

    def _users_for(self, load: Mapping[str, Any]) -> dict[str, int]:
        if self.mix is not None:
            # The user's mix: ping is a light share of it, cpu a planned number of paced users of it,
            # errors users of its error-tagged tasks.
            normal = int(load.get("ping", 0))
            if load.get("cpu"):
                snap = self._snapshot()
                pct = target_utilization(load["cpu"], self.roles)
                normal = plan_users(pct / 100.0 * self._gain, max(snap.running, 1), self._units(), self.cost_ms,
                                    self._mix_rate)
            return self.mix.users(normal, int(load.get("errors", 0)))
        users = {"PingUser": int(load.get("ping", 0)), "ErrorUser": int(load.get("errors", 0)), "CpuUser": 0}
        if load.get("cpu"):
            snap = self._snapshot()
            pct = target_utilization(load["cpu"], self.roles)
            users["CpuUser"] = plan_users(pct / 100.0 * self._gain, max(snap.running, 1), self._units(), self.cost_ms,
                                          CPU_RATE)
        return users

    def _apply_load(self, load: Mapping[str, Any]) -> None:
        assert self.locust is not None
        self._load = load
        self._aimed_at = self.clock.now()
        self._tasks_seen = self._snapshot().running
        users = self._users_for(load)
        rates = ({"CpuUser": CPU_RATE, "PingUser": PING_RATE, "ErrorUser": ERROR_RATE} if self.mix is None else
                 self.mix.rates(self._mix_rate if load.get("cpu") else PING_RATE, ERROR_RATE))
        self.locust.set_load(users, spawn_rate=100.0, cpu_ms=CPU_MS, rate_per_user=rates)
        self.h.timeline.emit(self.clock.now(), LoadChange(
            users=users, gain=round(self._gain, 3),
            target_cpu=target_utilization(load["cpu"], self.roles) if load.get("cpu") else None))

    def _measured_cpu(self, since: float) -> float | None:
        values = [e.data["cpu"] for e in self._events("sample", since)
                  if e.data.get("service") == self.roles.service.name and e.data.get("cpu") is not None]
        return sum(values) / len(values) if values else None

    def _follow(self) -> None:
        """Re-aim a CPU load when the number of running tasks changed (utilization is per reserved CPU),
        and correct it from what the metrics agent measured since the load settled."""
        if not self._load.get("cpu"):
            return
        if self._snapshot().running != self._tasks_seen:
            self._apply_load(self._load)
            return
        if self.clock.now() - self._aimed_at < SETTLE + CORRECT_EVERY:
            return
        measured = self._measured_cpu(self._aimed_at + SETTLE)
        if measured is not None:
            target = target_utilization(self._load["cpu"], self.roles)
            towards = 1 if "below" in self._load["cpu"] else -1
            self._gain = corrected_gain(self._gain, target, measured, towards)
            self._apply_load(self._load)

    # -- faults ---------------------------------------------------------------------------------------
    def _hang_tasks(self) -> list[int]:
        """Freeze every running task (SIGSTOP): requests time out, health checks fail, ECS replaces them."""
        # A pid of 0 or below would signal the harness's own process group: only real pids.
        pids = [t.pid for s in self.h.schedulers for t in s.running_tasks() if t.pid and t.pid > 0]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        return pids

    def _capacity_plan(self, say: Any, *, measured: bool) -> None:
        """harness.capacity's plan of every phase (requests/s, CPU, tasks) at this run's CPU scale, before
        load (estimated cost) and again after calibration (measured): CapacityError names a phase that
        cannot be produced here."""
        from harness import capacity

        host = self.h.host or capacity.read_host()
        phases = capacity.scenario_phases(self._steps(), tasks=self.roles.max_capacity,
                                          cpu_units=self._snapshot().cpu_units,
                                          target=lambda spec: target_utilization(dict(spec), self.roles),
                                          rates={"ping": PING_RATE, "errors": ERROR_RATE})
        plans = capacity.plan_phases(phases, cpu_scale=self.h.cpu_scale, host_cores=host.cores,
                                     costs=capacity.Costs(request_cpu_ms=self.cost_ms,
                                                          source="measured" if measured else "estimated"))
        say(f"plan       at cpu scale {self.h.cpu_scale:g}, one CPU request = {self.cost_ms:.2f} ms "
            f"({'measured' if measured else 'estimated'}), on {host.cores:g} cores:")
        for p in plans:
            say(p.line())
        capacity.refuse_unproducible(plans, self.h.cpu_scale)

    # -- the run --------------------------------------------------------------------------------------
    def _check_roles(self, result: RunResult, say: Any) -> tuple[str, RolePlan] | None:
        """Before any load: the roles the scenario needs and the URL that reaches the service. A missing
        role or no URL stops the run at once with one failed verdict (the report is still written)."""
        problem: str | None = self.unresolved
        if problem is not None:
            plan = RolePlan({}, ())
        else:
            plan = plan_roles(self.roles, self.scenario.steps, self.scenario.expect)
            problem = plan.message() if plan.stop else None
        url = ""
        if problem is None:
            assert self.h.model is not None
            tg = self.roles.service.load_balancers[0].target_group_arn
            try:
                found = entry(tg, zip(self.h.model.load_balancers, self.h.proxies), self.h.model.target_groups[tg].name)
                url, self.entry_args = found.url, found.locust_args()  # a host/header/query rule's Host etc.
                say(f"load       {url} reaches {self.roles.service.name} ({found.how})")
            except ConfigError as err:
                problem = str(err)
        if problem is not None:
            say(f"stopped    {problem}")
            self.h.timeline.emit(self.clock.now(), RunStopped(reason=problem))
            result.verdicts = [{"name": "the stack has what the scenario needs", "expected": "every role it uses, "
                                "and a URL that reaches the service", "observed": problem, "passed": False}]
            result.t1 = self.clock.now()
            return None
        for phase in plan.skip_phases:
            say(f"skipped    phase {phase}: {plan.reasons[phase]}")
        return url, plan

    async def run(self, say: Any = print) -> RunResult:
        t0 = self.h.t0
        result = RunResult(self.scenario, self.roles, t0, t0)
        self.result = result  # what a run stopped by a failed control loop reports (harness.supervise)
        checked = self._check_roles(result, say)
        if checked is None:
            await self.end()
            return result
        url, self.role_plan = checked
        result.skip_reasons.update(self.role_plan.reasons)
        locustfile = getattr(self.h.options, "locustfile", None)
        if locustfile is not None:
            self.mix = UserMix(locustfile, await asyncio.to_thread(inspect_locustfile, locustfile))
            self.locust = self.mix.locust(url, self.workdir / "locust")
            self.locust.extra_args = (*self.locust.extra_args, *self.entry_args)
        else:
            self.locust = ControlledLocustProcess(LOCUSTFILE, url, self.workdir / "locust", cpu_ms=CPU_MS,
                                                  extra_args=self.entry_args)
        (self.workdir / "locust").mkdir(parents=True, exist_ok=True)
        try:
            self.begin()  # on a task of its own, while serving (started by `harness run` already)
            self.locust.start()
            self.h.supervise_process("load (Locust)", self.locust.exited_unexpectedly)
            self._capacity_plan(say, measured=False)
            for step in self.scenario.steps:
                await self._run_step(step, result, say)
        finally:
            await self.end()
            await asyncio.to_thread(self.locust.stop)
        result.t1 = self.clock.now()
        result.cost_ms = self.cost_ms
        if self.calibration is not None:
            result.calibration = {"cost_ms": self.calibration.cost_ms, "locust_ms": self.calibration.locust_ms,
                                  "requests": self.calibration.requests, "seconds": self.calibration.seconds,
                                  "rate_per_user": self._mix_rate, "cpu_units": self._units()}
        try:
            result.load = _load_dict(self.locust.stats())
        except Exception as err:  # the report says what is missing rather than losing the run
            result.load = {"error": str(err)}
        skip = skipped_expectations(self.scenario, result.skipped)
        no_role = {i for i in self.role_plan.skip_expectations}
        kept = [e for i, e in enumerate(self.scenario.expect) if e not in skip and i not in no_role]
        result.verdicts = check_all(kept, self.h.timeline.events, self.roles, result.spans, t0)
        for i, e in enumerate(self.scenario.expect):
            if e in skip or i in no_role:
                why = result.skip_reasons.get(f"expect:{i}") or next(
                    (result.skip_reasons[p] for p in result.skipped if p in result.skip_reasons
                     and p == str(e.get("during", ""))), "skipped: its phase needs error traffic (tasks tagged 'error')")
                result.verdicts.append({"name": " ".join(f"{k} {v}" for k, v in e.items()), "expected": str(e),
                                        "observed": why, "passed": False, "skipped": True})
        peak = peak_rps(self.locust.live_stats().timeline)
        if peak is not None:
            result.load["peak_rps"] = peak
            say(f"load       peak {peak:.0f} requests/s through the load balancer (Locust's per-second history)")
        for phase in result.timed_out:
            result.verdicts.append({"name": f"phase {phase} reaches its condition", "expected": "within its budget",
                                    "observed": "timed out", "passed": False})
        return result

    async def _run_step(self, step: Step, result: RunResult, say: Any) -> None:
        if step.phase in self.role_plan.skip_phases:  # the stack cannot have what it waits for (said at start)
            result.skipped.append(step.phase)
            self.h.timeline.emit(self.clock.now(), PhaseChange(name=step.phase, action="skipped"))
            return
        if self.mix is not None and step.load.get("errors") and not self.mix.has_error_traffic:
            say(f"skipped    phase {step.phase}: {self.mix.path.name} has no task tagged 'error' (Locust's @tag), "
                f"so there is no error traffic; its expectations are not counted as passed")
            result.skipped.append(step.phase)
            self.h.timeline.emit(self.clock.now(), PhaseChange(name=step.phase, action="skipped"))
            return
        start = self.clock.now()
        self.h.timeline.emit(start, PhaseChange(name=step.phase, action="start"))
        if step.set_desired:
            n = quantity(step.set_desired, self.roles)
            svc = self.roles.service
            assert self.h.aws is not None
            await asyncio.to_thread(self.h.aws.client("ecs").update_service, cluster=svc.cluster, service=svc.name,
                                    desiredCount=n)
            self.h.timeline.emit(self.clock.now(), DesiredChange(old=self._snapshot().desired, new=n, policy="scenario"))
        if step.fault == "hang_tasks":
            pids = self._hang_tasks()
            self.h.timeline.emit(self.clock.now(), FaultInjected(name="hang_tasks", pids=pids))
        if ends_as_it_starts(step, start, lambda: self._condition(step, start)):
            self._end_phase(step, result, start)
            return
        if not self._calibrated and step.load.get("cpu"):
            self._calibrated = True
            if self.mix is not None:
                await self.calibrate_mix(say)
            else:
                await (self._cost if self._cost is not None else self.calibrate())
                say(f"load       one /cpu?ms={CPU_MS:g} request costs a task {self.cost_ms:.2f} ms of CPU (measured)")
            self._capacity_plan(say, measured=True)
        self._apply_load(step.load)
        assert self.h.model is not None
        health = self.h.model.target_groups[self.roles.service.load_balancers[0].target_group_arn].health
        deadline = start + budget(step, self.roles, self._snapshot().desired or 0, health)
        if step.hold and "cooldown" in step.hold:
            role = str(step.hold["cooldown"])
            name = self.roles.alarm(role).name
            last = max((e.time for e in self._events("scaling", self.h.t0) if e.data.get("alarm") == name), default=None)
            deadline = cooldown_hold_end(start, self.roles.cooldown(role), last)
        while True:
            # A hold ends at its deadline, not up to a POLL after it (its start and length are on the grid).
            await self.clock.sleep(POLL if step.until is not None else max(0.0, min(POLL, deadline - self.clock.now())))
            self._follow()
            now = self.clock.now()
            if step.until is not None and self._condition(step, start):
                break
            if now >= deadline:
                if step.until is not None:
                    result.timed_out.append(step.phase)
                break
        # Phases end on CloudWatch's evaluation grid, so every evaluated minute holds one phase's load
        # only, whatever the time scale and however long deploy took: runs at any scale see the same.
        # A hold that reached its deadline is on the grid already (it started there and lasts whole
        # minutes): waiting for the next evaluation would add a minute the hold does not need.
        # Until then the phase's load still follows the tasks: a task a scale-out started in the phase's
        # last minute gets its share of the load as it starts, not at the next phase.
        if not (step.until is None and on_grid(self.clock.now())):
            ends = self.clock.now() + grid_wait(self.clock.now())
            while (left := ends - self.clock.now()) > 0:
                await self.clock.sleep(min(POLL, left))
                self._follow()
        self._end_phase(step, result, start)

    def _end_phase(self, step: Step, result: RunResult, start: float) -> None:
        end = self.clock.now()
        result.spans[step.phase] = (start, end)
        self.h.timeline.emit(end, PhaseChange(name=step.phase, action="end", timed_out=step.phase in result.timed_out))


def skipped_expectations(scenario: Scenario, phases: list[str]) -> list[Expectation]:
    """The expectations about skipped phases: those naming a role one of them waits for (`until`), or
    a skipped phase itself (`during`). Pure."""
    steps = [s for s in scenario.steps if s.phase in phases]
    roles = {str(v) for s in steps for k, v in (s.until or {}).items() if k in ("email", "scaled")}
    return [e for e in scenario.expect
            if str(e.get("during", "")) in phases or any(str(v) in roles for k, v in e.items() if k != "during")]


def peak_rps(timeline: Sequence[tuple[int, str, int, int]]) -> float | None:
    """The most answers Locust counted in one wall second, all request names and statuses together. Pure."""
    per_second: dict[int, int] = {}
    for second, _name, _status, n in timeline:
        per_second[second] = per_second.get(second, 0) + n
    return float(max(per_second.values())) if per_second else None


def _load_dict(stats: Any) -> dict[str, Any]:
    def ep(e: Any) -> dict[str, Any]:
        return {"name": e.name, "method": e.method, "requests": e.requests, "failures": e.failures, "rps": e.rps,
                "p50_ms": e.p50_ms, "p95_ms": e.p95_ms, "p99_ms": e.p99_ms,
                "statuses": {str(k): v for k, v in e.statuses.items()}}

    return {"endpoints": [ep(e) for e in stats.endpoints.values()] if isinstance(stats.endpoints, dict)
            else [ep(e) for e in stats.endpoints],
            "total": ep(stats.total) if stats.total else None}


def _policy_dict(p: Any) -> dict[str, Any]:
    """A scaling policy for the report: a step policy's steps, or a target tracking policy's target, metric
    and cooldowns (in the steps column, which the HTML shows as key=value)."""
    tc = p.target_tracking
    if tc is None:
        return {"name": p.name, "adjustment_type": p.adjustment_type, "cooldown": p.cooldown,
                "steps": [s.__dict__ for s in p.steps]}
    return {"name": p.name, "adjustment_type": p.policy_type, "cooldown": None,
            "steps": [{"TargetValue": tc.target_value, "metric": tc.predefined_metric_type or "custom",
                       "ScaleOutCooldown": tc.scale_out_cooldown, "ScaleInCooldown": tc.scale_in_cooldown,
                       "DisableScaleIn": tc.disable_scale_in}]}


def build_report(h: Harness, result: RunResult, wall_seconds: float) -> dict[str, Any]:
    roles = result.roles
    alarms = [{"name": a.name, "metric": a.metric_name, "namespace": a.namespace, "statistic": a.statistic,
               "period": a.period, "evaluation_periods": a.evaluation_periods, "threshold": a.threshold,
               "comparison_operator": a.comparison_operator, "role": roles.role_of(a.name) if roles else None}
              for a in (h.model.alarms if h.model else ())]
    events = [{"time": e.time, "kind": e.kind, **e.data} for e in h.timeline.events]
    emails = [{"time": e.time, "to": e.data.get("to", []), "subject": e.data.get("subject", ""),
               "body": e.data.get("body", "")} for e in h.timeline.events if e.kind == "mail"]
    return {
        "scenario": result.scenario.name,
        "description": result.scenario.description,
        "template": str(h.options.template),
        "time_scale": float(getattr(h.clock, "scale", 1.0)),
        "cloud": h.cloud.endpoint if h.cloud else "",
        "started": result.t0,
        "ended": result.t1,
        "wall_seconds": wall_seconds,
        "template_seconds": result.t1 - result.t0,
        "passed": result.passed,
        "cpu_cost_ms": result.cost_ms,
        "calibration": result.calibration,
        "skipped_phases": result.skipped,
        "stack": {
            "alarms": alarms,
            "scalable_targets": [{"resource_id": roles.target.resource_id, "min_capacity": roles.min_capacity,
                                  "max_capacity": roles.max_capacity}] if roles else [],
            "policies": [_policy_dict(p) for p in (h.model.policies if h.model else ())],
        },
        "phases": [{"name": n, "start": s, "end": e} for n, (s, e) in result.spans.items()],
        "events": events,
        "verdicts": result.verdicts,
        "emails": emails,
        "load": result.load,
        "python": sys.version.split()[0],
    }

