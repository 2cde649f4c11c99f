"""STREET_ADDRESS: hint plus house number and street words in several languages."""

from __future__ import annotations

import pytest

from classifiers.base import REPORT_THRESHOLD
from classifiers.pii.street_address import StreetAddressClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = StreetAddressClassifier()


POSITIVES = [
    ("742 Evergreen Terrace", "address", 0.85),
    ("12 Fake Street Apt 4B", "street", 0.85),
    ("1 Sample Ave", "shipping.address.line1", 0.85),
    ("Musterstraße 12a", "adresse", 0.85),
    ("Beispielstr. 5", "strasse", 0.6),
    ("12 rue de l'Exemple", "address", 0.85),
    ("Calle Ficticia 23, 2º", "direccion", 0.85),
    ("Via Inventata 7", "addr", 0.85),
    ("Voorbeeldstraat 101", "address_line_1", 0.85),
    ("Flat 3, Block B7", "address", 0.6),  # hint alone, letters and digits
    ("742 Evergreen Terrace", "location", 0.45),  # shape alone stays weak
]

NEGATIVES = [
    ("742 Evergreen Terrace", "description_x"),  # reported only weakly, see threshold
    ("10.0.0.5", "ip_address"),
    ("jane@mail-host.io", "email_address"),
    ("00:1a:2b:3c:4d:5e", "mac_address"),
    ("Springfield", "address"),  # no digits: a city, not a street address
    ("12345", "address"),  # no letters
    ("0x7ffdf2a0", "memory_address"),
    ("3 items in cart", "note"),
    ("Release 2 Way", "title"),
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_address_is_found(value: str, path: str, minimum: float) -> None:
    assert_reported(CLF.score(value, ctx(path)), minimum)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_near_miss_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


def test_shape_without_hint_stays_under_threshold() -> None:
    found = CLF.score("742 Evergreen Terrace", ctx("location"))
    assert found is not None and found.confidence < REPORT_THRESHOLD


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    words = [word for word in value.split() if len(word) > 3]
    assert_reason_hides(CLF.score(value, ctx(path)), *words)


# Network addresses under `*_address` fields (issue #15: Elasticsearch's node info):
# a value that holds an IP address or a `host:port` is no street address, whatever the
# field is called; and network words in the field name cancel the `address` hint.
NETWORK_VALUES = [
    "inet[/192.0.2.121:9300]",
    "inet[/0:0:0:0:0:0:0:1:9300]",
    "192.0.2.121:9300",
    "[::1]:9200",
    "[fe80::1%eth0]:9300",
    "fe80::1%eth0",
    "es-node-1:9300",
    "localhost:9200",
    "db:5432",
    "redis:6379",
    "100 Main Street, es01:9300",
    "node7.cluster.example:9300",
    "Gateway 192.0.2.1",
    "publish 10.0.0.5:9300, bound [::]:9300",
]
NETWORK_FIELDS = [
    "transport_address", "http_address", "http.publish_address", "http.bound_address",
    "transport.publish_address", "bind_address", "publishAddress", "boundAddress",
    "remote_address", "local_address", "socket_address", "ip_address", "https_address",
]  # fmt: skip


@pytest.mark.parametrize("path", ["address", "transport_address", "street", "address.line1"])
@pytest.mark.parametrize("value", NETWORK_VALUES)
def test_a_network_address_value_is_no_street_address(value: str, path: str) -> None:
    assert CLF.score(value, ctx(path)) is None


@pytest.mark.parametrize("path", NETWORK_FIELDS)
@pytest.mark.parametrize("value", ["742 Evergreen Terrace", "Flat 3, Block B7", "node-7 rack 12"])
def test_network_words_in_the_name_cancel_the_hint(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


@pytest.mark.parametrize(
    "value",
    ["Level 2:12 Collins St", "Suite 5, 10:30 Main St", "No. 5, Lane 3, Sec. 2, Main Rd.",
     "1.2.3 Main Street", "Calle Ficticia 23, 2º", "742 Evergreen Terrace",
     "Apt:12, 5 Main Street", "Suite:200, 1 Market Street", "Room A:101, 5 College Rd",
     "Ap:12 Rua Augusta 100"],
)  # fmt: skip
def test_street_lines_with_colons_and_dots_stay_addresses(value: str) -> None:
    # Times, unit:number and section numbers are not network addresses.
    assert_reported(CLF.score(value, ctx("shipping_address")), 0.6)
