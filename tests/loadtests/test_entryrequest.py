"""loadtests/entryrequest.py: the headers and query parameters every request of the load carries so that a
host-, header- or query-only listener rule sends it to the service; from tables (no Locust import)."""

from __future__ import annotations

from typing import Any

import pytest

from loadtests import entryrequest as er


@pytest.mark.parametrize("text, expected", [
    ("", {}),
    ('{"Host": "api.example.com", "X-Team": "blue"}', {"Host": "api.example.com", "X-Team": "blue"}),
])
def test_parse_headers(text: str, expected: dict[str, str]) -> None:
    assert er.parse_headers(text) == expected


@pytest.mark.parametrize("text", ["[1]", '{"Host": 1}', "Host: x"])
def test_parse_headers_refuses_what_is_not_an_object_of_strings(text: str) -> None:
    with pytest.raises(ValueError, match="--request-headers must be a JSON object"):
        er.parse_headers(text)


@pytest.mark.parametrize("url, query, expected", [
    ("/5", [], "/5"),
    ("/5", [("tenant", "blue")], "/5?tenant=blue"),
    ("/cpu?ms=10", [("tenant", "blue team")], "/cpu?ms=10&tenant=blue+team"),
    ("http://127.0.0.1:8080/x?a=1", [("b", "2")], "http://127.0.0.1:8080/x?a=1&b=2"),
])
def test_with_query(url: str, query: list[tuple[str, str]], expected: str) -> None:
    assert er.with_query(url, query) == expected


def test_options_round_trip_through_the_parsers() -> None:
    args = er.options({"Host": "api.x.example.com"}, [("x", "on")])
    assert args == ["--request-headers", '{"Host": "api.x.example.com"}', "--request-query", "x=on"]
    assert er.parse_headers(args[1]) == {"Host": "api.x.example.com"} and er.parse_query(args[3]) == [("x", "on")]
    assert er.options({}, []) == []


def test_wrap_adds_headers_and_query_and_a_requests_own_headers_win() -> None:
    sent: list[tuple[str, str, Any]] = []

    class Session:
        def request(self, method: str, url: str, **kwargs: Any) -> str:
            sent.append((method, url, kwargs.get("headers")))
            return "ok"

        def get(self, url: str, **kwargs: Any) -> str:
            return self.request("GET", url, **kwargs)  # as Locust's sessions do

    s = Session()
    er.wrap(s, lambda: ({"Host": "api.example.com", "X-Team": "blue"}, [("x", "on")]))
    assert s.get("/cpu?ms=5", headers={"X-Team": "red"}) == "ok"
    assert sent == [("GET", "/cpu?ms=5&x=on", {"Host": "api.example.com", "X-Team": "red"})]
