"""The URL that reaches a service through a load balancer's rules, with a real (started) proxy."""

from __future__ import annotations

import asyncio

import pytest

from harness.clock import ScaledClock
from harness.elb.entry import entry_url
from harness.elb.proxy import ListenerRouting, LoadBalancerProxy
from harness.elb.rules import Action, Condition, Rule
from harness.elb.targets import TargetGroupRuntime
from harness.errors import ConfigError
from harness.stack import Listener, LoadBalancer
from tests.elb.config import target_group


def test_entry_url_follows_the_rules_and_names_what_a_url_cannot_reach() -> None:
    async def scenario() -> None:
        clock = ScaledClock(30)
        api, web, admin = (TargetGroupRuntime(target_group(name=n), clock) for n in ("api", "web", "admin"))
        rules = (
            Rule("default", None, (), (Action("fixed-response", status_code="404"),)),
            Rule("api", 10, (Condition("path-pattern", ("/api/*",)),), (Action("forward", target_groups=((api.config.arn, 1),)),)),
            Rule("admin", 5, (Condition("host-header", ("admin.example.com",)),),
                 (Action("forward", target_groups=((admin.config.arn, 1),)),)),
            Rule("web", 20, (Condition("path-pattern", ("/*",)),), (Action("forward", target_groups=((web.config.arn, 1),)),)),
        )
        listener = Listener("arn:listener/1", 80, "HTTP", None, default_actions=rules[0].actions, rules=rules)
        lb = LoadBalancer("arn:lb/1", "shared", "app/shared/1", "shared.example.com", (listener,))
        groups = {g.config.arn: g for g in (api, web, admin)}
        async with LoadBalancerProxy({80: ListenerRouting(rules, groups)}, clock) as proxy:
            base = proxy.url(80)
            assert entry_url(api.config.arn, [(lb, proxy)]) == (base + "/api", "shared listener :80, rule priority 10 "
                                                                "(path-pattern /api/*)")
            assert entry_url(web.config.arn, [(lb, proxy)])[0] == base
            with pytest.raises(ConfigError, match=r"target group admin is reached only through conditions a load "
                                                  r"test cannot choose by URL: shared:80 rule 5 \(host-header\)"):
                entry_url(admin.config.arn, [(lb, proxy)], "admin")
            with pytest.raises(ConfigError, match="no listener of any load balancer"):
                entry_url("arn:tg/elsewhere", [(lb, proxy)])

    asyncio.run(scenario())
