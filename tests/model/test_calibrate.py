"""`harness calibrate` on the user's app with their locustfile, and the calibration file `harness model` reads.

Fast: the file's checks from a table, the record written from a measured mix, and bad options refused in one
line before anything starts. Slow: the real CLI on tests/data/node-app (real Node, real Locust, CPU and memory
from the trial task's cgroup), then `harness model --calibration` with the file; an app that does not start and
an app whose port is taken, each named in one line with nothing left running."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import ConfigError
from harness.model.calibrate import CALIBRATION_FORMAT, calibration_record, parse_calibration
from harness.net import free_port
from harness.userload import calibration_from

from tests.test_user_service import NODE_APP, error_line, harness, node_app  # noqa: F401 (a fixture)

REPO = Path(__file__).resolve().parents[2]
WHERE = "calibration cal.json"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "not a JSON object"),
        ({"requests": 10}, "no positive cost_ms"),
        ({"cost_ms": -1}, "cost_ms is -1, not a number > 0"),
        ({"cost_ms": True}, "cost_ms is True"),
        ({"cost_ms": "1.5"}, "cost_ms is '1.5'"),
        ({"cost_ms": 1.5, "requests": 0}, "requests is 0: the calibration measured no request"),
        ({"cost_ms": 1.5, "requests": 2.5}, "requests is 2.5, not a whole number"),
        ({"cost_ms": 1.5, "memory_mib": 0}, "memory_mib is 0"),
        ({"cost_ms": 1.5, "format": 2}, "format 2 is not one this harness reads"),
        ({"cost_ms": 1.5, "endpoints": {"/a": 3}}, "endpoints must map each request name"),
        ({"cost_ms": 1.5, "endpoints": {"/a": {"requests": -3}}}, "endpoint '/a': requests is -3"),
    ],
)
def test_a_bad_calibration_file_is_named(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as got:
        parse_calibration(data, WHERE)
    assert str(got.value).startswith(WHERE)


def test_a_good_calibration_file() -> None:
    got = parse_calibration({"format": CALIBRATION_FORMAT, "cost_ms": 0.77, "requests": 605, "memory_mib": 27.2,
                             "method": "task CPU seconds"}, WHERE)
    assert (got.cost_ms, got.memory_mib, got.source) == (0.77, 27.2, f"{WHERE}: task CPU seconds")


def test_the_record_of_a_measured_mix_reads_back() -> None:
    cal = calibration_from(0.462, 0.380, {200: 600, 500: 5}, 3.0, "--locustfile x.py",
                           by_name={"/[n] small": 359, "/[n] large": 95, "/1": 151}, memory_mib=27.25)
    record = calibration_record(cal, app="--task-command 'node server.js'", locustfile=Path("/x/locustfile.py"),
                                template=Path("/x/ecs.yml"), params={"MaxCapacity": "4"}, cpu_units=256)
    assert record["cost_ms"] == round(462 / 605, 4) and record["requests"] == 605 and record["ok"] == 600
    assert record["endpoints"] == {"/1": {"requests": 151, "share": 0.2496},
                                   "/[n] large": {"requests": 95, "share": 0.157},
                                   "/[n] small": {"requests": 359, "share": 0.5934}}
    assert record["memory_mib"] == 27.25 and record["locustfile"] == "/x/locustfile.py"
    back = parse_calibration(json.loads(json.dumps(record)), WHERE)
    assert back.cost_ms == record["cost_ms"] and back.memory_mib == 27.25
    one = calibration_from(0.3, 0.2, {200: 300}, 3.0, "w", by_name={"/1": 300})
    only = calibration_record(one, app="a", locustfile=Path("/l.py"), template=Path("/t"), params={}, cpu_units=256)
    assert only["endpoints"] == {"/1": {"requests": 300, "share": 1.0, "cost_ms": 1.0}}  # one endpoint: its cost


def test_per_endpoint_costs_from_the_tasks_measured_alone() -> None:
    mix = calibration_from(0.4, 0.3, {200: 400}, 3.0, "w", by_name={"/a": 300, "/b": 100})
    per_task = {"U.a": calibration_from(0.3, 0.2, {200: 300}, 3.0, "w", by_name={"/a": 300}),  # 1 ms each
                "U.b": calibration_from(0.2, 0.2, {200: 100}, 3.0, "w", by_name={"/b": 100}),  # 2 ms each
                "V.a": calibration_from(0.4, 0.2, {200: 100}, 3.0, "w", by_name={"/a": 100}),  # 4 ms: /a averaged
                "V.both": calibration_from(0.1, 0.1, {200: 100}, 3.0, "w", by_name={"/a": 50, "/b": 50})}
    record = calibration_record(mix, app="a", locustfile=Path("/l.py"), template=Path("/t"), params={},
                                cpu_units=256, per_task=per_task)
    # /a: (1 ms x 300 + 4 ms x 100) / 400; a task sending two names gives neither its cost.
    assert record["endpoints"]["/a"]["cost_ms"] == pytest.approx(700 / 400)
    assert record["endpoints"]["/b"]["cost_ms"] == pytest.approx(2.0)
    assert record["cost_ms_from_endpoints"] == pytest.approx(0.75 * 1.75 + 0.25 * 2.0)
    assert record["tasks"]["V.both"] == {"cost_ms": 1.0, "requests": 100, "endpoints": ["/a", "/b"]}
    assert parse_calibration(json.loads(json.dumps(record)), WHERE).cost_ms == 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task-command", "node server.js", "--task-dir", "NODE"], "--task-command needs --locustfile too"),
        (["--task-command", "node server.js", "--locustfile", "MISSING"], "missing.py: no such file"),
        (["--task-dir", "NODE", "--locustfile", "MISSING"], "give --task-command too"),
        (["--task-command", "true", "--task-dir", "NOPE", "--locustfile", "MISSING"], "no such folder"),
        (["--image", "mine:dev", "--locustfile", "MISSING"], "--image needs --runtime docker"),
        (["--task-command", "node server.js", "--task-dir", "NODE", "--out", "NOPE/cal.json"],
         "needs --locustfile too"),
    ],
)
def test_bad_calibrate_options_are_one_line_and_start_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              args: list[str], message: str) -> None:
    subs = {"NODE": str(NODE_APP), "MISSING": str(tmp_path / "missing.py"), "NOPE": str(tmp_path / "nope")}
    out = tmp_path / "cal.json"
    code = main(["--home", str(tmp_path / "home"), "calibrate", *[subs.get(a, a) for a in args],
                 *([] if "--out" in args else ["--out", str(out)])])
    captured = capsys.readouterr()
    assert code == 2
    assert message in captured.err and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert "cloud " not in captured.out  # refused before the embedded cloud started
    assert not out.exists()


@pytest.mark.parametrize("command", ["calibrate", "model"])
@pytest.mark.parametrize("option", ["--cloud", "--cloud-port", "--lb-port", "--mail-relay", "--cpu-scale"])
def test_options_a_command_would_ignore_are_not_taken(capsys: pytest.CaptureFixture[str], command: str,
                                                      option: str) -> None:
    """`_stack_options` registers for calibrate and model only what they act on (harness/model/cli.py)."""
    model = ["--traffic", "step:levels=10,minutes=1", "--cost-ms", "1"] if command == "model" else []
    with pytest.raises(SystemExit) as exit_:
        main([command, *model, option, "1"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"unrecognized arguments: {option} 1" in err and "Traceback" not in err


@pytest.mark.parametrize("option", ["--time-scale", "--runtime", "--no-cpu-quota", "--task-command", "--image",
                                    "--locustfile", "--task-dir"])
def test_model_does_not_take_the_live_options(capsys: pytest.CaptureFixture[str], option: str) -> None:
    argv = ["model", "--traffic", "step:levels=10,minutes=1", "--cost-ms", "1", option]
    with pytest.raises(SystemExit) as exit_:
        main(argv if option in ("--no-cpu-quota",) else [*argv, "process"])
    assert exit_.value.code == 2 and f"unrecognized arguments: {option}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--template", "x.yml"], "--template is for your app"),
        (["--param", "MaxCapacity=4"], "--param is for your app"),
        (["--stack-name", "mine"], "--stack-name is for your app"),
        (["--time-scale", "10"], "--time-scale is for your app"),
        (["--task-command", "node server.js", "--locustfile", "LF", "--requests", "9"], "--requests is for the sample"),
        (["--task-command", "node server.js", "--locustfile", "LF", "--cpu-ms", "5"], "--cpu-ms is for the sample"),
    ],
)
def test_an_option_of_the_other_calibration_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       args: list[str], message: str) -> None:
    out = tmp_path / "cal.json"
    lf = str(NODE_APP / "locustfile.py")
    code = main(["--home", str(tmp_path / "home"), "calibrate", *[lf if a == "LF" else a for a in args],
                 "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2 and message in captured.err and captured.err.count("\n") == 1
    assert "cloud " not in captured.out and not out.exists()


def test_an_out_folder_that_does_not_exist_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lf = NODE_APP / "locustfile.py"
    code = main(["calibrate", "--task-command", "node server.js", "--task-dir", str(NODE_APP), "--locustfile", str(lf),
                 "--out", str(tmp_path / "nope" / "cal.json")])
    err = capsys.readouterr().err
    assert code == 2 and f"--out {tmp_path / 'nope' / 'cal.json'}: folder" in err and err.count("\n") == 1


# -- live: real Node, real Locust --------------------------------------------------------------------------


@pytest.mark.slow
def test_calibrate_the_node_app_then_model_with_it(tmp_path: Path, node_app: Path) -> None:  # noqa: F811
    out = tmp_path / "cal.json"
    lf = node_app / "locustfile.py"
    proc = harness(tmp_path, "calibrate", "--task-command", "node server.js", "--task-dir", str(node_app),
                   "--locustfile", str(lf), "--out", str(out), timeout=280.0)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "listens on its PORT (trial task" in proc.stdout and "one request of your mix costs a task" in proc.stdout
    data = json.loads(out.read_text())
    assert data["format"] == CALIBRATION_FORMAT and data["locustfile"] == str(lf)
    assert data["app"] == f"--task-command 'node server.js' (in {node_app})"
    # What the mix is made of (its request names, as the locustfile names them), every request answered 2XX.
    assert set(data["endpoints"]) == {"/[n] small", "/[n] large", "/1"}
    assert sum(e["requests"] for e in data["endpoints"].values()) == data["requests"] >= 30
    assert data["statuses"] == {"200": data["requests"]}
    # A factorial request costs Node a fraction of a millisecond, far from nothing and far from 10 ms.
    assert 0.05 < data["cost_ms"] < 10.0 and data["memory_mib"] > 5.0
    # Several endpoints: each task of the mix measured alone on a trial task of its own gives its name's cost.
    assert set(data["tasks"]) == {"Browser.small", "Browser.large", "Checker.one"}  # Browser.boom is tagged error
    assert all(0.05 < e["cost_ms"] < 10.0 for e in data["endpoints"].values())
    assert "cost_ms_from_endpoints" in data and "endpoint   /1: " in proc.stdout
    assert f"written    {out}: {data['cost_ms']:.3f} ms of task CPU per request" in proc.stdout

    # The model on it: the cost and the memory come from the file, and the report says so.
    report_dir = tmp_path / "report"
    model = subprocess.run([sys.executable, "-m", "harness.cli", "model", "--traffic", "step:levels=100/700,minutes=10",
                            "--calibration", str(out), "--report-dir", str(report_dir)],
                           cwd=REPO, capture_output=True, text=True, timeout=120)
    assert model.returncode == 0, model.stdout[-3000:] + model.stderr[-3000:]
    report = json.loads((report_dir / "report.json").read_text())
    assert report["cpu_cost_ms"] == data["cost_ms"]
    box = " ".join(report["assumptions"])
    assert f"({'calibration'} {out}: task CPU seconds (cgroup) of one trial task" in box
    assert f"Memory per task = {data['memory_mib']:g} MiB (measured: calibration {out}" in box


@pytest.mark.slow
def test_an_app_that_does_not_start_is_named_and_nothing_is_left(tmp_path: Path) -> None:
    lf = NODE_APP / "locustfile.py"
    out = tmp_path / "cal.json"
    proc = harness(tmp_path, "calibrate", "--task-command", "echo 'no config.json' >&2; exit 3",
                   "--task-dir", str(tmp_path), "--locustfile", str(lf), "--out", str(out))
    line = error_line(proc)
    assert "exited with code 3 before listening" in line and "no config.json" in line
    assert not out.exists()


@pytest.mark.slow
def test_an_app_whose_port_is_taken_is_named_and_nothing_is_left(tmp_path: Path) -> None:
    lf = NODE_APP / "locustfile.py"
    out = tmp_path / "cal.json"
    with socket.socket() as held:
        held.bind(("127.0.0.1", free_port()))
        held.listen()
        port = held.getsockname()[1]
        # An app that ignores $PORT and binds a port something else holds.
        proc = harness(tmp_path, "calibrate", "--task-command", f"{sys.executable} -m http.server {port} --bind 127.0.0.1",
                       "--task-dir", str(tmp_path), "--locustfile", str(lf), "--out", str(out))
    line = error_line(proc)
    assert "--task-command" in line and "before listening on 127.0.0.1:" in line
    assert "Address already in use" in line
    assert not out.exists()
