"""Acceptance on LocalStack: `harness run --cloud localstack` starts a LocalStack on this machine with
the harness extension, deploys the unchanged stack there and tells the whole story."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_scenarios import desired_path, failed, run

pytestmark = pytest.mark.slow  # a live run on LocalStack


def test_the_full_story_passes_on_localstack(tmp_path: Path, localstack_python: Path) -> None:
    proc, report = run(tmp_path, "full-story", "--cloud", "localstack")
    assert "localstack" in proc.stdout.lower()
    assert failed(report) == [], proc.stdout[-4000:]
    assert proc.returncode == 0
    assert desired_path(report) == [3, 4, 3, 2]
    assert len(report["emails"]) >= 3
