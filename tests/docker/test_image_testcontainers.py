"""The sample app's image run the way a user runs it outside the harness, through testcontainers.

testcontainers' reaper (Ryuk) image cannot be pulled here, so it is switched off; the container is
removed when the `with` block ends, and the test checks by testcontainers' own session label that
none is left.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.labels import LABEL_SESSION_ID, SESSION_ID

from harness.net import free_port

pytestmark = pytest.mark.slow  # a Docker engine

READY_TIMEOUT = 30.0  # wall seconds for the container's Python to start serving on a busy machine


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def first_answer(url: str) -> tuple[int, bytes]:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            return get(url)
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_image_serves_on_its_own_and_is_removed(image: str, client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(testcontainers_config, "ryuk_disabled", True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Host networking, as the harness runs tasks: the app listens on 127.0.0.1:$PORT of the host.
    container = DockerContainer(image).with_env("PORT", str(port)).with_kwargs(network_mode="host")
    with container:
        assert first_answer(base + "/5") == (200, b"120")
        assert get(base + "/1") == (200, b"1")  # the template's health check path
        assert get(base + "/error?status=503")[0] == 503
        wrapped = container.get_wrapped_container()
        wrapped.reload()
        assert wrapped.attrs["Config"]["User"] == "nobody"
        assert wrapped.attrs["HostConfig"]["NetworkMode"] == "host"
        assert wrapped.labels[LABEL_SESSION_ID] == SESSION_ID  # so the check below looks for the right label
    assert client.containers.list(all=True, filters={"label": f"{LABEL_SESSION_ID}={SESSION_ID}"}) == []
