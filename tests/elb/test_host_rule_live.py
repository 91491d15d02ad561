"""A service reached only by its host name (tests/data/shared-alb/service-host.yml: a host-header
ListenerRule `api.*.example.com` on the cluster's shared load balancer, whose default action is a 404
fixed response) through the real harness: `run` names the Host each request carries, Locust sends it
through the real proxy, and the shipped scale-out scenario passes on that load.
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html#host-conditions"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_scenarios import failed, run


@pytest.mark.slow
def test_scale_out_through_a_host_header_only_rule(tmp_path: Path) -> None:
    proc, report = run(tmp_path, "scale-out", "--template", "tests/data/shared-alb/service-host.yml",
                       "--parent", "ParentAlertStack=tests/data/shared-alb/alert.yml")
    assert proc.returncode == 0 and failed(report) == [], proc.stdout[-4000:]
    assert "rule priority 10 (host-header api.*.example.com); each request with Host: api.x.example.com" in proc.stdout
    statuses = report["load"]["total"]["statuses"]
    assert statuses.get("200", 0) > 100 and set(statuses) == {"200"}, statuses  # none answered by the 404 default
