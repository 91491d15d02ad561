"""Acceptance on the family of real public templates (tests/data/real-family, written in the spirit of widdix
aws-cf-templates): the shipped full story, unchanged, on the dedicated-ALB service with its VPC, EC2-capacity
cluster and alert-topic parents given by --parent.

- Roles come from what each alarm watches: the cluster stack's 5XX alarm on its own load balancer's default
  target group never sees the service's traffic and gets no role; the service's own alarms do.
- The cluster's EC2 capacity (2 x t3.medium, stored, none launched) makes the cluster-level ECS metrics real:
  the cluster's CPUUtilization alarm (ClusterName only) leaves INSUFFICIENT_DATA on a datapoint measured from
  the tasks, over 4096 CPU units x K.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_scenarios import failed, run

FAMILY = Path("tests/data/real-family")


@pytest.mark.slow
def test_full_story_on_the_real_family_with_parents(tmp_path: Path) -> None:
    proc, report = run(tmp_path, "full-story", "--template", str(FAMILY / "service-dedicated-alb.yaml"),
                       "--parent", f"ParentVPCStack={FAMILY / 'vpc.yaml'}",
                       "--parent", f"ParentClusterStack={FAMILY / 'cluster.yaml'}",
                       "--parent", f"ParentAlertStack={FAMILY / 'alert.yaml'}")
    assert proc.returncode == 0 and failed(report) == [], proc.stdout[-4000:]
    roles = {a["name"]: a.get("role") for a in report["stack"]["alarms"]}
    by_role = {r: n for n, r in roles.items() if r}
    # The 5XX roles are the service stack's alarms on its own load balancer ...
    assert by_role["target_5xx"].startswith("ecs-HTTPCodeTarget5XXTooHighAlarm-"), by_role
    assert by_role["elb_5xx"].startswith("ecs-HTTPCodeELB5XXTooHighAlarm-"), by_role
    # ... and the cluster's alarm on its default target group (which no service's traffic reaches) has none.
    cluster_5xx = [n for n in roles if n.startswith("cluster-HTTPCodeTarget5XXTooHighAlarm-")]
    assert cluster_5xx and all(roles[n] is None for n in cluster_5xx), roles
    # cpu_alert is the service's own CPU alert, not the cluster-level one of the same metric.
    assert by_role["cpu_alert"].startswith("ecs-CPUUtilizationTooHighAlarm-"), by_role
    emails = [v for v in report["verdicts"] if v["name"].startswith("an email whose subject")]
    assert len(emails) == 3 and all(v["passed"] for v in emails), emails
    # The cluster-level CPU alarm got datapoints: the agent published CPUUtilization with ClusterName alone.
    assert "EC2 capacity of 2 container instance(s), 4096 CPU units and 8192 MiB" in proc.stdout
    cluster_cpu = [e for e in report["events"] if e["kind"] == "alarm"
                   and e["name"].startswith("cluster-ClusterCPUUtilizationTooHighAlarm-")]
    assert cluster_cpu and cluster_cpu[0]["old"] == "INSUFFICIENT_DATA" and cluster_cpu[0]["new"] == "OK", cluster_cpu
    assert "1 datapoint [" in cluster_cpu[0]["reason"] and "was not greater than the threshold (80.0)" in cluster_cpu[0]["reason"]
    # Four tasks of 256 units on 4096 registered units can use at most 25 % of the cluster: the alarm never fires.
    assert all(e["new"] != "ALARM" for e in cluster_cpu), cluster_cpu
    reservation = [e for e in report["events"] if e["kind"] == "alarm"
                   and e["name"].startswith("cluster-ClusterMemoryReservationTooHighAlarm-")]
    assert reservation and reservation[0]["new"] == "OK", reservation
