"""Fixtures: real sample_app processes, stopped at the end of each test."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sample_app_process import App, start_app  # noqa: E402


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[], App]]:
    """A factory that starts one more sample app; all are stopped (SIGTERM) when the test ends."""
    started: list[App] = []

    def _start() -> App:
        app = start_app(tmp_path)
        started.append(app)
        return app

    yield _start
    for app in started:
        app.stop()


@pytest.fixture
def app(start: Callable[[], App]) -> App:
    return start()
