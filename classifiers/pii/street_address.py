"""STREET_ADDRESS: a postal street address (house number and street), several languages.

No single standard: the shapes follow the postal conventions of UPU S42 as written in
practice. Two orders are recognised:
- number first (US, UK, FR, AU...): `742 Evergreen Terrace`, `12 rue de l'Exemple`;
- street first, number after (DE, NL, ES, IT, PT, Nordics): `Musterstraße 12a`,
  `Calle Ficticia 23`, `Via Inventata 7`, `Voorbeeldstraat 101`.
Street words and suffixes: English, German, French, Spanish, Italian, Dutch, Portuguese,
including compound German/Dutch suffixes (`-straße`, `-str.`, `-weg`, `-straat`,
`-gracht`).

Evidence: hint + shape (strong); hint alone with letters and digits (`Flat 3, Block B7`,
medium: address lines are free-form); shape without a hint stays under the reporting
threshold (`3 Way Handshake` and titles look alike).

A network address is no street address: a value holding an IP address or a `host:port`
(Elasticsearch's `transport_address: inet[/192.0.2.7:9300]`, `[::1]:9200`) is not one,
and network words in the field name (`transport`, `publish`, `bound`, `bind`, `http`,
`ip`, `remote`, `local`, `socket`...) cancel the `address` hint.

An organisation's address (`merchantAddress`, an `address` beside `shopName` with no
person field) is not a person's: no finding (`_organisations.py`).

Not covered: addresses inside longer free text, PO boxes without street words, CJK
addresses (block/chome forms), the city/postcode lines (POSTAL_CODE covers the code).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._organisations import RECORD_WORDS, organisation_record
from classifiers.base import (
    DIGIT,
    LETTERS,
    Category,
    DeclarativeClassifier,
    FieldContext,
    Rung,
    Shape,
    ValueGate,
)

# Street words, lower case: English (with USPS C1 abbreviations), French, Spanish,
# Italian, Portuguese, German and Dutch as separate words.
_STREET_WORDS = (
    r"street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl"
    r"|terrace|ter|highway|hwy|parkway|pkwy|circle|cir|square|sq|crescent|cres|close|row"
    r"|alley|trail|trl|mews|grove|gardens|walk|hill"
    r"|rue|chemin|allée|allee|impasse|quai|cours|route"
    r"|calle|c/|avenida|avda|plaza|paseo|carrera|camino|carretera|travesía|ronda"
    r"|via|viale|piazza|corso|vicolo|largo"
    r"|rua|travessa|praça|praca|estrada"
    r"|straße|strasse|str|weg|gasse|platz|allee|ring|damm|ufer|chaussee"
    r"|straat|laan|plein|gracht|kade|singel|dijk"
)
# Number first: `742 Evergreen Terrace`, `12 rue de l'Exemple`, `12b, Rue ...`.
_NUMBER_FIRST = re.compile(
    rf"\d{{1,6}}[a-z]?,?\s+(?:[\w'.-]+\s+){{0,4}}?(?:{_STREET_WORDS})\b\.?"
    rf"|\d{{1,6}}[a-z]?,?\s+(?:{_STREET_WORDS})\b",
    re.IGNORECASE,
)
# Street first: a street word (alone or as a compound suffix) then a house number.
_STREET_FIRST = re.compile(
    rf"(?:\w*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|straat|laan|plein"
    rf"|gracht|kade|singel)|(?:{_STREET_WORDS})\.?\s+[\w'.\- ]{{1,40}}?)\s*,?\s+\d{{1,5}}"
    rf"\s?[a-z]?\b",
    re.IGNORECASE,
)
# Field names that say `address` but mean a network or memory address.
_NOT_POSTAL = frozenset(
    {
        "ip",
        "email",
        "mac",
        "wallet",
        "memory",
        "server",
        "host",
        "remote",
        "local",
        "web",
        "url",
        "bitcoin",
        "eth",
        "contract",
        "hardware",
        "mail",
        "node",
        "peer",
        "socket",
        "city",
        "country",
        "zip",
        "postal",
        "state",
        "region",
        "phone",
        # where a server listens or publishes (Elasticsearch `transport.publish_address`,
        # `http.bound_address`, `bind_address`): a socket address
        "transport",
        "publish",
        "bound",
        "bind",
        "http",
        "https",
    }
)
# Sub-fields of an address object that hold the street line.
# (`address.lines[]`, `address.line1`, FHIR `address[].line[]`)
_LINE_TOKENS = frozenset({"line", "lines", "line1", "line2", "street", "1", "2", "3",
                          "address"})
# Sibling fields that make an object a postal address, so that its `line1` / `line2` are
# street lines without an `address` parent (`billing.line1` next to `city`, `postal_code`).
_ADDRESS_SIBLINGS = frozenset({"city", "postal", "zip", "country", "state", "province",
                               "locality", "region"})
_MAX_CHARS = 200  # a street line with flat and building fits; longer is prose
_ASCII_DIGIT = re.compile(r"[0-9]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
# Separators around a network address inside a value (`inet[/192.0.2.7:9300]`,
# `[::1]:9200, 10.0.0.5:9300`): a bracketed IPv6 address is then a token of its own.
_NETWORK_SEPARATORS = re.compile(r"[\s,;/()=\[\]]+")
# A host name before `:port`: DNS labels, at least one letter (`es-node-1`, `localhost`,
# and the bare service names of Compose and Kubernetes: `db:5432`, `redis:6379`).
_HOST_NAME = re.compile(r"(?=[\w.-]*[A-Za-z])[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
# Unit designators that hand-typed street lines write before a colon (`Apt:12`,
# `Suite:200`, `Room A:101`): never a host.
_UNIT_WORDS = frozenset({
    "apt", "apartment", "suite", "ste", "unit", "flat", "room", "rm", "fl", "floor",
    "level", "lvl", "bldg", "building", "lot", "no", "box", "po", "dept", "a", "b", "c", "d",
    "ap", "app", "appt", "apto", "dpto", "depto", "piso", "of", "ofc", "office", "whg",
})


_HINTS: frozenset[str] = frozenset({
    "address", "street", "residence", "domicile", "strasse", "straße", "anschrift",
    "calle", "indirizzo", "endereco", "adres", "rue",
})


def _hinted(ctx: FieldContext) -> bool | None:
    """True: hinted; False: no hint; None: hinted as a non-postal address."""
    tokens = ctx.name_tokens
    if not tokens.isdisjoint(_NOT_POSTAL) and "street" not in tokens:
        return None if "address" in tokens or "addr" in tokens else False
    if not _HINTS.isdisjoint(tokens):
        return True
    # `shipping.address.line1`: the parent says address, the leaf says street line.
    if not tokens.isdisjoint(_LINE_TOKENS) and ("line" in tokens or "lines" in tokens):
        return "address" in ctx.path_tokens or (
            len(ctx.sibling_tokens & _ADDRESS_SIBLINGS) >= 2)
    return "address" in ctx.path_tokens and not tokens.isdisjoint(_LINE_TOKENS)


def _network_address(value: str) -> bool:
    """The value holds an IP address or a `host:port` (2 to 5 port digits): no street
    line does. Cheap for street lines: only values with a colon or three dots are split."""
    if ":" not in value and value.count(".") < 3:
        return False
    for token in _NETWORK_SEPARATORS.split(value):
        host, colon, port = token.rpartition(":")
        if (colon and host and port.isdigit() and 2 <= len(port) <= 5
                and ((_HOST_NAME.fullmatch(host) is not None
                      and host.lower() not in _UNIT_WORDS) or _ip(host))):
            return True
        if _ip(token):
            return True
    return False


def _ip(text: str) -> bool:
    """An IPv4 or IPv6 address (an IPv6 zone `%eth0` allowed)."""
    if len(text) < 2 or ("." not in text and ":" not in text):
        return False
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _shaped(value: str) -> bool:
    return bool(_NUMBER_FIRST.match(value) or _STREET_FIRST.match(value))


def _street_line(value: str) -> bool:
    """Letters and digits that are not one token starting with a digit (`0x7f...`)."""
    return value.count(" ") > 0 or value[0].isalpha()


def _field_hinted(ctx: FieldContext) -> bool:
    return _hinted(ctx) is True


def _organisation(ctx: FieldContext) -> bool:
    """A shop's or company's address (`merchantAddress`, `address` next to `shopName`):
    organisations are not people."""
    return organisation_record(ctx.path_tokens, ctx.sibling_tokens)


class StreetAddressClassifier(DeclarativeClassifier):
    data_type: ClassVar[str] = "STREET_ADDRESS"
    category: ClassVar[Category] = Category.PII
    # Sibling tokens asked about: address parts beside a line, an organisation's record.
    context_words: ClassVar[frozenset[str] | None] = _ADDRESS_SIBLINGS | RECORD_WORDS
    gate_reads_server: ClassVar[bool] = False
    # Canonical tokens plus street/address words of other languages not in _hints.
    hints: ClassVar[frozenset[str]] = _HINTS
    min_len: ClassVar[int] = 4
    max_len: ClassVar[int] = _MAX_CHARS
    # Hint-driven, with free-form values: half the values must look like addresses.
    min_share: ClassVar[float] = 0.5
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"street": lambda n, classes: DIGIT in classes and not classes.isdisjoint(LETTERS)
         and "@" not in classes}
    )
    # Unhinted, the best an address shape earns is 0.45 (under the threshold), and only
    # the multi-word shape is worth a regex run.
    shapes = (
        Shape("street address shape", _shaped, gate="street",
              ladder=(Rung(None, when=_organisation),
                      Rung(0.9, "field name hint", _field_hinted))),
        Shape("letters and digits", _street_line, gate="street",
              ladder=(Rung(None, when=_organisation),
                      Rung(0.6, "field name hint", _field_hinted))),
        Shape("street address shape", lambda v: " " in v and _shaped(v), gate="street",
              ladder=(Rung(0.45, when=lambda ctx: _hinted(ctx) is False),)),
    )

    def prepare(self, value: str) -> str | None:
        value = value.strip()
        if not 4 <= len(value) <= _MAX_CHARS:
            return None
        # An address needs both a number and a word.
        if value.isascii():
            # In ASCII `isdigit` is 0-9 and `isalpha` A-Z, a-z: two scans in C.
            if _ASCII_DIGIT.search(value) is None or _ASCII_LETTER.search(value) is None:
                return None
        elif not any(ch.isdigit() for ch in value) or not any(ch.isalpha() for ch in value):
            return None
        if "@" in value or "://" in value or _network_address(value):
            return None
        return value
