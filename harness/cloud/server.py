"""The embedded cloud: moto's server in a child process the harness owns, on 127.0.0.1 only.

Why a child process: moto's backends are global state guarded by the GIL; keeping them out of the
harness process keeps the control loop responsive, lets the harness kill the cloud cleanly, and lets
other tools (awslocal, the AWS CLI, localstack-client) talk to the same endpoint.

The child (`python -m harness.cloud.server --port N`) registers the harness's CloudFormation models
(`cfn_models.register()`) before any template is parsed, and also answers LocalStack's health path
`GET /_localstack/health` so LocalStack-aware clients accept it. It exits when its parent dies
(PR_SET_PDEATHSIG where possible, plus a parent-pid watchdog).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from harness.child import StartStop, die_with_parent
from harness.cloud.clients import isolated_env
from harness.errors import CloudError
from harness.net import port_in_use

HEALTH_PATH = "/_localstack/health"
# The CloudFormation resource types this cloud can create (read by harness.deploy before deploying).
RESOURCE_TYPES_PATH = "/_harness/resource-types"
# The services the embedded cloud offers, as LocalStack's health endpoint lists them.
SERVICES = (
    "cloudformation",
    "cloudwatch",
    "ec2",
    "ecs",
    "elasticloadbalancing",
    "elbv2",
    "application-autoscaling",
    "iam",
    "logs",
    "sns",
    "sqs",
    "ssm",
    "sts",
    "lambda",
    "events",
    "autoscaling",
)
START_TIMEOUT_S = 30.0  # wall seconds; moto's import dominates (about 2 s on a quiet machine)




class EmbeddedCloud(StartStop):
    """moto on `host:port` in a child process. `with EmbeddedCloud() as cloud: cloud.endpoint`."""

    def __init__(self, port: int = 4566, host: str = "127.0.0.1", *,
                 time_origin: tuple[float, float] | None = None) -> None:
        """`time_origin` (from `ScaledClock.origin`) makes the cloud's CloudWatch and Logs keep template time."""
        if host != "127.0.0.1":
            raise CloudError(f"the embedded cloud binds 127.0.0.1 only, not {host}")
        self.host = host
        self.port = port
        self.time_origin = time_origin
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_path: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start the child and wait (bounded, wall time) until it answers the health path."""
        if self._proc is not None:
            return
        if port_in_use(self.port, self.host):
            raise CloudError(
                f"port {self.port} on {self.host} is already in use (another emulator such as LocalStack "
                "or moto?); stop it or pass --cloud-port"
            )
        import tempfile

        fd, name = tempfile.mkstemp(prefix="harness-cloud-", suffix=".stderr")
        self._stderr_path = Path(name)
        env = isolated_env(os.environ)  # the user's AWS_PROFILE, AWS_CONFIG_FILE, ... must not reach moto
        pkg_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        in_main_thread = threading.current_thread() is threading.main_thread()
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness.cloud.server",
                "--port",
                str(self.port),
                "--host",
                self.host,
                "--parent-pid",
                str(os.getpid()),
                *(["--time-origin", repr(self.time_origin[0]), "--time-scale", repr(self.time_origin[1])]
                  if self.time_origin else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=fd,
            env=env,
            cwd=pkg_root,
            # PR_SET_PDEATHSIG fires when the forking *thread* exits, so only use it from the main
            # thread; the child's parent-pid watchdog covers the other cases.
            preexec_fn=die_with_parent(signal.SIGTERM) if in_main_thread else None,
        )
        os.close(fd)
        try:
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, timeout: float) -> None:
        # A deploy-time wait on a child process, not template time: wall clock is right here.
        deadline = time.monotonic() + timeout
        assert self._proc is not None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise CloudError(
                    f"the embedded cloud (moto) on port {self.port} exited with code {self._proc.returncode} "
                    f"while starting: {self._stderr_tail()}"
                )
            try:
                with urllib.request.urlopen(self.endpoint + HEALTH_PATH, timeout=1.0) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise CloudError(
            f"the embedded cloud (moto) on port {self.port} did not answer {HEALTH_PATH} within "
            f"{timeout:.0f} s: {self._stderr_tail()}"
        )

    def _stderr_tail(self, limit: int = 2000) -> str:
        if self._stderr_path is None or not self._stderr_path.exists():
            return "(no stderr)"
        text = self._stderr_path.read_text(errors="replace").strip()
        return text[-limit:] if text else "(empty stderr)"

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL) and remove its stderr file. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._stderr_path is not None:
            self._stderr_path.unlink(missing_ok=True)
            self._stderr_path = None


    def __repr__(self) -> str:
        return f"EmbeddedCloud(endpoint={self.endpoint!r}, pid={self.pid})"


# --------------------------------------------------------------------------- the child process

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def health_app(inner: WsgiApp, version: str, resource_types: Iterable[str] = ()) -> WsgiApp:
    """Answer LocalStack's health path, the harness's resource-type list and its private write paths
    (harness.cloud.private_api); pass the rest to moto."""
    from harness.cloud import private_api

    types_body = json.dumps(sorted(resource_types)).encode()
    body = json.dumps(
        {
            "services": {name: "running" for name in SERVICES},
            "edition": "community",
            "version": version,
            "features": {"provider": "harness-embedded-moto"},
        }
    ).encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == RESOURCE_TYPES_PATH and environ.get("REQUEST_METHOD") == "GET":
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(types_body)))]
            )
            return [types_body]
        private = private_api.route(path, environ.get("REQUEST_METHOD", ""))
        if private is not None:  # what the harness did (alarm history, scaling activities), written back
            return private(environ, start_response)
        if path.rstrip("/") == HEALTH_PATH:
            if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
                start_response(
                    "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
                )
                return [body]
        return inner(environ, start_response)

    return app


# SSM parameters every account of this cloud has, as an account bootstrapped for the AWS CDK has them:
# a synthesized stack's BootstrapVersion parameter (Type AWS::SSM::Parameter::Value<String>) reads the
# first, and its CheckBootstrapVersion rule wants it at 6 or more. The value is the version of the CDK
# bootstrap template when this was written; a stack only compares it against its minimum.
# https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html
SEEDED_SSM_PARAMETERS: dict[str, str] = {"/cdk-bootstrap/hnb659fds/version": "27"}


def seed_ssm(account_id: str = "123456789012", regions: Iterable[str] = ("us-east-1",)) -> None:
    """Put SEEDED_SSM_PARAMETERS into moto's SSM backend (in the process that serves moto)."""
    from moto.ssm.models import ssm_backends

    for region in regions:
        backend = ssm_backends[account_id][region]
        for name, value in SEEDED_SSM_PARAMETERS.items():
            # moto annotates allowed_pattern and keyid as str; its PutParameter handler passes None when absent.
            backend.put_parameter(name=name, description="seeded by the harness (CDK bootstrap)", value=value,
                                  parameter_type="String", allowed_pattern=None, keyid=None,  # type: ignore[arg-type]
                                  overwrite=True, tags=[], data_type="text", tier=None, policies=None)


