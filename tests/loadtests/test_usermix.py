"""The user's classes as the harness's load, without importing Locust: the per-request pacing
(loadtests/phaseplan.py paced_wait) from a table, and the split of tasks by the `error` tag
(loadtests/usermix.py filter_tasks), weights and TaskSets included."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_test_{name}", ROOT / "loadtests" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


phaseplan = _load("phaseplan")
usermix = _load("usermix")


@pytest.mark.parametrize("now, last, requests, rate, expected", [
    (10.0, None, 0, 5.0, (0.0, 10.0)),  # the first task starts at once and sets the pace
    (10.1, 10.0, 1, 5.0, (0.1, 10.2)),  # one request at 5/s: 0.2 s a task
    (10.1, 10.0, 3, 5.0, (0.5, 10.6)),  # a task that sent 3 requests waits for 3 slots
    (10.0, 10.0, 0, 5.0, (0.2, 10.2)),  # a task that sent none counts as one (no busy loop)
    (11.0, 10.0, 1, 5.0, (0.0, 11.0)),  # behind the pace: no wait, and no burst to catch up
    (11.0, 10.0, 1, None, (0.0, None)),  # no rate: no wait, the pace restarts later
    (11.0, 10.0, 1, 0.0, (0.0, None)),
])
def test_paced_wait(now: float, last: float | None, requests: int, rate: float | None,
                    expected: tuple[float, float | None]) -> None:
    wait, start = phaseplan.paced_wait(now, last, requests, rate)
    assert wait == pytest.approx(expected[0])
    assert start == (pytest.approx(expected[1]) if expected[1] is not None else None)


def tagged(fn: Any, *tags: str) -> Any:
    fn.locust_tag_set = set(tags)  # what locust.tag() sets
    return fn


def small() -> None: ...
def boom() -> None: ...
def inner_ok() -> None: ...
def inner_err() -> None: ...


tagged(boom, "error")
tagged(inner_err, "error", "slow")


class Nested:  # a TaskSet as filter_tasks sees one: a class with tasks
    tasks = [inner_ok, inner_err, inner_err]


class ErrorSet:
    tasks = [small]
    locust_tag_set = {"error"}


def test_normal_side_keeps_untagged_tasks_with_their_weights() -> None:
    got = usermix.filter_tasks([small, small, small, boom, Nested], want_error=False)
    assert got[:3] == [small, small, small]
    copy = got[3]
    assert copy is not Nested and issubclass(copy, Nested) and copy.tasks == [inner_ok]
    assert Nested.tasks == [inner_ok, inner_err, inner_err]  # the user's class is left as it was


def test_error_side_takes_tagged_tasks_and_tagged_task_sets_whole() -> None:
    got = usermix.filter_tasks([small, boom, boom, Nested, ErrorSet], want_error=True)
    assert got[:2] == [boom, boom]
    assert got[2].tasks == [inner_err, inner_err]
    assert got[3] is ErrorSet


def test_a_side_with_nothing_left_is_empty() -> None:
    assert usermix.filter_tasks([small], want_error=True) == []
    assert usermix.filter_tasks([boom], want_error=False) == []
