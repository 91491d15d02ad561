"""`harness model` and `harness calibrate`: the command-line side of model mode.

Kept beside the model so `harness/cli.py` only registers the two subcommands (with its own
`_stack_options`, so `model` takes the template, `--param` and `--parent` exactly as `up` does). Each
command registers only those of `_stack_options` it uses (`_only`): an option accepted and ignored would
be a lie. Every input is checked before the embedded cloud starts, and every bad one ends in one line naming it.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from harness.errors import ConfigError
from harness.model import rules
from harness.model.calibrate import calibrate_sample_app, calibrate_user_app, read_calibration, wants_user_app

__all__ = ["add_parsers", "cmd_model", "cmd_calibrate", "read_calibration", "main"]

DEFAULT_STARTUP = 10.0
DEFAULT_REQUESTS = 50
DEFAULT_CPU_MS = 10.0

# The options of `_stack_options` each command acts on; the rest (--cloud, --cloud-port, --lb-port,
# --mail-relay, --cpu-scale, and for `model` the live ones) are not registered for it.
MODEL_STACK_OPTIONS = ("--template", "--param", "--parent", "--stack-name", "--default-cpu")
CALIBRATE_STACK_OPTIONS = (*MODEL_STACK_OPTIONS, "--time-scale", "--no-cpu-quota", "--runtime",
                           "--task-command", "--task-dir", "--image", "--locustfile")


class _Only:
    """Stands for a parser (or one of its groups) while `stack_options` registers on it: an option in
    `keep` is added to the real parser, any other is left out; a group is made only when one of its options
    is kept."""

    def __init__(self, make: Callable[[], Any], keep: set[str], added: set[str]) -> None:
        self._make, self._keep, self._added = make, keep, added
        self._target: Any = None

    def add_argument(self, *flags: str, **kwargs: Any) -> Any:
        if flags[0] not in self._keep:
            return None
        self._added.add(flags[0])
        return self._parser().add_argument(*flags, **kwargs)

    def add_argument_group(self, *args: Any, **kwargs: Any) -> _Only:
        return _Only(lambda: self._parser().add_argument_group(*args, **kwargs), self._keep, self._added)

    def _parser(self) -> Any:
        if self._target is None:
            self._target = self._make()
        return self._target


def _only(cmd: argparse.ArgumentParser, stack_options: Callable[[argparse.ArgumentParser], None],
          keep: tuple[str, ...]) -> None:
    """Register on `cmd` the options of `stack_options` named in `keep`, and only those."""
    added: set[str] = set()
    stack_options(cast(argparse.ArgumentParser, _Only(lambda: cmd, set(keep), added)))
    missing = sorted(set(keep) - added)
    if missing:  # a renamed option in harness/cli.py must not silently vanish from a command
        raise RuntimeError(f"{cmd.prog}: stack options {', '.join(missing)} are not registered by {stack_options}")


def add_parsers(sub: Any, stack_options: Callable[[argparse.ArgumentParser], None]) -> None:
    model = sub.add_parser("model", help="run a day (or a week) of traffic through the stack's own alarms and "
                                         "policies on a virtual clock, in seconds (no processes, no cloud in the loop)")
    _only(model, stack_options, MODEL_STACK_OPTIONS)
    g = model.add_argument_group("model mode (see the README's \"Model mode\")")
    g.add_argument("--traffic", required=True, metavar="TRACE",
                   help="a CSV of (time, requests per second), e.g. an ALB RequestCount export, or a shape: "
                        "diurnal:base=50,peak=400,hours=24 | ramp:from=10,to=400,minutes=60 | "
                        "spike:base=50,peak=800,at=30,minutes=10 | step:levels=50/200/50,minutes=20")
    g.add_argument("--traffic-unit", choices=("auto", "rps", "count"), default="auto",
                   help="the CSV's value column: requests per second, or a count per row interval (auto: count "
                        "when its header contains 'count' or is 'sum')")
    cost = g.add_mutually_exclusive_group(required=True)
    cost.add_argument("--cost-ms", type=float, default=None, metavar="X", help="task CPU milliseconds one request costs")
    cost.add_argument("--calibration", type=Path, default=None, metavar="FILE",
                      help="a calibration file written by `harness calibrate` (its cost_ms)")
    g.add_argument("--startup-seconds", type=float, default=DEFAULT_STARTUP,
                   help=f"seconds from a task's start until it listens (default {DEFAULT_STARTUP:g}); it serves after "
                        "the target group's healthy threshold x interval more")
    g.add_argument("--queue-timeout", type=float, default=60.0,
                   help="seconds a request may wait above capacity before it fails as ELB 504 (default 60, the "
                        "ALB idle timeout)")
    g.add_argument("--target-error-rate", type=float, default=0.0, help="fraction of served requests that targets "
                                                                         "answer with a 5XX (default 0)")
    g.add_argument("--memory-baseline-mib", type=float, default=None, metavar="MIB",
                   help="the model's memory per task with no request in it (default: the --calibration file's "
                        "memory_mib; without either, MemoryUtilization is not modelled)")
    g.add_argument("--memory-per-request-mib", type=float, default=0.0, metavar="MIB",
                   help="memory each request in a task at once adds (default 0); requests at once by Little's law")
    g.add_argument("--noise", type=float, default=0.0, help="relative standard deviation of per-minute CPU noise "
                                                            "(default 0: none)")
    g.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    g.add_argument("--vcpu-hour-price", type=float, default=rules.FARGATE_VCPU_HOUR,
                   help=f"dollars per vCPU-hour (default {rules.FARGATE_VCPU_HOUR}: Fargate, us-east-1)")
    g.add_argument("--gb-hour-price", type=float, default=rules.FARGATE_GB_HOUR,
                   help=f"dollars per GB-hour (default {rules.FARGATE_GB_HOUR}: Fargate, us-east-1)")
    g.add_argument("--expect", action="append", default=[], metavar="KEY[=VALUE]",
                   help="an expectation (repeatable): scales_to=max_capacity, never_above=max_capacity, "
                        "email=cpu_alert, max_utilization_below=90, no_errors, ...")
    g.add_argument("--sweep", action="append", default=[], metavar="KEY=v1,v2,...",
                   help="run every combination of these template parameter values (repeatable)")
    g.add_argument("--best-by", default="task_hours",
                   help="the figure (lowest wins) that picks the sweep's reported combination: task_hours, cost, "
                        "5xx, peak_tasks, peak_utilization, p95_utilization, minutes_at_max, emails "
                        "(default task_hours; failing combinations rank last)")
    g.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="worker processes for a sweep (default: 2, or fewer cores)")
    g.add_argument("--report-dir", type=Path, default=None,
                   help="where report.json and report.html go (default: report/model)")

    cal = sub.add_parser("calibrate", help="measure the task CPU (and memory) one request costs, live: on the sample "
                                           "app, or on your app (--task-command/--image) under your --locustfile, "
                                           "for `harness model --calibration`")
    # The options `run` takes for a user's service (--task-command, --task-dir, --image, --locustfile,
    # --runtime) and the stack's (the trial task is one task of its task definition), by the same function;
    # only those calibrate uses (no cloud, load balancer or mail in a calibration; the trial task's quota is
    # its reservation, no --cpu-scale).
    _only(cal, stack_options, CALIBRATE_STACK_OPTIONS)
    g = cal.add_argument_group("calibration")
    g.add_argument("--out", type=Path, default=Path("calibration.json"), help="file to write (default calibration.json)")
    g.add_argument("--requests", type=int, default=None,
                   help=f"sample app: requests to measure (default {DEFAULT_REQUESTS})")
    g.add_argument("--cpu-ms", type=float, default=None,
                   help=f"sample app: the ?ms= of each /cpu request (default {DEFAULT_CPU_MS:g}, as `run`)")


def _say(line: str) -> None:
    print(line, flush=True)


def cmd_model(args: argparse.Namespace, say: Callable[[str], None] = _say) -> int:
    from harness.deploy import parse_params
    from harness.model.engine import ModelConfig, check_supported, run_model
    from harness.model.outputs import BEST_BY, build_report, check, parse_expectations, summary_lines, timeline_lines
    from harness.model.stacks import embedded_reader
    from harness.model.sweep import best, parse_sweeps, run_sweep, table
    from harness.model.traffic import load_trace
    from harness.report import verdict_table, write_report

    wall0 = time.monotonic()
    # Everything the user gave is checked before the cloud starts.
    template = (args.template or _template_default()).resolve()
    if not template.is_file():
        raise ConfigError(f"template {template} does not exist")
    params = parse_params(args.param)
    parents = _parents(getattr(args, "parent", []) or [])
    trace = load_trace(args.traffic, unit=args.traffic_unit)
    memory, memory_source = args.memory_baseline_mib, "--memory-baseline-mib"
    if args.cost_ms is not None:
        cost_ms, source = float(args.cost_ms), "--cost-ms"
    else:
        calibration = read_calibration(args.calibration)
        cost_ms, source = calibration.cost_ms, calibration.source
        if memory is None and calibration.memory_mib is not None:
            memory, memory_source = calibration.memory_mib, f"measured: {calibration.source}"
    config = ModelConfig(cost_ms=cost_ms, startup_seconds=args.startup_seconds, queue_timeout=args.queue_timeout,
                         target_error_rate=args.target_error_rate, noise=args.noise, seed=args.seed,
                         default_cpu_units=args.default_cpu, vcpu_hour_price=args.vcpu_hour_price,
                         gb_hour_price=args.gb_hour_price, cost_source=source, memory_baseline_mib=memory,
                         memory_per_request_mib=args.memory_per_request_mib, memory_source=memory_source)
    config.check()
    expectations = parse_expectations(args.expect)
    sweeps = parse_sweeps(args.sweep)
    if args.best_by not in BEST_BY:
        raise ConfigError(f"--best-by {args.best_by!r}: choose one of {', '.join(BEST_BY)}")
    if args.jobs < 1:
        raise ConfigError(f"--jobs {args.jobs}: must be >= 1")
    clash = sorted(set(sweeps) & set(params))
    if clash:
        raise ConfigError(f"--sweep {clash[0]} is also given with --param; give it once")
    report_dir = (args.report_dir or Path("report") / "model").resolve()
    say(f"harness model: {template.name}, traffic {trace.name} ({trace.minutes} minute(s)), "
        f"{cost_ms:g} ms of CPU per request")

    extra: dict[str, Any] = {}
    if sweeps:
        outcomes = run_sweep(template, params, sweeps, trace, config, expectations, stack_name=args.stack_name,
                             parents=parents, jobs=args.jobs, say=say)
        rows = [o.row() for o in outcomes]
        say("")
        say(table(rows))
        chosen = best(outcomes, args.best_by)
        say(f"best       by {args.best_by}: {', '.join(f'{k}={v}' for k, v in chosen.params.items())}")
        stack, run_params = chosen.stack, {**params, **chosen.params}
        extra = {"sweep": rows, "best_by": args.best_by, "best": chosen.params}
    else:
        with embedded_reader(template, args.stack_name, parents=parents, say=say) as reader:
            stack = reader.read(params)
        run_params = params
        say(f"read       stack {stack.stack_name}: {len(stack.alarms)} alarm(s), {len(stack.policies)} "
            "polic(ies); the cloud is stopped, the model runs on its own")
    check_supported(stack, config)
    t_model = time.monotonic()
    result = run_model(stack, trace, config)
    model_seconds = time.monotonic() - t_model
    verdicts = check(expectations, result)
    for line in timeline_lines(result.events, result.t0):
        say(line)
    report = build_report(result, verdicts, time.monotonic() - wall0, template=str(template), params=run_params,
                          extra={**extra, "model_seconds": model_seconds})
    json_path, html_path = write_report(report_dir, report)
    say("")
    for line in summary_lines(report["summary"]):
        say(line)
    if verdicts:
        say(verdict_table(verdicts))
    say(f"report     {html_path}")
    say(f"           {json_path}")
    say(f"time       {result.t1 - result.t0:.0f} template seconds modelled in {model_seconds:.2f} s "
        f"({time.monotonic() - wall0:.1f} s with reading the stack)")
    return 0 if all(v["passed"] for v in verdicts) else 1


def _template_default() -> Path:
    cwd = Path("infrastructure/ecs.yml")
    return cwd if cwd.exists() else Path(__file__).resolve().parents[2] / "infrastructure" / "ecs.yml"


def _parents(pairs: list[str]) -> dict[str, Path]:
    if not pairs:
        return {}
    from harness import deploy

    parse = getattr(deploy, "parse_parents", None)
    if parse is None:
        raise ConfigError("--parent is not supported by this harness's deploy")
    return dict(parse(pairs))


# ---------------------------------------------------------------------------------------------- calibrate


def cmd_calibrate(args: argparse.Namespace, say: Callable[[str], None] = _say) -> int:
    """The sample app's /cpu cost, or the user's app under their locustfile (harness.model.calibrate)."""
    if wants_user_app(args):
        given = [flag for flag, value in (("--requests", args.requests), ("--cpu-ms", args.cpu_ms)) if value is not None]
        if given:
            raise ConfigError(f"harness calibrate {given[0]} is for the sample app; your app's requests are "
                              "your --locustfile's")
        return calibrate_user_app(args, say)
    from harness.cli import DEFAULT_TIME_SCALE

    stack = [flag for flag, given in (("--template", args.template is not None), ("--param", bool(args.param)),
                                      ("--parent", bool(args.parent)), ("--stack-name", args.stack_name != "ecs"),
                                      ("--time-scale", args.time_scale != DEFAULT_TIME_SCALE)) if given]
    if stack:
        raise ConfigError(f"harness calibrate {stack[0]} is for your app (with --task-command or --image and "
                          "--locustfile); the sample app is calibrated on its own")
    args.requests = DEFAULT_REQUESTS if args.requests is None else args.requests
    args.cpu_ms = DEFAULT_CPU_MS if args.cpu_ms is None else args.cpu_ms
    return calibrate_sample_app(args, say)


def main(args: argparse.Namespace) -> int:
    if args.command == "calibrate":
        return cmd_calibrate(args)
    return cmd_model(args)

