"""The `harness_stack` fixture, as a user's own test suite sees it (a separate pytest run)."""

from __future__ import annotations

import uuid

import pytest

from tests.test_scenarios import marked

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow  # live stacks through the plugin

USER_TEST = '''
import urllib.request

import pytest


def test_served_through_the_load_balancer(harness_stack):
    assert urllib.request.urlopen(harness_stack.url + "/5", timeout=10).read() == b"120"
    assert harness_stack.healthy() == harness_stack.model.services[0].desired_count
    alarms = harness_stack.aws.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert len(alarms) == len(harness_stack.model.alarms) == 5
    assert harness_stack.mailbox.folder.is_dir()


@pytest.mark.harness_stack(params={"DesiredCount": "3", "MaxCapacity": "5"})
def test_marker_parameters(harness_stack):
    assert harness_stack.model.services[0].desired_count == 3
    assert harness_stack.model.scalable_targets[0].max_capacity == 5
    # Not healthy() == 3: an idle stack scales in by itself (its low-CPU alarm) and may already have.
    started = [e for e in harness_stack.timeline.of("task") if e.data["action"] == "started"]
    assert len(started) >= 3
'''


def test_a_users_suite_gets_a_served_stack_and_nothing_is_left(pytester: pytest.Pytester,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    # Every process the user's run starts inherits this mark, so leftovers are found among those only.
    mark = uuid.uuid4().hex
    monkeypatch.setenv("HARNESS_TEST_MARK", mark)
    result = pytester.runpytest_subprocess("-q")  # the plugin comes through its pytest11 entry point
    result.assert_outcomes(passed=2)
    assert marked(mark) == []
