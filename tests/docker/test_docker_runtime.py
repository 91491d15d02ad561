"""harness/ecs/docker.py: tasks as real containers (host networking, limits, labels, cleanup)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from harness.ecs.cgroup import CFS_PERIOD_US
from harness.ecs.docker import (
    LABEL_PID,
    LABEL_RUN,
    LABEL_SERVICE,
    LABEL_STACK,
    LABEL_TASK,
    DockerRuntime,
    container_config,
    owner_alive,
    owner_token,
    task_cgroup,
    usage_from_stats,
)
from harness.ecs.runtime import TaskSpec, Usage
from harness.errors import CloudError, TaskError
from harness.image import BASE_TAG
from harness.net import LOOPBACK, free_port

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]


def spec(task_id: str = "t1", *, port: int | None = None, cpu: int = 256, mem: int | None = 128) -> TaskSpec:
    return TaskSpec(task_id, "svc", "web", "ignored:latest", port or free_port(), {"GREETING": "hi"}, cpu, mem)


def get(port: int, path: str, timeout: float = 10.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def run_containers(client: Any, run_id: str) -> list[Any]:
    """The run's containers; one being removed meanwhile (by the reaper) is skipped, not an error."""
    import docker.errors

    out = []
    for c in client.api.containers(all=True, filters={"label": f"{LABEL_RUN}={run_id}"}):
        try:
            out.append(client.containers.get(c["Id"]))
        except docker.errors.NotFound:
            pass
    return out


# ----------------------------------------------------------------------------- pure
def test_container_config_maps_the_task_definition() -> None:
    s = spec(port=4100, cpu=512, mem=128)
    cfg = container_config(s, "img:1", run_id="r1", stack="ecs", owner="1:2", enforce_quota=True)
    assert cfg["image"] == "img:1" and cfg["network_mode"] == "host"
    assert cfg["environment"] == {"GREETING": "hi", "PORT": "4100", "HOST": "127.0.0.1"}
    assert cfg["mem_limit"] == cfg["memswap_limit"] == 128 * 1024 * 1024
    assert (cfg["cpu_period"], cfg["cpu_quota"], cfg["cpu_shares"]) == (CFS_PERIOD_US, 5000, 512)
    assert cfg["labels"] == {LABEL_STACK: "ecs", LABEL_SERVICE: "svc", LABEL_TASK: "t1", LABEL_RUN: "r1", LABEL_PID: "1:2"}
    free = container_config(spec(mem=None), "img:1", run_id="r1", stack="", owner="", enforce_quota=False)
    assert "mem_limit" not in free and "cpu_quota" not in free and "cpu_period" not in free


@pytest.mark.parametrize(
    "stats, expected",
    [
        # cgroup v1: usage minus total_inactive_file
        ({"cpu_stats": {"cpu_usage": {"total_usage": 2_500_000_000}},
          "memory_stats": {"usage": 50_000_000, "stats": {"total_inactive_file": 10_000_000, "inactive_file": 1}}},
         Usage(2.5, 40_000_000)),
        # cgroup v2: usage minus inactive_file
        ({"cpu_stats": {"cpu_usage": {"total_usage": 1_000}}, "memory_stats": {"usage": 9_000, "stats": {"inactive_file": 1_000}}},
         Usage(1e-6, 8_000)),
        # inactive above usage (racy sample): usage unchanged
        ({"cpu_stats": {"cpu_usage": {"total_usage": 0}}, "memory_stats": {"usage": 100, "stats": {"inactive_file": 500}}},
         Usage(0.0, 100)),
        # an exited container's empty stats
        ({"cpu_stats": {}, "memory_stats": {}}, Usage(0.0, 0)),
    ],
)
def test_usage_from_stats(stats: dict[str, Any], expected: Usage) -> None:
    assert usage_from_stats(stats) == expected