def _watch_parent(parent_pid: int) -> None:
    """Exit when the parent is gone (covers a parent that died before prctl took effect)."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The harness's embedded moto server (loopback only).")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--parent-pid", type=int, default=0)
    parser.add_argument("--time-origin", type=float, default=None, help="real epoch at which template time is real time")
    parser.add_argument("--time-scale", type=float, default=1.0, help="template seconds per real second")
    args = parser.parse_args(argv)
    if args.host != "127.0.0.1":
        parser.error("the embedded cloud binds 127.0.0.1 only")
    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    # SIGTERM ends the child at once: its state is moto's memory, nothing to flush, and the interpreter's
    # orderly shutdown of moto's modules costs about 0.7 s of CPU at every stop.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if args.parent_pid:
        # A Ctrl-C reaches the whole foreground process group; the harness stops its cloud itself, last
        # (SIGTERM), after the tasks have been deregistered from their target groups through it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("MOTO_PORT", str(args.port))

    from moto import __version__ as moto_version
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    from harness.cloud import cfn_models, cloudwatch_fixes, elbv2_fixes, target_tracking

    cfn_models.register()
    seed_ssm()
    cloudwatch_fixes.apply()
    from harness.cloud import private_api

    private_api.apply()  # DescribeAlarmHistory and DescribeScalingActivities serve what the harness writes
    elbv2_fixes.apply()  # a target is (Id, Port), as in AWS: several tasks at one address
    target_tracking.apply()  # target tracking policies get AWS's alarms, not moto's fixed ones
    if args.time_origin is not None:
        cloudwatch_fixes.use_template_time(args.time_origin, args.time_scale)
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        health_app(app, f"harness-moto-{moto_version}", cfn_models.supported_types()),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
