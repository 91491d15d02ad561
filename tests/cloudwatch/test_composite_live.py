"""A composite alarm in a real `harness run` (slow): `tests/data/composite/service.yml` is
infrastructure/ecs.yml plus a composite that pages on either 5XX alarm. The shipped 5xx-alerts scenario
passes unchanged on it, and the composite's own email reaches the mailbox, after its children's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_scenarios import REPO, failed, run

TEMPLATE = REPO / "tests" / "data" / "composite" / "service.yml"


@pytest.mark.slow
def test_composite_alarm_mails_during_a_run(tmp_path: Path) -> None:
    proc, report = run(tmp_path, "5xx-alerts", "--template", str(TEMPLATE))
    assert proc.returncode == 0 and failed(report) == [], proc.stdout[-4000:]
    transitions = [(e["name"], e["old"], e["new"]) for e in report["events"]
                   if e["kind"] == "alarm" and "AnyServiceErrorAlarm" in e["name"]]
    assert transitions[:2] == [(transitions[0][0], "INSUFFICIENT_DATA", "OK"), (transitions[0][0], "OK", "ALARM")]
    subjects = [m["subject"] for m in report["emails"]]
    composite = [s for s in subjects if "AnyServiceErrorAlarm" in s]
    assert composite and composite[0].startswith("ALARM: ")
    first_child = next(i for i, s in enumerate(subjects) if "5XXAlarm" in s and s.startswith("ALARM: "))
    assert subjects.index(composite[0]) > first_child