def test_task_cgroup_v1_and_v2() -> None:
    mounts = ("cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\ncgroup /sys/fs/cgroup/cpuacct cgroup rw,cpuacct 0 0\n"
              "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n")
    own = "4:memory:/docker/abc\n2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/\n"
    cg = task_cgroup("t", own, mounts)
    assert cg is not None and cg.version == 1
    assert (cg.cpu_dir, cg.cpuacct_dir, cg.memory_dir) == (
        Path("/sys/fs/cgroup/cpu/docker/abc"), Path("/sys/fs/cgroup/cpuacct/docker/abc"), Path("/sys/fs/cgroup/memory/docker/abc"))
    cg2 = task_cgroup("t", "0::/system.slice/docker-abc.scope\n", "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n")
    assert cg2 is not None and cg2.version == 2 and cg2.memory_dir == Path("/sys/fs/cgroup/system.slice/docker-abc.scope")


def test_owner_token_detects_dead_processes() -> None:
    assert owner_alive(owner_token(os.getpid()))
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    token = owner_token(p.pid)
    p.wait()
    assert not owner_alive(token)
    assert not owner_alive("") and not owner_alive(f"{os.getpid()}:1")


# ----------------------------------------------------------------------------- real engine
@pytest.mark.slow
def test_task_serves_through_host_networking(image: str, client: Any, tmp_path: Path) -> None:
    with DockerRuntime(image, tmp_path, stack="ecs") as rt:
        s = spec()
        task = rt.start(s)
        rt.wait_ready(task, 30)
        assert rt.ready(task) and rt.exit_code(task) is None
        assert get(s.host_port, "/5") == (200, "120")
        (ct,) = run_containers(client, rt.run_id)
        assert task.pid == ct.attrs["State"]["Pid"] > 0  # the container's init, as the host sees it
        assert ct.labels[LABEL_TASK] == "t1" and ct.labels[LABEL_SERVICE] == "svc" and ct.labels[LABEL_STACK] == "ecs"
        host = ct.attrs["HostConfig"]
        assert host["NetworkMode"] == "host" and host["Memory"] == 128 * 1024 * 1024
        assert (host["CpuPeriod"], host["CpuQuota"]) == (CFS_PERIOD_US, 2500)
        assert "GREETING=hi" in ct.attrs["Config"]["Env"]
        # The cgroup files and the stats API agree (same arithmetic as the ECS agent).
        u = rt.usage(task)
        api = usage_from_stats(ct.stats(stream=False))
        assert u.cpu_seconds > 0 and abs(u.cpu_seconds - api.cpu_seconds) < 0.5
        assert 1_000_000 < u.memory_bytes < 128 * 1024 * 1024 and abs(u.memory_bytes - api.memory_bytes) < 4 * 1024 * 1024
        lines, offset = rt.log_lines(task)
        assert f"sample_app listening on 127.0.0.1:{s.host_port}" in lines and "GET /5 200" in lines
        assert rt.log_lines(task, offset) == ([], offset)
        assert rt.stop(task, 5) == 0
        assert rt.tasks() == [] and run_containers(client, rt.run_id) == []
        assert "GET /5 200" in rt.log_tail(task)  # the log outlives the container
    assert run_containers(client, rt.run_id) == []


