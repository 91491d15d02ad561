"""The sample app's container image, built with no registry.

ECS runs the image named by the task definition; the harness runs the same image on a local Docker
engine. These machines reach Debian's package mirror but no image registry, so the Dockerfile's base
(`ARG BASE_IMAGE`, default `python:3.12-slim`) may be missing. The base is chosen in this order:

1. the Dockerfile's default base, when it is present locally (or pullable, with `pull=True`);
2. the cached offline base `harness/base:bookworm-python3`;
3. build that offline base: `debootstrap --variant=minbase --include=python3,python-is-python3` from the
   Debian mirror configured in /etc/apt/sources.list(.d), then `docker import` of the root file system.

Commands for the CLI: `build_base(say)` (`harness image base`) and `ensure_image(image, say)`
(`harness image build`; also what `--runtime docker` calls before starting tasks).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from harness import resources
from harness.errors import CloudError, TaskError

Say = Callable[[str], None]

DOCKERFILE = resources.sample_app() / "Dockerfile"  # package data: the build context is its folder
DEFAULT_TAG = "harness/sample-app:latest"
BASE_REPOSITORY = "harness/base"
DEBIAN_SUITE = "bookworm"
BASE_TAG = f"{BASE_REPOSITORY}:{DEBIAN_SUITE}-python3"
# python-is-python3 gives `python`, the command of the Dockerfile (python:*-slim has it too).
BASE_PACKAGES = ("python3", "python-is-python3")
PULL_TIMEOUT_WALL_SECONDS = 20.0
NO_ENGINE_HINT = "run .ci/docker-up or start dockerd"


def _quiet(_: str) -> None:
    pass


def docker_client(client: Any = None) -> Any:
    """A docker SDK client that answers; CloudError naming the engine address when none does."""
    if client is not None:
        return client
    import docker  # imported here: the process runtime must work without the docker SDK

    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        c = docker.from_env(timeout=60)
        c.ping()
    except Exception as e:  # docker.errors.DockerException, requests' ConnectionError, ...
        raise CloudError(f"No Docker engine at {host}: {NO_ENGINE_HINT} ({type(e).__name__}: {e}).") from e
    return c


def engine_reason(client: Any = None) -> str | None:
    """None when a Docker engine answers, else the sentence saying why not (for skips and errors)."""
    try:
        docker_client(client)
    except CloudError as e:
        return str(e)
    return None


def dockerfile_default_base(dockerfile: Path = DOCKERFILE) -> str:
    """The default of the Dockerfile's `ARG BASE_IMAGE=...`."""
    try:
        text = dockerfile.read_text()
    except OSError as e:
        raise TaskError(f"Cannot read the Dockerfile {dockerfile}: {e.strerror}.") from e
    return parse_default_base(text, str(dockerfile))


def parse_default_base(text: str, where: str = "Dockerfile") -> str:
    m = re.search(r"^\s*ARG\s+BASE_IMAGE\s*=\s*(\S+)\s*$", text, re.MULTILINE | re.IGNORECASE)
    if not m:
        raise TaskError(f"{where} has no `ARG BASE_IMAGE=<image>` line: the harness passes the base image through it.")
    return m.group(1).strip("\"'")


