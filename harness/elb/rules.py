"""Listener rules as an Application Load Balancer evaluates them: pure matching, no sockets.

A shared load balancer (one ALB and listener in a cluster stack, each service adding an
`AWS::ElasticLoadBalancingV2::ListenerRule`) routes by rule, not by the listener's default action. The
ALB evaluates rules "in priority order, from the lowest value to the highest value. The default rule
is evaluated last" and a rule applies when ALL its conditions match, a condition when ANY of its values
matches. https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-update-rules.html

Condition semantics, from
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html :
- host-header: case-insensitive, wildcards `*` (0 or more characters) and `?` (exactly 1 character);
  it compares the host name (the Host header without its port).
- path-pattern: case-sensitive, wildcards `*` and `?`; "The path pattern is applied only to the path of
  the URL, not to its query parameters".
- http-header: the header name is case-insensitive and has no wildcards; the values are
  case-insensitive and may use `*` and `?`.
- http-request-method: case-sensitive, no wildcards: the request method must equal one value.
- query-string: key/value pairs, case-insensitive, wildcards `*` and `?`; the key may be omitted (any
  key); it matches when any pair matches one parameter of the query string.
- source-ip: CIDR blocks the client address must be in (IPv4 and IPv6).

`route()` returns the first matching rule's actions; `entry_request()` works backwards: which request
(a path, and the Host, headers and query parameters a host-, header- or query-only rule asks for) reaches
a given target group.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

RULE_CONDITION_DOC = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html"


@dataclass(frozen=True)
class Condition:
    """One rule condition (ELBv2 RuleCondition), normalized from its `*Config` or legacy `Values` form."""

    field: str  # host-header | path-pattern | http-header | http-request-method | query-string | source-ip
    values: tuple[str, ...] = ()
    header_name: str | None = None  # http-header only
    query: tuple[tuple[str | None, str], ...] = ()  # query-string only: (key or None, value)


@dataclass(frozen=True)
class Action:
    """One rule action (ELBv2 Action): forward, fixed-response or redirect (others are kept by type)."""

    type: str
    order: int = 0
    # forward: (target group ARN, weight); one group without ForwardConfig has weight 1.
    target_groups: tuple[tuple[str, int], ...] = ()
    # fixed-response
    status_code: str | None = None
    content_type: str | None = None
    message_body: str | None = None
    # redirect: each component None keeps the request's own value.
    protocol: str | None = None
    host: str | None = None
    port: str | None = None
    path: str | None = None
    query: str | None = None
    redirect_code: str | None = None  # HTTP_301 | HTTP_302


@dataclass(frozen=True)
class Rule:
    """A listener rule; `priority` None is the listener's default rule (its DefaultActions)."""

    arn: str
    priority: int | None
    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]

    @property
    def is_default(self) -> bool:
        return self.priority is None


@dataclass(frozen=True)
class Request:
    """What rule conditions look at. `headers` keys are lower-case."""

    method: str
    target: str  # the request-target: path and query string
    headers: Mapping[str, str] = field(default_factory=dict)
    client_ip: str = "127.0.0.1"

    @property
    def path(self) -> str:
        return urlsplit(self.target).path or "/"

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    @property
    def host(self) -> str:
        """The Host header's host name, without a port (IPv6 literals keep their brackets)."""
        host = self.headers.get("host", "")
        if host.startswith("["):
            return host.split("]", 1)[0] + "]"
        return host.rsplit(":", 1)[0] if ":" in host else host


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # `*` matches 0 or more characters, `?` exactly 1; every other character stands for itself.
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, text: str, *, ignore_case: bool) -> bool:
    """AWS's rule wildcards: `*` any run of characters (also none), `?` exactly one."""
    return _wildcard(pattern, ignore_case).fullmatch(text) is not None


def condition_matches(cond: Condition, req: Request) -> bool:
    """One condition: true when any of its values matches the request (see the module docstring)."""
    f = cond.field
    if f == "path-pattern":
        return any(wildcard_match(v, req.path, ignore_case=False) for v in cond.values)
    if f == "host-header":
        return any(wildcard_match(v, req.host, ignore_case=True) for v in cond.values)
    if f == "http-header":
        value = req.headers.get((cond.header_name or "").lower())
        return value is not None and any(wildcard_match(v, value, ignore_case=True) for v in cond.values)
    if f == "http-request-method":
        return req.method in cond.values
    if f == "query-string":
        params = parse_qsl(req.query, keep_blank_values=True)
        return any(
            (key is None or wildcard_match(key, k, ignore_case=True)) and wildcard_match(value, v, ignore_case=True)
            for key, value in cond.query
            for k, v in params
        )
    if f == "source-ip":
        try:
            ip = ipaddress.ip_address(req.client_ip)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(v, strict=False) for v in cond.values)
    return False  # a condition type this harness does not know never matches


