"""The `harness` command: `up`, `status`, `down`.

Every failure the user can cause ends in one line naming the culprit and a non-zero exit code;
everything `up` started is stopped on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from harness import resources, state
from harness.errors import ConfigError, HarnessError
from harness.capacity import parse_cpu_scale, scenario_peak
from harness.mailbox import parse_relay
from harness.supervise import LoopFailed, stopped_result

REPO_TEMPLATE = resources.default_template()  # package data: found from any folder
DEFAULT_TIME_SCALE = 30.0


def _template_default() -> Path:
    cwd = Path("infrastructure/ecs.yml")
    return cwd if cwd.exists() else REPO_TEMPLATE


EXAMPLES = {
    "up": """examples:
  harness up                                   serve infrastructure/ecs.yml (or the shipped one) until Ctrl-C
  harness up --param DesiredCount=3 --time-scale 60
  harness up --template infra/service.yml --home /tmp/h -v
  curl $(harness status --json | jq -r .load_balancer_url)/5   # from another shell""",
    "run": """examples:
  harness run                                  the full story on infrastructure/ecs.yml, judged
  harness run scale-out --time-scale 60
  harness run my-story.yml --template infra/service.yml --report-dir out/
  harness run scale-out --template infra/service.yml --companion infra/scaling.yml   scaling in its own stack
  harness run --home /tmp/h -v                 global options go before or after the command""",
    "init": """examples:
  harness init                                 write infrastructure/ and loadtests/ here
  harness init my-service && cd my-service && harness run""",
    "status": """examples:
  harness status
  harness status --json | jq .alarms""",
    "mail": """examples:
  harness mail                                 list the mailbox
  harness mail 1733                            print the message whose id starts with 1733""",
    "logs": """examples:
  harness logs
  harness logs --task 3f2a --follow""",
    "image": """examples:
  harness image base                           the offline base image (debootstrap), once
  harness image build                          the sample app image on it""",
    "check": """examples:
  harness check                                what the deployed infrastructure/ecs.yml would do wrong
  harness check --template infra/service.yml --format json""",
    "model": """examples:
  harness model --traffic diurnal:base=50,peak=400,hours=24 --cost-ms 11
  harness model --traffic alb-requests.csv --calibration calibration.json --expect never_above=max_capacity --sweep MaxCapacity=4,6,8""",
    "calibrate": """examples:
  harness calibrate                            write calibration.json (task CPU per request, sample app)
  harness calibrate --requests 200 --out cal.json
  harness calibrate --task-command "node server.js" --task-dir . --locustfile loadtests/locustfile.py""",
    "down": """examples:
  harness down
  harness down --home /tmp/h""",
    "completion": """examples:
  harness completion bash > ~/.local/share/bash-completion/completions/harness
  harness completion zsh > ~/.zfunc/_harness     (with fpath+=~/.zfunc before compinit)""",
}


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line naming the culprit (`harness up: error: ...`), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _global_options(cmd: argparse.ArgumentParser, *, top: bool) -> None:
    """--home and -v, on the top parser and on every command: accepted before or after the command.
    A command's copies default to SUPPRESS, so a value given before the command is not reset."""
    cmd.add_argument("--home", default=None if top else argparse.SUPPRESS,
                     help="state and mailbox folder (default: $HARNESS_HOME or ~/.harness)")
    cmd.add_argument("-v", "--verbose", action="store_true", default=False if top else argparse.SUPPRESS,
                     help="log what the control loops do")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("harness")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harness", description=__doc__.splitlines()[0],
                     epilog="`harness COMMAND --help` shows each command's options and examples")
    parser.add_argument("--version", action="version", version=f"harness {_version()}")
    _global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="deploy the stacks to an embedded AWS and serve the service until Ctrl-C")
    _stack_options(up)

    run = sub.add_parser("run", help="run a scenario end to end and judge it against the template's numbers")
    run.add_argument("scenario", nargs="?", default=None,
                     help="a shipped scenario (full-story, scale-out, scale-in, 5xx-alerts, threshold-edge) or a file")
    _stack_options(run)
    run.add_argument("--report-dir", type=Path, default=None,
                     help="where report.json and report.html go (default: report/<scenario>)")
    run.add_argument("--strict", action="store_true",
                     help="stop before the scenario when `harness check` finds an error in the deployed stack")

    check = sub.add_parser("check", help="deploy the template to a throwaway embedded AWS and report what it "
                                         "will do wrong (no load, in seconds)")
    check.add_argument("--template", type=Path, default=None, help="service template (default: infrastructure/ecs.yml)")
    check.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="stack parameter (repeatable)")
    check.add_argument("--parent", action="append", default=[], metavar="PARAM=TEMPLATE",
                       help="deploy TEMPLATE first as the parent stack the template's parameter PARAM names, as "
                            "`up` does (repeatable; default: vpc.yml and cluster.yml next to the template)")
    check.add_argument("--companion", action="append", default=[], metavar="TEMPLATE",
                       help="deploy TEMPLATE after the service stack and check it with it, as `up` does (repeatable)")
    check.add_argument("--cloud-port", type=int, default=None,
                       help="port of the embedded AWS on 127.0.0.1 (default: any free port)")
    check.add_argument("--stack-name", default="ecs", help="name of the service stack (default ecs)")
    check.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                       help="text (default), json, or SARIF 2.1.0 for CI code scanning")

    init = sub.add_parser("init", help="write a starting infrastructure/ (the default templates) and loadtests/")
    init.add_argument("dir", nargs="?", type=Path, default=Path("."),
                      help="the project folder (default: the current folder); existing files are never overwritten")

    mail = sub.add_parser("mail", help="list the mailbox, or show one message")
    mail.add_argument("id", nargs="?", help="a message id (or a unique prefix) to show whole")

    image = sub.add_parser("image", help="Docker images for --runtime docker, built with no registry")
    image.add_argument("what", choices=("base", "build"),
                       help="base: the offline base image (debootstrap + docker import), cached by tag; "
                            "build: the sample app image from sample_app/Dockerfile on that base")
    image.add_argument("--force", action="store_true", help="rebuild the base even if it is cached")

    logs = sub.add_parser("logs", help="the tasks' output, from CloudWatch Logs (as the awslogs driver ships it)")
    logs.add_argument("--task", help="only this task (its id or a prefix of it)")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until Ctrl-C")

    st = sub.add_parser("status", help="what a running `harness up` serves, and its alarms")
    st.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("down", help="stop a running `harness up` (also one whose terminal is gone)")

    completion = sub.add_parser("completion", help="print a shell completion script for harness (shtab)")
    completion.add_argument("shell", choices=("bash", "zsh"), help="the shell the script is for")

    from harness.model import cli as model_cli  # `model` and `calibrate` (harness/model/cli.py)

    model_cli.add_parsers(sub, _stack_options)

    # Every command (also one added above this line later) takes the global options and shows examples.
    for name, cmd in sub.choices.items():
        _global_options(cmd, top=False)
        cmd.epilog = EXAMPLES.get(name, cmd.epilog)
        cmd.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def _stack_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--template", type=Path, default=None, help="service template (default: infrastructure/ecs.yml)")
    cmd.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="stack parameter (repeatable)")
    cmd.add_argument("--parent", action="append", default=[], metavar="PARAM=TEMPLATE",
                     help="deploy TEMPLATE as the parent stack that parameter PARAM names (repeatable)")
    cmd.add_argument("--companion", action="append", default=[], metavar="TEMPLATE",
                     help="deploy TEMPLATE after the service stack (repeatable, in order), e.g. its scaling stack; "
                          "its ServiceStack-like parameter gets the service stack's name")
    cmd.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE,
                     help=f"template seconds per wall second (default {DEFAULT_TIME_SCALE:g})")
    cmd.add_argument("--cloud-port", type=int, default=4566, help="port of the embedded AWS on 127.0.0.1 (default 4566)")
    cmd.add_argument("--stack-name", default="ecs", help="name of the service stack (default ecs)")
    cmd.add_argument("--default-cpu", type=int, default=256, metavar="UNITS",
                     help="CPU units reserved per task when the task definition reserves none (default 256)")
    cmd.add_argument("--no-cpu-quota", action="store_true", help="do not enforce the CPU reservation as a cgroup quota")
    cmd.add_argument("--cpu-scale", default="auto", metavar="auto|K",
                     help="each task's CPU quota is its reservation x K and CPUUtilization is measured against it, "
                          "so thresholds are unchanged; auto (default) picks the largest K <= 1 for which the stack "
                          "at MaxCapacity fits this machine")
    cmd.add_argument("--runtime", choices=("process", "docker"), default="process",
                     help="tasks as child processes (default) or as Docker containers of sample_app/Dockerfile")
    cmd.add_argument("--lb-port", default=os.environ.get("HARNESS_LB_PORT") or "0", metavar="N",
                     help="serve the load balancer's (first) listener on 127.0.0.1:N (default: any free port, "
                          "or $HARNESS_LB_PORT)")
    cmd.add_argument("--mail-relay", default=os.environ.get("HARNESS_MAIL_RELAY") or None, metavar="HOST:PORT",
                     help="also hand every alert email to this loopback SMTP server, e.g. the compose file's "
                          "mailpit at 127.0.0.1:1025 (default: $HARNESS_MAIL_RELAY)")
    cmd.add_argument("--cloud", default="embedded", metavar="embedded|localstack|URL",
                     help="the AWS endpoint: embedded moto (default), a LocalStack started here, or a LocalStack's URL")
    app = cmd.add_argument_group("your own service (see the README's walk-through)")
    app.add_argument("--task-command", default=None, metavar="CMD",
                     help="run each task as this shell command (process runtime), with $PORT, $HOST and the task "
                          "definition's Environment, e.g. \"node server.js\" (default: the sample app)")
    app.add_argument("--task-dir", type=Path, default=None, metavar="DIR",
                     help="the folder --task-command runs in (default: the current folder)")
    app.add_argument("--image", default=None,
                     help="a local Docker image to run as each task (docker runtime; default: the template's Image)")
    app.add_argument("--locustfile", type=Path, default=None, metavar="PATH",
                     help="your Locust file: its HttpUser/FastHttpUser classes are the load, paced by the harness "
                          "(tasks tagged 'error' are the error traffic)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _logging(args.verbose)
    try:
        folder = state.home(args.home)
        if args.command == "up":
            return cmd_up(args, folder)
        if args.command == "run":
            return cmd_run(args, folder)
        if args.command == "check":
            return cmd_check(args)
        if args.command == "status":
            return cmd_status(args, folder)
        if args.command == "mail":
            return cmd_mail(args, folder)
        if args.command == "logs":
            return cmd_logs(args, folder)
        if args.command == "image":
            return cmd_image(args)
        if args.command == "init":
            return cmd_init(args)
        if args.command == "completion":
            import shtab

            print(shtab.complete(build_parser(), shell=args.shell), end="")
            return 0
        if args.command in ("model", "calibrate"):
            from harness.model import cli as model_cli

            return model_cli.main(args)
        return cmd_down(folder)
    except HarnessError as err:
        print(f"harness: error: {err}", file=sys.stderr)
        return err.exit_code
    except (BotoCoreError, ClientError, ResponseParserError) as err:  # an emulator's HTML 500 is not a BotoCoreError
        print(f"harness: error: the AWS endpoint failed: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("harness: interrupted; everything it started is stopped", file=sys.stderr)
        return 130


def _logging(verbose: bool) -> None:
    import logging

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def _make_harness(args: argparse.Namespace, folder: Path) -> Any:
    from harness.app import Harness, Options
    from harness.clock import ScaledClock
    from harness.deploy import parse_companions, parse_params, parse_parents

    running = state.read(folder)
    if running:
        raise ConfigError(f"a harness is already up (pid {running.pid}, home {folder}); run `harness down` first")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create the harness home {folder}: {err}") from err
    template = (args.template or _template_default()).resolve()
    if not template.is_file():
        raise ConfigError(f"template {template} does not exist")
    if args.time_scale <= 0:
        raise ConfigError(f"--time-scale must be > 0, got {args.time_scale}")
    options = Options(template=template, params=parse_params(args.param), home=folder, parents=parse_parents(args.parent),
                      companions=parse_companions(args.companion),
                      cloud_port=args.cloud_port, stack_name=args.stack_name,
                      default_cpu_units=args.default_cpu, enforce_quota=not args.no_cpu_quota,
                      cpu_scale=parse_cpu_scale(args.cpu_scale),
                      runtime=args.runtime, cloud=_cloud_choice(args.cloud),
                      mail_relay=_relay(args.mail_relay), lb_port=_lb_port(args.lb_port, args),
                      **_user_service(args))
    harness = Harness(options, ScaledClock(args.time_scale), say=_say)
    _print_timeline(harness)
    _say(f"harness {args.command}: {template.name}, time scale {args.time_scale:g}x "
         f"(one wall second = {args.time_scale:g} template seconds)")
    return harness


def _lb_port(value: str, args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from harness.net import port_in_use

    given_by = "--lb-port" if value != os.environ.get("HARNESS_LB_PORT") else "$HARNESS_LB_PORT"
    if not (value.isascii() and value.isdecimal()) or int(value) > 65535:
        raise ConfigError(f"{given_by} {value!r}: give a port number from 1 to 65535 (or 0 for any free port)")
    port = int(value)
    if not port:
        return 0
    if port_in_use(port):
        raise ConfigError(f"{given_by} {port}: 127.0.0.1:{port} is already in use; choose another port")
    try:
        cloud_port = args.cloud_port if args.cloud in ("embedded", "localstack") else urlsplit(args.cloud).port
    except ValueError:  # a bad --cloud URL is named where it is used
        cloud_port = None
    if port == cloud_port:
        raise ConfigError(f"{given_by} {port}: the cloud listens there (--cloud-port or --cloud); choose another port")
    return port


def _user_service(args: argparse.Namespace) -> dict[str, Any]:
    """--task-command/--task-dir/--image/--locustfile, checked before anything starts."""
    command = getattr(args, "task_command", None)
    task_dir = getattr(args, "task_dir", None)
    image = getattr(args, "image", None)
    locustfile = getattr(args, "locustfile", None)
    if command is not None and args.runtime != "process":
        raise ConfigError("--task-command runs tasks as processes; with --runtime docker give --image")
    if image is not None and args.runtime != "docker":
        raise ConfigError("--image needs --runtime docker; for the process runtime give --task-command")
    if task_dir is not None and command is None:
        raise ConfigError(f"--task-dir {task_dir}: give --task-command too (the command to run there)")
    if command is not None:
        task_dir = (task_dir or Path.cwd()).resolve()
        if not task_dir.is_dir():
            raise ConfigError(f"--task-dir {task_dir}: no such folder")
    if locustfile is not None:
        from harness.userload import inspect_locustfile

        locustfile = locustfile.resolve()
        inspect_locustfile(locustfile)  # a file that does not import, or has no user class, is named now
    return {"task_command": command, "task_dir": task_dir, "image": image, "locustfile": locustfile}


def _relay(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    given_by = "--mail-relay" if value != os.environ.get("HARNESS_MAIL_RELAY") else "$HARNESS_MAIL_RELAY"
    return parse_relay(value, given_by)


def _cloud_choice(value: str) -> str:
    if value in ("embedded", "localstack") or value.startswith("http://"):
        return value
    raise ConfigError(f"--cloud {value!r}: give embedded, localstack, or a loopback URL such as http://127.0.0.1:4566")


def cmd_up(args: argparse.Namespace, folder: Path) -> int:
    harness = _make_harness(args, folder)
    asyncio.run(_serve(harness, folder))
    return 0


def cmd_run(args: argparse.Namespace, folder: Path) -> int:
    from harness import scenarios
    from harness.report import verdict_table, write_report
    from harness.app import EVALUATION_LAG_WARN
    from harness.scenarios.runner import ScenarioRunner, build_report

    wall0 = time.monotonic()  # time to verdict counts from the command, deploy included
    scenario = scenarios.load(args.scenario)
    report_dir = (args.report_dir or Path("report") / scenario.name).resolve()
    harness = _make_harness(args, folder)
    harness.options.peak = scenario_peak(scenario)  # the CPU scale is chosen for this scenario's peak
    _say(f"scenario   {scenario.name}: {scenario.description}")

    async def job(h: Any) -> int:
        runner = ScenarioRunner(h, scenario, folder / "runs" / scenario.name)
        runner.begin()  # what a /cpu request costs is measured beside the check
        try:
            if await asyncio.to_thread(_check_before_run, h, args.strict):
                return 1
            result = await h.watch(runner.run(say=_say))
        except LoopFailed as failed:  # a control loop raised: report the cause, exit non-zero
            result = stopped_result(runner, failed.failure, h.clock.now())
        finally:
            await runner.end()
        report = build_report(h, result, time.monotonic() - wall0)
        if h.failure is not None:
            report["failure"] = h.failure.as_dict()
        report["evaluation_lag_seconds"] = round(h.evaluation_lag, 1)  # the latest an evaluation finished
        if h.evaluation_lag > EVALUATION_LAG_WARN:
            _say(f"lag        alarm evaluations finished up to {h.evaluation_lag:.1f} template seconds after their "
                 f"minute (the machine is busy; see the 'lag' events)")
        json_path, html_path = write_report(report_dir, report)
        _say("")
        _say(verdict_table(result.verdicts))
        _say(f"report     {html_path}")
        _say(f"           {json_path}")
        _say(f"time       {report['template_seconds']:.0f} template seconds in {report['wall_seconds']:.1f} s of wall "
             f"time ({report['template_seconds'] / max(report['wall_seconds'], 1e-9):.1f}x real time)")
        return 0 if result.passed else 1

    code = asyncio.run(_serve(harness, folder, job))
    return 130 if code is None else int(code)


def cmd_check(args: argparse.Namespace) -> int:
    """`harness check`: findings of the deployed template; exit 0 without errors, 1 otherwise."""
    from harness.checks import ERROR
    from harness.checks.output import as_json, as_sarif, as_text
    from harness.checks.run import check_template
    from harness.deploy import parse_params

    template = (args.template or _template_default()).resolve()
    if not template.is_file():
        raise ConfigError(f"template {template} does not exist")
    from harness import deploy

    parse_parents = getattr(deploy, "parse_parents", None)  # --parent is parsed as `up` parses it
    if args.parent and parse_parents is None:
        raise ConfigError("--parent: this version of harness.deploy takes no parent templates")
    parents = parse_parents(args.parent) if parse_parents else {}
    if args.cloud_port is not None and not 0 < args.cloud_port < 65536:
        raise ConfigError(f"--cloud-port {args.cloud_port}: give a port number from 1 to 65535")
    _, findings = check_template(template, parse_params(args.param), cloud_port=args.cloud_port,
                                 stack_name=args.stack_name, deploy_options={"parents": parents or None,
                                                                             "companions": deploy.parse_companions(args.companion) or None})
    if args.format == "json":
        print(json.dumps(as_json(findings, template), indent=2))
    elif args.format == "sarif":
        print(json.dumps(as_sarif(findings, template), indent=2))
    else:
        print(as_text(findings, template))
    return 1 if any(f.severity == ERROR for f in findings) else 0


def _check_before_run(h: Any, strict: bool) -> bool:
    """`harness run` checks the deployed stack first and prints the findings; True: stop (--strict and errors)."""
    from harness.checks import ERROR
    from harness.checks.output import as_text
    from harness.checks.run import check_deployed

    _, findings = check_deployed(h.aws, h.model.stack_name, h.model.stacks[1:])  # with parents and companions
    if not findings:
        _say("check      no findings in the deployed stack")
        return False
    for line in as_text(findings, h.options.template).splitlines():
        _say(f"check      {line}")
    errors = sum(f.severity == ERROR for f in findings)
    if strict and errors:
        _say(f"check      --strict: {errors} error(s); the scenario does not run")
        return True
    return False


def _say(line: str) -> None:
    print(line, flush=True)


def _print_timeline(harness: Any) -> None:
    """Print the interesting events (tasks, targets, alarms, scaling, mail) as they happen."""
    from harness.report import timeline_line

    def show(event: Any) -> None:
        line = timeline_line(event, harness.t0)
        if line:
            _say(line)

    harness.timeline.subscribe(show)


async def _serve(harness: Any, folder: Path, job: Any = None) -> Any:
    """Start the harness, then serve until a signal (or until `job(harness)` returns: its result)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    result = None
    try:
        async with harness.running():
            state.write(folder, harness.snapshot())
            _say("ready      (Ctrl-C or `harness down` stops everything)")
            work = asyncio.create_task(job(harness)) if job else None
            while not stop.is_set() and not (work and work.done()) and not (work is None and harness.failure):
                waiters = [asyncio.create_task(stop.wait())] + ([work] if work else [])
                await asyncio.wait(waiters, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                waiters[0].cancel()
                state.write(folder, harness.snapshot())
            if work and not work.done():
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work
            elif work:
                result = work.result()
            _say("stopping   ...")
        if harness.failure is not None and work is None:  # `up`: a control loop raised
            raise LoopFailed(harness.failure)
    finally:
        state.remove(folder)
        for sig in signals:
            loop.remove_signal_handler(sig)
    _say("stopped    everything the harness started")
    return result


def cmd_status(args: argparse.Namespace, folder: Path) -> int:
    running = state.read(folder)
    if running is None:
        msg = f"no harness is up (home {folder})"
        if args.json:
            print(json.dumps({"up": False, "home": str(folder)}))
        else:
            print(msg)
        return 3
    report = _status_report(running)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"load balancer  {report['load_balancer_url']}")
    print(f"cloud          {report['cloud_endpoint']}")
    print(f"mailbox        {report['mailbox']}")
    print(f"cpu quota      {report['cpu_quota']}")
    for s in report["services"]:
        print(f"service        {s['name']}: desired {s['desired']}, running {s['running']}, healthy {s['healthy']}")
    for a in report["alarms"]:
        print(f"alarm          {a['name']}: {a['state']} (threshold {a['threshold']:g})")
    for act in report["scaling_activities"]:
        print(f"scaling        {act['description']} ({act['cause']}; {act['status']})")
    return 0


def _status_report(running: state.RunState) -> dict[str, Any]:
    """The running harness's own view, with desired counts and alarms read from the cloud itself."""
    from harness.cloud.clients import Aws

    aws = Aws(running.cloud_endpoint)
    services = []
    for s in running.services:
        desired = s["desired"]
        with contextlib.suppress(Exception):
            desc = aws.client("ecs").describe_services(cluster=s["cluster"], services=[s["name"]])["services"]
            desired = desc[0]["desiredCount"] if desc else desired
        services.append({**s, "desired": desired})
    alarms = [
        {"name": a["AlarmName"], "state": a["StateValue"], "threshold": a["Threshold"]}
        for page in aws.client("cloudwatch").get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
        for a in page["MetricAlarms"]
    ]
    return {
        "up": True,
        "pid": running.pid,
        "load_balancer_url": running.load_balancer_url,
        "cloud_endpoint": running.cloud_endpoint,
        "mailbox": running.mailbox,
        "stack": running.stack,
        "time_scale": running.time_scale,
        "cpu_quota": running.cpu_quota,
        "services": services,
        "alarms": alarms,
        "scaling_activities": running.scaling_activities,
    }


def cmd_init(args: argparse.Namespace) -> int:
    """Copy the shipped templates and locustfile into a project, never over an existing file."""
    target = args.dir.resolve()
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{target} is not a folder")
    files = resources.starter_files()
    for rel, _ in files:
        if (target / rel).exists() or (target / rel).is_symlink():
            raise ConfigError(f"{target / rel} already exists; harness init never overwrites a file "
                              "(move it away, or give another folder)")
    written: list[Path] = []
    try:
        for rel, source in files:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            with open(target / rel, "xb") as out:  # x: never over a file that appeared meanwhile
                written.append(target / rel)
                out.write(source.read_bytes())
    except OSError as err:
        for path in written:  # nothing half-written
            with contextlib.suppress(OSError):
                path.unlink()
        raise ConfigError(f"cannot write {err.filename or target}: {err.strerror or err}") from err
    where = "" if target == Path.cwd().resolve() else f" in {target}"
    _say(f"harness init: wrote {len(files)} files{where}")
    for rel, _ in files:
        _say(f"  {rel}")
    _say("next:\n"
         "  edit infrastructure/ecs.yml: your service (its Image parameter, container port, health check,\n"
         "    DesiredCount/MinCapacity/MaxCapacity, alarm thresholds, scaling steps); vpc.yml and cluster.yml\n"
         "    are its parent stacks, keep them unless your service has its own\n"
         "  loadtests/locustfile.py is the harness's load (CPU, error and ping users): run it by hand with\n"
         "    `locust -f loadtests/locustfile.py --host <load balancer URL>`, or start your own from it\n"
         f"  then `harness run`{' in ' + str(target) if where else ''} (every number is read back from your template)")
    return 0


def cmd_image(args: argparse.Namespace) -> int:
    from harness.image import build_base, ensure_image

    if args.what == "base":
        print(build_base(_say, force=args.force))
    else:
        print(ensure_image(None, _say))
    return 0


def cmd_logs(args: argparse.Namespace, folder: Path) -> int:
    from harness.cloud.clients import Aws
    from harness.logs import follow, read_logs
    from harness.stack import read_stack

    running = state.read(folder)
    if running is None:
        print(f"no harness is up (home {folder}); logs live in its cloud, which stops with it")
        return 3
    aws = Aws(running.cloud_endpoint)
    # (log group, stream prefix) of each container that logs with awslogs
    sources = [(c.log_group, c.log_stream_prefix) for s in read_stack(aws, running.stack).services
               for c in s.task_definition.containers if c.log_group]
    if not sources:
        raise ConfigError(f"no container of stack {running.stack} logs with awslogs")
    client = aws.client("logs")

    def show(line: Any) -> None:
        stream_task = line.stream.rsplit("/", 1)[-1]
        if not args.task or stream_task.startswith(args.task):
            print(f"{line.stream}  {line.message}", flush=True)

    if not args.follow:
        for group, prefix in sources:
            for line in read_logs(client, group, prefix):
                show(line)
        return 0

    async def tail() -> None:
        from harness.clock import ScaledClock

        group, prefix = sources[0]
        async for line in follow(client, ScaledClock(1.0), group, prefix, poll=1.0):
            show(line)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(tail())
    return 0


def cmd_mail(args: argparse.Namespace, folder: Path) -> int:
    from harness.mailbox import Mailbox

    box = folder / "mailbox"
    if not box.is_dir():
        print(f"no mailbox yet at {box}")
        return 0
    mails = Mailbox(box).messages()
    if args.id:
        hits = [m for m in mails if m.id.startswith(args.id)]
        if len(hits) != 1:
            raise ConfigError(f"{len(hits)} messages match {args.id!r} in {box}")
        print(hits[0].path.read_text(errors="replace"))
        return 0
    for m in mails:
        when = m.date.strftime("%Y-%m-%d %H:%M:%S") if m.date else "?"
        print(f"{m.id[:24]:<24}  {when}  {', '.join(m.to):<24}  {m.subject}")
    print(f"{len(mails)} message(s) in {box} (Maildir: open it with any mail client, or `harness mail ID`)")
    return 0


def cmd_down(folder: Path) -> int:
    running = state.read(folder)
    if running is None:
        print(f"no harness is up (home {folder})")
        state.remove(folder)
        return 0
    import os

    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30.0
    while state.alive(running.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if state.alive(running.pid):
        os.kill(running.pid, signal.SIGKILL)
    killed = state.kill_leftovers(running.child_pids)
    state.remove(folder)
    extra = f"; killed {len(killed)} leftover processes" if killed else ""
    print(f"stopped harness pid {running.pid}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
