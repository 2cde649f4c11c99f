"""BEARER_TOKEN: `Bearer` credentials (RFC 6750), JWTs (RFC 7519), session tokens."""

from __future__ import annotations

import base64
import json

import pytest

from classifiers.base import Category, FieldContext
from classifiers.secret.bearer_token import BearerTokenClassifier
from tests.builders.contexts import located_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLS = BearerTokenClassifier()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(header: object, payload: object, signature: bytes = b"\x01" * 32) -> str:
    return ".".join((b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()),
                     b64url(signature)))


# Synthetic JWT: HS256 header, made-up claims, a filler signature.
JWT = jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "user-123", "iat": 1700000000})
OPAQUE = "Zx8Qp2LmN4vR7tY1wK9sB3dF6hJ0cE5a"


def test_bearer_header_reported_with_token_span() -> None:
    value = "Bearer " + OPAQUE
    found = assert_reported(CLS.score(value, ctx("authorization", "header")), 0.95)
    assert found.span == (len("Bearer "), len(value))
    assert (found.data_type, found.category) == ("BEARER_TOKEN", Category.SECRET)


@pytest.mark.parametrize(
    ("value", "context"),
    [
        (JWT, ctx("data")),  # a JWT anywhere
        (JWT, ctx("id_token")),
        ("Bearer " + JWT, ctx("authorization", "header")),
        (jwt({"alg": "none"}, {"sub": "x"}, b""), ctx("t")),  # unsigned JWT, empty signature
        (OPAQUE, ctx("session", "cookie")),
        ("0123456789abcdef0123456789abcdef", ctx("JSESSIONID", "cookie")),
        ("s%3A" + OPAQUE, ctx("connect.sid", "cookie")),
        (OPAQUE, ctx("access_token")),
        (OPAQUE, ctx("refresh_token")),
        (OPAQUE, ctx("x-auth-token", "header")),
        (OPAQUE, ctx("sessionToken")),
    ],
)
def test_token_reported(value: str, context: FieldContext) -> None:
    assert_reported(CLS.score(value, context))


def test_jwt_inside_text_has_span() -> None:
    text = f"upstream rejected token={JWT} status=401"
    found = CLS.score(text, ctx("log"))
    assert found is not None and found.span is not None and found.validated
    assert text[found.span[0]:found.span[1]] == JWT


@pytest.mark.parametrize(
    ("value", "context"),
    [
        ("Bearer", ctx("token_type")),  # OAuth token_type
        ("Bearer abc", ctx("authorization", "header")),  # too short to be a token
        (jwt({"typ": "JWT"}, {"sub": "x"}), ctx("data")),  # header has no alg
        ("eyJhbGciOiJIUzI1NiJ9.payload", ctx("data")),  # two parts
        ("eyJub3Rqc29u.eyJzdWIiOiJ4In0.c2ln", ctx("data")),  # header is not JSON
        ("a.b.c", ctx("data")),
        (OPAQUE, ctx("description")),  # random but no hint
        ("true", ctx("session")),
        ("3600", ctx("expires_in")),
        ("550e8400-e29b-41d4-a716-446655440000", ctx("trace_id")),
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", ctx("commit")),
        (OPAQUE, ctx("csrf_token")),
        ("en-US", ctx("session_locale")),
        ("abcdefghijklmnopqrstuvwxyz", ctx("session")),  # one-case letters: a word
        ("2024-01-15T10:00:00Z", ctx("token_expires_at")),
    ],
)
def test_near_miss_not_reported(value: str, context: FieldContext) -> None:
    assert_not_reported(CLS.score(value, context))


@pytest.mark.parametrize(
    ("value", "context"),
    [("Bearer " + OPAQUE, ctx("authorization", "header")), (JWT, ctx("data")),
     (OPAQUE, ctx("session", "cookie"))],
)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    assert_reason_hides(CLS.score(value, context), OPAQUE, JWT, JWT.split(".")[0])


def test_short_bearer_token_in_authorization_header_is_found() -> None:
    # RFC 6750 section 2.1's own example token is 15 characters.
    from classifiers._hints import name_tokens as _tokens
    from classifiers.base import FieldContext as _Ctx
    from classifiers.secret.bearer_token import BearerTokenClassifier as _Clf

    header = _Ctx(location="header", path="authorization", name_tokens=_tokens("authorization"))
    found = _Clf().score("Bearer mF_9.B5f-4.1JqM", header)
    assert found is not None and found.data_type == "BEARER_TOKEN"
    assert _Clf().score("Bearer null", header) is None
    prose = _Ctx(location="body", path="note", name_tokens=_tokens("note"))
    assert _Clf().score("use Bearer mF_9.B5f-4.1JqM", prose) is None