def rule_matches(rule: Rule, req: Request) -> bool:
    """All of a rule's conditions match (the default rule has none and always matches)."""
    return all(condition_matches(c, req) for c in rule.conditions)


def ordered(rules: Iterable[Rule]) -> list[Rule]:
    """Lowest priority value first, the default rule last."""
    return sorted(rules, key=lambda r: (r.priority is None, r.priority or 0))


def route(rules: Sequence[Rule], req: Request) -> Rule | None:
    """The rule that answers `req`: the first, in priority order, whose conditions all match."""
    return next((r for r in ordered(rules) if rule_matches(r, req)), None)


def forwarded_groups(rule: Rule) -> tuple[tuple[str, int], ...]:
    """The (target group, weight) pairs of a rule's forward action; () if it does not forward."""
    for action in sorted(rule.actions, key=lambda a: a.order):
        if action.type == "forward":
            return action.target_groups
        if action.type in ("fixed-response", "redirect"):
            return ()
    return ()


def redirect_location(action: Action, req: Request, protocol: str, port: int) -> str:
    """The Location of a redirect action: each component not set keeps its value, and the reserved
    keywords #{protocol} #{host} #{port} #{path} (without its leading "/") #{query} are replaced.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_RedirectActionConfig.html
    """
    words = {"#{protocol}": protocol.lower(), "#{host}": req.host, "#{port}": str(port),
             "#{path}": req.path.lstrip("/"), "#{query}": req.query}

    def fill(value: str | None, default: str) -> str:
        out = default if value is None else value
        for k, v in words.items():
            out = out.replace(k, v)
        return out

    proto = fill(action.protocol, "#{protocol}").lower()
    host = fill(action.host, "#{host}")
    port_s = fill(action.port, "#{port}")
    path = fill(action.path, "/#{path}")
    query = fill(action.query, "#{query}")
    return f"{proto}://{host}:{port_s}{path}" + (f"?{query}" if query else "")


# The paths a load test asks for below an entry path (the sample app's and locustfile's routes).
PROBE_PATHS = ("/", "/1", "/cpu", "/error", "/memory")


@dataclass(frozen=True)
class EntryRequest:
    """How a client reaches a target group: a path prefix, plus the request headers and query parameters a
    plain `GET` lacks and the rule's conditions ask for (e.g. `Host: api.example.com` for a host-header rule)."""

    prefix: str
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()

    def request(self, probe: str, method: str = "GET") -> Request:
        target = self.prefix + probe + ("?" + urlencode(self.query) if self.query else "")
        headers = {"host": "127.0.0.1", **{k.lower(): v for k, v in self.headers}}
        return Request(method, target, headers)

    def describe(self) -> str:
        """`Host: api.example.com, X-Team: blue, query tenant=x` ("" when nothing beyond the URL is needed)."""
        parts = [f"{k}: {v}" for k, v in self.headers]
        if self.query:
            parts.append("query " + urlencode(self.query))
        return ", ".join(parts)


def concrete(pattern: str) -> str:
    """A value a wildcard pattern matches: each `*` and `?` stands for one `x` (`*.example.com` ->
    `x.example.com`), which also keeps a host name a valid one."""
    return pattern.replace("*", "x").replace("?", "x")


def _satisfy(rule: Rule) -> EntryRequest | None:
    """A request that meets every condition of `rule` with the first value of each, wildcards resolved
    (`concrete`); None when a load test cannot meet one: a method other than GET, a source-ip range
    without 127.0.0.1, a condition type the harness does not know."""
    prefix, headers, query = "", [], []
    for cond in rule.conditions:
        if cond.field == "path-pattern" and cond.values:
            prefix = re.split(r"[*?]", cond.values[0], maxsplit=1)[0].rstrip("/")
        elif cond.field == "host-header" and cond.values:
            headers.append(("Host", concrete(cond.values[0])))
        elif cond.field == "http-header" and cond.header_name and cond.values:
            headers.append((cond.header_name, concrete(cond.values[0])))
        elif cond.field == "query-string" and cond.query:
            key, value = cond.query[0]
            query.append((concrete(key) if key else "x", concrete(value)))
        elif cond.field == "http-request-method" and "GET" in cond.values:
            continue
        elif cond.field == "source-ip" and condition_matches(cond, Request("GET", "/")):
            continue
        else:
            return None
    return EntryRequest(prefix, tuple(headers), tuple(query))


