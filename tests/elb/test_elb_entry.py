"""The URL that reaches a service through a load balancer's rules, with a real (started) proxy."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sample_app_process import App

from harness.clock import ScaledClock
from harness.elb.entry import entry, entry_url
from harness.elb.proxy import ListenerRouting, LoadBalancerProxy
from harness.elb.rules import Action, Condition, Rule
from harness.elb.targets import TargetGroupRuntime, TargetState
from harness.errors import ConfigError
from harness.stack import Listener, LoadBalancer
from tests.elb.config import target_group
from tests.elb.test_elb_proxy import Client


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
            assert entry_url(admin.config.arn, [(lb, proxy)], "admin") == (
                base, "shared listener :80, rule priority 5 (host-header admin.example.com); "
                      "each request with Host: admin.example.com")
            with pytest.raises(ConfigError, match="no listener of any load balancer"):
                entry_url("arn:tg/elsewhere", [(lb, proxy)])

    asyncio.run(scenario())


def test_host_header_and_query_rules_are_met_by_headers_through_the_real_proxy(start: Callable[[], App]) -> None:
    """A service reached only by a Host (with a wildcard) or by a header plus a query parameter: the entry
    gives the listener's URL and what each request carries, wildcards resolved to values they match; the
    real proxy sends those requests to the service's task and the same requests without them to the
    default action. A rule a load test cannot meet (POST only) is named.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html"""
    app = start()

    async def scenario() -> None:
        clock = ScaledClock(30)
        api, beta, post = (TargetGroupRuntime(target_group(name=n), clock) for n in ("api", "beta", "post"))
        api.register("api-1", app.port)
        api.set_health("api-1", TargetState.HEALTHY, None, 2, 0)
        beta.register("beta-1", app.port)
        beta.set_health("beta-1", TargetState.HEALTHY, None, 2, 0)
        rules = (
            Rule("default", None, (), (Action("fixed-response", status_code="404"),)),
            Rule("api", 10, (Condition("host-header", ("api.*.example.com",)),),
                 (Action("forward", target_groups=((api.config.arn, 1),)),)),
            Rule("beta", 5, (Condition("http-header", ("beta-?",), header_name="X-Channel"),
                             Condition("query-string", query=((None, "on"),))),
                 (Action("forward", target_groups=((beta.config.arn, 1),)),)),
            Rule("post", 7, (Condition("http-request-method", ("POST",)),),
                 (Action("forward", target_groups=((post.config.arn, 1),)),)),
        )
        listener = Listener("arn:listener/1", 80, "HTTP", None, default_actions=rules[0].actions, rules=rules)
        lb = LoadBalancer("arn:lb/1", "shared", "app/shared/1", "shared.example.com", (listener,))
        groups = {g.config.arn: g for g in (api, beta, post)}
        async with LoadBalancerProxy({80: ListenerRouting(rules, groups)}, clock) as proxy:
            c = Client(proxy.bound_ports[80])
            e = entry(api.config.arn, [(lb, proxy)])
            assert (e.url, e.request.headers, e.request.query) == (proxy.url(80), (("Host", "api.x.example.com"),), ())
            assert e.locust_args() == ["--request-headers", '{"Host": "api.x.example.com"}']
            r = await c.get("/5", headers=dict(e.request.headers))
            assert (r.status, r.body) == (200, b"120")
            assert (await c.get("/5")).status == 404  # a plain request meets no rule
            b = entry(beta.config.arn, [(lb, proxy)])
            assert (b.request.headers, b.request.query) == ((("X-Channel", "beta-x"),), (("x", "on"),))
            assert b.how.endswith("each request with X-Channel: beta-x, query x=on")
            r = await c.get("/5?x=on", headers=dict(b.request.headers))
            assert (r.status, r.body) == (200, b"120")
            assert (await c.get("/5", headers=dict(b.request.headers))).status == 404  # no query: no match
            with pytest.raises(ConfigError, match=r"cannot meet .*: shared:80 rule 7 \(http-request-method\)"):
                entry(post.config.arn, [(lb, proxy)], "post")
            c.close()

    asyncio.run(scenario())
