"""docker-compose.yml: every profile validates, and the locally buildable part comes up and serves.

Debian's `docker-compose` (1.29) is the client. The registry-bound profiles (`localstack`, `mail`)
are checked with `docker-compose config` only; `harness` and `sample-app` are built offline (on the
debootstrap base) and the harness is brought up for real: its load balancer answers `/5` with 120,
its mailbox is visible on the host, and SIGTERM (`docker-compose stop`/`down`) makes it stop and
remove its task containers. Without docker-compose or an engine these tests skip; with env CI set
they fail instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml

from harness.ecs.docker import LABEL_PID, LABEL_RUN, LABEL_TASK, owner_alive
from harness.net import LOOPBACK, free_port

pytestmark = pytest.mark.slow  # docker-compose and a Docker engine

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
BUILD_TIMEOUT = 900  # wall seconds: a cold build downloads the harness's wheels from PyPI (~1 min here)
UP_TIMEOUT = 120  # wall seconds from `up -d` to the load balancer answering
STOP_TIMEOUT = 120
LB_LINE = re.compile(r"load bal\.\s+(http://127\.0\.0\.1:\d+)")
TASK_LINE = re.compile(r"task\s+started\s+(\S+):")
PROFILES = [(), ("localstack",), ("mail",), ("localstack", "mail")]
LOCAL_SERVICES = ("harness", "sample-app")  # buildable with no registry
# Host CA certificates (a TLS-inspecting proxy in front of PyPI): passed to the build as PEM text.
HOST_EXTRA_CA = Path("/usr/local/share/ca-certificates")


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the docker-compose tests, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def compose() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        _unavailable("`docker-compose` is not installed (apt-get install -y docker-compose)")
    return exe


def run(cmd: list[str], env: dict[str, str], timeout: float, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-25:]
        pytest.fail(f"`{' '.join(cmd)}` exited {proc.returncode}:\n" + "\n".join(tail), pytrace=False)
    return proc


def compose_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "LOCALSTACK_", "COMPOSE_"))}
    env.update(extra)
    return env


def config(compose: str, profiles: tuple[str, ...], env: dict[str, str]) -> dict[str, Any]:
    flags = [a for p in profiles for a in ("--profile", p)]
    out = run([compose, "-f", str(COMPOSE_FILE), *flags, "config"], env, timeout=60)
    data = yaml.safe_load(out.stdout)
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


# ----------------------------------------------------------------------------- config (no engine needed)
@pytest.mark.parametrize("profiles", PROFILES, ids=lambda p: "+".join(p) or "default")
def test_config_is_valid_and_loopback_only(compose: str, profiles: tuple[str, ...]) -> None:
    services = config(compose, profiles, compose_env())["services"]
    assert set(LOCAL_SERVICES) <= set(services)
    for name, svc in services.items():
        # Host networking only, nothing published on 0.0.0.0, no bridge (dockerd runs with --bridge=none).
        assert svc.get("network_mode") == "host", f"{name} must use host networking"
        assert "ports" not in svc, f"{name} publishes ports; everything binds 127.0.0.1 through host networking"
        for key, value in (svc.get("environment") or {}).items():
            if key.endswith(("_LISTEN", "_BIND_ADDR", "_HOST")) and value:
                assert str(value).startswith(LOOPBACK + ":") or str(value) == LOOPBACK, f"{name}: {key}={value}"
        build = svc.get("build")
        if build:
            assert build.get("network") == "host", f"{name}'s build needs network: host (no bridge)"


def test_config_harness_service(compose: str) -> None:
    env = compose_env(HARNESS_COMPOSE_HOME="/tmp/somewhere", HARNESS_CLOUD_PORT="4999")
    svc = config(compose, (), env)["services"]["harness"]
    assert svc["build"]["dockerfile"] == "docker/harness.Dockerfile"
    assert svc["build"]["args"]["BASE_IMAGE"] == "harness/base:bookworm-python3"
    assert svc["pid"] == "host" and svc.get("init") is True
    volumes = svc["volumes"]
    assert "/var/run/docker.sock:/var/run/docker.sock:rw" in volumes
    assert "/sys/fs/cgroup:/sys/fs/cgroup:ro" in volumes
    assert "/tmp/somewhere:/var/lib/harness:rw" in volumes
    assert svc["command"][:3] == ["up", "--runtime", "docker"]
    assert svc["command"][svc["command"].index("--cloud-port") + 1] == "4999"
    assert svc["environment"]["HARNESS_LB_PORT"] == "8080"  # a URL compose users can bookmark
    assert svc["environment"]["HARNESS_MAIL_RELAY"] == ""  # off unless the mail profile's relay is named
    app = config(compose, (), env)["services"]["sample-app"]
    assert app["image"] == "harness/sample-app:latest" and app["build"]["args"]["BASE_IMAGE"]


def test_config_localstack_profile(compose: str) -> None:
    env = compose_env(LOCALSTACK_AUTH_TOKEN="ls-token-for-test", LOCALSTACK_PORT="4600")
    services = config(compose, ("localstack",), env)["services"]
    ls = services["localstack"]
    assert ls["build"]["dockerfile"] == "docker/localstack.Dockerfile"
    assert ls["build"]["args"]["LOCALSTACK_IMAGE"].startswith("localstack/localstack:")
    assert ls["environment"]["LOCALSTACK_AUTH_TOKEN"] == "ls-token-for-test"
    assert ls["environment"]["GATEWAY_LISTEN"] == "127.0.0.1:4600"
    hl = services["harness-localstack"]
    assert hl["command"][hl["command"].index("--cloud") + 1] == "http://127.0.0.1:4600"
    assert hl["depends_on"]["localstack"]["condition"] == "service_healthy"
    # Its own home: two harnesses must not share one state file.
    assert any(v.endswith(":/var/lib/harness:rw") and "/localstack:" in v for v in hl["volumes"])
    assert "profiles" in hl and "profiles" in ls


def test_config_mail_profile(compose: str) -> None:
    mail = config(compose, ("mail",), compose_env())["services"]["mail"]
    assert mail["environment"]["MP_SMTP_BIND_ADDR"] == "127.0.0.1:1025"
    assert mail["environment"]["MP_UI_BIND_ADDR"] == "127.0.0.1:8025"


def test_default_up_leaves_registry_services_out(compose: str) -> None:
    """Plain `docker-compose up` must start only what builds offline: registry services are in profiles."""
    data = config(compose, (), compose_env())
    for name, svc in data["services"].items():
        if name not in LOCAL_SERVICES:
            assert svc.get("profiles"), f"{name} is not in a profile, so plain `docker-compose up` would start it"


# ----------------------------------------------------------------------------- smoke (engine needed)
def extra_ca() -> str:
    if not HOST_EXTRA_CA.is_dir():
        return ""
    return "".join(p.read_text() for p in sorted(HOST_EXTRA_CA.glob("*.crt")))


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e)


def wait_for(what: str, probe: Any, timeout: float, logs: Any) -> Any:
    """Poll `probe()` (wall time: an outside process) until truthy; fail with the harness log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what} within {timeout:g} s; harness log tail:\n" + "\n".join(logs().splitlines()[-30:]),
                pytrace=False)