@pytest.mark.slow
def test_port_taken_is_a_task_error(image: str, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s, DockerRuntime(image, tmp_path, reaper=False) as rt:
        s.bind((LOOPBACK, 0))
        s.listen()
        with pytest.raises(TaskError, match=f"host port 127.0.0.1:{s.getsockname()[1]} is already in use"):
            rt.start(spec(port=s.getsockname()[1]))


@pytest.mark.slow
def test_container_exiting_at_start_is_a_task_error_with_its_log(image: str, client: Any, tmp_path: Path) -> None:
    base = BASE_TAG if client.images.list(name=BASE_TAG) else image
    with DockerRuntime(base, tmp_path, reaper=False) as rt:
        task = rt.start(TaskSpec("t1", "svc", "web", base, free_port(), {}, 256, 128))
        with pytest.raises(TaskError, match=r"exited with code \d+ before listening"):
            rt.wait_ready(task, 30)
        rt.release(task)
        assert run_containers(client, rt.run_id) == []


@pytest.mark.slow
def test_memory_limit_kills_the_container(image: str, client: Any, tmp_path: Path) -> None:
    with DockerRuntime(image, tmp_path, reaper=False) as rt:
        s = spec(mem=64)
        task = rt.start(s)
        rt.wait_ready(task, 30)
        assert get(s.host_port, "/memory?mb=8") == (200, "held 8 MiB")  # within the limit: fine
        with pytest.raises(Exception):  # the connection dies with the process
            get(s.host_port, "/memory?mb=200")
        for _ in range(100):
            if rt.exit_code(task) is not None:
                break
            time.sleep(0.1)
        assert rt.exit_code(task) == 137
        assert rt.stopped_reason(task) == "OutOfMemoryError: Container killed due to memory usage (limit 64 MiB)"
        rt.release(task)


@pytest.mark.slow
def test_cpu_quota_caps_utilization(image: str, tmp_path: Path) -> None:
    """256 units = a quarter of a CPU: two busy clients cannot push the container above it."""
    with DockerRuntime(image, tmp_path, reaper=False) as rt:
        s = spec(cpu=256)
        task = rt.start(s)
        rt.wait_ready(task, 30)
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                try:
                    get(s.host_port, "/cpu?ms=100", timeout=30)
                except OSError:
                    pass

        workers = [threading.Thread(target=hammer) for _ in range(2)]
        for w in workers:
            w.start()
        try:
            time.sleep(0.5)  # let the burn start
            c0, t0 = rt.usage(task).cpu_seconds, time.monotonic()
            time.sleep(2.0)
            c1, t1 = rt.usage(task).cpu_seconds, time.monotonic()
        finally:
            stop.set()
            for w in workers:
                w.join()
        share = (c1 - c0) / (t1 - t0)
        # Kernel-enforced: at most 0.25 CPU (+ one 10 ms period of slack); uncapped it would be ~1-2 CPUs.
        assert 0.03 < share <= 0.25 * 1.1 + 0.01, share


@pytest.mark.slow
def test_failure_inside_the_runtime_leaves_no_container(image: str, client: Any, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with DockerRuntime(image, tmp_path) as rt:
            task = rt.start(spec())
            rt.wait_ready(task, 30)
            raise RuntimeError("boom")
    assert run_containers(client, rt.run_id) == []


KILLED_HARNESS = """
import sys, time
from pathlib import Path
from harness.ecs.docker import DockerRuntime
from harness.ecs.runtime import TaskSpec
from harness.net import free_port
rt = DockerRuntime(sys.argv[1], Path(sys.argv[2]), reaper=sys.argv[3] == "reaper")
for i in range(2):
    rt.wait_ready(rt.start(TaskSpec(f"t{i}", "svc", "web", "x", free_port(), {}, 256, 128)), 30)
print(rt.run_id, flush=True)
time.sleep(600)
"""


@pytest.mark.slow
@pytest.mark.parametrize("reaper", ["reaper", "no-reaper"])
def test_no_container_left_after_the_harness_is_killed(image: str, client: Any, tmp_path: Path, reaper: str) -> None:
    """SIGKILL: the reaper removes the run's containers; without it the next runtime removes them (dead owner)."""
    p = subprocess.Popen([sys.executable, "-c", KILLED_HARNESS, image, str(tmp_path), reaper],
                         stdout=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert p.stdout is not None
        run_id = p.stdout.readline().strip()
        assert run_id and len(run_containers(client, run_id)) == 2
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    if reaper == "reaper":
        for _ in range(150):
            if not run_containers(client, run_id):
                break
            time.sleep(0.1)
    else:
        assert len(run_containers(client, run_id)) == 2
        DockerRuntime(image, tmp_path, reaper=False).close()
    assert run_containers(client, run_id) == []


def test_no_engine_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    with pytest.raises(CloudError, match=rf"No Docker engine at unix://{tmp_path}/no.sock: run .ci/docker-up or start dockerd"):
        DockerRuntime("harness/sample-app:latest", tmp_path)


@pytest.mark.slow
def test_missing_image_is_a_clear_error(engine: None, tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="Image harness/no-such-image:0 is not in the local Docker engine"):
        DockerRuntime("harness/no-such-image:0", tmp_path, reaper=False)
