"""Where a client on this machine reaches a service: the loopback URL whose requests the load
balancer's rules send to the service's target group.

With one load balancer per service that is simply its listener. With a shared load balancer (the
cluster stack's ALB, a ListenerRule per service) it is a listener plus a path prefix the rules route to
the group; a group reached only through a Host, header, method, query-string or source-ip condition has
no such URL (a load test can only choose the URL), and the error says which rules were tried.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.elb.proxy import LoadBalancerProxy
from harness.elb.rules import entry_path, forwarded_groups, ordered
from harness.errors import ConfigError
from harness.stack import LoadBalancer


def entry_url(target_group_arn: str, balancers: Iterable[tuple[LoadBalancer, LoadBalancerProxy]],
              group_name: str | None = None) -> tuple[str, str]:
    """(URL, how it routes) for the first listener that reaches `target_group_arn` by a plain path.

    Raises ConfigError naming the group and the rules that forward to it when no URL reaches it."""
    tried: list[str] = []
    for lb, proxy in balancers:
        for li in lb.listeners:
            if target_group_arn not in li.forwards_to() or li.port not in proxy.bound_ports:
                continue
            rules = li.all_rules()
            prefix = entry_path(rules, target_group_arn)
            forwarding = [r for r in ordered(rules) if target_group_arn in {a for a, w in forwarded_groups(r) if w > 0}]
            if prefix is None:
                tried += [f"{lb.name}:{li.port} rule {'default' if r.is_default else r.priority}"
                          f" ({', '.join(c.field for c in r.conditions) or 'no condition'})" for r in forwarding]
                continue
            first = forwarding[0]
            how = (f"{lb.name} listener :{li.port}, "
                   + ("default action" if first.is_default else
                      f"rule priority {first.priority} ({'; '.join(_cond(c) for c in first.conditions)})"))
            return proxy.url(li.port) + prefix, how
    name = group_name or target_group_arn
    if not tried:
        raise ConfigError(f"no listener of any load balancer in the deployed stacks forwards to target group {name}")
    raise ConfigError(f"target group {name} is reached only through conditions a load test cannot choose by URL: "
                      + "; ".join(tried))


def _cond(c: object) -> str:
    field = getattr(c, "field", "")
    values = getattr(c, "values", ()) or [f"{k or '*'}={v}" for k, v in getattr(c, "query", ())]
    header = getattr(c, "header_name", None)
    return f"{field}{' ' + header if header else ''} {','.join(values)}"
