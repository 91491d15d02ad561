"""Listener rule matching from tables of AWS's documented cases.

Condition types and wildcards: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html
Rule order (lowest priority value first, default last):
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-update-rules.html
Redirect components: https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_RedirectActionConfig.html
"""

from __future__ import annotations

import pytest

from harness.elb.rules import (
    Action,
    Condition,
    Request,
    Rule,
    condition_matches,
    entry_path,
    parse_rule,
    redirect_location,
    route,
    wildcard_match,
)

A, B = "arn:tg/a", "arn:tg/b"


def fwd(*groups: tuple[str, int]) -> tuple[Action, ...]:
    return (Action("forward", target_groups=groups),)


def req(target: str = "/", host: str = "example.com", method: str = "GET", ip: str = "127.0.0.1",
        **headers: str) -> Request:
    return Request(method, target, {"host": host, **{k.replace("_", "-").lower(): v for k, v in headers.items()}}, ip)


@pytest.mark.parametrize("pattern,text,ignore_case,expected", [
    ("/img/*", "/img/a.png", False, True),
    ("/img/*", "/img/", False, True),  # * matches zero characters
    ("/img/*", "/img", False, False),
    ("/img/?.png", "/img/a.png", False, True),
    ("/img/?.png", "/img/ab.png", False, False),  # ? is exactly one character
    ("/img/?.png", "/img/.png", False, False),
    ("*.example.com", "www.example.com", True, True),
    ("*.example.com", "example.com", True, False),
    ("/API/*", "/api/x", False, False),  # path patterns are case-sensitive
    ("WWW.Example.COM", "www.example.com", True, True),  # host headers are not
    ("a.b", "axb", False, False),  # . is a literal, not a regex wildcard
    ("/[x]", "/[x]", False, True),
])
def test_wildcards(pattern: str, text: str, ignore_case: bool, expected: bool) -> None:
    assert wildcard_match(pattern, text, ignore_case=ignore_case) is expected


@pytest.mark.parametrize("cond,request_,expected", [
    # path-pattern: the path only, not the query string
    (Condition("path-pattern", ("/api/*",)), req("/api/users?x=1"), True),
    (Condition("path-pattern", ("*x=1*",)), req("/api/users?x=1"), False),
    (Condition("path-pattern", ("/a", "/b/*")), req("/b/c"), True),  # any value matches
    (Condition("path-pattern", ("/Api/*",)), req("/api/users"), False),
    # host-header: case-insensitive, without the port
    (Condition("host-header", ("*.example.com",)), req(host="API.Example.com:8080"), True),
    (Condition("host-header", ("api.example.com",)), req(host="www.example.com"), False),
    (Condition("host-header", ("api.example.com",)), Request("GET", "/", {}), False),  # no Host header
    # http-header: name case-insensitive, values case-insensitive with wildcards
    (Condition("http-header", ("*Mobile*",), header_name="User-Agent"), req(user_agent="Foo mobile Safari"), True),
    (Condition("http-header", ("*Mobile*",), header_name="User-Agent"), req(user_agent="Desktop"), False),
    (Condition("http-header", ("x",), header_name="X-Missing"), req(), False),
    # http-request-method: exact and case-sensitive
    (Condition("http-request-method", ("POST", "PUT")), req(method="PUT"), True),
    (Condition("http-request-method", ("POST",)), req(method="post"), False),
    # query-string: pairs, key optional, case-insensitive, wildcards
    (Condition("query-string", query=(("version", "v1"),)), req("/?Version=V1&x=2"), True),
    (Condition("query-string", query=(("version", "v*"),)), req("/?version=v22"), True),
    (Condition("query-string", query=((None, "beta"),)), req("/?channel=beta"), True),
    (Condition("query-string", query=(("version", "v1"),)), req("/?version=v2"), False),
    (Condition("query-string", query=(("version", "v1"),)), req("/"), False),
    # source-ip: CIDR blocks
    (Condition("source-ip", ("127.0.0.0/8",)), req(ip="127.0.0.1"), True),
    (Condition("source-ip", ("192.0.2.0/24",)), req(ip="127.0.0.1"), False),
])
def test_conditions(cond: Condition, request_: Request, expected: bool) -> None:
    assert condition_matches(cond, request_) is expected


