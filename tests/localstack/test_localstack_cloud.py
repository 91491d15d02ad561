"""LocalStackCloud / ExternalCloud without a real LocalStack: health parsing, bad endpoints, bad starts.

A LocalStack that fails to start is a fake venv (a seam the harness owns: the venv's `bin/python`),
since a real LocalStack cannot be made to fail on demand.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cloud.localstack import (
    MARKER,
    REQUIREMENTS,
    ExternalCloud,
    LocalStackCloud,
    find_python,
    localstack_env,
    missing_record_paths,
    open_cloud,
    parse_health,
    record_paths,
)
from harness.cloud.clients import Aws
from harness.cloud.server import EmbeddedCloud
from harness.errors import CloudError
from harness.net import free_port


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, b'{"services": {"s3": "running"}, "version": "2026.3.0", "edition": "community"}', None),
        (404, b"<html>no</html>", "HTTP 404"),
        (200, b"<html>hello</html>", "did not answer JSON"),
        (200, b'{"status": "ok"}', "without 'services' and 'version'"),
    ],
)
def test_parse_health(status: int, body: bytes, error: str | None) -> None:
    if error is None:
        health = parse_health(status, "application/json", body, "http://127.0.0.1:1")
        assert health.version == "2026.3.0" and health.services == {"s3": "running"}
    else:
        with pytest.raises(CloudError, match=f"is not LocalStack: .*{error}"):
            parse_health(status, "text/html", body, "http://127.0.0.1:1")


@pytest.fixture
def plain_http_server() -> Iterator[str]:
    """A real HTTP server that is not LocalStack (Python's http.server on loopback)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_external_endpoint_that_is_not_localstack(plain_http_server: str) -> None:
    with pytest.raises(CloudError, match=r"is not LocalStack: /_localstack/health answered HTTP 404"):
        ExternalCloud(plain_http_server).start()


def test_external_endpoint_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CloudError, match=f"the cloud endpoint {url} is unreachable"):
        ExternalCloud(url).start(timeout=0.5)


@pytest.mark.parametrize(
    ("url", "error"),
    [("ftp://127.0.0.1:21", "not an http URL"), ("http://10.0.0.5:4566", "not on this machine"), ("127.0.0.1:4566", "not an http URL"),
     ("http://127.0.0.1:abc", "no valid port"), ("http://127.0.0.1:99999", "no valid port")],
)
def test_external_bad_urls(url: str, error: str) -> None:
    with pytest.raises(CloudError, match=error):
        ExternalCloud(url)


def test_external_accepts_the_embedded_cloud(cloud: EmbeddedCloud) -> None:
    # The embedded cloud answers LocalStack's health path, so LocalStack-aware tools accept it.
    ext = ExternalCloud(cloud.endpoint.replace("127.0.0.1", "localhost"))
    with ext:
        assert ext.health is not None and "ecs" in ext.health.services
        assert ext.pid is None
        assert ext.missing_records == []  # it takes the harness's records
    assert cloud.pid is not None  # not stopped by ExternalCloud


def test_record_paths_found_only_where_served(cloud: EmbeddedCloud, plain_http_server: str) -> None:
    # The embedded cloud serves every record path (and keeps nothing from the empty probe write);
    # an HTTP server that is not the harness's serves none.
    assert missing_record_paths(cloud.endpoint) == []
    assert missing_record_paths(plain_http_server) == list(record_paths())
    assert Aws(cloud.endpoint).client("application-autoscaling").describe_scaling_activities(
        ServiceNamespace="ecs", ResourceId="service/probe/probe")["ScalingActivities"] == []


def test_open_cloud_choices() -> None:
    assert isinstance(open_cloud("embedded", port=1234), EmbeddedCloud)
    assert isinstance(open_cloud("localstack", port=1234), LocalStackCloud)
    assert isinstance(open_cloud("http://127.0.0.1:4566"), ExternalCloud)
    with pytest.raises(CloudError, match="expected embedded, localstack, or an endpoint URL"):
        open_cloud("aws")


def test_env_keeps_localstack_on_loopback(tmp_path: Path) -> None:
    env = localstack_env(4600, tmp_path, with_extension=True, venv=tmp_path / "v", base={"AWS_PROFILE": "prod", "PATH": "/bin"})
    assert env["GATEWAY_LISTEN"] == "127.0.0.1:4600" and env["GATEWAY_SERVER"] == "hypercorn"
    assert env["DNS_ADDRESS"] == "0" and env["PERSISTENCE"] == "0"
    assert env["PYTHONPATH"] == f"{tmp_path / 'v' / 'harness-ext'}:{tmp_path / 'harness-package'}"
    assert "AWS_PROFILE" not in env
    plain = localstack_env(4600, tmp_path, with_extension=False, venv=tmp_path / "v", base={})
    assert "PYTHONPATH" not in plain


def test_no_python_313_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CloudError, match=r"needs Python >= 3.13 and none was found"):
        find_python({"PATH": str(tmp_path), "PYENV_ROOT": str(tmp_path)})


def test_port_taken() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(CloudError, match=f"port {port} on 127.0.0.1 is already in use"):
            LocalStackCloud(port, venv=Path("/nonexistent")).start()


def test_only_loopback() -> None:
    with pytest.raises(CloudError, match="127.0.0.1 only"):
        LocalStackCloud(4566, host="0.0.0.0")


def _fake_venv(root: Path, script: str) -> Path:
    """A venv whose `python` is a shell script: a LocalStack that misbehaves on start."""
    venv = root / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text("#!/bin/sh\n" + script)
    python.chmod(0o755)
    (venv / MARKER).write_text(json.dumps({"requirements": list(REQUIREMENTS)}))
    return venv


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not running.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_localstack_that_exits_on_start(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path, 'case "$1" in -c) echo 3 13;; *) echo "ImportError: no module named localstack" >&2; exit 3;; esac\n')
    cloud = LocalStackCloud(free_port(), with_extension=False, venv=venv)
    with pytest.raises(CloudError, match=r"exited with code 3 while starting: .*no module named localstack"):
        cloud.start()
    assert cloud.pid is None and cloud.log_path is None


def test_localstack_that_never_answers_is_stopped_with_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    venv = _fake_venv(
        tmp_path,
        f'case "$1" in -c) echo 3 13;; *) sleep 300 & echo $$ $! > {pids}; echo starting; wait;; esac\n',
    )
    cloud = LocalStackCloud(free_port(), with_extension=False, venv=venv)
    with pytest.raises(CloudError, match=r"did not answer /_localstack/health within 1 s: starting"):
        cloud.start(timeout=1.0)
    started = [int(p) for p in pids.read_text().split()]
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in started), "LocalStack's process group outlived stop()"
