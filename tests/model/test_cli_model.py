"""`harness model` end to end (its own embedded cloud on a free port, read once, then the model), its report,
a sweep, and bad input ending in one line naming the culprit with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.model.cli import read_calibration
from harness.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "infrastructure" / "ecs.yml"


@pytest.mark.slow
def test_model_writes_a_report_that_says_it_is_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    code = main(["--home", str(tmp_path / "home"), "model", "--template", str(TEMPLATE), "--param", "MaxCapacity=5",
                 "--traffic", "step:levels=25/120/25,minutes=30", "--cost-ms", "10", "--report-dir", str(out),
                 "--expect", "scales_to=max_capacity", "--expect", "max_utilization_below=99"])
    text = capsys.readouterr().out
    assert code == 1  # the overload reaches 100 % CPU: max_utilization_below fails
    report = json.loads((out / "report.json").read_text())
    assert report["mode"] == "model"
    assert any("This is a MODEL" in a for a in report["assumptions"])
    assert report["parameters"] == {"MaxCapacity": "5"}
    assert report["summary"]["peak_desired"] == 5 and report["summary"]["minutes_at_max"] > 0
    assert [v["passed"] for v in report["verdicts"]] == [True, False]
    assert any(e["kind"] == "scaling" for e in report["events"])
    html = (out / "report.html").read_text()
    assert "This report is a model" in html and "Model figures" in html and "<svg" in html
    assert "scale   Setting desired count to 3." in text and "task-hours" in text


@pytest.mark.slow
def test_sweep_reports_every_combination_and_the_best(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    code = main(["model", "--template", str(TEMPLATE), "--traffic", "step:levels=25/90/25,minutes=20",
                 "--cost-ms", "10", "--sweep", "MaxCapacity=3,5", "--sweep", "MinCapacity=1,2",
                 "--best-by", "5xx", "--jobs", "2", "--report-dir", str(out)])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    rows = report["sweep"]
    assert [(r["MaxCapacity"], r["MinCapacity"]) for r in rows] == [("3", "1"), ("3", "2"), ("5", "1"), ("5", "2")]
    # More capacity, fewer 5XX: the best by 5xx has MaxCapacity 5, and its report is the one written.
    assert report["best"]["MaxCapacity"] == "5"
    assert report["parameters"]["MaxCapacity"] == "5"
    assert min(r["5xx"] for r in rows if r["MaxCapacity"] == "5") < min(r["5xx"] for r in rows if r["MaxCapacity"] == "3")
    assert "What-if sweep" in (out / "report.html").read_text()
    assert "best       by 5xx: MaxCapacity=5" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--traffic", "wave:peak=3", "--cost-ms", "10"], "not a CSV file and not a known shape"),
        (["--traffic", "BADCSV", "--cost-ms", "10"], "bad.csv line 3: rate -1 is negative"),
        (["--traffic", "ramp:to=5", "--cost-ms", "0"], "--cost-ms 0"),
        (["--traffic", "ramp:to=5", "--cost-ms", "10", "--expect", "fast"], "unknown expectation 'fast'"),
        (["--traffic", "ramp:to=5", "--cost-ms", "10", "--sweep", "MaxCapacity"], "is not of the form KEY=v1,v2"),
        (["--traffic", "ramp:to=5", "--cost-ms", "10", "--best-by", "vibes"], "--best-by 'vibes'"),
        (["--traffic", "ramp:to=5", "--calibration", "NOFILE"], "--calibration"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   args: list[str], message: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time,rps\n0,5\n60,-1\n")
    args = [str(bad) if a == "BADCSV" else str(tmp_path / "none.json") if a == "NOFILE" else a for a in args]
    out = tmp_path / "report"
    code = main(["model", "--template", str(TEMPLATE), *args, "--report-dir", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_calibration_file(tmp_path: Path) -> None:
    good = tmp_path / "cal.json"
    good.write_text(json.dumps({"cost_ms": 11.5, "method": "measured"}))
    got = read_calibration(good)
    assert (got.cost_ms, got.source, got.memory_mib) == (11.5, f"calibration {good}: measured", None)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"cost_ms": -1}))
    with pytest.raises(ConfigError, match="cost_ms is -1, not a number > 0"):
        read_calibration(bad)


@pytest.mark.slow
def test_calibrate_measures_the_sample_app(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A real sample-app process; its own CPU accounting over the requests (a /cpu?ms=10 burns >= 10 ms)."""
    out = tmp_path / "cal.json"
    assert main(["calibrate", "--out", str(out), "--requests", "20"]) == 0
    data = json.loads(out.read_text())
    assert data["cost_ms"] >= 9.0 and data["requests"] == 20
    assert read_calibration(out).cost_ms == data["cost_ms"]
    assert data["app"] == "sample_app" and data["memory_mib"] > 0
    assert f"written to {out}" in capsys.readouterr().out


MEMORY_TEMPLATE = REPO / "tests" / "data" / "target-tracking" / "memory.yml"


@pytest.mark.slow
def test_memory_target_tracking_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """ECSServiceAverageMemoryUtilization (target 75 %, 128 MiB tasks) on the model's memory: 100 MiB a task
    is 78.1 %, above the target whatever the load, so the policy scales out to MaxCapacity (4)."""
    out = tmp_path / "report"
    code = main(["model", "--template", str(MEMORY_TEMPLATE), "--traffic", "step:levels=20,minutes=20",
                 "--cost-ms", "10", "--memory-baseline-mib", "100", "--report-dir", str(out),
                 "--expect", "scales_to=max_capacity"])
    text = capsys.readouterr().out
    assert code == 0, text[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["peak_desired"] == 4
    assert any("Memory per task = 100 MiB (--memory-baseline-mib)" in a for a in report["assumptions"])
    assert "memory     peak 78.2%" in text or "memory     peak 78.1%" in text
    # Without a memory figure: refused in one line naming the policy and the option to give.
    code = main(["model", "--template", str(MEMORY_TEMPLATE), "--traffic", "step:levels=20,minutes=20",
                 "--cost-ms", "10", "--report-dir", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert code == 2 and "tracks MemoryUtilization: give the model's memory per task with --memory-baseline-mib" in err
    assert err.count("\n") == 1 and not (tmp_path / "none").exists()
