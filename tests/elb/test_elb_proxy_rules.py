"""The proxy routes by listener rules with real sample-app processes in two target groups: conditions
in priority order, the default action last, weighted forwards, and the load balancer's own
fixed-response and redirect answers.
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html#rule-action-types
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from sample_app_process import App

from harness.clock import ScaledClock
from harness.elb.proxy import ListenerRouting, LoadBalancerProxy
from harness.elb.rules import Action, Condition, Rule
from harness.elb.targets import TargetGroupRuntime, TargetState
from tests.elb.config import target_group
from tests.elb.test_elb_proxy import HC, Client


def group(clock: ScaledClock, name: str, port: int) -> TargetGroupRuntime:
    g = TargetGroupRuntime(target_group(HC(), name=name), clock)
    g.register(f"{name}-1", port)
    g.set_health(f"{name}-1", TargetState.HEALTHY, None, 2, 0)
    return g


def test_rules_route_to_two_target_groups_and_the_default_answers_the_rest(start: Callable[[], App]) -> None:
    a, b = start(), start()

    async def scenario() -> None:
        clock = ScaledClock(30)
        ga, gb = group(clock, "blue", a.port), group(clock, "green", b.port)
        rules = [
            Rule("default", None, (), (Action("fixed-response", status_code="404", content_type="text/plain",
                                              message_body="no service here"),)),
            Rule("green-by-header", 5, (Condition("http-header", ("green",), header_name="X-Color"),),
                 (Action("forward", target_groups=((gb.config.arn, 1),)),)),
            Rule("numbers", 10, (Condition("path-pattern", ("/?", "/??")),),
                 (Action("forward", target_groups=((ga.config.arn, 1),)),)),
            Rule("split", 20, (Condition("path-pattern", ("/cpu",)),),
                 (Action("forward", target_groups=((ga.config.arn, 3), (gb.config.arn, 1))),)),
            Rule("old", 30, (Condition("path-pattern", ("/old/*",)),),
                 (Action("redirect", path="/new/#{path}", query="from=old", redirect_code="HTTP_301"),)),
        ]
        routing = ListenerRouting(rules, {ga.config.arn: ga, gb.config.arn: gb})
        async with LoadBalancerProxy({80: routing}, clock) as lb:
            c = Client(lb.bound_ports[80])
            r = await c.get("/5")
            assert (r.status, r.body, r.headers["x-served-by"]) == (200, b"120", str(a.port))
            r = await c.get("/5", headers={"X-Color": "GREEN"})  # header values are case-insensitive
            assert r.status == 200 and r.headers["x-served-by"] == str(b.port)
            r = await c.get("/123")  # three characters: ?/?? do not match, the default answers
            assert (r.status, r.body, r.headers["server"]) == (404, b"no service here", "awselb/2.0")
            served = Counter([(await c.get("/cpu?ms=0")).headers["x-served-by"] for _ in range(8)])
            assert served == {str(a.port): 6, str(b.port): 2}  # weights 3:1
            r = await c.get("/old/7?x=1")
            # The Location AWS sends: the template listener port, #{path} without its leading "/".
            assert r.status == 301 and r.headers["location"] == "http://127.0.0.1:80/new/old/7?from=old"
            c.close()
            s = lb.stats
            # RequestCount counts every request; the groups only what they were sent.
            assert (s.request_count, s.groups["blue"].request_count, s.groups["green"].request_count) == (12, 7, 3)
            assert s.own.request_count == 2 and s.elb_5xx_count == 0

    asyncio.run(scenario())


def test_a_rule_without_a_match_and_no_forward_default_is_a_503_from_the_load_balancer() -> None:
    async def scenario() -> None:
        clock = ScaledClock(30)
        g = TargetGroupRuntime(target_group(HC(), name="only"), clock)
        rules = [Rule("default", None, (), (Action("forward", target_groups=((g.config.arn, 0),)),))]
        async with LoadBalancerProxy({80: ListenerRouting(rules, {g.config.arn: g})}, clock) as lb:
            c = Client(lb.bound_ports[80])
            r = await c.get("/")
            c.close()
            assert r.status == 503 and lb.stats.elb_5xx[503] == 1

    asyncio.run(scenario())