RULES = (
    Rule("default", None, (), (Action("fixed-response", status_code="404", message_body="nothing"),)),
    Rule("api", 20, (Condition("path-pattern", ("/api/*",)),), fwd((A, 1))),
    Rule("api-v2", 10, (Condition("path-pattern", ("/api/*",)),
                        Condition("query-string", query=(("v", "2"),))), fwd((B, 1))),
    Rule("admin", 30, (Condition("host-header", ("admin.*",)), Condition("path-pattern", ("/*",))), fwd((B, 1))),
)


@pytest.mark.parametrize("request_,rule", [
    (req("/api/x"), "api"),
    (req("/api/x?v=2"), "api-v2"),  # priority 10 before 20: both match, the lower wins
    (req("/other", host="admin.example.com"), "admin"),
    (req("/other?v=2", host="www.example.com"), "default"),  # all conditions of a rule must match
    (req("/"), "default"),
])
def test_route_by_priority_then_default(request_: Request, rule: str) -> None:
    found = route(RULES, request_)
    assert found is not None and found.arn == rule


@pytest.mark.parametrize("action,request_,location", [
    # HTTP -> HTTPS on 443, everything else kept
    (Action("redirect", protocol="HTTPS", port="443", redirect_code="HTTP_301"), req("/a/b?q=1", host="x.com"),
     "https://x.com:443/a/b?q=1"),
    (Action("redirect", path="/new/#{path}", redirect_code="HTTP_302"), req("/old/p", host="x.com"),
     "http://x.com:80/new/old/p"),
    (Action("redirect", host="www.#{host}", query="#{query}&from=apex"), req("/?a=1", host="x.com"),
     "http://www.x.com:80/?a=1&from=apex"),
])
def test_redirect_location(action: Action, request_: Request, location: str) -> None:
    assert redirect_location(action, request_, "HTTP", 80) == location


def test_entry_path_finds_the_prefix_that_reaches_a_group() -> None:
    rules = (
        Rule("default", None, (), (Action("fixed-response", status_code="404"),)),
        Rule("svc", 5, (Condition("path-pattern", ("/svc/*",)),), fwd((A, 1))),
        Rule("root", 9, (Condition("path-pattern", ("/*",)),), fwd((B, 1))),
        Rule("hosted", 1, (Condition("host-header", ("only.example.com",)),), fwd(("arn:tg/c", 1))),
    )
    assert entry_path(rules, A) == "/svc"
    assert entry_path(rules, B) == ""
    assert entry_path(rules, "arn:tg/c") is None  # a Host the load test cannot send
    assert entry_path((Rule("d", None, (), fwd((A, 1))),), A) == ""  # a default forward
    assert entry_path((Rule("d", None, (), fwd((A, 0), (B, 1))),), A) is None  # weight 0 gets nothing


def test_parse_rule_from_describe_rules() -> None:
    rule = parse_rule({
        "RuleArn": "arn:rule/1", "Priority": "7", "IsDefault": False,
        "Conditions": [
            {"Field": "path-pattern", "Values": ["/legacy/*"]},
            {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["blue"]}},
            {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v", "Value": "1"}, {"Value": "x"}]}},
            {"Field": "host-header", "HostHeaderConfig": {"Values": ["a.example.com"]}},
        ],
        "Actions": [{"Type": "forward", "Order": 2, "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": A, "Weight": 3}, {"TargetGroupArn": B, "Weight": 1}]}}],
    })
    assert rule.priority == 7 and not rule.is_default
    assert rule.conditions[0] == Condition("path-pattern", ("/legacy/*",))
    assert rule.conditions[1] == Condition("http-header", ("blue",), header_name="X-Env")
    assert rule.conditions[2].query == (("v", "1"), (None, "x"))
    assert rule.conditions[3].values == ("a.example.com",)
    assert rule.actions[0].target_groups == ((A, 3), (B, 1)) and rule.actions[0].order == 2
    default = parse_rule({"RuleArn": "arn:rule/d", "Priority": "default", "IsDefault": True, "Conditions": [],
                          "Actions": [{"Type": "forward", "TargetGroupArn": A}]})
    assert default.is_default and default.actions[0].target_groups == ((A, 1),)