def parse_apt_sources(text: str, deb822: bool) -> list[tuple[str, list[str], list[str]]]:
    """(URI, suites, components) of each `deb` entry, from a one-line .list file or a deb822 .sources file."""
    out: list[tuple[str, list[str], list[str]]] = []
    if deb822:
        for stanza in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[:1].isspace():
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
                continue
            for uri in fields.get("uris", "").split():
                out.append((uri, fields.get("suites", "").split(), fields.get("components", "").split()))
        return out
    for raw in text.splitlines():
        # `deb [options] URI suite component...`; the options in brackets do not matter here.
        words = re.sub(r"\[[^\]]*\]", " ", raw.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            out.append((words[1], [words[2]], words[3:]))
    return out


def debian_mirror(apt_dir: Path = Path("/etc/apt")) -> tuple[str, str]:
    """(mirror URI, suite) of the configured Debian archive: a `main` entry that is not security or updates."""
    entries: list[tuple[str, list[str], list[str]]] = []
    files = [apt_dir / "sources.list"] + sorted((apt_dir / "sources.list.d").glob("*"))
    for f in files:
        if f.suffix not in (".list", ".sources") and f.name != "sources.list":
            continue
        try:
            entries += parse_apt_sources(f.read_text(), deb822=f.suffix == ".sources")
        except OSError:
            continue
    return pick_mirror(entries, f"{apt_dir}/sources.list(.d)")


def pick_mirror(entries: Iterable[tuple[str, list[str], list[str]]], where: str = "apt sources") -> tuple[str, str]:
    for uri, suites, components in entries:
        if "security" in uri or "main" not in components:
            continue
        for suite in suites:
            if "-" not in suite and "/" not in suite:  # bookworm, not bookworm-updates / bookworm/updates
                return uri.rstrip("/"), suite
    raise TaskError(f"No Debian archive (a `deb` entry with component main) is configured in {where}: cannot build the base image.")


def image_present(client: Any, ref: str) -> bool:
    import docker.errors

    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.APIError:
        return False


def try_pull(client: Any, ref: str, timeout_wall_seconds: float = PULL_TIMEOUT_WALL_SECONDS) -> bool:
    """Pull `ref` if a registry answers within the timeout; False (never an error) otherwise."""
    done: dict[str, bool] = {}

    def pull() -> None:
        try:
            client.images.pull(ref)
            done["ok"] = True
        except Exception:
            done["ok"] = False

    t = threading.Thread(target=pull, name=f"pull {ref}", daemon=True)
    t.start()
    t.join(timeout_wall_seconds)
    return bool(done.get("ok")) and image_present(client, ref)


def base_image(say: Say = _quiet, *, client: Any = None, pull: bool = False, dockerfile: Path = DOCKERFILE) -> str:
    """The BASE_IMAGE to build with: the Dockerfile's default when present (or pulled), else the offline base."""
    client = docker_client(client)
    default = dockerfile_default_base(dockerfile)
    if image_present(client, default):
        say(f"base image: {default} (present locally)")
        return default
    if pull:
        say(f"base image: trying to pull {default} (at most {PULL_TIMEOUT_WALL_SECONDS:g} s)")
        if try_pull(client, default):
            say(f"base image: {default} (pulled)")
            return default
        say(f"base image: cannot pull {default}; using the offline base")
    if image_present(client, BASE_TAG):
        say(f"base image: {BASE_TAG} (cached offline base)")
        return BASE_TAG
    return build_base(say, client=client)


def build_base(
    say: Say = _quiet,
    *,
    client: Any = None,
    tag: str = BASE_TAG,
    mirror: str | None = None,
    suite: str | None = None,
    force: bool = False,
) -> str:
    """Build the offline base (Debian minbase + Python) with debootstrap and `docker import`; the tag.

    Cached by tag: an existing `tag` is kept unless `force`. Needs root and the `debootstrap` package.
    """
    client = docker_client(client)
    if not force and image_present(client, tag):
        say(f"offline base {tag} already built")
        return tag
    if shutil.which("debootstrap") is None:
        raise TaskError(
            f"Cannot build the offline base image {tag}: `debootstrap` is not installed (apt-get install debootstrap)."
        )
    if mirror is None or suite is None:
        found_mirror, found_suite = debian_mirror()
        mirror = mirror or found_mirror
        suite = suite or found_suite
    with tempfile.TemporaryDirectory(prefix="harness-base-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        cmd = [
            "debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", suite, str(rootfs), mirror,
        ]
        say(f"building offline base {tag}: {' '.join(cmd)} (a few minutes)")
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            raise TaskError(
                f"Cannot build the offline base image {tag}: debootstrap from {mirror} ({suite}) failed "
                f"with code {proc.returncode}: " + " | ".join(tail)
            )
        # What a registry image would not carry: package lists and caches.
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(rootfs / junk, ignore_errors=True)
        archive = Path(tmp) / "rootfs.tar"
        say(f"importing the root file system as {tag}")
        with tarfile.open(archive, "w") as tar:
            for entry in sorted(rootfs.iterdir()):
                tar.add(entry, arcname=entry.name)
        repository, _, version = tag.rpartition(":")
        try:
            client.api.import_image_from_file(
                str(archive),
                repository=repository,
                tag=version,
                changes=['CMD ["python3"]', "ENV LANG=C.UTF-8"],
            )
        except Exception as e:
            raise TaskError(f"Cannot import the offline base image {tag} into the Docker engine: {e}") from e
    if not image_present(client, tag):
        raise TaskError(f"The offline base image {tag} was imported but the engine does not list it.")
    say(f"offline base {tag} ready")
    return tag


def build_log_tail(log: Iterable[dict[str, Any]], lines: int = 12) -> tuple[str | None, str]:
    """(the last `Step N/M : ...` line, the last `lines` lines) of a docker build log."""
    text: list[str] = []
    step: str | None = None
    for chunk in log:
        piece = chunk.get("stream") or chunk.get("error") or chunk.get("status") or ""
        for line in str(piece).splitlines():
            line = line.strip()
            if not line:
                continue
            text.append(line)
            if line.startswith("Step "):
                step = line
    return step, " | ".join(text[-lines:])


def ensure_image(
    image: str | None,
    say: Say = _quiet,
    *,
    client: Any = None,
    dockerfile: Path = DOCKERFILE,
    tag: str = DEFAULT_TAG,
    pull: bool = False,
) -> str:
    """The image tag to run: `image` (the template's Image parameter) when present locally, else `tag`
    built from `dockerfile` on the base from `base_image()`. Layer caching makes a rebuild take ~1 s.
    """
    import docker.errors

    client = docker_client(client)
    if image and image_present(client, image):
        say(f"image: {image} (present locally, from the template's Image parameter)")
        return image
    if image:
        say(f"image: {image} is not a local image; building {tag} from {dockerfile}")
    base = base_image(say, client=client, pull=pull, dockerfile=dockerfile)
    try:
        client.images.build(
            path=str(dockerfile.parent),
            dockerfile=dockerfile.name,
            tag=tag,
            buildargs={"BASE_IMAGE": base},
            rm=True,
            forcerm=True,
            pull=False,  # never a registry: the base is local by now
        )
    except docker.errors.BuildError as e:
        step, tail = build_log_tail(e.build_log)
        raise TaskError(
            f"Cannot build {tag} from {dockerfile}: step `{step or '?'}` failed: {e.msg}. Build log tail: {tail}"
        ) from e
    except docker.errors.APIError as e:
        raise TaskError(f"Cannot build {tag} from {dockerfile}: the Docker engine refused: {e.explanation or e}") from e
    say(f"image: {tag} built from {dockerfile} on {base}")
    return tag
