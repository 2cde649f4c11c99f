"""`api` templating of HTTP request targets (protocols/http_api.py): the route's words
that `template_segment` keeps are remembered between requests, identifiers never; the
remembered words give the same api as the full tests, and the table stays bounded."""

from __future__ import annotations

import pytest

from protocols import http_api as module
from protocols.http_api import http_api, template_path, template_segment

TARGETS = [
    "/v1/users/42/cards?limit=20",
    "/fhir/v2/patients/8632ffa2-a5d8-4bbd-ad8b-fc1e4a7a5c6e",
    "/v1/charges/ch_f45cf8d61bcdb6e30a35d041",
    "/api/v1/users/jane.roe@shop.example/orders/ord_83ks92",
    "/v1/users/43/cards",
    "/static/app.js",
    "http://proxy.example/v2/items/7",
    "*",
]


def _expected(target: str) -> str:
    """The api without any remembered word: every segment through `template_segment`."""
    path = target.split("?", 1)[0]
    if path.startswith("http://"):
        path = "/" + path.split("://", 1)[1].split("/", 1)[1]
    if not path.startswith("/"):
        return path
    return "/".join(template_segment(s) for s in path.split("/"))


@pytest.fixture(autouse=True)
def _fresh_tables() -> None:
    module._LITERAL_SEGMENTS.clear()
    template_path.cache_clear()


def test_words_are_remembered_identifiers_are_not() -> None:
    assert http_api("GET", TARGETS[0]) == "GET /v1/users/{id}/cards"
    assert http_api("get", TARGETS[1]) == "GET /fhir/v2/patients/{uuid}"
    assert http_api("GET", TARGETS[2]) == "GET /v1/charges/{param}"
    remembered = module._LITERAL_SEGMENTS
    assert {"", "v1", "users", "cards", "fhir", "v2", "patients", "charges"} <= remembered
    assert not remembered & {"42", "8632ffa2-a5d8-4bbd-ad8b-fc1e4a7a5c6e", "ch_f45cf8d61bcdb6e30a35d041"}


def test_remembered_words_give_the_same_apis() -> None:
    first = [template_path(t) for t in TARGETS]
    template_path.cache_clear()  # the words stay remembered, the paths are templated again
    again = [template_path(t) for t in TARGETS]
    assert first == again == [_expected(t) for t in TARGETS]


def test_the_table_of_words_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MAX_LITERAL_SEGMENTS", 3)
    for target in TARGETS * 2:
        template_path.cache_clear()
        assert template_path(target) == _expected(target)
        assert len(module._LITERAL_SEGMENTS) <= 3