def containers_with_tasks(client: Any, task_ids: set[str]) -> list[str]:
    found = client.api.containers(all=True, filters={"label": LABEL_RUN})
    return [c["Names"][0] for c in found if (c.get("Labels") or {}).get(LABEL_TASK) in task_ids]


@pytest.fixture
def project(compose: str, engine: None, tmp_path: Path) -> Iterator[tuple[list[str], dict[str, str], Path]]:
    """A compose project of its own (name, home, cloud port), always brought down afterwards."""
    from harness.image import base_image

    base = base_image(print)  # the Dockerfile's default when present, else the offline base (built if missing)
    home = tmp_path / "home"
    home.mkdir()
    env = compose_env(
        HARNESS_BASE_IMAGE=base,
        HARNESS_COMPOSE_HOME=str(home),
        HARNESS_CLOUD_PORT=str(free_port()),
        HARNESS_LB_PORT=str(free_port()),
        HARNESS_EXTRA_CA_CERTS=os.environ.get("HARNESS_EXTRA_CA_CERTS") or extra_ca(),
    )
    cmd = [compose, "-f", str(COMPOSE_FILE), "-p", f"harness-smoke-{uuid.uuid4().hex[:8]}"]
    try:
        yield cmd, env, home
    finally:
        run([*cmd, "down", "--remove-orphans", "-t", str(STOP_TIMEOUT)], env, timeout=STOP_TIMEOUT + 60, check=False)
        # A harness killed before it could clean up leaves task containers whose owner is gone.
        import docker

        c = docker.from_env()
        try:
            for ct in c.api.containers(all=True, filters={"label": LABEL_PID}):
                if not owner_alive((ct.get("Labels") or {}).get(LABEL_PID, "")):
                    try:
                        c.api.remove_container(ct["Id"], force=True)
                    except docker.errors.NotFound:
                        pass  # removed meanwhile by its own harness's reaper
        finally:
            c.close()


