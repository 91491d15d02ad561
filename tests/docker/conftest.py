"""Docker tests need a real engine: skip without one, except in CI (env CI set), where they must run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.image import engine_reason, ensure_image


@pytest.fixture(scope="session")
def engine() -> None:
    reason = engine_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the Docker tests, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def image(engine: None) -> str:
    """The sample app's image, built offline (the first run builds the debootstrap base: about a minute)."""
    return ensure_image(None, print)


@pytest.fixture
def client(engine: None) -> Iterator[object]:
    import docker

    c = docker.from_env()
    yield c
    c.close()
