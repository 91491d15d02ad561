"""The user's AWS environment never matters: a shell set up for a real account (a profile, even one
this machine lacks, its own config and credentials files, a region, an endpoint URL, keys) changes
nothing about which endpoint, region and identity the harness's clients use, nor the embedded moto
server it starts, through a real deploy and a real `harness up`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import resources
from harness.cloud.clients import ACCESS_KEY, REGION, Aws, isolated_env
from harness.cloud.server import EmbeddedCloud
from harness.deploy import deploy, teardown
from harness.net import free_port
from harness.stack import read_stack
from tests.test_cli_up import Up, wait_healthy

REPO = Path(__file__).resolve().parents[1]
FOREIGN_ENDPOINT = "https://foreign-endpoint.invalid"


def foreign_env(tmp_path: Path, profile: str) -> dict[str, str]:
    """What a developer's shell for their real account may hold; `profile` is one the config file
    defines (with its own region and endpoint) or one nobody defines."""
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = ca-central-1\n"
                      f"[profile real]\nregion = sa-east-1\nendpoint_url = {FOREIGN_ENDPOINT}\n"
                      "services = real-services\n[services real-services]\nsts =\n  endpoint_url = https://sts.invalid\n")
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("[default]\naws_access_key_id = AKIADEFAULTREALKEY00\naws_secret_access_key = realsecret\n"
                           "[real]\naws_access_key_id = AKIAPROFILEREALKEY00\naws_secret_access_key = realsecret\n")
    return {
        "AWS_PROFILE": profile,
        "AWS_DEFAULT_PROFILE": profile,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_ENDPOINT_URL": FOREIGN_ENDPOINT,
        "AWS_ENDPOINT_URL_CLOUDFORMATION": FOREIGN_ENDPOINT,
        "AWS_REGION": "eu-west-3",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_ACCESS_KEY_ID": "AKIAENVREALKEY000000",
        "AWS_SECRET_ACCESS_KEY": "realsecret",
        "AWS_SESSION_TOKEN": "real-session-token",
        "AWS_CA_BUNDLE": str(tmp_path / "no-such-bundle.pem"),
        "AWS_MAX_ATTEMPTS": "7",
    }


PROFILES = ["no-such-profile", "real"]


@pytest.fixture(params=PROFILES)
def foreign(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = foreign_env(tmp_path, request.param)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


SERVICES = ("cloudformation", "cloudwatch", "ecs", "elbv2", "application-autoscaling", "sns", "logs", "sts")


def test_every_client_uses_the_harness_endpoint_region_and_fake_keys(cloud: EmbeddedCloud,
                                                                     foreign: dict[str, str]) -> None:
    aws = Aws(cloud.endpoint)
    for service in SERVICES:
        client = aws.client(service)
        assert client.meta.endpoint_url == cloud.endpoint, service
        assert client.meta.region_name == REGION, service
        credentials = client._request_signer._credentials
        assert (credentials.access_key, credentials.token) == (ACCESS_KEY, None), service
    assert aws.client("sts").get_caller_identity()["Account"] == "123456789012"  # moto's, not the user's


def test_the_moto_child_and_a_real_deploy_ignore_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded cloud started from that shell: moto (a boto3 user itself) must not read the profile
    (one this machine lacks made it exit with ProfileNotFound), and the unchanged template deploys,
    read back in the harness's region."""
    for key, value in foreign_env(tmp_path, "no-such-profile").items():
        monkeypatch.setenv(key, value)
    cloud = EmbeddedCloud(port=free_port())
    cloud.start()
    try:
        aws = Aws(cloud.endpoint)
        deployment = deploy(aws, resources.default_template(), {}, stack_name="ecs")
        try:
            model = read_stack(aws, "ecs")
            assert model.services and all(f":{REGION}:" in a.arn for a in model.alarms)
        finally:
            teardown(aws, deployment)
    finally:
        cloud.stop()


def test_isolated_env_drops_every_aws_setting_and_keeps_the_rest(tmp_path: Path) -> None:
    base = {**foreign_env(tmp_path, "real"), "PATH": "/usr/bin", "HOME": "/home/u", "MOTO_PORT": "1"}
    env = isolated_env(base)
    assert {k: v for k, v in env.items() if k.startswith("AWS_")} == {
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    assert (env["PATH"], env["HOME"], env["MOTO_PORT"]) == ("/usr/bin", "/home/u", "1")
    assert base["AWS_PROFILE"] == "real"  # the caller's mapping is not changed


def test_no_boto3_client_outside_harness_cloud_clients() -> None:
    """One place builds AWS clients (with the isolated session): any other boto3.client/resource/Session
    call in harness/ would read the user's profile."""
    offenders = []
    for path in (REPO / "harness").rglob("*.py"):
        if path.name == "clients.py" and path.parent.name == "cloud":
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            code = line.split("#", 1)[0]
            if any(call in code for call in ("boto3.client(", "boto3.resource(", "boto3.Session(", "boto3.session.Session(",
                                             "botocore.session.Session(", "botocore.session.get_session(")):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.fixture
def foreign_shell(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **foreign_env(tmp_path, "no-such-profile")}


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_harness_up_status_and_down_from_a_shell_set_up_for_a_real_account(tmp_path: Path,
                                                                           foreign_shell: dict[str, str]) -> None:
    home = tmp_path / "home"
    cli = [sys.executable, "-m", "harness.cli"]
    up = Up(home, env=foreign_shell, cwd=tmp_path)
    try:
        up.wait_for("ready")
        wait_healthy(home, 1)  # "ready" is before the first health checks pass (a busy CI machine saw 503)
        status = subprocess.run([*cli, "status", "--json", "--home", str(home)], env=foreign_shell, cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["cloud_endpoint"].startswith("http://127.0.0.1:")
        assert len(report["alarms"]) == 5 and report["services"]
        with urllib.request.urlopen(report["load_balancer_url"] + "/5", timeout=10) as resp:
            assert resp.read() == b"120"
        down = subprocess.run([*cli, "down", "--home", str(home)], env=foreign_shell, cwd=tmp_path,
                              capture_output=True, text=True, timeout=90)
        assert down.returncode == 0, down.stderr
        assert up.proc.wait(timeout=60) == 0
        output = "\n".join(up.lines)
        assert "ProfileNotFound" not in output and "Traceback" not in output
    finally:
        if up.proc.poll() is None:
            up.proc.kill()
            up.proc.wait(timeout=30)
