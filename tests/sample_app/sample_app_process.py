"""Test helper: start a real sample_app process on a free loopback port (PORT=0: the app reports it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class App:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        return self.proc.returncode


def start_app(tmp: Path) -> App:
    log = tmp / f"app-{len(list(tmp.iterdir()))}.log"
    env = dict(os.environ, PORT="0", HOST="127.0.0.1", PYTHONPATH=str(REPO))
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "sample_app"], stdout=out, stderr=subprocess.STDOUT,
                                env=env, cwd=REPO)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read_text())
        if m:
            return App(proc, int(m.group(1)), log)
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"sample_app did not start: {log.read_text()}")
