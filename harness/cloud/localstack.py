"""LocalStack as the cloud: one the harness starts on this machine without Docker, or one already running.

LocalStack's Docker image needs an auth token since March 2026, and its free edition lacks ECS, ELBv2
and Application Auto Scaling. So `LocalStackCloud` runs `localstack-core` straight on the host, from a
virtual environment it creates once (Python >= 3.13, cached under ~/.cache/harness/localstack-venv)
holding LocalStack and, unless told otherwise, the harness's LocalStack extension
(harness/localstack_ext: the three APIs served by LocalStack's bundled moto, their CloudFormation
resource types, LocalStack's own alarm scheduler off). The extension is installed into its own
folder of that venv and put on the child's PYTHONPATH only when wanted, so one venv serves both.

Everything binds 127.0.0.1: the gateway (hypercorn honours GATEWAY_LISTEN's host; LocalStack's default
twisted server binds every interface), no DNS server (DNS_ADDRESS=0), no persistence, no analytics,
and LocalStack's files live in a temporary FILESYSTEM_ROOT removed on stop.

`ExternalCloud(url)` accepts a LocalStack the user runs (Pro or free) after checking its health path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.child import StartStop
from harness.cloud.clients import isolated_env
from harness.errors import CloudError
from harness.net import LOOPBACK, port_in_use

log = logging.getLogger(__name__)

HEALTH_PATH = "/_localstack/health"
LOCALSTACK_VERSION = "2026.3.0"
# localstack-core's own pins do not hold on the host with today's PyPI (seen on 2026.3.0): these keep
# its TLS, CBOR and JOSE dependencies at versions it imports cleanly.
REQUIREMENTS: tuple[str, ...] = (
    f"localstack-core[runtime]=={LOCALSTACK_VERSION}",
    "cbor2<5.7",
    "pyopenssl==24.2.1",
    "cryptography==43.0.3",
    "joserfc<1.1",
    "service_identity<24.2",
    "setuptools>=68",  # builds the extension without network (pip --no-build-isolation)
)
MIN_PYTHON = (3, 13)
EXTENSION_SOURCE = Path(__file__).resolve().parents[1] / "localstack_ext"
EXTENSION_DIR = "harness-ext"  # inside the venv: the extension, installed with `pip --target`
# Inside LocalStack's temporary root: a folder whose only entry is a link to this harness package, put on
# the child's PYTHONPATH, so the extension runs the harness's own code (alarm history, scaling activities,
# ECS tasks, target tracking alarms) rather than a copy of it, and always this checkout's.
HARNESS_PACKAGE_DIR = "harness-package"
HARNESS_PACKAGE = Path(__file__).resolve().parents[1]
MARKER = ".harness-localstack.json"
START_TIMEOUT_S = 120.0  # wall seconds: a cold LocalStack imports a lot on 2 noisy cores
INSTALL_TIMEOUT_S = 1800.0


def default_venv() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "harness" / "localstack-venv"


# ------------------------------------------------------------------------------------ Python >= 3.13


def _python_version(python: Path) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [str(python), "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def python_candidates(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Where a Python >= 3.13 may be: $HARNESS_LOCALSTACK_PYTHON, python3.13+ on PATH, pyenv's versions."""
    env = os.environ if environ is None else environ
    found: list[Path] = []
    if env.get("HARNESS_LOCALSTACK_PYTHON"):
        found.append(Path(env["HARNESS_LOCALSTACK_PYTHON"]))
    for minor in range(20, MIN_PYTHON[1] - 1, -1):
        exe = shutil.which(f"python3.{minor}", path=env.get("PATH"))
        if exe:
            found.append(Path(exe))
    pyenv_root = Path(env.get("PYENV_ROOT") or Path.home() / ".pyenv")
    versions = pyenv_root / "versions"
    if versions.is_dir():
        for d in sorted(versions.iterdir(), reverse=True):
            if (d / "bin" / "python3").exists():
                found.append(d / "bin" / "python3")
    return found


def find_python(environ: Mapping[str, str] | None = None) -> Path:
    """A Python >= 3.13 interpreter (LocalStack 2026.3.0 needs it), or CloudError saying where we looked."""
    candidates = python_candidates(environ)
    for python in candidates:
        version = _python_version(python)
        if version is not None and version >= MIN_PYTHON:
            return python
    looked = ", ".join(str(p) for p in candidates) or "nothing found"
    raise CloudError(
        f"LocalStack {LOCALSTACK_VERSION} needs Python >= {MIN_PYTHON[0]}.{MIN_PYTHON[1]} and none was found "
        f"(looked at $HARNESS_LOCALSTACK_PYTHON, python3.13+ on PATH and pyenv's versions: {looked}); "
        "install one (e.g. `pyenv install 3.13`) or set HARNESS_LOCALSTACK_PYTHON"
    )