def entry_request(rules: Sequence[Rule], target_group_arn: str,
                  probes: Sequence[str] = PROBE_PATHS) -> EntryRequest | None:
    """How every request `GET prefix+probe` reaches `target_group_arn`; None if no request does.

    Tried in order: the plain URL (a default action, or a rule a plain client meets), then for each rule
    that forwards to the group, in priority order, its path-pattern's literal part up to the first
    wildcard (without a trailing "/") with nothing else, then the same plus every other condition of the
    rule met (`_satisfy`: a Host, header or query parameter). Each candidate is checked with `route()`
    for every probe, so a rule of higher priority that takes those requests elsewhere disqualifies it.
    """
    candidates = [EntryRequest("")]
    for rule in ordered(rules):
        if target_group_arn not in {arn for arn, w in forwarded_groups(rule) if w > 0}:
            continue
        for cond in rule.conditions:
            if cond.field == "path-pattern":
                for v in cond.values:
                    literal = EntryRequest(re.split(r"[*?]", v, maxsplit=1)[0].rstrip("/"))
                    if literal not in candidates:
                        candidates.append(literal)
        met = _satisfy(rule)
        if met is not None and met not in candidates:
            candidates.append(met)
    for entry in candidates:
        if all(_reaches(rules, target_group_arn, entry.request(p)) for p in probes):
            return entry
    return None


def entry_path(rules: Sequence[Rule], target_group_arn: str, probes: Sequence[str] = PROBE_PATHS) -> str | None:
    """A path prefix P such that every request `GET P+probe` with no header or query beyond what a plain
    client sends reaches `target_group_arn`; None if there is none (see `entry_request`)."""
    entry = entry_request(rules, target_group_arn, probes)
    return entry.prefix if entry is not None and not entry.headers and not entry.query else None


def _reaches(rules: Sequence[Rule], target_group_arn: str, req: Request) -> bool:
    rule = route(rules, req)
    return rule is not None and target_group_arn in {arn for arn, w in forwarded_groups(rule) if w > 0}


# ------------------------------------------------------------------------------ reading the API's form


def parse_condition(c: Mapping[str, Any]) -> Condition:
    """An ELBv2 RuleCondition (DescribeRules) -> Condition; the `*Config` form wins over legacy `Values`."""
    f = str(c.get("Field", ""))
    legacy = tuple(str(v) for v in c.get("Values") or ())

    def cfg(name: str | None) -> Mapping[str, Any]:
        value = c.get(name) if name else None
        return value if isinstance(value, Mapping) else {}

    if f == "http-header":
        h = cfg("HttpHeaderConfig")
        return Condition(f, tuple(str(v) for v in h.get("Values") or ()), header_name=str(h.get("HttpHeaderName", "")))
    if f == "query-string":
        pairs = cfg("QueryStringConfig").get("Values") or ()
        return Condition(f, query=tuple((str(p["Key"]) if p.get("Key") else None, str(p.get("Value", "")))
                                        for p in pairs))
    config_name = {"host-header": "HostHeaderConfig", "path-pattern": "PathPatternConfig",
                   "http-request-method": "HttpRequestMethodConfig", "source-ip": "SourceIpConfig"}.get(f)
    values = tuple(str(v) for v in cfg(config_name).get("Values") or ())
    return Condition(f, values or legacy)


def parse_action(a: Mapping[str, Any]) -> Action:
    """An ELBv2 Action -> Action."""
    t = str(a.get("Type", ""))
    order = int(str(a.get("Order", 0)))
    if t == "forward":
        fc = a.get("ForwardConfig") or {}
        groups = tuple((str(g["TargetGroupArn"]), int(str(g.get("Weight", 1)))) for g in fc.get("TargetGroups") or ())
        if not groups and a.get("TargetGroupArn"):
            groups = ((str(a["TargetGroupArn"]), 1),)
        return Action(t, order, target_groups=groups)
    if t == "fixed-response":
        fr = a.get("FixedResponseConfig") or {}
        return Action(t, order, status_code=str(fr.get("StatusCode", "200")), content_type=fr.get("ContentType") or None,
                      message_body=fr.get("MessageBody"))
    if t == "redirect":
        rc = a.get("RedirectConfig") or {}
        return Action(t, order, protocol=rc.get("Protocol"), host=rc.get("Host"),
                      port=None if rc.get("Port") is None else str(rc.get("Port")), path=rc.get("Path"),
                      query=rc.get("Query"), redirect_code=str(rc.get("StatusCode", "HTTP_302")))
    return Action(t, order)


def parse_rule(r: Mapping[str, Any]) -> Rule:
    """An ELBv2 Rule (DescribeRules) -> Rule; Priority "default" is the default rule."""
    prio = str(r.get("Priority", "default"))
    return Rule(
        arn=str(r.get("RuleArn", "")),
        priority=None if r.get("IsDefault") or prio == "default" else int(prio),
        conditions=tuple(parse_condition(c) for c in r.get("Conditions") or ()),
        actions=tuple(sorted((parse_action(a) for a in r.get("Actions") or ()), key=lambda x: x.order)),
    )
