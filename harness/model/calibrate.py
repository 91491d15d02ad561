"""`harness calibrate`: the task CPU (and memory) one request costs, measured live, for `harness model`.

Two ways, both real processes measured from their cgroups:

- the sample app (no app options): one sample-app task, `--requests` GET /cpu requests one at a time;
- the user's app with their locustfile (`--task-command` / `--task-dir`, or `--runtime docker --image`, and
  `--locustfile`, the options `harness run` takes): the stack is deployed once to the embedded cloud and read
  back (the task definition's Environment, CPU reservation and health checks shape the task, as in `run`),
  then `harness.userapp.trial_run` starts one task of the app and `harness.userload.UserMix.calibrate`
  measures the mix on it: the very trial and calibration a live run does before its first task.

The result is the calibration file (`CALIBRATION_FORMAT`) that `harness model --calibration FILE` reads with
`read_calibration`, which checks every field it uses and names the file and the field when one is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import tempfile
import types
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, TaskError

CALIBRATION_FORMAT = 1
# Per-endpoint costs: each task of the mix is measured alone, on a trial task of its own, at most this many
# (each takes a trial task's start and a calibration window: about 10 s here).
MAX_TASK_CALIBRATIONS = 8
INSPECT_TIMEOUT_S = 60.0

# Run in a child Python (Locust's gevent patching stays out of the harness), as harness.userload inspects
# a locustfile: each class's untagged tasks by name, through usermix.discover (what a run loads).
_TASKS_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import usermix
path = sys.argv[2]
classes = usermix.discover(usermix.load_module(path), path)
print(json.dumps([{"name": c["name"], "weight": c["weight"],
                   "tasks": list(dict.fromkeys(getattr(t, "__name__", "") for t in c["normal"]))}
                  for c in classes]))
"""

# A locustfile of one class of the user's file with one of its tasks: the same class (subclassed, same name,
# so its host, client and on_start are theirs), its task list cut down after Locust's metaclass built it.
_ONE_TASK = '''"""{cls}.{task} of {path} alone: harness calibrate's per-endpoint cost (generated, deleted after)."""
import importlib.util as _util
import sys as _sys

_sys.path.insert(0, {folder!r})
_spec = _util.spec_from_file_location("_harness_theirs", {path!r})
_theirs = _util.module_from_spec(_spec)
_spec.loader.exec_module(_theirs)


class {cls}(_theirs.{cls}):
    weight = 1


{cls}.tasks = [t for t in _theirs.{cls}.tasks if getattr(t, "__name__", None) == {task!r}]
'''


@dataclass(frozen=True)
class CalibrationFile:
    """What `harness model` takes from a calibration file."""

    cost_ms: float
    source: str  # "calibration <path>: <method>", for the report's assumptions
    memory_mib: float | None = None  # the measured task's memory, when the file has one


