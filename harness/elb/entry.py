"""Where a client on this machine reaches a service: the loopback URL whose requests the load
balancer's rules send to the service's target group, and what each request must carry.

With one load balancer per service that is simply its listener. With a shared load balancer (the
cluster stack's ALB, a ListenerRule per service) it is a listener plus a path prefix the rules route to
the group, and, for a rule with host-header, http-header or query-string conditions, the Host, header
or query parameters that meet them (`harness.elb.rules.entry_request`: a wildcard is resolved to a
concrete value it matches). A group reached only through a rule a load test cannot meet (another HTTP
method, a source-ip range without 127.0.0.1) has no entry, and the error says which rules were tried.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType

from harness import resources

from harness.elb.proxy import LoadBalancerProxy
from harness.elb.rules import EntryRequest, entry_request, forwarded_groups, ordered
from harness.errors import ConfigError
from harness.stack import LoadBalancer


@dataclass(frozen=True)
class Entry:
    """The URL (listener plus path prefix), how the load balancer routes it, and the headers and query
    parameters every request must carry (`request`)."""

    url: str
    how: str
    request: EntryRequest

    def locust_args(self) -> list[str]:
        """The shipped locustfile's options for the headers and query (its entryrequest.py says them)."""
        module = _entryrequest()
        return list(module.options(dict(self.request.headers), list(self.request.query)))


def _entryrequest() -> ModuleType:
    """loadtests/entryrequest.py, where the shipped locustfile is (a top-level folder in a clone,
    harness.loadtests when installed), loaded by path as harness.load loads its phaseplan.py."""
    path = resources.loadtests() / "entryrequest.py"
    spec = importlib.util.spec_from_file_location("_harness_entryrequest", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def entry(target_group_arn: str, balancers: Iterable[tuple[LoadBalancer, LoadBalancerProxy]],
          group_name: str | None = None) -> Entry:
    """The first listener whose rules send a request a load test can make to `target_group_arn`.

    Raises ConfigError naming the group and the rules that forward to it when no request reaches it."""
    tried: list[str] = []
    for lb, proxy in balancers:
        for li in lb.listeners:
            if target_group_arn not in li.forwards_to() or li.port not in proxy.bound_ports:
                continue
            rules = li.all_rules()
            found = entry_request(rules, target_group_arn)
            forwarding = [r for r in ordered(rules) if target_group_arn in {a for a, w in forwarded_groups(r) if w > 0}]
            if found is None:
                tried += [f"{lb.name}:{li.port} rule {'default' if r.is_default else r.priority}"
                          f" ({', '.join(c.field for c in r.conditions) or 'no condition'})" for r in forwarding]
                continue
            first = forwarding[0]
            how = (f"{lb.name} listener :{li.port}, "
                   + ("default action" if first.is_default else
                      f"rule priority {first.priority} ({'; '.join(_cond(c) for c in first.conditions)})"))
            if found.describe():
                how += f"; each request with {found.describe()}"
            return Entry(proxy.url(li.port) + found.prefix, how, found)
    name = group_name or target_group_arn
    if not tried:
        raise ConfigError(f"no listener of any load balancer in the deployed stacks forwards to target group {name}")
    raise ConfigError(f"target group {name} is reached only through conditions a load test cannot meet "
                      "(another HTTP method than GET, a source-ip range without 127.0.0.1): " + "; ".join(tried))


def entry_url(target_group_arn: str, balancers: Iterable[tuple[LoadBalancer, LoadBalancerProxy]],
              group_name: str | None = None) -> tuple[str, str]:
    """(URL, how it routes) of `entry` (the headers to send, if any, are named in the second)."""
    found = entry(target_group_arn, balancers, group_name)
    return found.url, found.how


def _cond(c: object) -> str:
    field = getattr(c, "field", "")
    values = getattr(c, "values", ()) or [f"{k or '*'}={v}" for k, v in getattr(c, "query", ())]
    header = getattr(c, "header_name", None)
    return f"{field}{' ' + header if header else ''} {','.join(values)}"
