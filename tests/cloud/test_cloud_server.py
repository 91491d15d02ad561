"""EmbeddedCloud: a real moto child process on loopback, owned and cleaned up by the harness."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import psutil
import pytest

from harness.cloud.clients import Aws
from harness.cloud.server import HEALTH_PATH, RESOURCE_TYPES_PATH, EmbeddedCloud
from harness.net import free_port
from harness.errors import CloudError

REPO = Path(__file__).resolve().parents[2]


def test_port_taken_raises_cloud_error_naming_the_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(CloudError, match=f"port {port} on 127.0.0.1 is already in use.*--cloud-port"):
            EmbeddedCloud(port=port).start()


def test_only_loopback() -> None:
    with pytest.raises(CloudError, match="127.0.0.1 only"):
        EmbeddedCloud(host="0.0.0.0")


def test_localstack_health_path_answers(cloud: EmbeddedCloud) -> None:
    with urllib.request.urlopen(cloud.endpoint + HEALTH_PATH, timeout=5) as resp:
        body = json.loads(resp.read())
    assert body["services"]["ecs"] == "running"
    assert body["services"]["cloudformation"] == "running"
    assert body["edition"] == "community" and body["version"].startswith("harness-moto-")


def test_resource_types_include_the_extensions(cloud: EmbeddedCloud) -> None:
    with urllib.request.urlopen(cloud.endpoint + RESOURCE_TYPES_PATH, timeout=5) as resp:
        types = set(json.loads(resp.read()))
    assert {"AWS::CloudWatch::Alarm", "AWS::ApplicationAutoScaling::ScalingPolicy", "AWS::ECS::Service"} <= types
    assert "AWS::Harness::DoesNotExist" not in types


def test_localstack_client_and_plain_boto3_reach_the_same_cloud(cloud: EmbeddedCloud) -> None:
    import localstack_client.session

    session = localstack_client.session.Session(localstack_host=f"127.0.0.1:{cloud.port}")
    sns = session.client("sns")
    arn = sns.create_topic(Name="from-localstack-client")["TopicArn"]
    try:
        ours = Aws(cloud.endpoint).client("sns")
        assert arn in {t["TopicArn"] for t in ours.list_topics()["Topics"]}
    finally:
        sns.delete_topic(TopicArn=arn)


def test_clients_ignore_the_users_aws_environment(cloud: EmbeddedCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "someone-real")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://example.amazonaws.com")
    client = Aws(cloud.endpoint).client("sts")
    assert client.meta.endpoint_url == cloud.endpoint
    assert client.meta.region_name == "us-east-1"
    assert client._request_signer._credentials.access_key == "test"
    assert client.get_caller_identity()["Account"] == "123456789012"


def test_aws_refuses_a_non_loopback_endpoint() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Aws("https://ecs.us-east-1.amazonaws.com")


def test_stop_kills_the_child_and_frees_the_port() -> None:
    cloud = EmbeddedCloud(port=free_port())
    with cloud:
        pid = cloud.pid
        assert pid is not None and psutil.pid_exists(pid)
    assert cloud.pid is None
    psutil.wait_procs([psutil.Process(pid)] if psutil.pid_exists(pid) else [], timeout=5)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    with socket.socket() as s:
        s.bind(("127.0.0.1", cloud.port))  # free again


def test_killing_the_parent_kills_the_moto_child(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from harness.cloud.server import EmbeddedCloud
        from harness.net import free_port
        cloud = EmbeddedCloud(port=free_port())
        cloud.start()
        print(cloud.pid, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        child = psutil.Process(child_pid)
        assert child.ppid() == parent.pid
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        # PR_SET_PDEATHSIG delivers SIGTERM at once; the watchdog would take at most 0.5 s more.
        gone, alive = psutil.wait_procs([child], timeout=15)
        assert child_pid in {p.pid for p in gone}, "the moto child outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        try:
            psutil.Process(child_pid).kill()
        except (psutil.NoSuchProcess, UnboundLocalError, NameError):
            pass
