"""Where a running `harness up` says what it is and where, so `status` and `down` from another shell
(or after the terminal is gone) can find it.

The home folder holds `state.json` (written atomically, removed on a clean stop) and the mailbox.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError


def home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--home`, else $HARNESS_HOME, else ~/.harness."""
    raw = explicit or os.environ.get("HARNESS_HOME") or Path.home() / ".harness"
    return Path(raw).expanduser().resolve()


@dataclass
class RunState:
    pid: int
    cloud_endpoint: str
    load_balancer_url: str
    mailbox: str
    stack: str
    template: str
    time_scale: float
    cpu_quota: str
    child_pids: list[int] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    load_balancers: list[dict[str, Any]] = field(default_factory=list)
    scaling_activities: list[dict[str, Any]] = field(default_factory=list)


def write(folder: Path, state: RunState) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "state.json.tmp"
    tmp.write_text(json.dumps(asdict(state), indent=2))
    tmp.replace(folder / "state.json")


def read(folder: Path) -> RunState | None:
    """The state of a live `harness up` in `folder`, or None. A stale file (dead pid) reads as None."""
    path = folder / "state.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read {path}: {err}") from err
    state = RunState(**raw)
    return state if alive(state.pid) else None


def remove(folder: Path) -> None:
    (folder / "state.json").unlink(missing_ok=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purpose: it serves nothing.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def kill_leftovers(pids: list[int]) -> list[int]:
    """SIGKILL whichever of `pids` still runs; returns those it killed."""
    killed = []
    for pid in pids:
        if pid > 0 and alive(pid):  # never 0 or below: that would signal a whole process group
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
    return killed
