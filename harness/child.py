"""What every child process and service the harness starts has in common: it dies with the harness
(Linux's PR_SET_PDEATHSIG, set between fork and exec), and `with` starts and stops it."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
from collections.abc import Callable
from types import TracebackType
from typing import Any

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(sig: int = signal.SIGKILL, parent_pid: int | None = None) -> Callable[[], None]:
    """A `preexec_fn`: the child gets `sig` when the thread that forked it ends (man 2 prctl); with
    `parent_pid`, it also exits at once if the parent died before prctl took effect. Off Linux, a no-op
    (the caller's other safeguards apply). libc is loaded here, in the parent: the child only calls it."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return lambda: None

    def setup() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if parent_pid is not None and os.getppid() != parent_pid:
            os._exit(1)

    return setup


class StartStop:
    """`with thing:` starts it and always stops it."""

    def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> Any:
        raise NotImplementedError

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
