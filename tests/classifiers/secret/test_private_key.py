"""PRIVATE_KEY: PEM private keys (RFC 7468) and OpenPGP private key blocks (RFC 4880)."""

from __future__ import annotations

import base64

import pytest

from classifiers.base import Category
from classifiers.secret.private_key import PrivateKeyClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_reason_hides, assert_reported

CLS = PrivateKeyClassifier()

# A synthetic body: base64 of filler bytes, wrapped at 64 columns like PEM. Not a key.
_BODY = base64.b64encode(bytes(range(256)) * 2).decode()
BODY = "\n".join(_BODY[i:i + 64] for i in range(0, len(_BODY), 64))


def pem(label: str, body: str = BODY, headers: str = "") -> str:
    dashes = "-" * 5
    return (f"{dashes}BEGIN {label}{dashes}\n{headers}{body}\n"
            f"{dashes}END {label}{dashes}\n")


POSITIVES = [
    pem("PRIVATE KEY"),
    pem("RSA PRIVATE KEY"),
    pem("EC PRIVATE KEY"),
    pem("OPENSSH PRIVATE KEY"),
    pem("DSA PRIVATE KEY"),
    pem("ENCRYPTED PRIVATE KEY"),
    pem("RSA PRIVATE KEY", headers="Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00FF\n\n"),
    pem("PGP PRIVATE KEY BLOCK", headers="Version: synthetic\n\n"),
    pem("PRIVATE KEY").replace("\n", "\\n"),  # JSON-escaped newlines left in a string
    pem("PRIVATE KEY").replace("\n", "\r\n"),
]


@pytest.mark.parametrize("value", POSITIVES)
def test_private_key_block_reported(value: str) -> None:
    assert_reported(CLS.score(value, ctx("data")), 0.95, kind=("PRIVATE_KEY", Category.SECRET))


def test_key_inside_config_text_has_span() -> None:
    key = pem("EC PRIVATE KEY").strip()
    text = f"tls:\n  cert: cert.pem\n  key: |\n{key}\nnext: 1"
    found = CLS.score(text, ctx("config"))
    assert found is not None and found.span is not None
    start, end = found.span
    assert text[start:end] == key


def test_truncated_key_without_end_still_reported() -> None:
    value = pem("RSA PRIVATE KEY").split("-----END")[0][:400]
    assert_reported(CLS.score(value, ctx("data")), 0.9)


@pytest.mark.parametrize(
    "value",
    [
        pem("PUBLIC KEY"),
        pem("CERTIFICATE"),
        pem("PGP PUBLIC KEY BLOCK"),
        pem("PRIVATE KEY", body="REDACTED"),  # no base64 body
        "-----BEGIN PRIVATE KEY-----",  # the marker alone, as in documentation
        "Paste your -----BEGIN RSA PRIVATE KEY----- here",
        _BODY,  # base64 blob without armor
        "private key rotation is due",
    ],
)
def test_not_a_private_key_negative(value: str) -> None:
    assert CLS.score(value, ctx("data")) is None


@pytest.mark.parametrize("value", POSITIVES)
def test_reason_never_quotes_value(value: str) -> None:
    assert_reason_hides(CLS.score(value, ctx("data")), BODY[:20])
