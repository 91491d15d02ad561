"""Packaging: the default templates, the scenarios, the locustfile and the sample app are package data
found through importlib.resources from any folder; `harness init` writes a starting project and never
overwrites; a wheel installed into a fresh virtual environment runs `harness run scale-out` from an
empty folder (slow: it builds the wheel and runs a live scenario)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from harness import resources
from harness.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_the_shipped_files_are_the_repos_top_level_folders_in_a_checkout() -> None:
    """In a checkout (editable install) the package data is the top-level folders themselves, not copies."""
    assert resources.infrastructure().resolve() == (REPO / "infrastructure").resolve()
    assert resources.loadtests().resolve() == (REPO / "loadtests").resolve()
    assert resources.sample_app().resolve() == (REPO / "sample_app").resolve()
    for name in resources.TEMPLATES:
        assert (resources.infrastructure() / name).is_file()
    assert resources.locustfile().is_file() and (resources.loadtests() / "phaseplan.py").is_file()
    assert (resources.sample_app() / "Dockerfile").is_file()
    assert {p.stem for p in resources.scenarios().glob("*.yml")} >= {"full-story", "scale-out"}


def test_the_lookups_work_from_another_folder(tmp_path: Path) -> None:
    code = ("import json; from harness import resources as r, deploy, image; from harness.scenarios import runner; "
            "print(json.dumps([str(r.default_template()), str(deploy.HARNESS_INFRA), str(image.DOCKERFILE), "
            "str(runner.LOCUSTFILE)]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert out.returncode == 0, out.stderr
    for path in json.loads(out.stdout):
        assert Path(path).exists() and not Path(path).is_relative_to(tmp_path)


def test_init_writes_the_templates_and_the_load_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "project")]) == 0
    said = capsys.readouterr().out
    project = tmp_path / "project"
    for rel, source in resources.starter_files():
        assert (project / rel).read_bytes() == source.read_bytes()
        assert rel in said
    assert sorted(p.name for p in (project / "infrastructure").iterdir()) == ["cluster.yml", "ecs.yml", "vpc.yml"]
    assert (project / "loadtests" / "locustfile.py").is_file() and not (project / "loadtests" / "__init__.py").exists()
    assert "edit infrastructure/ecs.yml" in said and "harness run" in said


def test_init_defaults_to_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert (tmp_path / "infrastructure" / "ecs.yml").is_file()


def test_init_refuses_to_overwrite_naming_the_file_and_writes_nothing(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "loadtests").mkdir()
    mine = tmp_path / "loadtests" / "locustfile.py"
    mine.write_text("# my own\n")
    assert main(["init", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"harness: error: {mine} already exists; harness init never overwrites a file "
                   "(move it away, or give another folder)"]
    assert mine.read_text() == "# my own\n"
    assert not (tmp_path / "infrastructure").exists()


def test_init_into_a_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f").write_text("x")
    assert main(["init", str(tmp_path / "f")]) == 2
    assert f"{tmp_path / 'f'} is not a folder" in capsys.readouterr().err


def build_wheel(out: Path) -> Path:
    """`pip wheel .`, as an index or pipx would build it (build isolation: setuptools from the index)."""
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                           "-w", str(out), str(REPO)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = out.glob("harness-*.whl")
    return wheel


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_wheel_in_a_fresh_venv_runs_scale_out_from_an_empty_folder(tmp_path: Path) -> None:
    """The wheel as pip, pipx or an index installs it (no checkout on the path), in a new venv whose
    dependencies come from this environment (system site packages): `harness run scale-out` passes in an
    empty folder, with the templates, locustfile and sample app from the wheel."""
    wheel = build_wheel(tmp_path / "dist")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    install = subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([py, "-c", "import harness.resources as r, harness; print(harness.__file__); "
                                      "print(r.default_template()); print(r.sample_app())"],
                           cwd=empty, capture_output=True, text=True, env=env, timeout=60)
    assert where.returncode == 0, where.stderr
    for line in where.stdout.split():
        assert Path(line).is_relative_to(env_dir), f"{line} is not from the wheel"
    run = subprocess.run([env_dir / "bin" / "harness", "run", "scale-out", "--home", str(tmp_path / "home"),
                          "--cloud-port", str(_free_port())],
                         cwd=empty, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "PASS" in run.stdout
    from harness.report_schema import problems

    assert problems(json.loads((empty / "report" / "scale-out" / "report.json").read_text())) == []
    assert sorted(p.name for p in empty.iterdir()) == ["report"]  # nothing else written into the user's folder


@pytest.mark.slow
def test_the_wheel_carries_every_shipped_file(tmp_path: Path) -> None:
    """Slow only because it builds: the wheel has the templates, the load folder, the sample app's
    Dockerfile, the scenarios and the LocalStack extension's sources."""
    import zipfile

    names = set(zipfile.ZipFile(build_wheel(tmp_path)).namelist())
    expected = {f"harness/infrastructure/{n}" for n in resources.TEMPLATES}
    expected |= {f"harness/loadtests/{rel.split('/', 1)[1]}" for rel, _ in resources.starter_files()
                 if rel.startswith("loadtests/")}
    expected |= {"sample_app/Dockerfile", "sample_app/app.py", "harness/scenarios/full-story.yml",
                 "harness/localstack_ext/pyproject.toml", "harness/localstack_ext/harness_localstack_ext/__init__.py"}
    assert expected <= names, sorted(expected - names)


def _free_port() -> int:
    from harness.net import free_port

    return free_port()