@pytest.mark.timeout(BUILD_TIMEOUT + UP_TIMEOUT + 2 * STOP_TIMEOUT + 120)
def test_build_up_serve_and_down(project: tuple[list[str], dict[str, str], Path], client: Any) -> None:
    cmd, env, home = project
    t0 = time.monotonic()
    run([*cmd, "build", *LOCAL_SERVICES], env, timeout=BUILD_TIMEOUT)
    t_build = time.monotonic() - t0

    def logs() -> str:
        return run([*cmd, "logs", "--no-color", "harness"], env, timeout=60, check=False).stdout

    from harness.mailbox import Mailbox, SmtpSink

    relayed = Mailbox(home.parent / "relayed")
    with SmtpSink(relayed) as relay:
        env["HARNESS_MAIL_RELAY"] = f"127.0.0.1:{relay.port}"
        run([*cmd, "up", "-d", "harness"], env, timeout=120)

        url = wait_for("the harness did not print its load balancer URL",
                       lambda: (m := LB_LINE.search(logs())) and m.group(1), UP_TIMEOUT, logs)
        assert url == f"http://127.0.0.1:{env['HARNESS_LB_PORT']}"
        status, body = wait_for(f"{url}/5 did not answer 200",
                                lambda: (r := get(f"{url}/5"))[0] == 200 and r, UP_TIMEOUT, logs)
        assert body.strip() == "120"

        task_ids = set(TASK_LINE.findall(logs()))
        assert task_ids, "the harness printed no started task"
        assert containers_with_tasks(client, task_ids), "the tasks are not Docker containers (sibling containers expected)"
        # The home folder is a host folder: the SNS subscription confirmation is already in its Maildir.
        wait_for("no mail reached the mailbox on the host",
                 lambda: any((home / "mailbox" / d).glob("*") for d in ("new", "cur")), UP_TIMEOUT, logs)
        # ... and was handed on to the relay (mailpit's place in the mail profile; here a real SMTP server).
        wait_for("no mail reached the relay", lambda: relayed.messages(), UP_TIMEOUT, logs)

    # SIGTERM (what `docker-compose down` sends): the harness stops and removes its task containers itself.
    run([*cmd, "stop", "-t", str(STOP_TIMEOUT), "harness"], env, timeout=STOP_TIMEOUT + 60)
    final = logs()
    assert "stopped    everything the harness started" in final, final[-2000:]
    assert containers_with_tasks(client, task_ids) == []

    run([*cmd, "down", "--remove-orphans"], env, timeout=STOP_TIMEOUT)
    project_label = f"com.docker.compose.project={cmd[-1]}"
    assert client.api.containers(all=True, filters={"label": project_label}) == []
    print(f"compose smoke: build {t_build:.1f} s, total {time.monotonic() - t0:.1f} s")
