"""A run on the article's template (ScaleDownPolicy's only step MetricIntervalLowerBound: 0 on a
LessThanThreshold alarm) shows why scale-in never happens, in all three outputs: the terminal, report.json
and report.html; and `harness run` printed the check's finding before any load ran."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.net import free_port

TEMPLATE = Path(__file__).resolve().parent / "data" / "check" / "scale-in-step-never-matches.yml"
CAUSE = re.compile(r"ecs-scale-down was invoked \d+ times by ecs-CPUUtilizationLowAlarm-\S+ in ALARM; each time: No "
                   r"step adjustment found for metric value \[[0-9.]+\] and breach threshold 30\.0\. Its only step "
                   r"covers breaches >= 0; a LessThanThreshold alarm's breaches are < 0: use MetricIntervalUpperBound: 0\.")


@pytest.mark.slow
def test_broken_scale_in_run_names_its_cause_everywhere(tmp_path: Path) -> None:
    report = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "--home", str(tmp_path / "home"), "run", "scale-in", "--template",
         str(TEMPLATE), "--cloud-port", str(free_port()), "--time-scale", "60", "--report-dir", str(report)],
        capture_output=True, text=True, timeout=400)
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:] + proc.stderr[-3000:]
    # The check ran first, before the scenario's first phase.
    assert out.index("check      ERROR   scale-in-step-never-matches.yml:") < out.index("phase")
    # Terminal: the verdict table's why lines (wrapped at 100 columns).
    why_lines = out[out.index("why: desired count reaches min_capacity"):]
    assert CAUSE.search(" ".join(why_lines.split("\n")[:8]).replace("  ", " ")), why_lines[:800]
    verdicts = json.loads((report / "report.json").read_text())["verdicts"]
    (failed,) = [v for v in verdicts if v["name"].startswith("desired count reaches min_capacity")]
    assert failed["passed"] is False and failed["why"]["link"] == "policy decision"
    assert failed["why"]["chain"] == ["metric", "alarm state", "action", "policy decision"]
    assert CAUSE.search(failed["why"]["text"])
    html = (report / "report.html").read_text()
    assert "<th>Why</th>" in html
    assert CAUSE.search(html.replace("&#x27;", "'").replace("&gt;", ">").replace("&lt;", "<"))