# ------------------------------------------------------------------------------------ the venv


def extension_digest(source: Path = EXTENSION_SOURCE) -> str:
    """A digest of the extension's source, so an edited extension is reinstalled."""
    h = hashlib.sha256()
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path) and "build" not in path.parts:
            h.update(str(path.relative_to(source)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _run(cmd: list[str], what: str, timeout: float = INSTALL_TIMEOUT_S) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise CloudError(f"{what} took longer than {timeout:.0f} s: {' '.join(cmd)}") from exc
    except OSError as exc:
        raise CloudError(f"{what} could not run {cmd[0]}: {exc}") from exc
    if proc.returncode != 0:
        tail = "\n".join(line for line in (proc.stderr + proc.stdout).splitlines() if not line.startswith("WARNING: Location"))
        raise CloudError(f"{what} failed (exit {proc.returncode}): {tail[-2000:]}")


def _read_marker(venv: Path) -> dict[str, Any]:
    try:
        data = json.loads((venv / MARKER).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def ensure_venv(venv: Path | None = None, *, with_extension: bool = True, python: Path | None = None) -> Path:
    """Create (once) the venv with LocalStack and, if asked, install the current extension. Returns its Python.

    Slow the first time (minutes: LocalStack's runtime dependencies); a no-op when the marker file says
    the venv already holds these requirements and this extension.
    """
    venv = venv or default_venv()
    vpython = venv / "bin" / "python"
    marker = _read_marker(venv)
    if not vpython.exists() or marker.get("requirements") != list(REQUIREMENTS):
        if not vpython.exists():
            base = python or find_python()
            venv.parent.mkdir(parents=True, exist_ok=True)
            _run([str(base), "-m", "venv", str(venv)], f"creating the LocalStack venv at {venv}")
        version = _python_version(vpython)
        if version is None or version < MIN_PYTHON:
            raise CloudError(f"the LocalStack venv at {venv} has Python {version}, not >= 3.13; delete it and retry")
        _run(
            [str(vpython), "-m", "pip", "install", "-q", "--disable-pip-version-check", *REQUIREMENTS],
            f"installing LocalStack {LOCALSTACK_VERSION} into {venv}",
        )
        marker = {"requirements": list(REQUIREMENTS)}
        (venv / MARKER).write_text(json.dumps(marker))
    if with_extension:
        digest = extension_digest()
        if marker.get("extension") != digest or not (venv / EXTENSION_DIR).is_dir():
            _install_extension(venv, vpython)
            marker["extension"] = digest
            (venv / MARKER).write_text(json.dumps(marker))
    return vpython


def _install_extension(venv: Path, vpython: Path) -> None:
    # Built from a copy: pip would otherwise leave build/ and *.egg-info in the repository.
    target = venv / EXTENSION_DIR
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="harness-ext-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(EXTENSION_SOURCE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        _run(
            [
                str(vpython), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                "--no-build-isolation", "--target", str(target), str(src),
            ],
            f"installing the harness LocalStack extension into {target}",
        )


# ------------------------------------------------------------------------------------ health


@dataclass(frozen=True)
class Health:
    """LocalStack's answer on /_localstack/health."""

    version: str
    edition: str
    services: dict[str, str]


def parse_health(status: int, content_type: str, body: bytes, url: str) -> Health:
    """Health from a /_localstack/health answer, or CloudError when the endpoint is not LocalStack."""
    not_ls = f"{url} is not LocalStack: "
    if status != 200:
        raise CloudError(not_ls + f"{HEALTH_PATH} answered HTTP {status}")
    try:
        data = json.loads(body)
    except ValueError:
        raise CloudError(not_ls + f"{HEALTH_PATH} did not answer JSON ({content_type or 'no content type'})") from None
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict) or "version" not in data:
        raise CloudError(not_ls + f"{HEALTH_PATH} answered JSON without 'services' and 'version'")
    return Health(
        version=str(data["version"]),
        edition=str(data.get("edition", "unknown")),
        services={str(k): str(v) for k, v in data["services"].items()},
    )


def fetch_health(endpoint: str, timeout: float = 3.0) -> Health:
    url = endpoint.rstrip("/") + HEALTH_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return parse_health(resp.status, resp.headers.get("Content-Type", ""), resp.read(), endpoint)
    except urllib.error.HTTPError as exc:
        return parse_health(exc.code, exc.headers.get("Content-Type", "") if exc.headers else "", exc.read(), endpoint)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CloudError(f"the cloud endpoint {endpoint} is unreachable: {reason}") from exc


# ------------------------------------------------------------------------------------ the harness's records


def record_paths() -> tuple[str, ...]:
    """The private paths the harness writes what it did through (harness.cloud.private_api)."""
    from harness.cloud import alarm_history, ecs_tasks, scaling_activities

    return (alarm_history.ALARM_HISTORY_PATH, scaling_activities.SCALING_ACTIVITIES_PATH, ecs_tasks.ECS_SERVICE_PATH)


def missing_record_paths(endpoint: str, timeout: float = 3.0) -> list[str]:
    """The record paths `endpoint` does not serve. An empty write is refused by a path that exists with
    HTTP 400 and the harness's JSON error (nothing is written); anything else means the path is not there."""
    missing = []
    for path in record_paths():
        req = urllib.request.Request(endpoint.rstrip("/") + path, data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout):
                pass
            missing.append(path)  # an empty write taken: not the harness's handler
        except urllib.error.HTTPError as exc:
            try:
                body = json.loads(exc.read() or b"null")
            except ValueError:
                body = None
            if not (exc.code == 400 and isinstance(body, dict) and set(body) == {"error"}):
                missing.append(path)
        except (urllib.error.URLError, OSError):
            missing.append(path)
    return missing


# ------------------------------------------------------------------------------------ the clouds


def localstack_env(port: int, filesystem_root: Path, *, with_extension: bool, venv: Path, base: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: loopback only, no DNS, no persistence, no analytics, files in a temp root."""
    # No LOCALSTACK_/PYTHON settings of the user, and none of their AWS ones: the fake identity instead.
    env = isolated_env({k: v for k, v in base.items() if not k.startswith(("LOCALSTACK_", "PYTHON"))})
    env.update(
        {
            # hypercorn binds exactly GATEWAY_LISTEN; the default twisted server ignores its host.
            "GATEWAY_SERVER": "hypercorn",
            "GATEWAY_LISTEN": f"{LOOPBACK}:{port}",
            "LOCALSTACK_HOST": f"{LOOPBACK}:{port}",
            "DNS_ADDRESS": "0",  # no DNS server (it would bind 0.0.0.0:53)
            "PERSISTENCE": "0",
            "DISABLE_EVENTS": "1",  # no analytics
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "OVERRIDE_IN_DOCKER": "0",  # host directory layout, rooted in FILESYSTEM_ROOT below
            "FILESYSTEM_ROOT": str(filesystem_root),
            "EAGER_SERVICE_LOADING": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if with_extension:
        env["PYTHONPATH"] = os.pathsep.join((str(venv / EXTENSION_DIR), str(filesystem_root / HARNESS_PACKAGE_DIR)))
    return env


def share_harness_package(filesystem_root: Path, package: Path = HARNESS_PACKAGE) -> Path:
    """`<root>/harness-package/harness` -> this harness package: what the extension imports the harness from.
    Only the package is exposed (not its checkout's other folders, nor the site-packages it may live in)."""
    folder = filesystem_root / HARNESS_PACKAGE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / package.name
    if not link.exists():
        link.symlink_to(package, target_is_directory=True)
    return folder


class LocalStackCloud(StartStop):
    """LocalStack on `host:port`, run from the cached venv. Same interface as EmbeddedCloud."""

    def __init__(
        self, port: int = 4566, host: str = LOOPBACK, *, with_extension: bool = True, venv: Path | None = None
    ) -> None:
        if host != LOOPBACK:
            raise CloudError(f"LocalStack is started on {LOOPBACK} only, not {host}")
        self.host = host
        self.port = port
        self.with_extension = with_extension
        self.venv = venv or default_venv()
        self._proc: subprocess.Popen[bytes] | None = None
        self._root: Path | None = None
        self.health: Health | None = None
        self.start_seconds: float | None = None  # wall seconds from spawn to healthy

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path | None:
        return self._root / "localstack.log" if self._root is not None else None

    def prepare(self) -> Path:
        """Create the venv (slow once) and return its Python; `start()` calls it."""
        return ensure_venv(self.venv, with_extension=self.with_extension)

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        if self._proc is not None:
            return
        if port_in_use(self.port, self.host):
            raise CloudError(
                f"port {self.port} on {self.host} is already in use (another LocalStack or moto?); "
                "stop it, pass --cloud-port, or point the harness at it with --cloud http://127.0.0.1:<port>"
            )
        vpython = self.prepare()
        self._root = Path(tempfile.mkdtemp(prefix="harness-localstack-"))
        if self.with_extension:
            share_harness_package(self._root)
        log = open(self._root / "localstack.log", "wb")  # noqa: SIM115 (kept open by the child)
        started = time.monotonic()
        try:
            self._proc = subprocess.Popen(
                [str(vpython), "-m", "localstack.runtime.main"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=localstack_env(
                    self.port, self._root, with_extension=self.with_extension, venv=self.venv, base=os.environ
                ),
                cwd=self._root,
                start_new_session=True,  # its own process group: stop() ends LocalStack and its children
            )
        finally:
            log.close()
        try:
            self.health = self._wait_healthy(timeout)
            self.start_seconds = time.monotonic() - started
            if self.with_extension:
                self._check_records()
        except BaseException:
            self.stop()
            raise

    def _check_records(self) -> None:
        """With the extension, LocalStack must take what the harness did (alarm history, scaling activities,
        ECS tasks); a run whose records would stay in the harness stops here instead."""
        missing = missing_record_paths(self.endpoint)
        if missing:
            raise CloudError(
                f"LocalStack on port {self.port} has the harness extension but does not serve {', '.join(missing)} "
                f"(the extension could not load the harness package?): {self.log_tail()}"
            )

    def _wait_healthy(self, timeout: float) -> Health:
        # Waiting on a child process's start-up, not template time: wall clock is right here.
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise CloudError(
                    f"LocalStack on port {self.port} exited with code {self._proc.returncode} while starting: "
                    f"{self.log_tail()}"
                )
            try:
                return fetch_health(self.endpoint, timeout=1.0)
            except CloudError:
                time.sleep(0.2)
        raise CloudError(
            f"LocalStack on port {self.port} did not answer {HEALTH_PATH} within {timeout:.0f} s: {self.log_tail()}"
        )

    def log_tail(self, limit: int = 2000) -> str:
        path = self.log_path
        if path is None or not path.exists():
            return "(no log)"
        text = path.read_text(errors="replace").strip()
        return text[-limit:] if text else "(empty log)"

    def stop(self) -> None:
        """SIGTERM LocalStack's process group, then SIGKILL; remove its files. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _stop_group(proc)
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None


    def __repr__(self) -> str:
        return f"LocalStackCloud(endpoint={self.endpoint!r}, pid={self.pid}, with_extension={self.with_extension})"


def _stop_group(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    # LocalStack's graceful shutdown waits for idle keep-alive connections and its schedulers' threads
    # (up to 10 s each); with persistence off and its files in a temporary root, SIGKILL after a short
    # grace loses nothing.
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None and pgid is None:
            break
        try:
            if pgid is not None:
                os.killpg(pgid, sig)
            else:
                proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait)
            # The leader is gone; make sure nothing else of its group lingers.
            if pgid is not None:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return
        except subprocess.TimeoutExpired:
            continue


class ExternalCloud(StartStop):
    """A LocalStack (or LocalStack-compatible endpoint) the user already runs on this machine."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise CloudError(f"cloud endpoint {url!r} is not an http URL such as http://127.0.0.1:4566")
        if parsed.hostname not in ("127.0.0.1", "localhost"):
            raise CloudError(f"cloud endpoint {url!r} is not on this machine; the harness talks to 127.0.0.1 only")
        try:
            port = parsed.port or 80
        except ValueError:
            raise CloudError(f"cloud endpoint {url!r} has no valid port number, as in http://127.0.0.1:4566") from None
        self.host = "127.0.0.1"
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.health: Health | None = None
        self.missing_records: list[str] = []  # record paths it lacks: no harness extension

    @property
    def pid(self) -> int | None:
        return None  # not ours: never stopped by the harness

    def start(self, timeout: float = 10.0) -> None:
        """Check that the endpoint answers and is LocalStack (bounded wait for one that is starting)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.health = fetch_health(self.endpoint)
                self.missing_records = missing_record_paths(self.endpoint)
                if self.missing_records:  # said once, before anything runs
                    log.warning("%s has no harness extension (%s not served): alarm history, scaling activities "
                                "and ECS tasks stay in the harness (harness status, the report), not in its APIs",
                                self.endpoint, ", ".join(self.missing_records))
                return
            except CloudError as exc:
                if "unreachable" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(0.2)

    def stop(self) -> None:
        """Nothing to stop: the user runs this endpoint."""


    def __repr__(self) -> str:
        return f"ExternalCloud(endpoint={self.endpoint!r})"


def open_cloud(choice: str, *, port: int = 4566) -> Any:
    """The cloud for `--cloud embedded|localstack|<url>` (not started)."""
    if choice == "embedded":
        from harness.cloud.server import EmbeddedCloud

        return EmbeddedCloud(port)
    if choice == "localstack":
        return LocalStackCloud(port)
    if choice.startswith("http://"):
        return ExternalCloud(choice)
    raise CloudError(f"--cloud {choice!r}: expected embedded, localstack, or an endpoint URL like http://127.0.0.1:4566")