def _positive(data: Mapping[str, Any], key: str, where: str, *, integer: bool = False) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    ok = isinstance(value, int if integer else (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{where}: {key} is {value!r}, not {kind} > 0 (write the file again with `harness calibrate`)")
    return float(value)


def parse_calibration(data: Any, where: str) -> CalibrationFile:
    """Check a calibration file's content (pure); ConfigError naming the field that is wrong."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: not a JSON object (write one with `harness calibrate`)")
    fmt = data.get("format", CALIBRATION_FORMAT)
    if fmt != CALIBRATION_FORMAT:
        raise ConfigError(f"{where}: format {fmt!r} is not one this harness reads ({CALIBRATION_FORMAT})")
    if data.get("requests") == 0:
        raise ConfigError(f"{where}: requests is 0: the calibration measured no request, so its cost means nothing")
    _positive(data, "requests", where, integer=True)
    if data.get("cost_ms") is None:
        raise ConfigError(f"{where}: no positive cost_ms in it (write one with `harness calibrate`)")
    cost = _positive(data, "cost_ms", where)
    assert cost is not None
    memory = _positive(data, "memory_mib", where)
    endpoints = data.get("endpoints", {})
    if not isinstance(endpoints, dict) or not all(isinstance(v, dict) for v in endpoints.values()):
        raise ConfigError(f"{where}: endpoints must map each request name to its figures")
    for name, figures in endpoints.items():
        _positive(figures, "requests", f"{where}: endpoint {name!r}", integer=True)
        _positive(figures, "cost_ms", f"{where}: endpoint {name!r}")
    method = data.get("method", "measured")
    return CalibrationFile(cost_ms=cost, source=f"{where}: {method}", memory_mib=memory)


def read_calibration(path: Path) -> CalibrationFile:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--calibration {path}: cannot read it as JSON: {exc}") from exc
    return parse_calibration(data, f"calibration {path}")


def write_calibration(out: Path, data: Mapping[str, Any]) -> None:
    """The file, whole or not at all (a temporary file renamed over it)."""
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps({"format": CALIBRATION_FORMAT, **data}, indent=2) + "\n")
    os.replace(tmp, out)


def check_out(out: Path) -> Path:
    out = Path(out)
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: folder {out.parent} does not exist")
    return out


def wants_user_app(args: argparse.Namespace) -> bool:
    return any(getattr(args, k, None) for k in ("task_command", "image", "locustfile"))


# ---------------------------------------------------------------------------------------------- sample app


def calibrate_sample_app(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    """One sample-app task (a real process, with its CPU quota where cgroups allow), `--requests` /cpu requests
    one at a time; the CPU one request cost it from the task's own CPU accounting (as `harness run` calibrates
    its load) and the median latency (harness.load.measure_cost)."""
    from harness.ecs.process import ProcessRuntime
    from harness.ecs.runtime import TaskSpec
    from harness.load import measure_cost
    from harness.net import free_port

    if args.requests < 1:
        raise ConfigError(f"--requests {args.requests}: must be >= 1")
    if not args.cpu_ms > 0:
        raise ConfigError(f"--cpu-ms {args.cpu_ms:g}: must be > 0")
    if args.runtime != "process":
        raise ConfigError("harness calibrate runs the sample app as a process; with --runtime docker give your "
                          "--image and --locustfile")
    out = check_out(args.out)
    port = free_port()
    with ProcessRuntime(enforce_quota=not args.no_cpu_quota) as runtime:
        task = runtime.start(TaskSpec(task_id="calibrate", service="calibrate", container="main",
                                      image="harness/sample-app:latest", host_port=port, cpu_units=args.default_cpu))
        runtime.wait_ready(task, 30.0)
        url = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{url}/cpu?ms={args.cpu_ms:g}", timeout=30) as resp:  # warm-up
            resp.read()
        before = runtime.usage(task).cpu_seconds
        latency_ms = measure_cost(url, args.cpu_ms, args.requests)
        after = runtime.usage(task)
    cost_ms = (after.cpu_seconds - before) * 1000.0 / args.requests
    if not cost_ms > 0:
        raise TaskError("the sample app's CPU accounting showed no CPU for the calibration requests")
    write_calibration(out, {
        "cost_ms": round(cost_ms, 4),
        "latency_ms": round(latency_ms, 4),
        "request": f"GET /cpu?ms={args.cpu_ms:g}",
        "requests": args.requests,
        "cpu_units": args.default_cpu,
        "memory_mib": round(after.memory_bytes / 2**20, 3) if after.memory_bytes else None,
        "app": "sample_app",
        "locustfile": None,
        "method": f"task CPU seconds over {args.requests} GET /cpu?ms={args.cpu_ms:g} requests to the sample app",
    })
    say(f"calibrate  one GET /cpu?ms={args.cpu_ms:g} costs the sample app {cost_ms:.2f} ms of CPU "
        f"(median latency {latency_ms:.2f} ms); written to {out}")
    return 0


# ------------------------------------------------------------------------------------------------ user app


def endpoint_costs(per_task: Mapping[str, Any]) -> dict[str, float]:
    """Each request name's CPU cost from the tasks measured alone (pure): a task that sent one request name
    gives that name its cost; several tasks sending the same name are averaged by their requests."""
    cpu: dict[str, float] = {}
    count: dict[str, int] = {}
    for cal in per_task.values():
        names = [n for n, k in cal.by_name.items() if k > 0]
        if len(names) == 1:
            cpu[names[0]] = cpu.get(names[0], 0.0) + cal.cost_ms * cal.requests
            count[names[0]] = count.get(names[0], 0) + cal.requests
    return {n: cpu[n] / count[n] for n in cpu}


def calibration_record(cal: Any, *, app: str, locustfile: Path, template: Path, params: Mapping[str, str],
                       cpu_units: int, per_task: Mapping[str, Any] | None = None,
                       per_task_skipped: str | None = None) -> dict[str, Any]:
    """The calibration file's content for a user mix measured by `UserMix.calibrate` (pure).

    `endpoints` gives each request name's count and share of the mix's measured window and, where measured,
    its `cost_ms`: one task's cgroup accounts the CPU of the whole mix, so a name's own cost comes from the
    locustfile task that sends it measured alone (`per_task`), or is the mix's when the mix has one name."""
    names = dict(cal.by_name)
    total = sum(names.values()) or 1
    endpoints: dict[str, dict[str, Any]] = {
        name: {"requests": n, "share": round(n / total, 4)} for name, n in sorted(names.items())}
    if len(endpoints) == 1:
        next(iter(endpoints.values()))["cost_ms"] = round(cal.cost_ms, 4)
    costs = endpoint_costs(per_task or {})
    for name, cost in costs.items():
        if name in endpoints:
            endpoints[name]["cost_ms"] = round(cost, 4)
    extra: dict[str, Any] = {}
    if per_task:
        extra["tasks"] = {key: {"cost_ms": round(c.cost_ms, 4), "requests": c.requests,
                                "endpoints": sorted(n for n, k in c.by_name.items() if k > 0)}
                          for key, c in per_task.items()}
        if all("cost_ms" in e for e in endpoints.values()):
            # The endpoints' own costs at the mix's shares: a check of the per-endpoint figures against the mix.
            extra["cost_ms_from_endpoints"] = round(sum(e["share"] * e["cost_ms"] for e in endpoints.values()), 4)
    if per_task_skipped:
        extra["tasks_skipped"] = per_task_skipped
    return {
        "cost_ms": round(cal.cost_ms, 4),
        "locust_ms": round(cal.locust_ms, 4),
        "requests": cal.requests,
        "ok": cal.ok,
        "seconds": round(cal.seconds, 3),
        "statuses": {str(k): v for k, v in sorted(cal.statuses.items())},
        "endpoints": endpoints,
        "memory_mib": round(cal.memory_mib, 3) if cal.memory_mib else None,
        "cpu_units": cpu_units,
        "app": app,
        "locustfile": str(locustfile),
        "template": str(template),
        "parameters": dict(params),
        "method": (f"task CPU seconds (cgroup) of one trial task of {app} over the {cal.requests} requests of "
                   f"{locustfile.name}'s mix it answered in {cal.seconds:.1f} s"),
        **extra,
    }


def mix_tasks(locustfile: Path) -> list[tuple[str, str]]:
    """(class, task) of every untagged task of the locustfile's classes of weight > 0, by name."""
    import subprocess
    import sys

    from harness.userload import USERMIX

    try:
        done = subprocess.run([sys.executable, "-c", _TASKS_SCRIPT, str(USERMIX.parent), str(locustfile)],
                              capture_output=True, text=True, timeout=INSPECT_TIMEOUT_S, cwd=tempfile.gettempdir(),
                              stdin=subprocess.DEVNULL)
        classes = json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        raise ConfigError(f"--locustfile {locustfile}: cannot list its tasks by name") from None
    return [(c["name"], t) for c in classes if c["weight"] > 0 for t in c["tasks"] if t]


def calibrate_user_app(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    from harness.cli import _user_service  # the checks `harness run` makes of these options
    from harness.deploy import parse_params
    from harness.ecs.runtime import cpu_reservation
    from harness.model.cli import _parents, _template_default
    from harness.model.stacks import embedded_reader
    from harness.userapp import _what

    user = _user_service(args)
    if user["locustfile"] is None:
        raise ConfigError(f"harness calibrate {'--image' if user['image'] else '--task-command'} needs --locustfile "
                          "too: the traffic whose CPU per request is measured on your app")
    if args.runtime == "docker" and not user["image"]:
        raise ConfigError("harness calibrate --runtime docker needs --image (a local image of your app)")
    out = check_out(args.out)
    template = (args.template or _template_default()).resolve()
    if not template.is_file():
        raise ConfigError(f"template {template} does not exist")
    if args.time_scale <= 0:
        raise ConfigError(f"--time-scale must be > 0, got {args.time_scale}")
    params = parse_params(args.param)
    parents = _parents(getattr(args, "parent", []) or [])
    with embedded_reader(template, args.stack_name, parents=parents, say=say) as reader:
        stack = reader.read(params)
    if not stack.services or not stack.services[0].load_balancers:
        raise ConfigError(f"stack {stack.stack_name} has no ECS service behind a load balancer to calibrate a task of")
    cpu_units = cpu_reservation(stack.services[0].task_definition, args.default_cpu)[0]
    per_task: dict[str, Any] = {}
    skipped: str | None = None
    with tempfile.TemporaryDirectory(prefix="harness-calibrate-") as home:
        opts = types.SimpleNamespace(runtime=args.runtime, default_cpu_units=args.default_cpu,
                                     enforce_quota=not args.no_cpu_quota, home=Path(home), **user)
        cal = asyncio.run(_trial(stack, opts, args.time_scale, say))
        if cal is None:  # trial_run measures nothing without a service behind a load balancer (checked above)
            raise TaskError("the trial task measured nothing")
        tasks = mix_tasks(user["locustfile"]) if len(cal.by_name) > 1 else []
        if len(tasks) > MAX_TASK_CALIBRATIONS:
            skipped = (f"{len(tasks)} tasks in the mix, more than the {MAX_TASK_CALIBRATIONS} measured alone; "
                       "no per-endpoint cost")
            say(f"endpoints  {skipped}")
            tasks = []
        if len(tasks) > 1:
            say(f"endpoints  the mix sends {len(cal.by_name)} request names: each of its {len(tasks)} tasks is "
                "measured alone, on a trial task of its own")
        for cls, task in tasks if len(tasks) > 1 else []:
            per_task[f"{cls}.{task}"] = asyncio.run(_one_task(stack, opts, args.time_scale, cls, task, say))
    app = "the sample app" if not (user["task_command"] or user["image"]) else _what(opts)
    record = calibration_record(cal, app=app, locustfile=user["locustfile"], template=template, params=params,
                                cpu_units=cpu_units, per_task=per_task, per_task_skipped=skipped)
    write_calibration(out, record)
    for name, e in record["endpoints"].items():
        if "cost_ms" in e and per_task:
            say(f"endpoint   {name}: {e['cost_ms']:.3f} ms of task CPU per request ({e['share']:.0%} of the mix)")
    if "cost_ms_from_endpoints" in record:
        say(f"endpoints  at the mix's shares: {record['cost_ms_from_endpoints']:.3f} ms per request "
            f"(the mix measured {record['cost_ms']:.3f} ms)")
    say(f"written    {out}: {cal.cost_ms:.3f} ms of task CPU per request"
        + (f", {cal.memory_mib:.1f} MiB of task memory" if cal.memory_mib else ""))
    return 0


async def _one_task(stack: Any, opts: Any, time_scale: float, cls: str, task: str,
                    say: Callable[[str], None]) -> Any:
    """One task of the user's locustfile alone (a generated locustfile), through the same trial and calibration."""
    theirs = Path(opts.locustfile)
    one = Path(opts.home) / f"one_{cls}_{task}.py"
    one.write_text(_ONE_TASK.format(cls=cls, task=task, path=str(theirs), folder=str(theirs.parent)))
    alone = types.SimpleNamespace(**{**vars(opts), "locustfile": one})
    quiet: list[str] = []
    try:
        cal = await _trial(stack, alone, time_scale, quiet.append)
    except (ConfigError, TaskError) as err:
        raise ConfigError(f"--locustfile {theirs}: task {cls}.{task} measured alone: "
                          f"{str(err).replace(str(one), 'it')}") from None
    if cal is None:
        raise TaskError(f"--locustfile {theirs}: task {cls}.{task} measured alone: nothing measured")
    say(f"           {cls}.{task}: {cal.cost_ms:.3f} ms over {cal.requests} requests "
        f"({', '.join(sorted(cal.by_name))})")
    return cal


async def _trial(stack: Any, opts: Any, time_scale: float, say: Callable[[str], None]) -> Any:
    """`harness run`'s trial task and calibration (harness.userapp.trial_run) on a runtime of its own."""
    from harness.userapp import local_image, trial_run, user_command

    if opts.runtime == "docker":
        from harness.ecs.docker import DockerRuntime

        image = await asyncio.to_thread(local_image, opts.image)
        runtime: Any = DockerRuntime(image, log_dir=opts.home / "logs", enforce_quota=opts.enforce_quota,
                                     stack=stack.stack_name)
    else:
        from harness.ecs.process import ProcessRuntime

        command = user_command(opts.task_command) if opts.task_command else None
        runtime = ProcessRuntime(command, log_dir=opts.home / "logs", enforce_quota=opts.enforce_quota,
                                 cwd=opts.task_dir if opts.task_command else None)
    try:
        return await trial_run(runtime, stack, types.SimpleNamespace(scale=time_scale), opts, say)
    finally:
        await asyncio.to_thread(runtime.close)
