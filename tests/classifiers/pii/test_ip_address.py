"""IP_ADDRESS: IPv4/IPv6 validated by the `ipaddress` module, whole value or in text."""

from __future__ import annotations

import ipaddress
import random
import re

import pytest

from classifiers.base import REPORT_THRESHOLD
from classifiers.pii.ip_address import IpAddressClassifier, _quad
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = IpAddressClassifier()


POSITIVES = [
    ("10.20.30.40", "client_ip", 0.95),
    ("10.20.30.40", "origin", 0.8),
    ("203.0.113.7", "", 0.8),
    ("2001:db8::8a2e:370:7334", "ipAddress", 0.95),
    ("2001:0db8:0000:0000:0000:ff00:0042:8329", "", 0.8),
    ("fe80::1ff:fe23:4567:890a%eth0", "remote", 0.7),
    ("::ffff:192.0.2.128", "peer", 0.7),
    ("login from 198.51.100.23 failed", "message", 0.7),
    ("10.20.30.40:8080", "upstream", 0.7),
    # An address inside a URL but not its host is data (a client carried as a parameter).
    ("http://svc.internal/health?client=10.20.30.40", "url", 0.7),
    ("172.16.5.4, 10.0.0.1", "x-forwarded-for", 0.7),
]

NEGATIVES = [
    ("1.2.3.4-beta", "tag"),  # version string
    ("v10.0.0.1", "release"),
    ("release-1.2.3.4", "image"),
    ("10.0.0.1", "version"),  # field says version
    ("Mozilla/5.0 Firefox/115.0.1.2", "user-agent"),
    ("1.3.6.1.4.1.311", "oid"),  # SNMP OID, more than four parts
    ("256.1.1.1", "ip"),
    ("01.02.03.04", "ip"),  # leading zeros are not an address
    ("12:30:45", "time"),
    ("00:1a:2b:3c:4d:5e", "mac"),  # MAC, not IPv6
    ("std::vector", "type"),
    ("a::b", "note"),
    ("2024-01-15T10:15:02Z", "ts"),
    ("1.5", "price"),
    ("123e4567-e89b-12d3-a456-426614174000", "id"),
    ("127.0.0.1", "host"),  # loopback: lower confidence
    ("0.0.0.0", "bind"),  # unspecified
    ("::1", "listen"),
    ("255.255.255.0", "netmask"),
    ("1.0.0.0", "assembly"),  # .NET assembly version shape
    ("4.2.1.3", "data"),  # single-digit parts: a version more often than a host
    ("10.20.0.0", "route"),  # network address
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_address_is_found(value: str, path: str, minimum: float) -> None:
    assert_reported(CLF.score(value, ctx(path)), minimum)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_near_miss_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


def test_loopback_with_hint_is_lower_than_routable() -> None:
    loop = CLF.score("127.0.0.1", ctx("client_ip"))
    routable = CLF.score("10.20.30.40", ctx("client_ip"))
    assert loop is not None and routable is not None
    assert loop.confidence < routable.confidence


def test_version_like_quad_with_ip_hint_is_found() -> None:
    assert_reported(CLF.score("10.20.0.0", ctx("client_ip")), 0.9)


def test_free_text_span_covers_address() -> None:
    text = "login from 198.51.100.23 failed"
    found = CLF.score(text, ctx("message"))
    assert found is not None and found.span is not None
    assert text[found.span[0] : found.span[1]] == "198.51.100.23"


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    assert_reason_hides(CLF.score(value, ctx(path)), value, "30.40")


def test_host_header_is_addressing_not_data() -> None:
    from classifiers._hints import name_tokens as _tokens
    from classifiers.base import FieldContext as _Ctx
    from classifiers.pii.ip_address import IpAddressClassifier as _Clf

    for name in ("host", ":authority"):
        ctx = _Ctx(location="header", path=name, name_tokens=_tokens(name))
        assert _Clf().score("10.100.18.175:20880", ctx) is None
    forwarded = _Ctx(location="header", path="x-forwarded-for", name_tokens=_tokens("x-forwarded-for"))
    assert _Clf().score("203.0.113.77", forwarded) is not None


def test_versions_shaped_like_addresses_stay_under_the_threshold() -> None:
    from classifiers._hints import name_tokens as _tokens
    from classifiers.base import REPORT_THRESHOLD as _T
    from classifiers.base import FieldContext as _Ctx
    from classifiers.pii.ip_address import IpAddressClassifier as _Clf

    lower = _Ctx(location="body", path="items[].lower", name_tokens=_tokens("lower"))
    for version in ("3.7.101.18", "3.3.5.2"):
        found = _Clf().score(version, lower)
        assert found is None or found.confidence < _T
    near_versions = _Ctx(location="body", path="upper", name_tokens=_tokens("upper"),
                         sibling_tokens=frozenset({"version", "upper", "lower"}))
    found = _Clf().score("13.3.104.23", near_versions)
    assert found is None or found.confidence < _T


@pytest.mark.parametrize(("value", "path"), [
    ("http://10.20.30.40/health", "url"),
    ("http://192.168.56.101:8080", "origin"),
    ("https://user@198.51.100.7/login", "referer"),
    ("see http://[2001:db8::5]:8080/x for the log", "message"),
    ("${jndi:ldap://203.0.113.50:1389/a}", "uname"),
])
def test_the_host_of_a_url_is_routing_not_data(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


# -- the required pattern (`value_needs`) keeps every IPv6 value the classifier reports,
# and rules out times and MAC addresses.

_V6_PREFIXES = ["", " ", "x=", "[", "(", "for=", "a,", "http://[", "\t", "ip ", "-", "/"]
_V6_SUFFIXES = ["", "]", ":443", "]:8080", " ", "%eth0", ".", ",", ")", "/64", " ok"]


def _v6_texts(rng: random.Random) -> list[str]:
    texts = ["::1", "::", "::ffff:203.0.113.7", "fe80::1%eth0", "::1%lo0"]
    for _ in range(1500):
        kept = rng.choice([1, 2, 4, 8, 16])
        packed = bytes(rng.randrange(256) if i < kept or rng.random() < 0.3 else 0
                       for i in range(16))
        address = ipaddress.IPv6Address(bytes(reversed(packed)) if rng.random() < 0.5
                                        else packed)
        texts += [address.compressed, address.exploded]
        texts.append(f"::ffff:{ipaddress.IPv4Address(rng.getrandbits(32))}")
        texts.append(":".join(format(rng.randrange(16 ** rng.randint(1, 4)), "x")
                              for _ in range(rng.randint(3, 8))))
    return texts


def test_a_reported_ipv6_value_holds_the_required_pattern() -> None:
    rng = random.Random(6)
    need = re.compile(CLF.value_needs["ip"])
    contexts = [ctx("client_ip"), ctx("data"), ctx("x-forwarded-for", location="header")]
    reported = 0
    for text in _v6_texts(rng):
        value = rng.choice(_V6_PREFIXES) + text + rng.choice(_V6_SUFFIXES)
        for context in contexts:
            found = CLF.score(value, context)
            if found is not None and found.confidence >= REPORT_THRESHOLD:
                reported += 1
                assert need.search(value), value
    assert reported > 5000


@pytest.mark.parametrize("value", [
    "Sat, 28 Nov 2026 10:00:00 GMT", "2026-11-28T10:00:00.123Z", "10:00:00",
    "00:1a:2b:3c:4d:5e", "std::vector<int>", "a::b::c"])
def test_times_and_macs_are_ruled_out_before_scoring(value: str) -> None:
    assert not re.search(CLF.value_needs["ip"], value)


# The host itself (issue #15: `127.0.1.1`, Debian's loopback alias of the host name, in
# Elasticsearch's `nodes.<id>.ip`): loopback and unspecified addresses are nobody's,
# whatever the field is called; a link-local address is the host's own interface unless
# the field names the other party.
@pytest.mark.parametrize("value", ["127.0.1.1", "127.0.0.1", "::1", "0.0.0.0", "::",
                                   "[::1]:9200", "bound to 127.0.1.1:9300"])
@pytest.mark.parametrize("path", ["ip", "nodes.{key}.ip", "host_ip", "client_ip",
                                  "x-forwarded-for", "remote_addr", "peer"])
def test_loopback_and_unspecified_are_never_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


@pytest.mark.parametrize("value", ["169.254.12.34", "fe80::1ff:fe23:4567:890a%eth0", "fe80::1"])
def test_link_local_is_the_hosts_own_unless_the_field_names_a_peer(value: str) -> None:
    for own in ("ip", "ipv6", "nodes.{key}.ip", "interface.ip", "address"):
        assert_not_reported(CLF.score(value, ctx(own)))
    for peer in ("remote", "client_ip", "peer_address", "x-forwarded-for", "source_ip"):
        assert_reported(CLF.score(value, ctx(peer)), 0.7)


def test_routable_and_private_addresses_in_the_same_fields_stay_reported() -> None:
    for value in ("192.168.1.121", "10.20.30.40", "2001:db8::8a2e:370:7334"):
        for path in ("ip", "nodes.{key}.ip", "client_ip"):
            assert_reported(CLF.score(value, ctx(path)), 0.9)


# An IPv4-mapped IPv6 address is the IPv4 address it maps (Node.js writes a dual-stack
# peer as `::ffff:127.0.0.1`): loopback and unspecified stay unreported, link-local is
# reported only where the field names a peer.
@pytest.mark.parametrize("value", ["::ffff:127.0.0.1", "::ffff:0.0.0.0"])
@pytest.mark.parametrize("path", ["remoteAddress", "data", "clientIp"])
def test_ipv4_mapped_host_addresses_are_never_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


def test_ipv4_mapped_link_local_is_judged_as_ipv4_link_local() -> None:
    assert_not_reported(CLF.score("::ffff:169.254.1.1", ctx("data")))
    assert_reported(CLF.score("::ffff:169.254.1.1", ctx("peer_address")), 0.7)


def test_ipv4_mapped_routable_address_stays_reported() -> None:
    assert_reported(CLF.score("::ffff:203.0.113.7", ctx("remoteAddress")), 0.9)


def test_ipv4_mapped_netmasks_and_versions_are_judged_as_their_ipv4_form() -> None:
    assert CLF.score("::ffff:255.255.255.0", ctx("ip")) is None
    for value in ("::ffff:1.0.0.0", "1.0.0.0"):
        assert_not_reported(CLF.score(value, ctx("data")))


def test_dotted_quads_are_read_as_ipaddress_reads_them() -> None:
    """`_quad`, the reading of an IPv4 candidate without `ipaddress`: None exactly where
    `ipaddress.ip_address` raises, else the same text and the same special ranges, on
    the edges of every range and of the octet rules, and random quads."""
    octets = ["0", "00", "01", "1", "9", "10", "99", "100", "126", "127", "128", "169",
              "223", "224", "239", "240", "253", "254", "255", "256", "300", "999", "010",
              "001", "0000", "", "\u0663", "1\u0663", "+1", " 1"]
    rng = random.Random(14)
    texts = [".".join(rng.choice(octets) for _ in range(4)) for _ in range(20_000)]
    texts += [".".join(str(rng.randrange(256)) for _ in range(4)) for _ in range(20_000)]
    texts += ["127.0.0.1", "126.255.255.255", "128.0.0.0", "169.254.0.0", "169.253.255.255",
              "169.255.0.0", "224.0.0.0", "223.255.255.255", "239.255.255.255", "240.0.0.0",
              "0.0.0.0", "0.0.0.1", "255.255.255.255", "1.2.3", "1.2.3.4.5"]
    accepted = 0
    for text in texts:
        quad = _quad(text)
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            assert quad is None, text
            continue
        assert quad is not None, text
        accepted += 1
        assert (str(quad), quad.version, quad.is_loopback, quad.is_unspecified,
                quad.is_link_local, quad.is_multicast) == (
            str(addr), addr.version, addr.is_loopback, addr.is_unspecified,
            addr.is_link_local, addr.is_multicast), text
    assert 20_000 < accepted < len(texts)
