"""pytest fixtures for a user's own tests: a deployed, served stack on the embedded cloud.

Installed with the package (entry point `pytest11`), so any test can ask for `harness_stack`:

    def test_factorial(harness_stack):
        assert urllib.request.urlopen(harness_stack.url + "/5").read() == b"120"

    @pytest.mark.harness_stack(template="infra/other.yml", params={"DesiredCount": "3"}, time_scale=60)
    def test_other(harness_stack): ...

    # A stack larger than the machine runs at a CPU scale (default auto; see the README):
    @pytest.mark.harness_stack(template="infra/big.yml", cpu_scale=0.1)
    def test_big(harness_stack): ...

    # Your own app as the tasks (run in task_dir with $PORT and $HOST); locustfile= is checked and
    # handed over as harness_stack.locustfile for your own load:
    @pytest.mark.harness_stack(task_command="node server.js", task_dir="app", locustfile="app/locustfile.py")
    def test_mine(harness_stack): ...

    @pytest.mark.harness_stack(template="infra/service.yaml", parents={"ParentAlertStack": "infra/alert.yaml"})
    def test_alerting(harness_stack): ...

    # The service's scaling in its own stack, deployed after the service (as --companion):
    @pytest.mark.harness_stack(template="infra/service.yaml", companions=["infra/scaling.yaml"])
    def test_scaling(harness_stack): ...

The stack runs in a background thread with its own event loop and clock; the fixture tears it all
down (tasks, load balancer, cloud, mail sink) when the test ends. It is handed over once every
service has as many healthy targets as it wants, and from then on it lives by its template: an idle
service's low-CPU alarm fires after its period (Period / time scale wall seconds) and scales it in
towards its minimum, so a live count such as `healthy()` can be below the
template's DesiredCount; `timeline` keeps what happened.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import resources
from harness.app import Harness, Options
from harness.capacity import parse_cpu_scale
from harness.clock import ScaledClock
from harness.cloud.clients import Aws
from harness.errors import HarnessError
from harness.events import Timeline
from harness.mailbox import Mailbox
from harness.net import free_port
from harness.stack import StackModel

REPO_TEMPLATE = resources.default_template()  # package data: found from any folder
START_TIMEOUT = 120.0  # wall seconds for deploy and healthy targets


@dataclass
class StackHandle:
    url: str  # the URL the load balancer's rules send to the service (harness.service_url())
    aws: Aws  # boto3 clients bound to the embedded cloud (fake credentials)
    mailbox: Mailbox
    timeline: Timeline
    model: StackModel
    harness: Harness
    locustfile: Path | None = None  # the marker's locustfile=, checked (your classes import); run it on .url

    def healthy(self) -> int:
        return sum(s.snapshot().healthy for s in self.harness.schedulers)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "harness_stack(template=None, params=None, parents=None, companions=None, time_scale=30, cpu_scale='auto', "
        "task_command=None, task_dir=None, locustfile=None, cloud='embedded'): how `harness_stack` deploys "
        "(parents: {PARAM: parent template}; companions: [template deployed after the service stack]; cpu_scale: auto or K, each task's quota is its reservation x K; "
        "cloud: embedded, localstack or a LocalStack's URL, as --cloud)"
    )


class _Runner(threading.Thread):
    def __init__(self, harness: Harness) -> None:
        super().__init__(name="harness_stack", daemon=True)
        self.harness = harness
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            async with self.harness.running():
                await self._wait_healthy()
                self.ready.set()
                await self._stopping.wait()
        except BaseException as err:  # reported to the test thread
            self.error = err
        finally:
            self.ready.set()

    async def _wait_healthy(self) -> None:
        while not all(s.snapshot().desired and s.snapshot().healthy >= (s.snapshot().desired or 0)
                      for s in self.harness.schedulers):
            await self.harness.clock.sleep(1.0)

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self.join(timeout=60)


def _user_service(kw: dict[str, Any]) -> dict[str, Any]:
    """task_command=, task_dir=, locustfile=: your own app as the tasks, as `--task-command` etc. do."""
    command = kw.get("task_command")
    task_dir = Path(kw.get("task_dir") or Path.cwd()).resolve() if command else None
    if task_dir is not None and not task_dir.is_dir():
        raise HarnessError(f"harness_stack: task_dir {task_dir} is not a folder")
    locustfile = Path(kw["locustfile"]).resolve() if kw.get("locustfile") else None
    if locustfile is not None:
        from harness.userload import inspect_locustfile

        inspect_locustfile(locustfile)  # one line naming a file that does not import or has no user class
    return {"task_command": command, "task_dir": task_dir, "locustfile": locustfile}


def _options_of(kw: dict[str, Any]) -> tuple[dict[str, Any], Path | None]:
    """(Options keywords, the checked locustfile). The fixture runs no scenario, so the locustfile is not
    calibrated (Locust must start from the main thread; the stack runs in a background one): it is
    handed to the test on the handle."""
    user = _user_service(kw)
    return {k: v for k, v in user.items() if k != "locustfile"}, user["locustfile"]


@pytest.fixture
def harness_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackHandle]:
    marker = request.node.get_closest_marker("harness_stack")
    kw: dict[str, Any] = dict(marker.kwargs) if marker else {}
    template = Path(kw.get("template") or REPO_TEMPLATE).resolve()
    home = tmp_path_factory.mktemp("harness")
    parents = {str(k): Path(v).resolve() for k, v in (kw.get("parents") or {}).items()}
    companions = [Path(v).resolve() for v in kw.get("companions") or ()]
    user_options, locustfile = _options_of(kw)
    options = Options(template=template, params=dict(kw.get("params") or {}), home=home, cloud_port=free_port(),
                      parents=parents, companions=companions, cpu_scale=parse_cpu_scale(str(kw.get("cpu_scale", "auto"))),
                      cloud=str(kw.get("cloud", "embedded")), **user_options)
    harness = Harness(options, ScaledClock(float(kw.get("time_scale", 30.0))), say=lambda line: None)
    runner = _Runner(harness)
    runner.start()
    try:
        if not runner.ready.wait(START_TIMEOUT):
            raise HarnessError(f"harness_stack: {template} was not serving after {START_TIMEOUT:g} s")
        if runner.error is not None:
            raise runner.error
        assert harness.aws and harness.mailbox is not None and harness.model and harness.proxies
        yield StackHandle(url=harness.service_url(), aws=harness.aws, mailbox=harness.mailbox,
                          timeline=harness.timeline, model=harness.model, harness=harness, locustfile=locustfile)
    finally:
        runner.stop()
