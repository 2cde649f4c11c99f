"""Inventory: aggregation per the contract key, the per-field decision, exact merges, CSV."""

from __future__ import annotations

import csv
import io

from classifiers.base import Category, Finding
from dpi.inventory import COLUMNS, Inventory, iso_time
from dpi.outputs.contract import to_csv, to_json

KEY = ("http", "10.0.0.5:8080", "POST /v1/users", "request", "body", "card.number")
T0 = 1_764_324_902_123_000_000  # 2025-11-28T10:15:02.123Z


def _card(confidence: float = 0.97) -> Finding:
    return Finding(
        data_type="CARD_NUMBER",
        category=Category.PCI,
        confidence=confidence,
        reason="pattern pan, checksum valid",
        validated=True,
    )


def _feed(inv: Inventory, key: tuple[str, ...], values: list[tuple[str, bool, int, bytes]]) -> None:
    for value, hit, ts, client in values:
        evidence = inv.field(key, "api.shop.example")  # type: ignore[arg-type]
        assert evidence is not None
        evidence.seen += 1
        inv.record(evidence, [_card()] if hit else [], value, ts, client)


def test_iso_time_has_milliseconds_and_z() -> None:
    assert iso_time(T0) == "2025-11-28T10:15:02.123Z"


def test_one_row_per_key_with_counts_times_clients_and_masked_sample() -> None:
    inv = Inventory({"CARD_NUMBER": 0.6})
    _feed(
        inv,
        KEY,
        [
            ("5555555555554444", True, T0 + 5_000_000_000, b"\x0a\x00\x00\x02"),
            ("4111111111111111", True, T0, b"\x0a\x00\x00\x01"),
            ("4111111111111111", True, T0 + 1_000_000, b"\x0a\x00\x00\x01"),
        ],
    )
    (row,) = inv.rows()
    assert (row.protocol, row.server, row.host, row.api) == (
        "http", "10.0.0.5:8080", "api.shop.example", "POST /v1/users"
    )
    assert (row.direction, row.location, row.field) == ("request", "body", "card.number")
    assert (row.data_type, row.category, row.count, row.clients) == ("CARD_NUMBER", "PCI", 3, 2)
    assert row.first_seen == "2025-11-28T10:15:02.123Z"
    assert row.last_seen == "2025-11-28T10:15:07.123Z"
    assert row.sample == "************1111"  # the earliest value, masked
    assert row.confidence == 0.97


def test_field_with_few_passing_values_is_not_reported() -> None:
    inv = Inventory({"CARD_NUMBER": 0.6})
    values = [(f"{i:016d}", i % 10 == 0, T0 + i, b"\x01\x02\x03\x04") for i in range(100)]
    _feed(inv, KEY, values)
    assert inv.rows() == []


def test_field_with_most_values_passing_is_reported() -> None:
    inv = Inventory({"CARD_NUMBER": 0.6})
    values = [("4111111111111111", i % 10 != 0, T0 + i, b"\x01\x02\x03\x04") for i in range(100)]
    _feed(inv, KEY, values)
    (row,) = inv.rows()
    assert row.count == 90


def test_merge_of_partial_inventories_equals_one_inventory() -> None:
    values = [
        ("4111111111111111", True, T0 + i * 1000, bytes([10, 0, 0, i % 7])) for i in range(40)
    ]
    whole = Inventory({"CARD_NUMBER": 0.6})
    _feed(whole, KEY, values)
    left, right = Inventory({"CARD_NUMBER": 0.6}), Inventory({"CARD_NUMBER": 0.6})
    _feed(left, KEY, values[25:])
    _feed(right, KEY, values[:25])
    left.merge(right)
    assert left.rows() == whole.rows()


def test_csv_has_contract_header_order_and_sorting() -> None:
    inv = Inventory({"CARD_NUMBER": 0.6})
    other = ("http", "10.0.0.5:8080", "GET /a", "response", "body", 'say "hi", ok')
    _feed(inv, KEY, [("4111111111111111", True, T0, b"\x01\x01\x01\x01")])
    _feed(inv, other, [("4111111111111111", True, T0, b"\x01\x01\x01\x01")])
    text = to_csv(inv.rows())
    parsed = list(csv.reader(io.StringIO(text)))
    assert tuple(parsed[0]) == COLUMNS
    assert [r[3] for r in parsed[1:]] == ["GET /a", "POST /v1/users"]
    assert parsed[1][6] == 'say "hi", ok'  # RFC 4180 quoting round-trips
    assert text.endswith("\r\n")
    assert '"4111111111111111"' not in text and "4111111111111111" not in to_json(inv.rows())


def test_weak_evidence_needs_three_hits_strong_evidence_one() -> None:
    weak = Finding(data_type="NPI", category=Category.PHI, confidence=0.55,
                   reason="checksum valid", validated=True)
    inv = Inventory({"NPI": 0.8, "CARD_NUMBER": 0.6})
    lucky = ("grpc", "10.0.0.5:9001", "/ts.Q/Stream", "request", "body", "1.3")
    for i in range(2):
        evidence = inv.field(lucky, "")
        assert evidence is not None
        evidence.seen += 1
        inv.record(evidence, [weak], "1700006400", T0 + i, b"\x01\x01\x01\x01")
    assert inv.rows() == []  # two lucky check digits are not a field of NPIs
    evidence = inv.field(lucky, "")
    assert evidence is not None
    evidence.seen += 1
    inv.record(evidence, [weak], "1700006400", T0 + 3, b"\x01\x01\x01\x01")
    assert [r.data_type for r in inv.rows()] == ["NPI"]
    _feed(inv, KEY, [("4111111111111111", True, T0, b"\x01\x01\x01\x01")])  # strong: one is enough
    assert {r.data_type for r in inv.rows()} == {"NPI", "CARD_NUMBER"}
