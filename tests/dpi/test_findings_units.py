"""Units behind the findings: DNS answers (RFC 1035), internal networks, credential
kinds, error signatures and version headers. Synthetic values only."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from dpi.findings.credentials import credential_kinds
from dpi.findings.dns import MAX_NAMES_PER_ADDRESS, DnsError, DnsNames, parse_answers, read_name
from dpi.findings.egress import NetworkError, Networks, endpoint_address
from dpi.findings.leaks import MAX_SCAN_BYTES, error_signatures, version_headers
from protocols.base import Location, MediaType, Part
from tests.builders.dns import dns_answer, dns_query


def _name(name: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\x00"


def _message(answers: list[bytes], *, flags: int = 0x8180, question: str = "a.example") -> bytes:
    """Header + one question + `answers` (already encoded records)."""
    header = struct.pack("!HHHHHH", 1, flags, 1, len(answers), 0, 0)
    return header + _name(question) + struct.pack("!HH", 1, 1) + b"".join(answers)


def _record(owner: bytes, rtype: int, rdata: bytes, rclass: int = 1) -> bytes:
    return owner + struct.pack("!HHIH", rtype, rclass, 60, len(rdata)) + rdata


# -- DNS ---------------------------------------------------------------------------------


def _payload(pkt: object) -> bytes:
    return bytes(pkt["UDP"].payload)  # type: ignore[index]


def test_dns_a_answer_names_the_address() -> None:
    answers = parse_answers(_payload(dns_answer("shop.example", "198.51.100.4")))
    assert [(a.name, a.address) for a in answers] == [("shop.example", bytes([198, 51, 100, 4]))]


def test_dns_cname_chain_gives_every_name_to_the_address() -> None:
    answers = parse_answers(_payload(dns_answer("api.example", "198.51.100.4", cname="edge.cdn.example")))
    assert sorted(a.name for a in answers) == ["api.example", "edge.cdn.example"]


def test_dns_query_and_error_response_give_nothing() -> None:
    assert parse_answers(_payload(dns_query("api.example"))) == []
    assert parse_answers(_message([], flags=0x8183)) == []  # NXDOMAIN


def test_dns_compressed_owner_and_aaaa() -> None:
    # RFC 1035 4.1.4: the owner is a pointer to the question name at offset 12.
    v6 = ipaddress.IPv6Address("2001:db8::7").packed
    data = _message([_record(b"\xc0\x0c", 28, v6)])
    assert [(a.name, a.address) for a in parse_answers(data)] == [("a.example", v6)]


def test_dns_pointer_loop_and_forward_pointer_raise() -> None:
    looping = struct.pack("!HHHHHH", 1, 0x8180, 1, 0, 0, 0) + b"\xc0\x0c"
    with pytest.raises(DnsError):
        parse_answers(looping)
    with pytest.raises(DnsError):
        read_name(b"\x00" * 12 + b"\xc0\x20", 12)


def test_dns_truncated_record_raises() -> None:
    data = _message([_record(b"\xc0\x0c", 1, b"\x01\x02\x03\x04")])
    with pytest.raises(DnsError):
        parse_answers(data[:-2])


def test_dns_overlong_name_raises() -> None:
    long_name = b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x00"
    with pytest.raises(DnsError):
        read_name(long_name, 0)


def test_dns_odd_label_bytes_are_escaped_not_raw() -> None:
    name, _ = read_name(b"\x03a\x00b\x07example\x00", 0)
    assert name == "a\\x00b.example"


def test_dns_names_bounded_and_errors_counted() -> None:
    names = DnsNames()
    for i in range(MAX_NAMES_PER_ADDRESS + 5):
        names.add(b"\x01\x02\x03\x04", f"n{i}.example")
    assert len(names.names(b"\x01\x02\x03\x04")) == MAX_NAMES_PER_ADDRESS
    names.add_datagram(53, b"\x00\x01")
    names.add_datagram(9999, b"\x00\x01")  # not a DNS port: ignored, not an error
    assert names.errors == 1


# -- networks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "internal"),
    [
        ("10.1.2.3:80", True),
        ("172.31.0.1:443", True),
        ("192.168.1.1:8080", True),
        ("127.0.0.1:3306", True),
        ("[::1]:8065", True),
        ("[fd00::5]:443", True),
        ("[::ffff:10.0.0.5]:80", True),
        ("203.0.113.7:80", False),
        ("[2001:db8::1]:443", False),
        ("not-an-endpoint", True),
    ],
)
def test_default_networks(endpoint: str, internal: bool) -> None:
    assert Networks().endpoint_is_internal(endpoint) is internal


def test_custom_networks_and_bad_cidr() -> None:
    networks = Networks(["203.0.113.0/24"])
    assert networks.endpoint_is_internal("203.0.113.9:443")
    assert not networks.endpoint_is_internal("10.0.0.1:80")  # only what the user said
    with pytest.raises(NetworkError):
        Networks(["10.0.0.0/33"])
    assert str(endpoint_address("[2001:db8::1]:443")) == "2001:db8::1"


# -- credentials ---------------------------------------------------------------------------


def _header(name: str, value: str, location: Location = Location.HEADER) -> Part:
    return Part(location=location, name=name, data=value.encode())


@pytest.mark.parametrize(
    ("part", "kind"),
    [
        (_header("authorization", "Bearer abc.def.ghi"), "authorization_bearer"),
        (_header("authorization", "Basic dXNlcjpwYXNz"), "authorization_basic"),
        (_header("authorization", "Custom xyz"), "authorization_other"),
        (_header("authorization", "Bearer abc", Location.METADATA), "authorization_bearer"),
        (_header("x-api-key", "k-0000"), "api_key_header"),
        (_header("x-shop-api-key", "k-0000"), "api_key_header"),
        (_header("JSESSIONID", "0123456789abcdef0123", Location.COOKIE), "session_cookie"),
        (_header("connect.sid", "s%3A0123456789abcdef", Location.COOKIE), "session_cookie"),
        (_header("", "q=1&api_key=k-0000", Location.QUERY), "query_key"),
        (_header("", "X-Amz-Signature=ab12", Location.QUERY), "query_key"),
    ],
)
def test_credential_kinds(part: Part, kind: str) -> None:
    assert credential_kinds((part,)) == [kind]


@pytest.mark.parametrize(
    "part",
    [
        _header("accept", "application/json"),
        _header("x-request-id", "0123456789abcdef"),
        _header("sid", "1", Location.COOKIE),  # too short to be a session id
        _header("_ga", "GA1.2.0123456789.0123456789", Location.COOKIE),
        _header("lang", "en-GB-0123456789abcdef", Location.COOKIE),
        _header("", "q=keys&page=2", Location.QUERY),
    ],
)
def test_not_credentials(part: Part) -> None:
    assert credential_kinds((part,)) == []


# -- leaks ---------------------------------------------------------------------------------


def _body(text: str, media: str = MediaType.TEXT, content_type: str = "") -> tuple[Part, ...]:
    parts = [Part(location=Location.BODY, name="", data=text.encode(), media_type=media)]
    if content_type:
        parts.insert(0, _header("content-type", content_type))
    return tuple(parts)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Traceback (most recent call last):\n  File \"/srv/app.py\", line 3, in view\n", "python_traceback"),
        ("Error\n   at handler (/srv/app/index.js:10:5)\n", "node_stack_trace"),
        ("   at Shop.Api.Get(Int32 id) in C:\\src\\Api.cs:line 42\n", "dotnet_stack_trace"),
        ("PHP Fatal error:  Uncaught Error in /var/www/x.php on line 7", "php_error"),
        ("app/models/user.rb:12:in `find'", "ruby_backtrace"),
        ("goroutine 1 [running]:\nmain.main()", "go_panic"),
        ("SQLSTATE[42000]: Syntax error", "mysql_error"),
        ('ERROR:  relation "users" does not exist', "postgres_error"),
        ("ORA-00942: table or view does not exist", "oracle_error"),
        ("Unclosed quotation mark after the character string ''.", "mssql_error"),
        ("sqlite3.OperationalError: no such table", "sqlite_error"),
        ("<h1>Whitelabel Error Page</h1>", "debug_page"),
    ],
)
def test_error_signatures(text: str, name: str) -> None:
    assert name in error_signatures(_body(text))


def test_html_error_page_is_read_but_binary_is_not() -> None:
    trace = "at com.shop.A.b(A.java:1)"
    assert error_signatures(_body(trace, MediaType.BINARY, "text/html")) == ["java_stack_trace"]
    assert error_signatures(_body(trace, MediaType.BINARY, "image/png")) == []
    assert error_signatures(_body("\x00" + trace, MediaType.TEXT)) == []


def test_plain_texts_are_not_errors() -> None:
    for text in ('{"status":"ok","at":"12:00"}', "Meet me at the station (platform 3)", "SELECT the best offer"):
        assert error_signatures(_body(text)) == []


def test_signature_beyond_the_scan_limit_is_not_seen() -> None:
    late = " " * MAX_SCAN_BYTES + "ORA-00942"
    assert error_signatures(_body(late)) == []


def test_version_headers_name_products_not_values() -> None:
    parts = (
        _header("server", "nginx/1.25.3"),
        _header("x-powered-by", "PHP/8.1.2"),
        _header("x-aspnet-version", "4.0.30319"),
    )
    assert version_headers(parts) == [("server", "nginx"), ("x-powered-by", "PHP"), ("x-aspnet-version", "other")]
    assert version_headers((_header("server", "nginx"),)) == []  # no version: nothing disclosed
    assert version_headers((_header("server", "cloudflare"),)) == []
