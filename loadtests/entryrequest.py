"""What every request of a load test adds so that the load balancer's rules send it to the service: the
headers (e.g. `Host: api.example.com` for a host-header listener rule) and query parameters a rule's
conditions ask for. Free of Locust imports, like `phaseplan.py`.

Given to `locustfile.py` (and to the user classes it runs, `usermix.py`) as options or environment:

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8080 \
        --request-headers '{"Host": "api.example.com"}' --request-query 'tenant=blue'
    LOAD_REQUEST_HEADERS='{"Host": "api.example.com"}' locust -f loadtests/locustfile.py --host ...

The harness finds them from the deployed listener rules (`harness.elb.rules.entry_request`) and passes
them the same way (`harness run` prints them with the load's URL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HEADERS_OPTION, HEADERS_ENV = "--request-headers", "LOAD_REQUEST_HEADERS"
QUERY_OPTION, QUERY_ENV = "--request-query", "LOAD_REQUEST_QUERY"


def parse_headers(text: str) -> dict[str, str]:
    """A JSON object of header name -> value ("" is none); ValueError naming the problem otherwise."""
    if not text.strip():
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{HEADERS_OPTION} must be a JSON object of header name to value: {exc}") from None
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise ValueError(f"{HEADERS_OPTION} must be a JSON object of header name to string value, not {text!r}")
    return dict(raw)


def parse_query(text: str) -> list[tuple[str, str]]:
    """`k=v&k2=v2` -> pairs ("" is none)."""
    return parse_qsl(text.lstrip("?"), keep_blank_values=True)


def with_query(url: str, query: list[tuple[str, str]]) -> str:
    """`url` with the pairs appended to its own query string (`/cpu?ms=10` -> `/cpu?ms=10&tenant=blue`)."""
    if not query:
        return url
    parts = urlsplit(url)
    joined = "&".join(q for q in (parts.query, urlencode(query)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))


def options(headers: Mapping[str, str], query: list[tuple[str, str]]) -> list[str]:
    """The locustfile's command-line options for these headers and query parameters ([] for none)."""
    out = []
    if headers:
        out += [HEADERS_OPTION, json.dumps(dict(headers))]
    if query:
        out += [QUERY_OPTION, urlencode(query)]
    return out


def wrap(client: Any, entry: Callable[[], tuple[Mapping[str, str], list[tuple[str, str]]]]) -> None:
    """Make every request of `client` (Locust's HttpSession or FastHttpSession: both send through
    `request(method, url, ...)`) carry `entry()`'s headers (a request's own headers win) and query."""
    original = client.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        headers, query = entry()
        if headers:
            kwargs["headers"] = {**headers, **(kwargs.get("headers") or {})}
        return original(method, with_query(url, query), *args, **kwargs)

    client.request = request
