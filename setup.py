"""Packaging that pyproject.toml cannot say alone: the top-level folders infrastructure/ and loadtests/
(where a reader of the repo looks for them) are shipped inside the package as harness.infrastructure
and harness.loadtests, so a wheel (pip, pipx, an index) carries the default templates and the
locustfile, and the CLI and the pytest plugin find them with importlib.resources from any folder.
Everything else (metadata, package data) is in pyproject.toml.
"""

from setuptools import find_packages, setup

SHIPPED = {"harness.infrastructure": "infrastructure", "harness.loadtests": "loadtests"}

setup(
    packages=[*find_packages(include=["harness", "harness.*", "sample_app", "sample_app.*"]), *SHIPPED],
    package_dir=SHIPPED,
)
