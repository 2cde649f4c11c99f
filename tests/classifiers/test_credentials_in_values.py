"""Credentials real traffic carries where no field is named for them (issue #15, items 6
and 8): JSON-RPC `auth` members, scheme-less `authorization` values, URL userinfo,
templated cookie names, signed-URL signatures, and the server's own IP address.

Each value goes through the whole classifier set (`ClassifierSet.score`, gates and memo
included); the gRPC and server-address cases also end to end, capture in, rows out."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers._hints import name_tokens
from classifiers.base import REPORT_THRESHOLD
from dpi.api import scan_engine
from dpi.classify import ClassifierSet, sibling_tokens
from tests.builders.conversation import Conversation, http_request, http_response

CS = ClassifierSet()
ROOT = Path(__file__).resolve().parents[2]
HEX32 = "0424bd59b807674191e7d77572075f33"
SIG64 = "3e1d2f8a9b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e"
OPAQUE = "Zx8Qp2LmN4vR7tY1wK9sB3dF6hJ0cE5a"


def found(value: str, path: str, location: str = "body", siblings: tuple[str, ...] = (),
          protocol: str = "http", server: str = "", objects: tuple[str, ...] = ()
          ) -> dict[str, float]:
    ctx = CS.context(protocol, location, path, "POST /x", sibling_tokens((path, *siblings)),
                     server, sibling_tokens(objects))
    return {f.data_type: f.confidence for f in CS.score(value, ctx)
            if f.confidence >= REPORT_THRESHOLD}


def spans(value: str, path: str, location: str = "body") -> dict[str, str]:
    ctx = CS.context("http", location, path, "GET /", frozenset())
    return {f.data_type: value[f.span[0]:f.span[1]] for f in CS.score(value, ctx)
            if f.span is not None}


# -- JSON-RPC auth --------------------------------------------------------------------------

@pytest.mark.parametrize("siblings", [("jsonrpc", "method", "params", "id"),
                                      ("method", "params", "id")])
def test_jsonrpc_auth_member_is_a_bearer_token(siblings: tuple[str, ...]) -> None:
    assert found(HEX32, "auth", siblings=siblings) == {"BEARER_TOKEN": 0.85}


@pytest.mark.parametrize(("value", "path", "siblings"), [
    (HEX32, "auth", ("name", "email")),  # no JSON-RPC envelope
    (HEX32, "auth", ("method",)),  # `method` alone: a form, not JSON-RPC
    ("true", "auth", ("jsonrpc", "method")),  # a flag
    ("password", "auth", ("jsonrpc", "method")),  # a method name, not random
    (HEX32, "auth_type", ("jsonrpc", "method")),  # about the auth, not the auth
])
def test_auth_without_jsonrpc_or_random_value_is_nothing(
        value: str, path: str, siblings: tuple[str, ...]) -> None:
    assert "BEARER_TOKEN" not in found(value, path, siblings=siblings)


# -- Authorization without a scheme ---------------------------------------------------------

@pytest.mark.parametrize(("location", "path"), [("metadata", "authorization"),
                                               ("header", "Authorization"),
                                               ("header", "proxy-authorization")])
@pytest.mark.parametrize("value", ["aDummyToken", HEX32, "c2VjcmV0LXRva2VuLTQy=="])
def test_schemeless_authorization_is_a_bearer_token(location: str, path: str, value: str) -> None:
    assert "BEARER_TOKEN" in found(value, path, location)


@pytest.mark.parametrize("value", [
    "Negotiate", "anonymous", "undefined", "********", "abc1234",  # scheme, word, short
    "Digest username=\"u\", realm=\"r\", nonce=\"dcd98b7102dd2f0e\", response=\"6629fae4\"",
    "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==",
    "Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnagMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYB",
    "${TOKEN}", "<your-token-here>",
])
def test_authorization_schemes_and_placeholders_are_not_schemeless_tokens(value: str) -> None:
    assert "BEARER_TOKEN" not in found(value, "authorization", "header")


def test_basic_credentials_stay_a_password() -> None:
    assert found("Basic dXNlcjpzM2NyZXQ=", "authorization", "header") == {"PASSWORD": 0.99}


def test_a_body_field_named_authorization_is_not_a_header() -> None:
    assert "BEARER_TOKEN" not in found("aDummyToken", "authorization", "body")


def test_grpc_authorization_metadata_gives_a_row() -> None:
    capture = ROOT / "tests/captures/grpc/greet-unary-loopback.pcapng"
    rows = {(r.location, r.field, r.data_type) for r in scan_engine(capture).inventory.rows()}
    assert ("metadata", "authorization", "BEARER_TOKEN") in rows


# -- URL userinfo ---------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "path", "location"), [
    ("postgres://app:S3cr3t-pw@db.internal:5432/orders", "config", "body"),
    ("see https://deploy:hunter22@git.corp.io/repo.git for the mirror", "note", "body"),
    ("https://u:p%40ss@10.1.2.3/x", "referer", "header"),
    ("user:pass@host.org", ":authority", "header"),
    ("admin:pw@10.0.0.5", "target", "body"),
    ("svc:tok3n@proxy.corp.io:3128", "value", "body"),  # a port: an authority, not a mailbox
    ("svc:tok3n@proxy.corp.io", "https_proxy", "body"),  # named for a proxy
])
def test_credentials_in_urls_and_authorities_are_a_password(
        value: str, path: str, location: str) -> None:
    got = found(value, path, location)
    assert "PASSWORD" in got and "EMAIL_ADDRESS" not in got


def test_userinfo_span_covers_user_and_password() -> None:
    value = "fetch https://deploy:hunter22@git.corp.io/x"
    assert spans(value, "note")["PASSWORD"] == "deploy:hunter22"


@pytest.mark.parametrize(("value", "path", "kept"), [
    ("mailto:alice@corp.io", "link", "EMAIL_ADDRESS"),
    ("acct:alice@corp.io", "resource", "EMAIL_ADDRESS"),
    ("user:alice@corp.io", "cache_key", "EMAIL_ADDRESS"),  # a prefixed address
    ("https://user:{password}@db.corp.io/x", "dsn", None),  # a template
    ("https://user:***@db.corp.io/x", "dsn", None),  # redacted
    ("https://user@db.corp.io/x", "dsn", None),  # no password
    ("orders:3@1200", "position", None),  # topic, partition, offset
    ("10:30@office.corp.io", "slot", None),
])
def test_userinfo_lookalikes_are_not_passwords(value: str, path: str, kept: str | None) -> None:
    got = found(value, path)
    assert "PASSWORD" not in got
    if kept:
        assert kept in got


# -- Templated cookie names -----------------------------------------------------------------

def test_placeholders_inside_names_are_no_tokens() -> None:
    assert name_tokens("jupyterhub-user-{key}") == {"jupyterhub", "user"}
    assert name_tokens("SESS{key}") == {"sess"}
    assert "key" not in name_tokens("wordpress_logged_in_{key}")


def test_sess_names_a_session() -> None:
    assert "BEARER_TOKEN" in found(OPAQUE, "SESS{key}", "cookie")
    assert "BEARER_TOKEN" in found(OPAQUE, "sess", "query")
    assert "API_KEY" not in found(OPAQUE, "jupyterhub-user-{key}", "cookie")


# -- Signed URLs ----------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "location", "siblings"), [
    ("X-Amz-Signature", "query", ("X-Amz-Credential", "X-Amz-Date")),
    ("download_url.X-Amz-Signature", "body", ("X-Amz-Expires", "id")),
    ("url.X-Goog-Signature", "body", ()),
    ("location.Signature", "header", ("Expires", "Key-Pair-Id")),  # CloudFront
    ("referer.sig", "header", ("sv", "se", "sp")),  # Azure SAS
    ("sig", "query", ("sv", "se", "sr")),
    ("CloudFront-Signature", "cookie", ("CloudFront-Policy", "CloudFront-Key-Pair-Id")),
])
def test_signed_url_signatures_are_bearer_tokens(
        path: str, location: str, siblings: tuple[str, ...]) -> None:
    assert found(SIG64, path, location, siblings) == {"BEARER_TOKEN": 0.8}


# The signature's own object: a URL's parameters, which the payload decoder gives as
# sub-fields beside it (`az1.sv`, `az1.se`...), whatever the carrying field is called.
@pytest.mark.parametrize(("path", "objects"), [
    ("az1.sig", ("sv", "se", "sp", "sig")),  # Azure SAS
    ("links.az1.sig", ("se", "sp", "sig")),
    ("cf.Signature", ("Expires", "Signature", "Key-Pair-Id")),  # CloudFront
    ("g.Signature", ("GoogleAccessId", "Expires", "Signature")),  # GCS V2
])
def test_signatures_beside_a_url_signer_are_bearer_tokens(
        path: str, objects: tuple[str, ...]) -> None:
    siblings = tuple(f"{path.rsplit('.', 1)[0]}.{name}" for name in objects)
    assert found(SIG64, path, "body", siblings, objects=objects) == {"BEARER_TOKEN": 0.8}


@pytest.mark.parametrize(("value", "path", "objects"), [
    (SIG64, "doc.signature", ("signature", "expires", "title")),  # a document's own, expiring
    (SIG64, "az1.sig", ("sig", "se")),  # an expiry alone: no Azure SAS without sv or sp
    (SIG64, "ref.sig", ("sig", "url")),  # click tracking
    ("ok", "az1.sig", ("sv", "se", "sp", "sig")),  # a short word
    ("hmac-sha256", "cf.SigAlg", ("SigAlg", "Key-Pair-Id")),  # names the algorithm
])
def test_signatures_without_a_url_signer_beside_them_are_nothing(
        value: str, path: str, objects: tuple[str, ...]) -> None:
    siblings = tuple(f"{path.rsplit('.', 1)[0]}.{name}" for name in objects)
    assert "BEARER_TOKEN" not in found(value, path, "body", siblings, objects=objects)


@pytest.mark.parametrize(("value", "path", "location", "siblings"), [
    (SIG64, "sig", "query", ("url", "usg")),  # click tracking: no expiry, no signer
    (SIG64, "signature", "body", ("payload", "expires")),  # a body's own signature
    (SIG64, "tx.signature", "body", ("expires",)),  # parent is no URL
    ("rsa-sha256", "SigAlg", "query", ("Signature", "Expires")),
    ("hmac-sha256", "signature_method", "query", ("expires",)),
    ("aaaaaaaaaaaaaaaaaaaa", "X-Amz-Signature", "query", ("X-Amz-Expires",)),  # not random
])
def test_signature_lookalikes_are_nothing(value: str, path: str, location: str,
                                          siblings: tuple[str, ...]) -> None:
    assert "BEARER_TOKEN" not in found(value, path, location, siblings)


# -- The server's own address ---------------------------------------------------------------

def test_the_servers_own_address_is_not_reported() -> None:
    assert found("203.0.113.7", "client_ip", server="203.0.113.7") == {}
    assert found("203.0.113.7", "client_ip", server="198.51.100.2") == {"IP_ADDRESS": 0.97}
    assert found("::ffff:203.0.113.7", "peer", server="203.0.113.7") == {}
    assert found("2001:db8::7", "peer", server="2001:db8::7") == {}
    # In text, the other address still counts.
    assert "IP_ADDRESS" in found("proxy 203.0.113.7 for 198.51.100.9", "log",
                                 server="203.0.113.7")


def test_server_address_end_to_end(tmp_path: Path) -> None:
    conv = Conversation(client="198.51.100.20", server="203.0.113.7").handshake()
    body = b'{"served_by": "203.0.113.7", "client_ip": "198.51.100.20"}'
    conv.request(http_request("GET", "/v1/whoami")).response(http_response(body))
    engine = scan_engine(conv.close().write(tmp_path / "c.pcap"), strict=True)
    rows = {(r.field, r.data_type) for r in engine.inventory.rows()}
    assert rows == {("client_ip", "IP_ADDRESS")}
