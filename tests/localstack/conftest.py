"""Fixtures for the LocalStack tests: the cached venv and LocalStack processes, started as few times as possible.

Without Python >= 3.13, or when the venv cannot be made, these tests skip with the reason, except in CI
(env CI set), where they must run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cloud.clients import Aws
from harness.cloud.localstack import LocalStackCloud, ensure_venv, find_python
from harness.errors import CloudError
from harness.net import free_port


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the LocalStack tests, but: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def localstack_python() -> Path:
    """The LocalStack venv's Python (created once, cached), with the current extension installed."""
    try:
        find_python()
        return ensure_venv(with_extension=True)
    except CloudError as exc:
        _skip_or_fail(str(exc))
        raise  # unreachable


def _started(with_extension: bool) -> Iterator[LocalStackCloud]:
    with LocalStackCloud(free_port(), with_extension=with_extension) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def plain_localstack(localstack_python: Path) -> Iterator[LocalStackCloud]:
    """LocalStack's free edition as it ships (no extension)."""
    yield from _started(with_extension=False)


@pytest.fixture(scope="module")
def extended_localstack(localstack_python: Path) -> Iterator[LocalStackCloud]:
    """LocalStack with the harness extension."""
    yield from _started(with_extension=True)


@pytest.fixture(scope="module")
def ext_aws(extended_localstack: LocalStackCloud) -> Aws:
    return Aws(extended_localstack.endpoint)
