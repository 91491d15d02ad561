"""The one object that builds the harness's parts and wires them through constructors.

`Harness` owns everything it starts (the cloud, the mail sink, the load balancer, the tasks) and
stops all of it in reverse order, on success, failure, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import state
from harness.clock import Clock
from harness.cloud.clients import Aws
from harness.cloud.server import EmbeddedCloud
from harness.deploy import Deployment, deploy
from harness.ecs.process import ProcessRuntime
from harness.ecs.scheduler import ServiceScheduler
from harness.elb.health import HealthChecker
from harness.elb.proxy import LoadBalancerProxy
from harness.elb.targets import TargetGroupRuntime
from harness.errors import DeployError
from harness.mailbox import Mailbox, SmtpSink
from harness.stack import StackModel, read_stack

log = logging.getLogger(__name__)

# How often the scheduler reads the desired count and reconciles, in template seconds.
SCHEDULER_TICK = 5.0


@dataclass
class Options:
    template: Path
    params: dict[str, str]
    home: Path
    cloud_port: int = 4566
    stack_name: str = "ecs"
    default_cpu_units: int = 256
    enforce_quota: bool = True


@dataclass
class Harness:
    """Build with `Harness(options, clock)`, then `async with harness.running():`."""

    options: Options
    clock: Clock
    say: Callable[[str], None] = print
    cloud: EmbeddedCloud | None = None
    aws: Aws | None = None
    deployment: Deployment | None = None
    model: StackModel | None = None
    sink: SmtpSink | None = None
    mailbox: Mailbox | None = None
    proxies: list[LoadBalancerProxy] = field(default_factory=list)
    groups: dict[str, TargetGroupRuntime] = field(default_factory=dict)
    schedulers: list[ServiceScheduler] = field(default_factory=list)
    runtime: ProcessRuntime | None = None
    _loops: list[asyncio.Task[None]] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def running(self) -> Any:
        stack = contextlib.AsyncExitStack()
        async with stack:
            await self._start(stack)
            yield self

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        opts = self.options
        self.cloud = EmbeddedCloud(port=opts.cloud_port)
        await asyncio.to_thread(self.cloud.start)
        stack.callback(self.cloud.stop)
        self.aws = Aws(self.cloud.endpoint)
        self.say(f"cloud      {self.cloud.endpoint} (embedded moto, fake credentials)")

        self.mailbox = Mailbox(opts.home / "mailbox")
        self.sink = SmtpSink(self.mailbox)
        self.sink.start()
        stack.callback(self.sink.stop)

        self.deployment = await asyncio.to_thread(deploy, self.aws, opts.template, opts.params, stack_name=opts.stack_name)
        stacks = ', '.join([*self.deployment.parent_stacks, self.deployment.stack_name])
        self.say(f"deployed   {stacks} from {opts.template}")
        self.model = await asyncio.to_thread(read_stack, self.aws, self.deployment.stack_name)

        for arn, tg in self.model.target_groups.items():
            self.groups[arn] = TargetGroupRuntime(tg, self.clock)
            self.groups[arn].add_listener(self._target_event)
            checker = HealthChecker(self.groups[arn], self.clock)
            self._loops.append(asyncio.create_task(checker.run(), name=f"health {tg.name}"))
        stack.push_async_callback(self._cancel_loops)

        for lb in self.model.load_balancers:
            routes = {l.port: self.groups[l.target_group_arn] for l in lb.listeners if l.target_group_arn in self.groups}
            proxy = LoadBalancerProxy(routes, self.clock)
            await proxy.start()
            stack.push_async_callback(proxy.stop)
            self.proxies.append(proxy)
            for l in lb.listeners:
                self.say(f"load bal.  {proxy.url(l.port)}  ({lb.name}, listener {l.protocol} :{l.port})")

        self.runtime = ProcessRuntime(log_dir=opts.home / "logs", enforce_quota=opts.enforce_quota)
        stack.callback(self.runtime.close)
        for svc in self.model.services:
            if not svc.load_balancers:
                raise DeployError(f"service {svc.name} has no load balancer; the harness serves services behind one",
                                  resource=svc.name)
            tg_arn = svc.load_balancers[0][0]
            sched = ServiceScheduler(
                self.aws.client("ecs"), self.aws.client("elbv2"), svc, self.runtime, self.groups[tg_arn], self.clock,
                tick=SCHEDULER_TICK, default_cpu_units=opts.default_cpu_units,
            )
            sched.listeners.append(self._task_event)
            self.schedulers.append(sched)
            stack.push_async_callback(sched.shutdown)
            self._loops.append(asyncio.create_task(sched.run(), name=f"scheduler {svc.name}"))
            snap = sched.snapshot()
            self.say(f"service    {svc.name}: {svc.desired_count} tasks of {svc.task_definition.family}, "
                     f"CPU reservation: {snap.cpu_source}")
        self.say(f"cpu quota  {self.runtime.quota_reason or 'enforced as a cgroup CPU quota per task'}")
        self.say(f"mailbox    {self.mailbox.folder} (SMTP on 127.0.0.1:{self.sink.port})")

    def _target_event(self, target: Any, old: Any, new: Any) -> None:
        group = next((g for g in self.groups.values() if g.get(target.id) is target), None)
        healthy = f", {group.healthy_count()} healthy" if group else ""
        self.say(f"target     {target.id[:12]} {old.value} -> {new.value} ({target.reason or 'ok'}{healthy})")

    def _task_event(self, event: Any) -> None:
        self.say(f"task       {event.kind:<8} {event.task_id[:12]} {event.reason or ''}".rstrip())

    async def _cancel_loops(self) -> None:
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._loops.clear()

    def snapshot(self) -> state.RunState:
        assert self.cloud and self.model and self.mailbox is not None and self.runtime
        services = []
        child_pids = [p for p in [self.cloud.pid] if p]
        for sched in self.schedulers:
            snap = sched.snapshot()
            services.append({"name": sched.service.name, "cluster": sched.service.cluster, "desired": snap.desired,
                             "running": snap.running, "healthy": snap.healthy, "pending": snap.pending})
            child_pids += [t.pid for t in snap.tasks if t.pid]
        return state.RunState(
            pid=os.getpid(),
            cloud_endpoint=self.cloud.endpoint,
            load_balancer_url=self.proxies[0].url() if self.proxies else "",
            mailbox=str(self.mailbox.folder),
            stack=self.model.stack_name,
            template=str(self.options.template),
            time_scale=float(getattr(self.clock, "scale", 1.0)),
            cpu_quota=self.runtime.quota_reason or "enforced",
            child_pids=child_pids,
            services=services,
        )
