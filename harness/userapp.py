"""The user's own service as the tasks: a command (process runtime) or a local image (Docker runtime).

A team points the harness at its app with `--task-command "npm start" --task-dir app/` or
`--runtime docker --image my/app:dev`. Each task is then that app, started exactly as the sample app
is (PORT, HOST and the task definition's Environment; its own process group or container; the CPU
quota; its output in the task log), so health checks, metrics, logs and the Maildir work unchanged.

Before the CPU scale is chosen and the scheduler starts any task, `trial_run` runs one task of the
app and waits for it to listen on its PORT within the time the load balancer would give it (see
`startup_budget`): a command that exits at once, or an app that never listens, is refused in one
line that names the command and quotes the end of its output, with nothing left running. With the
user's locustfile, the mix is calibrated on that same task (harness.userload).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.ecs.runtime import TaskSpec, cpu_reservation, memory_limit
from harness.errors import ConfigError, TaskError
from harness.net import free_port
from harness.stack import HealthCheck, StackModel

if TYPE_CHECKING:
    from harness.userload import Calibration

__all__ = ["user_command", "local_image", "startup_budget", "trial_run", "one_line"]

# Wall seconds any app may take to start on a busy 2-core machine, whatever the time scale
# (a harness number about this machine, not the template's).
STARTUP_FLOOR_WALL_S = 5.0
TAIL_CHARS = 300


def user_command(command: str) -> list[str]:
    """The argv of a task command: the shell form, as a Dockerfile's `CMD npm start` runs it.

    A simple command is `exec`ed, so the shell becomes the app; a compound one (`a; b`, `a && b`, a
    pipe) runs as the shell's children. Either way the harness signals the whole process group."""
    if not command.strip():
        raise ConfigError("--task-command is empty: give the command that starts your app, e.g. \"node server.js\"")
    compound = any(c in command for c in ";&|\n`()<>")
    return ["/bin/sh", "-c", command if compound else f"exec {command}"]


def local_image(image: str) -> str:
    """`image` if Docker has it locally (the harness never pulls: no registry is assumed)."""
    from harness.image import docker_client, image_present

    if not image_present(docker_client(None), image):
        raise ConfigError(f"--image {image}: no such local Docker image; build or load it first (docker images)")
    return image


def startup_budget(health: HealthCheck, time_scale: float) -> float:
    """Wall seconds a new task may take to listen on its PORT.

    A target that does not answer fails `UnhealthyThresholdCount` health checks `HealthCheckIntervalSeconds`
    apart before the load balancer marks it unhealthy and ECS replaces the task
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html);
    that template time, at the run's time scale, with a floor for a busy machine."""
    template_s = health.unhealthy_threshold * health.interval
    return max(template_s / time_scale, STARTUP_FLOOR_WALL_S)


def one_line(text: str, limit: int = TAIL_CHARS) -> str:
    """The end of a task's output as one line (lines joined by ' | ')."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined = " | ".join(lines)
    return joined if len(joined) <= limit else "..." + joined[-limit:]


def _what(opts: Any) -> str:
    if opts.runtime == "docker":
        return f"--image {opts.image}" if opts.image else "the template's image"
    where = f" (in {opts.task_dir})" if opts.task_dir else ""
    return f"--task-command {opts.task_command!r}{where}"


async def trial_run(runtime: Any, model: StackModel | None, clock: Any, opts: Any,
                    say: Callable[[str], None]) -> Calibration | None:
    """Start one task of the first service's app, wait until it listens (ConfigError if it does not),
    calibrate the user's mix on it when there is one (--locustfile), stop it."""
    assert model is not None
    if not model.services or not model.services[0].load_balancers:
        return None  # refused later, with its own message
    svc = model.services[0]
    td = svc.task_definition
    tg_arn, container_name = svc.load_balancers[0][0], svc.load_balancers[0][1]
    container = next((c for c in td.containers if c.name == container_name), td.containers[0])
    health = model.target_groups[tg_arn].health
    budget = startup_budget(health, float(getattr(clock, "scale", 1.0)))
    spec = TaskSpec(task_id=f"trial-{uuid.uuid4().hex[:8]}", service=svc.name, container=container.name,
                    image=container.image, host_port=free_port(),
                    environment=dict(getattr(container, "environment", None) or {}),
                    cpu_units=cpu_reservation(td, opts.default_cpu_units)[0], memory_mib=memory_limit(td))
    what = _what(opts)
    try:
        task = runtime.start(spec)  # from the event loop's thread: the task dies with the thread that started it
    except TaskError as err:
        raise ConfigError(f"{what}: cannot start it: {err}") from None
    try:
        await asyncio.to_thread(_wait_listening, runtime, task, budget, health, what)
        if opts.task_command or opts.image:
            say(f"your app   {what} listens on its PORT (trial task {spec.task_id})")
        if not opts.locustfile:
            return None
        from harness.userload import UserMix, inspect_locustfile

        mix = UserMix(opts.locustfile, await asyncio.to_thread(inspect_locustfile, opts.locustfile))
        cal = await mix.calibrate(runtime, task, opts.home / "calibration")
        say(f"calibrate  {cal.line()}")
        return cal
    finally:
        await asyncio.to_thread(runtime.stop, task, 5.0)


def _wait_listening(runtime: Any, task: Any, budget: float, health: HealthCheck, what: str) -> None:
    try:
        runtime.wait_ready(task, budget)
    except TaskError:
        code = runtime.exit_code(task)
        tail = one_line(runtime.log_tail(task)) or "(no output)"
        port = task.spec.host_port
        if code is not None:
            raise ConfigError(f"{what} exited with code {code} before listening on 127.0.0.1:{port} "
                              f"(its PORT); its output ends: {tail}") from None
        raise ConfigError(f"{what} did not listen on 127.0.0.1:{port} (its PORT) within {budget:g} s (the "
                          f"health checks' {health.unhealthy_threshold} x {health.interval:g} s at this time "
                          f"scale); does it read $PORT? Its output ends: {tail}") from None
