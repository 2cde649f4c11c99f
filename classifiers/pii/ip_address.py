"""IP_ADDRESS: IPv4 and IPv6 addresses carried as data, whole value or inside text.

Standards: IPv4 dotted quad (RFC 791; leading zeros rejected, as Python's `ipaddress`
does since 3.9.5: `010.1.1.1` is octal to some parsers), IPv6 text form (RFC 4291
section 2.2, RFC 5952), including `::ffff:a.b.c.d` and a `%zone` suffix (RFC 6874). The
`ipaddress` module validates every candidate.

Hard negatives:
- version strings: a quad touching letters, dashes or more dots (`v10.0.0.1`,
  `1.2.3.4-beta`, `release-1.2.3.4`, OIDs `1.3.6.1.4.1`), a product token before it
  (`Firefox/115.0.1.2`), or a field named version/build/release;
- times and MACs (`12:30:45`, `00:1a:2b:3c:4d:5e`) fail IPv6 validation;
- C++/Rust paths (`std::vector`, `a::b`): IPv6 candidates need a group of 3+ hex digits;
- netmasks (`255.255.255.0`) are configuration, not someone's address;
- without a hint, quads of single digits or ending in `.0` (`1.0.0.0`, `4.2.1.3`) are
  assembly/package versions or network addresses more often than hosts.
- the host part of a URL (`http://10.0.0.5:8080/x` in a `Referer`, `Origin`,
  `Location` or a body): routing, the address of a server, not data about a person.
  Addresses elsewhere in the URL (`?client=203.0.113.9`) still count.
- the flow's own server address (`FieldContext.server`), wherever it appears (a body
  echoing the host it runs on, `X-Forwarded-Server`, a `Location`): routing again.
  Client addresses carried as data (`X-Forwarded-For`, `clientIp`) stay.
Zero-padded octets (`010.001.002.003`, `10.000.000.03`: anonymised or fixed-width logs)
are read as decimal where only an address can be meant: in a forwarding header
(`X-Forwarded-For`, `X-Real-IP`) any padding, in another field whose name says address
(`clientIp`) octets of three digits each; elsewhere such a quad is a version or a code.
Loopback and unspecified addresses are the host itself (`127.0.1.1`, the loopback alias
Debian gives the host name, in Elasticsearch's `nodes.<id>.ip`): never personal data,
whatever the field is called. A link-local address is the host's own interface too,
unless the field names the other party (`remote`, `client`, `peer`, `forwarded`...):
then it is that device's, at a lower confidence. Multicast addresses are reported only
with a hint, at a lower confidence.

Not covered: IPv4 in other notations (hex, integer), CIDR prefixes as such (the address
part is found), IPv6 with embedded IPv4 other than the `::ffff:` form.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, Literal

from classifiers.base import (
    DIGIT,
    Category,
    Classifier,
    FieldContext,
    Finding,
    ValueGate,
)

# A dotted quad not touching word characters, dashes or further `.digit` parts. A
# trailing `.` (end of sentence) is fine; `:port` and `/prefix` are fine.
_V4 = re.compile(r"(?<![\w.\-])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\w\-]|\.\w)")
# IPv6 candidates: hex groups and colons (at least two), optional trailing dotted quad
# (tried first: `::ffff:203.0.113.7` is one address, not `::ffff:203`) and zone;
# `ipaddress` decides.
_V6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?"
    r"(?:%[\w.]{1,16})?(?![\w:]|\.\d)"
)
# What every IPv6 candidate `_judge` can accept contains, as a pattern the required-pattern
# scan can run (classifiers/_scan.py: no lookaround). A `_V6` match opens with two hex
# groups of at most four digits, each followed by `:`, is at most 50 characters long
# (seven such groups and a dotted quad) and is not followed by a word character or `:`.
# `_judge` wants `::1` or a group of three or more digits (split at `:` and `.`): the
# first group's last three digits and the next group (`abc:1:`), the second group
# whole (`:abcd:`), or, in the at most 40 characters after both, the last three digits
# of a group, which a letter past `f` or `_` cannot follow. So HTTP dates
# (`10:00:00 GMT`), times with milliseconds (`10:00:00.123Z`) and MAC addresses never
# reach the classifier. Starting at `:` or a hex digit keeps the search cheap for `re`.
_HEX = "[0-9A-Fa-f]"
_V6_NEED = (rf":(?::1|{_HEX}{{3,4}}:|{_HEX}{{0,4}}:[0-9A-Fa-f.:]{{0,40}}{_HEX}{{3}}"
            rf"(?:[^G-Zg-z_]|$))|{_HEX}{{3}}:{_HEX}{{0,4}}:")
# Field names saying the dotted value is a version, not an address.
# Headers that carry the server's own address (RFC 9110 section 7.2, RFC 9113 8.3.1).
_ADDRESSING_HEADERS = frozenset({"host", ":authority", "x-forwarded-host", "x-forwarded-server"})
# Headers whose value is a client address (or a list of them) by definition: a quad
# with zero-padded octets there can only be an address.
_FORWARDING_HEADERS = frozenset({"x-forwarded-for", "x-real-ip", "forwarded", "x-client-ip",
                                 "x-cluster-client-ip", "true-client-ip", "cf-connecting-ip",
                                 "x-original-forwarded-for"})
_VERSION_TOKENS = frozenset(
    {
        "version",
        "ver",
        "build",
        "release",
        "revision",
        "firmware",
        "sdk",
        "os",
        "agent",
        "oid",
        "tag",
        "semver",
        "app",
    }
)
# Hints that name the other party of a connection, not the host's own interfaces.
_PARTY_HINTS = frozenset({"forwarded", "remote", "client", "peer", "origin", "source"})
# At most this many candidates per value: bounded work on hostile text.
_MAX_CANDIDATES = 16
_MAX_CHARS = 8192  # free text is searched up to this length


class IpAddressClassifier(Classifier):
    data_type: ClassVar[str] = "IP_ADDRESS"
    category: ClassVar[Category] = Category.PII
    # Sibling tokens asked about: a version field beside the address.
    context_words: ClassVar[frozenset[str] | None] = _VERSION_TOKENS
    # Only `score` compares values with the server's own address.
    gate_reads_server: ClassVar[bool] = False
    hints: ClassVar[frozenset[str]] = frozenset(
        {
            "ip",
            "ipv4",
            "ipv6",
            "forwarded",
            "remote",
            "client",
            "peer",
            "origin",
            "source",
        }
    )
    min_len: ClassVar[int] = 2
    max_len: ClassVar[int] = _MAX_CHARS
    # Validated and distinctive: a log line carrying one sometimes is worth a row.
    min_share: ClassVar[float] = 0.05
    # IPv4 needs digits and dots; IPv6 colons (`::` alone is an address).
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"ip": lambda n, classes: ("." in classes and DIGIT in classes) or ":" in classes}
    )
    # A dotted quad (`_V4`), or the start of an IPv6 candidate that `_judge` can accept
    # (`_V6_NEED`).
    value_needs: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"ip": r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]|" + _V6_NEED}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        if not ctx.name_tokens.isdisjoint(_VERSION_TOKENS) or self._addressing_header(ctx):
            return None
        return "ip"

    @staticmethod
    def _addressing_header(ctx: FieldContext) -> bool:
        return ctx.location in ("header", "metadata") and ctx.path.lower() in _ADDRESSING_HEADERS

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if len(value) > _MAX_CHARS:
            return None
        has_dot = "." in value
        has_colon = ":" in value
        if not (has_dot or has_colon):
            return None
        if not ctx.name_tokens.isdisjoint(_VERSION_TOKENS):
            return None
        if self._addressing_header(ctx):
            # The server's own address in Host/:authority is protocol addressing, not
            # data about anyone (spec: "an address carried as data in a payload").
            return None
        versions_nearby = not ctx.sibling_tokens.isdisjoint(_VERSION_TOKENS)
        stripped = value.strip()
        hinted = self.hinted(ctx)
        party = hinted and not ctx.name_tokens.isdisjoint(_PARTY_HINTS)
        forwarding = (ctx.location in ("header", "metadata")
                      and ctx.path.lower() in _FORWARDING_HEADERS)
        best: Finding | None = None
        if has_dot:
            for n, m in enumerate(_V4.finditer(value)):
                if n >= _MAX_CANDIDATES:
                    break
                if self._product_token_before(value, m.start()) or _url_host(value, m.start()):
                    continue
                found = self._judge(m.group(0), m.span(), stripped, hinted, versions_nearby,
                                    ctx.server, forwarding, party)
                if found and (best is None or found.confidence > best.confidence):
                    best = found
        if has_colon and value.count(":") >= 2:
            for n, m in enumerate(_V6.finditer(value)):
                if n >= _MAX_CANDIDATES:
                    break
                if _url_host(value, m.start()):
                    continue
                found = self._judge(m.group(0), m.span(), stripped, hinted, versions_nearby,
                                    ctx.server, party=party)
                if found and (best is None or found.confidence > best.confidence):
                    best = found
        return best

    def _judge(
        self,
        text: str,
        span: tuple[int, int],
        stripped: str,
        hinted: bool,
        versions_nearby: bool = False,
        server: str = "",
        forwarding: bool = False,
        party: bool = False,
    ) -> Finding | None:
        is_v6 = ":" in text
        if is_v6:
            # `a::b`, `std::x`: one- and two-digit groups only are not addresses in text.
            groups = text.split("%", 1)[0].replace(".", ":").split(":")
            if text.split("%", 1)[0] != "::1" and max(len(g) for g in groups) < 3:
                return None
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address | _Quad | None = (
            None if is_v6 else _quad(text))
        if addr is None:
            try:
                addr = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:
                octets = text.split(".")
                if is_v6 or not (forwarding or hinted and all(len(o) == 3 for o in octets)):
                    return None
                try:
                    # Zero-padded octets (`010.001.002.003`, `10.000.000.03`, as
                    # anonymisers and fixed-width logs write them) where only an address
                    # can be meant: decimal, not octal. `01.02.03.04` in an `ip` body
                    # field stays ambiguous.
                    addr = ipaddress.ip_address(".".join(str(int(o)) for o in octets))
                except ValueError:
                    return None
        family = "IPv6" if addr.version == 6 else "IPv4"
        # `::ffff:127.0.0.1` (how Node.js writes an IPv4 peer on a dual-stack socket) is
        # the IPv4 address it maps: `ipaddress` before 3.13 judges the IPv6 form only.
        mapped = addr.ipv4_mapped if addr.version == 6 else None
        plain = addr if mapped is None else mapped
        v4_text = text if mapped is None else str(mapped)  # as written, for the shapes
        if server and _same_address(plain, server):
            return None  # the server's own address: routing, not data
        whole = text == stripped
        out_span = None if whole else span
        if plain.version == 4 and self._netmask(v4_text):
            return None
        if plain.is_loopback or plain.is_unspecified or plain.is_link_local or plain.is_multicast:
            # Identifies no one. Multicast is worth a row only when the field says it
            # holds an address; loopback, unspecified and link-local are decided below.
            conf = 0.6 if hinted else 0.3
            if plain.is_loopback or plain.is_unspecified:
                conf = 0.3  # the host itself, whatever the field is called
            elif plain.is_link_local:
                conf = 0.75 if party else 0.3  # the host's own interface, unless a peer's
            return self.finding(conf, f"{family} valid, non-routable", out_span, True)
        if hinted:
            return self.finding(0.97, f"{family} valid, field name hint", out_span, True)
        if plain.version == 4 and self._version_like(v4_text, versions_nearby):
            return self.finding(0.45, "IPv4 valid, version-like", out_span, True)
        return self.finding(0.9 if whole else 0.8, f"{family} valid", out_span, True)

    @staticmethod
    def _version_like(text: str, versions_nearby: bool) -> bool:
        """`1.0.0.0`, `4.2.1.3`, `3.7.101.18`: assembly and package versions look like
        this; so do network addresses ending in `.0` and public resolvers (`8.8.8.8`),
        neither of which is anyone's address. Two leading single-digit parts are a
        version far more often than an address; next to fields named like versions, a
        small first part is too. Reported only with a hint."""
        octets = text.split(".")
        if octets[-1] == "0" or all(len(o) == 1 for o in octets):
            return True
        if len(octets[0]) == 1 and len(octets[1]) == 1:
            return True
        return versions_nearby and len(octets[0]) <= 2

    @staticmethod
    def _netmask(text: str) -> bool:
        """Contiguous ones then zeros, starting with 255: `255.255.255.0`."""
        if not text.startswith("255."):
            return False
        bits = int(ipaddress.IPv4Address(text))
        inverted = ~bits & 0xFFFFFFFF
        return inverted & (inverted + 1) == 0

    @staticmethod
    def _product_token_before(value: str, start: int) -> bool:
        """`Firefox/115.0.1.2`: a `/` right after a word is a product version; a URL's
        `//host` is not."""
        return start >= 2 and value[start - 1] == "/" and value[start - 2].isalnum()


# Characters that end a URL's authority (RFC 3986 section 3.2), or the URL itself.
_AUTHORITY_END = frozenset("/?# \t\r\n\"'<>")


def _url_host(value: str, start: int) -> bool:
    """The candidate at `start` is the host of a URL: `scheme://[userinfo@]` right
    before it (an IPv6 host in brackets too), nothing of a path in between."""
    if start and value[start - 1] == "[":
        start -= 1
    scheme = value.rfind("://", max(0, start - 256), start)
    if scheme < 0:
        return False
    authority = value[scheme + 3 : start]
    return not any(ch in _AUTHORITY_END for ch in authority) and (
        authority == "" or authority.endswith("@"))


class _Quad:
    """What `_judge` reads of an IPv4 address, as `ipaddress.IPv4Address` answers it
    (`_quad`). A plain class: a NamedTuple costs more to import than its reads save
    on a scan without addresses."""

    __slots__ = ("is_link_local", "is_loopback", "is_multicast", "is_unspecified", "text")
    version: ClassVar[Literal[4]] = 4
    ipv4_mapped: ClassVar[None] = None

    def __init__(self, text: str, is_loopback: bool, is_unspecified: bool,
                 is_link_local: bool, is_multicast: bool) -> None:
        self.text = text
        self.is_loopback = is_loopback
        self.is_unspecified = is_unspecified
        self.is_link_local = is_link_local
        self.is_multicast = is_multicast

    def __str__(self) -> str:
        return self.text


# A dotted quad as `ipaddress.IPv4Address` accepts it (`_parse_octet`): four ASCII
# decimal octets of 0 to 255, without a leading zero.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_QUAD = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")


def _quad(text: str) -> _Quad | None:
    """`ipaddress.ip_address(text)` for a dotted quad, without its cost (a few
    microseconds a call, most of an address's judgement): None where `ipaddress` raises
    (an octet empty, not ASCII digits, longer than three, with a leading zero or above
    255; a text without `:` is no IPv6 address either), else the answers `_judge` reads.
    `str` of the address is the text itself: a quad `ipaddress` accepts is written as
    it writes it, so the special ranges of `ipaddress` read on the text: loopback
    127.0.0.0/8, unspecified 0.0.0.0, link-local 169.254.0.0/16, multicast
    224.0.0.0/4 (a first octet of 224 to 239)."""
    if _QUAD.fullmatch(text) is None:
        return None
    first = int(text[:text.index(".")])
    return _Quad(text, first == 127, text == "0.0.0.0", text.startswith("169.254."),
                 224 <= first <= 239)


def _same_address(
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address | _Quad, server: str
) -> bool:
    """`addr` (an IPv4-mapped address already as the IPv4 one) is the server's."""
    return str(addr) == server.removeprefix("::ffff:")
