"""The embedded cloud outlives a Ctrl-C: the terminal's SIGINT reaches the whole process group, and the
harness still needs its cloud to deregister the tasks on the way out; it stops the cloud itself, last."""

from __future__ import annotations

import os
import signal
import time
import urllib.request

from harness.cloud.server import HEALTH_PATH, EmbeddedCloud
from harness.net import free_port


def test_sigint_does_not_stop_the_cloud_and_stop_still_does() -> None:
    with EmbeddedCloud(port=free_port()) as cloud:
        assert cloud.pid is not None
        os.kill(cloud.pid, signal.SIGINT)
        time.sleep(0.5)  # wall time for a signal to take effect in another process, not template time
        with urllib.request.urlopen(cloud.endpoint + HEALTH_PATH, timeout=5) as resp:
            assert resp.status == 200
        pid = cloud.pid
    # EmbeddedCloud.stop (SIGTERM) ended it.
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
