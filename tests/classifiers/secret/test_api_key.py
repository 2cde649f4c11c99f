"""API_KEY: provider key formats by prefix, and high-entropy values of api-key fields.

Every key below is synthetic: built from the published format (prefix, alphabet,
length) with filler characters, assembled by concatenation so that secret scanners do
not mistake this file for a leak.
"""

from __future__ import annotations

import pytest

from classifiers.base import Category
from classifiers.secret.api_key import ApiKeyClassifier
from tests.builders.contexts import located_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reported

CLS = ApiKeyClassifier()


AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS documentation's example key id
AWS_STS_ID = "ASIA" + "Z3FAKE7EXAMPLE22"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"  # AWS documentation example
STRIPE = "sk_" + "test_" + "FAKE4eC39HqLyjWDarjtT1zd"
STRIPE_LIVE = "sk_" + "live_" + "FAKE51HxyzABCdefGHIjkl0123"
STRIPE_RESTRICTED = "rk_" + "live_" + "FAKE51HxyzABCdefGHIjkl0123"
GITHUB = "ghp_" + "FAKEfake0123456789abcdefghijklmnopqr"
GITHUB_APP = "ghs_" + "FAKEfake0123456789abcdefghijklmnopqr"
GITHUB_PAT = "github_pat_" + "11FAKEFAKE0" + "abcdefghij" * 7 + "0123456789A"
SLACK = "xoxb-" + "000000000000-0000000000000-" + "FAKEfakeFAKEfakeFAKEfake"
GOOGLE = "AIza" + "FAKEfake_0123456789-abcdefghijklmno"
OPENAI = "sk-" + "proj-" + "FAKEfake0123456789abcdefghijklmnopqrstuvwxyz_ABCDEF"
OPENAI_LEGACY = "sk-" + "FAKEfake0123456789ab" + "T3BlbkFJ" + "FAKEfake0123456789ab"
SENDGRID = "SG." + "FAKEfake0123456789abcd" + "." + "FAKEfake0123456789abcdefghijklmnopqrstuvwxy"
TWILIO = "SK" + "0123456789abcdef0123456789abcdef"
GENERIC = "Zx8Qp2LmN4vR7tY1wK9sB3dF6hJ0cE5a"

KNOWN_FORMATS = [AWS_ID, AWS_STS_ID, STRIPE, STRIPE_LIVE, STRIPE_RESTRICTED, GITHUB,
                 GITHUB_APP, GITHUB_PAT, SLACK, GOOGLE, OPENAI, OPENAI_LEGACY, SENDGRID,
                 TWILIO]


@pytest.mark.parametrize("key", KNOWN_FORMATS)
def test_known_format_without_hint_reported(key: str) -> None:
    found = assert_reported(CLS.score(key, ctx("data")), 0.8, kind=("API_KEY", Category.SECRET))
    assert found.reason.startswith("known format: ")


@pytest.mark.parametrize("key", [AWS_ID, STRIPE, GITHUB, GOOGLE, SLACK])
def test_known_format_inside_log_line_has_span(key: str) -> None:
    text = f"2024-01-15 level=warn msg=retry key={key} attempt=3"
    found = CLS.score(text, ctx("message"))
    assert found is not None and found.span is not None
    assert text[found.span[0]:found.span[1]] == key


@pytest.mark.parametrize("path", ["aws_secret_access_key", "aws.secret_key", "AWS_SECRET"])
def test_aws_secret_with_hint_reported(path: str) -> None:
    assert_reported(CLS.score(AWS_SECRET, ctx(path)), 0.9)


@pytest.mark.parametrize(
    ("path", "location"),
    [("api_key", "body"), ("apiKey", "query"), ("x-api-key", "header"),
     ("access_key", "body"), ("ocp-apim-subscription-key", "header")],
)
def test_high_entropy_value_with_hint_reported(path: str, location: str) -> None:
    assert_reported(CLS.score(GENERIC, ctx(path, location)))


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (AWS_SECRET, "data"),  # 40 base64 characters without a hint
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "commit"),  # git SHA, no secret hint
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha"),
        ("550e8400-e29b-41d4-a716-446655440000", "id"),  # UUID
        (GENERIC, "description"),  # random but no hint
        ("YOUR_API_KEY_HERE_PLEASE", "api_key"),  # placeholder
        ("xxxxxxxxxxxxxxxxxxxxxxxx", "api_key"),
        ("true", "api_key"),
        ("2024-01-15T10:00:00Z", "api_key_created_at"),
        ("AKIA" + "iosfodnn7example", "data"),  # lower case: not an AWS key id
        ("AKIA" + "IOSFODNN7EXAMPL", "data"),  # 15 characters
        ("ghp_" + "short", "data"),
        ("task-" + "abcdefghijklmnopqrstuvwxyz0123", "data"),  # `sk-` inside a word
        ("SGVsbG8gd29ybGQsIHRoaXMgaXMgYmFzZTY0IGRhdGE=", "payload"),  # base64 blob
        ("v1.2.3-rc.1+build.5", "version"),
    ],
)
def test_near_miss_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLS.score(value, ctx(path)))


@pytest.mark.parametrize("key", KNOWN_FORMATS + [AWS_SECRET, GENERIC])
def test_reason_never_quotes_value(key: str) -> None:
    for context in (ctx("api_key"), ctx("aws_secret_access_key"), ctx("data")):
        found = CLS.score(key, context)
        if found is not None:
            assert key not in found.reason and key[-8:] not in found.reason


@pytest.mark.parametrize(("path", "expected"), [("api_key", True), ("x-api-key", True),
                                                ("api_version", False), ("key", False)])
def test_hinted_needs_a_key_name_not_one_token(path: str, expected: bool) -> None:
    assert CLS.hinted(ctx(path)) is expected


def test_named_key_parameter_in_a_url_is_a_key_even_when_weak() -> None:
    from classifiers._hints import name_tokens as _tokens
    from classifiers.base import FieldContext as _Ctx
    from classifiers.secret.api_key import ApiKeyClassifier as _Clf

    query = _Ctx(location="query", path="apiKey", name_tokens=_tokens("apiKey"))
    found = _Clf().score("qwerty", query)
    assert found is not None and 0.5 <= found.confidence < 0.8
    assert _Clf().score("YOUR_API_KEY", query) is None
    body = _Ctx(location="body", path="apiKey", name_tokens=_tokens("apiKey"))
    assert _Clf().score("qwerty", body) is None  # in a body, only a random-looking key counts
