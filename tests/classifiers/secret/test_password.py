"""PASSWORD: values of password fields, and HTTP Basic credentials (RFC 7617)."""

from __future__ import annotations

import base64

import pytest

from classifiers.base import Category, FieldContext
from classifiers.secret.password import PasswordClassifier
from tests.builders.contexts import located_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLS = PasswordClassifier()


def basic(user_pass: str) -> str:
    return "Basic " + base64.b64encode(user_pass.encode()).decode()


POSITIVES = [
    ("hunter2-synthetic", ctx("password")),
    ("x", ctx("user.password")),  # any non-empty value
    ("12345678", ctx("pwd")),
    ("correct horse battery staple", ctx("passphrase")),
    ("S3cr3t!", ctx("passwd")),
    ("S3cr3t!", ctx("new_password")),
    ("S3cr3t!", ctx("password_confirmation")),
    ("S3cr3t!", ctx("db_pass")),
    ("a-client-secret-value", ctx("client_secret")),
    (basic("alice:synthetic-pass"), ctx("authorization", location="header")),
    (basic("alice:"), ctx("authorization", location="header")),  # empty password, still creds
]

NEGATIVES = [
    ("true", ctx("password")),  # boolean
    ("false", ctx("has_password")),
    ("", ctx("password")),
    ("   ", ctx("password")),
    ("2024-01-15T10:00:00Z", ctx("password_changed_at")),
    ("2024-01-15T10:00:00Z", ctx("password")),  # a timestamp is not a password
    ("strong", ctx("password_policy")),
    ("12", ctx("password_min_length")),
    ("1700000000", ctx("password_expires")),
    ("********", ctx("password")),  # already redacted
    ("null", ctx("password")),
    ("S3cr3t!", ctx("username")),
    ("S3cr3t!", ctx("secret_key")),  # API_KEY's business
    ("Basic not-base64!!", ctx("authorization", location="header")),
    (basic("no-colon-here"), ctx("authorization", location="header")),
    ("Bearer abcdef0123456789", ctx("authorization", location="header")),
]


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_password_value_reported(value: str, context: FieldContext) -> None:
    assert_reported(CLS.score(value, context), kind=("PASSWORD", Category.SECRET))


@pytest.mark.parametrize(("value", "context"), NEGATIVES)
def test_metadata_or_non_password_not_reported(value: str, context: FieldContext) -> None:
    assert_not_reported(CLS.score(value, context))


def test_basic_credentials_span_covers_credentials_only() -> None:
    value = basic("alice:synthetic-pass")
    found = CLS.score(value, ctx("authorization", location="header"))
    assert found is not None and found.validated and found.confidence >= 0.95
    assert found.span == (len("Basic "), len(value))


def test_basic_scheme_is_case_insensitive() -> None:
    value = "basic " + base64.b64encode(b"bob:pw").decode()
    assert CLS.score(value, ctx("authorization", location="header")) is not None


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    assert_reason_hides(CLS.score(value, context), value, "synthetic", "alice")


@pytest.mark.parametrize(("path", "expected"), [("password", True), ("pwd", True),
                                                ("password_changed_at", False)])
def test_hinted_excludes_password_metadata(path: str, expected: bool) -> None:
    assert CLS.hinted(ctx(path)) is expected
