"""Typed timeline events: one frozen dataclass per kind (harness/events.py), the same fields as
report.json's schema documents for that kind, emitted and read as types; the kwargs spelling is checked
against the kind's dataclass and a mismatch is named, not lost."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from harness import report_schema
from harness.events import (KINDS, AlarmTransition, DesiredChange, MailSent, PhaseChange, TaskChange, Timeline,
                            TypedEvent, typed_from)

SCHEMA_KINDS = report_schema.schema()["$defs"]["kinds"]


def _required(cls: type[TypedEvent]) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}


@pytest.mark.parametrize("kind", sorted(SCHEMA_KINDS))
def test_each_documented_kind_has_a_dataclass_with_the_same_fields(kind: str) -> None:
    cls = KINDS[kind]
    documented = SCHEMA_KINDS[kind]
    assert set(documented["properties"]) == {f.name for f in dataclasses.fields(cls)}
    if "required" in documented:
        assert set(documented["required"]) == _required(cls)


def test_every_kind_is_a_frozen_dataclass_with_its_own_kind() -> None:
    assert len(KINDS) == len({cls.KIND for cls in KINDS.values()})
    for kind, cls in KINDS.items():
        assert cls.KIND == kind and dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_emitted_as_a_type_and_read_as_one() -> None:
    tl = Timeline()
    seen: list[object] = []
    tl.subscribe(lambda e: seen.append(e.typed))
    tl.emit(10.0, PhaseChange(name="cpu-high", action="start"))
    tl.emit(70.0, AlarmTransition(name="hi", old="OK", new="ALARM", reason="Threshold Crossed"))
    tl.emit(70.0, "desired", old=2, new=3, policy="up", resource_id="service/c/s")  # the kwargs spelling
    tl.emit(130.0, AlarmTransition(name="hi", old="ALARM", new="OK", reason="back"))
    assert [(t, a.new) for t, a in tl.typed(AlarmTransition)] == [(70.0, "ALARM"), (130.0, "OK")]
    assert tl.typed(DesiredChange) == [(70.0, DesiredChange(old=2, new=3, policy="up", resource_id="service/c/s"))]
    assert tl.events[1].kind == "alarm" and tl.events[1].data == {"name": "hi", "old": "OK", "new": "ALARM",
                                                                  "reason": "Threshold Crossed"}
    assert tl.events[0].data == {"name": "cpu-high", "action": "start"}  # timed_out is said on "end" only
    assert seen == [e.typed for e in tl.events]
    with pytest.raises(dataclasses.FrozenInstanceError):
        tl.events[1].typed.new = "OK"  # type: ignore[union-attr, misc]


def test_a_kwargs_event_that_does_not_fit_its_kind_is_named_and_kept(caplog: pytest.LogCaptureFixture) -> None:
    tl = Timeline()
    with caplog.at_level(logging.ERROR, logger="harness.events"):
        e = tl.emit(5.0, "task", task_id="abc", actoin="started")
    assert e in tl.events and e.typed is None and e.data == {"task_id": "abc", "actoin": "started"}
    assert "task event: unknown fields ['actoin']" in caplog.text and "TaskChange" in caplog.text
    with pytest.raises(TypeError, match=r"mail event: .*missing .*'body'"):
        typed_from("mail", {"to": ["a@example.com"], "subject": "s"})
    assert typed_from("something-new", {"x": 1}) is None  # a kind without a dataclass stays untyped


def test_a_typed_emit_takes_no_extra_fields() -> None:
    with pytest.raises(TypeError, match="takes no extra fields"):
        Timeline().emit(1.0, TaskChange(task_id="a", action="started", reason=""), extra="x")


def test_events_written_from_types_fit_the_report_schema() -> None:
    from tests.test_report_schema import minimal_report

    tl = Timeline()
    tl.emit(1.0, PhaseChange(name="p", action="end", timed_out=True))
    tl.emit(2.0, MailSent(to=["admin@example.com"], subject="ALARM: hi", body="b"))
    tl.emit(3.0, TaskChange(task_id="t", action="stopped", reason="scale-in"))
    report = minimal_report()
    report["events"] = [{"time": e.time, "kind": e.kind, **e.data} for e in tl.events]
    assert report_schema.problems(report) == []
