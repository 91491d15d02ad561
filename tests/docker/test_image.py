"""harness/image.py: the offline base and the sample app's image, with a real engine and no registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import TaskError
from harness.image import (
    BASE_TAG,
    DEFAULT_TAG,
    DOCKERFILE,
    build_log_tail,
    dockerfile_default_base,
    ensure_image,
    image_present,
    parse_apt_sources,
    parse_default_base,
    pick_mirror,
)

pytestmark = pytest.mark.timeout(300)

DEB822 = """Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
"""
ONE_LINE = """# comment
deb-src http://deb.example.org/debian bookworm main
deb [arch=amd64 signed-by=/k.gpg] http://mirror.example.org/debian/ bookworm main contrib
"""


def test_parse_sources_both_formats() -> None:
    assert parse_apt_sources(DEB822, deb822=True) == [
        ("http://deb.debian.org/debian", ["bookworm", "bookworm-updates"], ["main"]),
        ("http://deb.debian.org/debian-security", ["bookworm-security"], ["main"]),
    ]
    assert parse_apt_sources(ONE_LINE, deb822=False) == [
        ("http://mirror.example.org/debian/", ["bookworm"], ["main", "contrib"])
    ]


@pytest.mark.parametrize(
    "entries, expected",
    [
        (parse_apt_sources(DEB822, True), ("http://deb.debian.org/debian", "bookworm")),
        (list(reversed(parse_apt_sources(DEB822, True))), ("http://deb.debian.org/debian", "bookworm")),
        (parse_apt_sources(ONE_LINE, False), ("http://mirror.example.org/debian", "bookworm")),
    ],
)
def test_pick_mirror_skips_security_and_updates(entries: list, expected: tuple[str, str]) -> None:
    assert pick_mirror(entries) == expected


def test_no_mirror_is_a_clear_error() -> None:
    with pytest.raises(TaskError, match="No Debian archive"):
        pick_mirror([("http://deb.debian.org/debian-security", ["bookworm-security"], ["main"])])


def test_dockerfile_default_base() -> None:
    assert dockerfile_default_base(DOCKERFILE) == "python:3.12-slim"
    assert parse_default_base('ARG BASE_IMAGE="debian:12"\nFROM ${BASE_IMAGE}\n') == "debian:12"
    with pytest.raises(TaskError, match="ARG BASE_IMAGE"):
        parse_default_base("FROM python:3.12\n", "x/Dockerfile")


def test_build_log_tail_names_the_failing_step() -> None:
    log = [{"stream": "Step 1/3 : FROM x\n"}, {"stream": " ---> abc\n"}, {"stream": "Step 2/3 : RUN false\n"},
           {"error": "The command '/bin/sh -c false' returned a non-zero code: 1"}]
    step, tail = build_log_tail(log, lines=2)
    assert step == "Step 2/3 : RUN false"
    assert tail == "Step 2/3 : RUN false | The command '/bin/sh -c false' returned a non-zero code: 1"


@pytest.mark.slow
def test_image_builds_offline(image: str, client: object) -> None:
    assert image == DEFAULT_TAG
    assert image_present(client, image)
    # Built on the offline base unless the Dockerfile's default happens to be present.
    assert image_present(client, BASE_TAG) or image_present(client, "python:3.12-slim")


@pytest.mark.slow
def test_template_image_used_when_local(image: str) -> None:
    said: list[str] = []
    assert ensure_image(image, said.append) == image
    assert "present locally" in said[0]


@pytest.mark.slow
def test_build_failure_names_dockerfile_and_step(image: str, tmp_path: Path) -> None:
    df = tmp_path / "Dockerfile"
    df.write_text("ARG BASE_IMAGE=python:3.12-slim\nFROM ${BASE_IMAGE}\nRUN echo about to fail && false\n")
    with pytest.raises(TaskError) as e:
        ensure_image(None, dockerfile=df, tag="harness/test-broken:latest")
    msg = str(e.value)
    assert str(df) in msg and "RUN echo about to fail && false" in msg and "about to fail" in msg
