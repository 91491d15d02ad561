"""The one object that builds the harness's parts and wires them through constructors.

`Harness` owns everything it starts (the cloud, the mail sink, the load balancer, the tasks, the
control loops) and stops all of it in reverse order, on success, failure, Ctrl-C or SIGTERM. The
parts talk through one `Timeline`; the loops share one clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import state
from harness.capacity import CpuScale, Demand, Host, check_memory, choose_cpu_scale, read_host, Costs
from harness.clock import Clock
from harness.cloudwatch.agent import MetricsAgent
from harness.ecs.container_instances import attach_clusters
from harness.cloudwatch.alarms import AlarmEvaluator, next_tick
from harness.cloud.clients import Aws
from harness.cloud.server import EmbeddedCloud
from harness.deploy import Deployment, deploy
from harness.ecs.process import ProcessRuntime
from harness.ecs.runtime import cpu_reservation, memory_limit
from harness.ecs.scheduler import ServiceScheduler
from harness.elb.health import HealthChecker
from harness.elb.entry import entry_url
from harness.elb.proxy import ListenerRouting, LoadBalancerProxy
from harness.elb.targets import TargetGroupRuntime
from harness.errors import ConfigError, DeployError
from harness.events import (EvaluationLag, LbCounters, LoopFailed, MailSent, TargetChange, TaskChange, TaskCounts,
                            Timeline)
from harness.logs import LogShipper
from harness.mailbox import Mailbox, SmtpSink, relay_answers
from harness.scaling import ScalingExecutor
from harness.sns import SnsDelivery
from harness.stack import StackModel, read_stack
from harness.supervise import LoopError, LoopFailure, Supervisor
from harness.userapp import local_image, trial_run, user_command
from harness.userload import Calibration

if TYPE_CHECKING:
    from harness.ecs.docker import DockerRuntime

log = logging.getLogger(__name__)

# The harness's own cadences, in template seconds (not the template's numbers: those are read back).
SCHEDULER_TICK = 5.0  # how often the scheduler reads the desired count and reconciles
SAMPLE_INTERVAL = 10.0  # how often the metrics agent samples (ECS publishes from several samples a minute)
LOG_INTERVAL = 5.0  # how often task output is shipped to CloudWatch Logs (as Docker's awslogs driver does)
LOAD_POLL = 2.0  # how often a child process the run depends on (Locust), and the SMTP sink's thread, is checked
SINK_LOOP = "mail sink (SMTP)"  # the name the SMTP sink's thread is supervised under
# An alarm evaluation finishing this long after its minute is put on the timeline as falling behind.
EVALUATION_LAG_WARN = 10.0


@dataclass
class Options:
    template: Path
    params: dict[str, str]
    home: Path
    cloud_port: int = 4566
    stack_name: str = "ecs"
    default_cpu_units: int = 256
    enforce_quota: bool = True
    runtime: str = "process"  # "process" or "docker"
    cloud: str = "embedded"  # "embedded", "localstack", or the URL of a LocalStack already running
    mail_relay: tuple[str, int] | None = None  # a loopback SMTP server that also gets every message
    lb_port: int = 0  # 127.0.0.1 port of the first load balancer's first listener (0: any free one)
    cpu_scale: float | None = None  # K: each task's quota is its reservation x K; None: choose it (auto)
    # The highest CPU utilization (percent) the run drives and the other requests/s at that time, from
    # the deployed stack (the scenario's targets are relative to its alarms). None: 100%, no other load.
    peak: Callable[[StackModel], tuple[float, float]] | None = None
    # The user's own service (harness.userapp): a shell command run as each task (process runtime),
    # in task_dir; or a local Docker image (docker runtime) instead of the template's Image.
    task_command: str | None = None
    task_dir: Path | None = None
    image: str | None = None
    locustfile: Path | None = None  # the user's own Locust traffic (paced by the harness), else the sample load
    # Parent stacks: template parameter -> parent template (--parent PARAM=TEMPLATE); harness.deploy wires them.
    parents: dict[str, Path] = field(default_factory=dict)
    # Templates deployed after the service stack, in order (--companion TEMPLATE; e.g. its scaling stack).
    companions: list[Path] = field(default_factory=list)


@dataclass
class Harness:
    """Build with `Harness(options, clock)`, then `async with harness.running():`."""

    options: Options
    clock: Clock
    say: Callable[[str], None] = print
    cloud: Any = None  # EmbeddedCloud, or a LocalStack (harness.cloud.localstack)
    aws: Aws | None = None
    deployment: Deployment | None = None
    model: StackModel | None = None
    sink: SmtpSink | None = None
    mailbox: Mailbox | None = None
    proxies: list[LoadBalancerProxy] = field(default_factory=list)
    groups: dict[str, TargetGroupRuntime] = field(default_factory=dict)
    schedulers: list[ServiceScheduler] = field(default_factory=list)
    runtime: ProcessRuntime | DockerRuntime | None = None  # both implement the TaskRuntime protocol
    timeline: Timeline = field(default_factory=Timeline)
    agent: MetricsAgent | None = None
    evaluator: AlarmEvaluator | None = None
    scaler: ScalingExecutor | None = None
    sns: SnsDelivery | None = None
    logs: LogShipper | None = None
    supervisor: Supervisor = field(init=False)
    host: Host | None = None
    cpu: CpuScale | None = None  # the run's CPU scale, chosen once the stack's MaxCapacity is known
    calibration: Calibration | None = None  # the user's mix measured on the trial task (--locustfile)
    evaluation_lag: float = 0.0  # the most an alarm evaluation finished after its minute (template s)
    t0: float = 0.0  # template time the harness was built at: the origin of every "+mm:ss" it shows

    def __post_init__(self) -> None:
        self.t0 = self.clock.now()
        self.supervisor = Supervisor(self.clock.now, self._loop_failed)

    @property
    def cpu_scale(self) -> float:
        """K: the share of its reservation each task may use (1.0 until chosen)."""
        return self.cpu.k if self.cpu is not None else 1.0

    @property
    def failure(self) -> LoopFailure | None:
        """The control loop that raised and stopped the run, if one did."""
        return self.supervisor.failure

    def _loop_failed(self, failure: LoopFailure) -> None:
        self.timeline.emit(self.clock.now(), LoopFailed(loop=failure.loop, error=failure.error))
        self.say(f"FAILED     control loop '{failure.loop}': {failure.error}")

    def supervise(self, coro: Any, name: str) -> asyncio.Task[Any]:
        """Run a loop whose exception stops the run (see harness.supervise)."""
        return self.supervisor.start(coro, name)

    def supervise_process(self, name: str, exited: Callable[[], str | None]) -> asyncio.Task[Any]:
        """Stop the run as soon as a child process it depends on (Locust) ends on its own:
        `exited()` returns why, or None while it runs (or was asked to stop)."""
        from harness.supervise import poll_process

        return self.supervise(poll_process(name, exited, lambda: self.clock.sleep(LOAD_POLL)), name)

    async def watch(self, work: Any) -> Any:
        """Await `work` (e.g. a scenario run); LoopFailed at once if a control loop raises first."""
        return await self.supervisor.watch(work)

    @contextlib.asynccontextmanager
    async def running(self) -> Any:
        stack = contextlib.AsyncExitStack()
        async with stack:
            await self._start(stack)
            yield self

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        opts = self.options
        if opts.mail_relay is not None:  # first: a wrong address is refused before anything starts
            relay = "{}:{}".format(*opts.mail_relay)
            why = await asyncio.to_thread(relay_answers, opts.mail_relay)
            self.say(f"mail relay {relay}: " + ("answers; every message is handed on to it" if why is None else
                     f"nothing listens yet ({why}); each message is tried when it is sent, and kept in the mailbox"))
        self.cloud, what = self._make_cloud()
        await asyncio.to_thread(self.cloud.start)
        stack.callback(self.cloud.stop)
        self.aws = Aws(self.cloud.endpoint)
        self.say(f"cloud      {self.cloud.endpoint} ({what}, fake credentials)")
        if opts.cloud != "embedded":
            from harness.cloud.probe import probe
            from harness.deploy import plan_stacks

            plans = plan_stacks(opts.template, opts.params, opts.parents, opts.stack_name)
            report = await asyncio.to_thread(probe, self.aws, opts.template, *[p.path for p in plans[:-1]])
            self.say(report.table())
            report.raise_if_missing()

        self.mailbox = Mailbox(opts.home / "mailbox")
        loop = asyncio.get_running_loop()

        def sink_failed(exc: BaseException) -> None:  # from the sink's thread: to the supervisor at once
            loop.call_soon_threadsafe(self.supervisor.fail, SINK_LOOP, exc)

        self.sink = SmtpSink(self.mailbox, relay=opts.mail_relay, on_failure=sink_failed)
        self.sink.start()
        stack.callback(self.sink.stop)

        self.deployment = await asyncio.to_thread(deploy, self.aws, opts.template, opts.params,
                                                  stack_name=opts.stack_name, parents=opts.parents, say=self.say,
                                                  companions=opts.companions)
        stacks = ', '.join([*self.deployment.parent_stacks, self.deployment.stack_name,
                            *self.deployment.companion_stacks])
        self.say(f"deployed   {stacks} from {opts.template}")
        # Every stack of the deployment: a shared load balancer, an alert topic may be in a parent.
        self.model = await asyncio.to_thread(read_stack, self.aws, self.deployment.stack_name,
                                             self.deployment.other_stacks)
        if opts.task_command or opts.image or opts.locustfile:
            # The user's app, once, before the CPU scale is chosen: it must listen on its PORT, and the
            # user's mix is measured on it (the CPU scale then fits that mix's request rate).
            self.calibration = await self._trial()
        await self._choose_scale()

        for arn, tg in self.model.target_groups.items():
            self.groups[arn] = TargetGroupRuntime(tg, self.clock)
            self.groups[arn].add_listener(self._target_event)
            checker = HealthChecker(self.groups[arn], self.clock)
            self.supervise(checker.run(), f"health checks {tg.name}")
        stack.push_async_callback(self.supervisor.cancel_all)

        for lb in self.model.load_balancers:
            # Each listener with all its rules (ListenerRules from any stack), its default action last.
            routes = {l.port: ListenerRouting(l.all_rules(), {a: self.groups[a] for a in l.forwards_to()
                                                              if a in self.groups}) for l in lb.listeners}
            fixed = {next(iter(routes)): opts.lb_port} if opts.lb_port and not self.proxies and routes else {}
            proxy = LoadBalancerProxy(routes, self.clock, ports=fixed)
            await proxy.start()
            stack.push_async_callback(proxy.stop)
            self.proxies.append(proxy)
            for l in lb.listeners:
                self.say(f"load bal.  {proxy.url(l.port)}  ({lb.name}, listener {l.protocol} :{l.port})")

        self.runtime = await self._make_runtime()
        stack.callback(self.runtime.close)
        self.logs = LogShipper(self.aws.client("logs"), self.clock, interval=LOG_INTERVAL)
        stack.push_async_callback(self._close_logs, self.supervise(self.logs.run(), "log shipper"))
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
            sched.listeners.append(functools.partial(self._ship_logs, sched))
            self.schedulers.append(sched)
            stack.push_async_callback(sched.shutdown)
            self.supervise(sched.run(), f"scheduler {svc.name}")
            snap = sched.snapshot()
            try:
                url, how = entry_url(tg_arn, zip(self.model.load_balancers, self.proxies),
                                     self.model.target_groups[tg_arn].name)
                reached = f"served at {url} ({how})"
            except ConfigError as err:
                reached = f"WARNING: not served: {err}"
            self.say(f"service    {svc.name}: {svc.desired_count} tasks of {svc.task_definition.family}, "
                     f"network mode {sched.network}, {reached}")
            if self.options.runtime == "process" and not self.options.task_command:
                images = ", ".join(sorted({c.image for c in svc.task_definition.containers if c.image}))
                self.say(f"           {svc.name}: each task runs the sample app, not image {images or '(none)'} "
                         "(--task-command CMD runs your app; --runtime docker uses a local image)")
            self.say(f"           {svc.name}: CPU reservation: {snap.cpu_source}"
                     + (f", run at {snap.cpu_units * self.cpu_scale:.4g} units (x {self.cpu_scale:g})"
                        if self.cpu_scale != 1 else ""))
        self.say(f"cpu quota  {self.runtime.quota_reason or 'enforced as a cgroup CPU quota per task'}")
        self.say(f"mailbox    {self.mailbox.folder} (SMTP on 127.0.0.1:{self.sink.port})")
        # Mail from earlier runs stays in the mailbox; only what arrives from now on (the subscription
        # confirmations first) goes on this run's timeline.
        seen_mail = {m.id for m in await asyncio.to_thread(self.mailbox.messages)}
        self._start_control_loops(seen_mail)

    def demands(self) -> list[Demand]:
        """Every service at its largest: the deployed scalable target's MaxCapacity (else its desired count)."""
        assert self.model is not None
        out = []
        for svc in self.model.services:
            target = self.model.scalable_target(svc.resource_id)
            units, _ = cpu_reservation(svc.task_definition, self.options.default_cpu_units)
            n, src = ((target.max_capacity, "MaxCapacity of its scalable target") if target is not None
                      else (svc.desired_count, "its desired count (no scalable target)"))
            out.append(Demand(svc.name, n, units, memory_limit(svc.task_definition), src))
        return out

    async def _trial(self) -> Calibration | None:
        """One task of the user's app on a runtime of its own (CPU scale 1 while none is chosen), then gone."""
        runtime = await self._make_runtime()
        try:
            return await trial_run(runtime, self.model, self.clock, self.options, self.say)
        finally:
            await asyncio.to_thread(runtime.close)

    def _costs(self, other_rps: float) -> Costs:
        """What load costs here: the user's mix as measured on the trial task, else the estimates."""
        cal = self.calibration
        if cal is None:
            return Costs(other_rps=other_rps)
        return Costs(request_cpu_ms=max(cal.cost_ms, 1e-3), locust_cpu_ms=max(cal.locust_ms, 1e-3),
                     other_rps=other_rps, source="measured")

    async def _choose_scale(self) -> None:
        """The CPU scale and the memory check, before any task starts (harness.capacity)."""
        opts = self.options
        self.host = await asyncio.to_thread(read_host)
        demands = self.demands()
        assert self.model is not None
        self.say(check_memory(demands, self.host.memory_free_mib, self.host.memory_source))
        peak, other_rps = opts.peak(self.model) if opts.peak is not None else (100.0, 0.0)
        self.cpu = choose_cpu_scale(demands, peak, self.host.cores, self._costs(other_rps),
                                    requested=opts.cpu_scale, host_source=self.host.cores_source)
        self.say(self.cpu.line())
        self.say(f"           {self.cpu.details(float(getattr(self.clock, 'scale', 1.0)))}")

    def _make_cloud(self) -> tuple[Any, str]:
        opts = self.options
        if opts.cloud == "embedded":
            return EmbeddedCloud(port=opts.cloud_port, time_origin=getattr(self.clock, "origin", None)), "embedded moto"
        from harness.cloud.localstack import ExternalCloud, LocalStackCloud

        if opts.cloud == "localstack":
            return LocalStackCloud(port=opts.cloud_port), "LocalStack on this machine, with the harness extension"
        return ExternalCloud(opts.cloud), "LocalStack at that URL"

    async def _make_runtime(self) -> ProcessRuntime | DockerRuntime:
        opts = self.options
        if opts.runtime == "process":
            command = user_command(opts.task_command) if opts.task_command else None
            return ProcessRuntime(command, log_dir=opts.home / "logs", enforce_quota=opts.enforce_quota,
                                  cwd=opts.task_dir if opts.task_command else None, cpu_scale=self.cpu_scale)
        from harness.ecs.docker import DockerRuntime
        from harness.image import ensure_image

        assert self.model is not None
        if opts.image:
            image = await asyncio.to_thread(local_image, opts.image)
        else:
            image = await asyncio.to_thread(ensure_image, self.model.services[0].task_definition.containers[0].image,
                                            self.say)
        self.say(f"image      {image}")
        return DockerRuntime(image, log_dir=opts.home / "logs", enforce_quota=opts.enforce_quota,
                             stack=self.model.stack_name, cpu_scale=self.cpu_scale)

    def _start_control_loops(self, seen_mail: set[str]) -> None:
        """Metrics in, alarms evaluated, actions out: the loop the template's alarms and policies describe."""
        assert self.aws and self.model and self.sink and self.runtime
        cw = self.aws.client("cloudwatch")
        self.agent = MetricsAgent(cw, self.clock, self.timeline, sample_interval=SAMPLE_INTERVAL)
        for sched in self.schedulers:
            svc, snap = sched.service, sched.snapshot()
            self.agent.add_service(svc.cluster, svc.name, sched.running_tasks, self.runtime.usage,
                                   snap.cpu_units * self.cpu_scale, memory_limit(svc.task_definition))
        for proxy, lb in zip(self.proxies, self.model.load_balancers):
            groups = {self.model.target_groups[arn].full_name: g for arn, g in self.groups.items()
                      if any(arn in l.forwards_to() for l in lb.listeners)}
            self.agent.add_load_balancer(lb.full_name, proxy.stats, groups)
        attach_clusters(self.agent, self.aws, self.model, self.cpu_scale, self.say)  # cluster-level ECS metrics
        self.sns = SnsDelivery(self.aws.client("sns"), "127.0.0.1", self.sink.port, self.clock, region=self.aws.region)
        self.scaler = ScalingExecutor(self.aws.client("application-autoscaling"), self.aws.client("ecs"),
                                      self.clock, self.timeline)
        self.evaluator = AlarmEvaluator(cw, self.clock, sns=self.sns, scaling=self.scaler, timeline=self.timeline)
        self.supervise(self._watch_sink(), SINK_LOOP)
        self.supervise(self._confirm_subscriptions(), "mail (sns confirmations)")
        self.supervise(self.agent.run(), "metrics agent")
        self.supervise(self._evaluate_alarms(), "alarm evaluator")
        self.supervise(self._observe(seen_mail), "observer")

    async def _watch_sink(self) -> None:
        """The SMTP sink runs in a thread of its own (harness.mailbox): raise its failure (a message it
        could not store, an error while serving, its loop gone) here, so that it stops the run, named."""
        assert self.sink is not None
        while True:
            await self.clock.sleep(LOAD_POLL)
            failure = self.sink.failure()
            if failure is not None:
                raise failure

    async def _confirm_subscriptions(self) -> None:
        assert self.sns and self.model
        await self.sns.aconfirm_pending([t.arn for t in self.model.topics])

    async def _observe(self, seen_mail: set[str]) -> None:
        """Put the counts a person watches on the timeline: tasks per service, load balancer traffic, mail."""
        assert self.mailbox is not None
        last: dict[int, tuple[int, int, int]] = {}
        while True:
            await self.clock.sleep(SAMPLE_INTERVAL)
            now = self.clock.now()
            for sched in self.schedulers:
                snap = sched.snapshot()
                self.timeline.emit(now, TaskCounts(service=sched.service.name, desired=snap.desired,
                                                   running=snap.running, healthy=snap.healthy))
            for i, proxy in enumerate(self.proxies):
                st = proxy.stats
                cur = (st.request_count, st.elb_5xx_count, st.target_5xx_count)
                before = last.get(i, (0, 0, 0))
                last[i] = cur
                healthy = sum(g.healthy_count() for g in self.groups.values())
                unhealthy = sum(g.unhealthy_count() for g in self.groups.values())
                self.timeline.emit(now, LbCounters(requests=cur[0] - before[0], elb_5xx=cur[1] - before[1],
                                                   target_5xx=cur[2] - before[2], healthy=healthy, unhealthy=unhealthy))
            for mail in await asyncio.to_thread(self.mailbox.messages):
                if mail.id not in seen_mail:
                    seen_mail.add(mail.id)
                    self.timeline.emit(now, MailSent(to=list(mail.to), subject=mail.subject, body=mail.body))

    def _target_event(self, target: Any, old: Any, new: Any) -> None:
        self.timeline.emit(self.clock.now(), TargetChange(target=target.id, old=old.value, new=new.value,
                                                          reason=target.reason or ""))

    def _ship_logs(self, sched: ServiceScheduler, event: Any) -> None:
        """awslogs: a running task's output goes to <group>/<prefix>/<container>/<task id>."""
        container = sched.container
        if self.logs is None or not container.log_group:
            return
        if event.kind == "running":
            task = next((t for t in sched.running_tasks() if t.task_id == event.task_id), None)
            if task is not None:
                self.logs.add(task, container.log_group, container.log_stream_prefix, container.name)
        elif event.kind in ("stopped", "start-failed"):
            self.logs.remove(event.task_id)

    def _task_event(self, event: Any) -> None:
        self.timeline.emit(self.clock.now(), TaskChange(task_id=event.task_id, action=event.kind, reason=event.reason or ""))

    async def _close_logs(self, loop: asyncio.Task[None]) -> None:
        """Stop tailing, then ship what the stopped tasks wrote last."""
        loop.cancel()
        try:
            await loop
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # its failure was reported when it happened (harness.supervise)
            if self.failure is None or self.failure.loop != loop.get_name():
                log.error("the log shipper raised while stopping: %s", exc, exc_info=exc)
        if self.logs is not None:
            await self.logs.close()

    async def _evaluate_alarms(self) -> None:
        """The alarm evaluator's minute loop (AlarmEvaluator.run), supervised: an evaluation that finishes
        late is put on the timeline with how far behind its minute it is, and an alarm whose evaluation
        failed (or an action, such as the scaler, that raised in it) stops the run."""
        ev = self.evaluator
        assert ev is not None
        seen_errors = len(ev.errors)
        while True:
            tick = next_tick(self.clock.now(), ev.last_tick)
            await self.clock.sleep(tick - self.clock.now())
            started = self.clock.now()
            await ev.evaluate_once(tick)
            behind = self.clock.now() - tick
            self.evaluation_lag = max(self.evaluation_lag, behind)
            if behind > EVALUATION_LAG_WARN:
                log.warning("alarm evaluation of %.0f finished %.1f template seconds behind its minute", tick, behind)
                self.timeline.emit(self.clock.now(), EvaluationLag(loop="alarm evaluator", tick=tick, behind=round(behind, 1),
                                                                   started_behind=round(started - tick, 1)))
            if len(ev.errors) > seen_errors:
                at, alarm, err = ev.errors[seen_errors]
                raise LoopError(f"alarm evaluator: evaluating {alarm} at template second {at:.0f} failed: {err}")

    def service_url(self) -> str:
        """The loopback URL whose requests the load balancer's rules send to the first service ("" if none)."""
        if not self.model or not self.model.services or not self.model.services[0].load_balancers:
            return ""
        tg = self.model.services[0].load_balancers[0].target_group_arn
        try:
            return entry_url(tg, zip(self.model.load_balancers, self.proxies), self.model.target_groups[tg].name)[0]
        except (ConfigError, KeyError):
            return ""

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
            load_balancer_url=self.service_url(),
            mailbox=str(self.mailbox.folder),
            stack=self.model.stack_name,
            template=str(self.options.template),
            time_scale=float(getattr(self.clock, "scale", 1.0)),
            cpu_quota=(self.runtime.quota_reason or "enforced") + f"; cpu scale {self.cpu_scale:g}",
            child_pids=child_pids,
            services=services,
            scaling_activities=[
                {"time": a.start_time, "description": a.description, "cause": a.cause, "status": a.status_code,
                 "resource_id": a.resource_id}
                for a in (self.scaler.activities() if self.scaler else [])
            ],
        )
