"""Where the files the harness ships live, however it was installed.

The default templates (infrastructure/*.yml), the locustfile (loadtests/) and the sample app
(sample_app/, with its Dockerfile) are package data: setup.py maps the repo's top-level folders into
the package, so one lookup through importlib.resources finds them in a source checkout, an editable
install and a wheel in site-packages alike, whatever the current folder is. Locust, Docker and
CloudFormation's loader need real files, so a package that is not on the file system (a zip) is
refused with the reason rather than half-working.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from harness.errors import ConfigError

TEMPLATES = ("vpc.yml", "cluster.yml", "ecs.yml")  # what `harness init` writes, parents first


def _folder(package: str) -> Path:
    try:
        found = files(package)
    except ModuleNotFoundError as err:
        raise ConfigError(f"the harness's {package} package is not installed ({err}); reinstall harness") from err
    path = Path(str(found))
    if not path.is_dir():
        raise ConfigError(f"the harness's {package} package is not a folder on disk ({found}); install harness unzipped")
    return path


def infrastructure() -> Path:
    """The folder of the default templates: vpc.yml, cluster.yml, ecs.yml."""
    return _folder("harness.infrastructure")


def default_template() -> Path:
    return infrastructure() / "ecs.yml"


def loadtests() -> Path:
    """The folder of the harness's locustfile and its phases format."""
    return _folder("harness.loadtests")


def locustfile() -> Path:
    return loadtests() / "locustfile.py"


def sample_app() -> Path:
    """The sample app's package folder (its Dockerfile builds the task image from it)."""
    return _folder("sample_app")


def scenarios() -> Path:
    """The shipped scenarios (harness/scenarios/*.yml)."""
    return _folder("harness.scenarios")


def starter_files() -> list[tuple[str, Path]]:
    """What `harness init` writes into a project, as (path in the project, shipped file): the three
    templates and the load folder (the locustfile, the modules next to it that it imports, its phases)."""
    infra, load = infrastructure(), loadtests()
    files = [(f"infrastructure/{name}", infra / name) for name in TEMPLATES]
    files += [(f"loadtests/{p.name}", p) for p in sorted(load.glob("*.py")) if p.name != "__init__.py"]
    files += [(f"loadtests/phases/{p.name}", p) for p in sorted((load / "phases").glob("*.json"))]
    return files


def package_root() -> Path:
    """The harness package's own folder (its shipped schemas)."""
    return _folder("harness")
