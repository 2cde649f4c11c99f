"""Inventory: aggregation per the contract key, the per-field decision, exact merges, CSV."""

from __future__ import annotations

import csv
import io

from classifiers.base import Category, Finding
from dpi.inventory import (
    COLUMNS,
    CONFIDENCE_SAMPLE,
    SETTLE_HIT_AFTER,
    Inventory,
    iso_time,
    occurrence_key,
)
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


# -- the confidence of settled fields ------------------------------------------------

NAME_KEY = ("http", "10.0.0.5:8080", "GET /v1/users", "response", "body", "data[].name")


def _name_finding(value: str) -> list[Finding]:
    # Confidences vary from value to value (0.80 to 0.99), as real classifiers' do.
    return [Finding(data_type="PERSON_NAME", category=Category.PII,
                    confidence=0.80 + int(value[-2:]) % 20 / 100, reason="listed name")]


def _scan_like_the_engine(inv: Inventory, messages: list[tuple[int, bytes, list[str]]]) -> int:
    """Feeds messages as dpi/field_scoring.py does: scored until the field settles, then
    counted, only the values `witnesses` picks scored. Returns the values scored."""
    scored = 0
    for ts, client, values in messages:
        evidence = inv.field(NAME_KEY, "api.shop.example")  # type: ignore[arg-type]
        assert evidence is not None
        evidence.seen += len(values)
        rest = values
        if not evidence.settled_type:
            for i, value in enumerate(values, 1):
                scored += 1
                inv.record(evidence, _name_finding(value), value, ts, client)
                if evidence.settled_type:
                    rest = values[i:]
                    break
            else:
                continue
        if rest:
            inv.repeat(evidence, ts, client, len(rest))
            for value in inv.witnesses(evidence, rest, ts):
                scored += 1
                inv.witness(evidence, _name_finding(value), value, ts)
    return scored


def _messages(count: int) -> list[tuple[int, bytes, list[str]]]:
    # The first 40 messages' values all score 0.80, later ones 0.80 to 0.99.
    return [
        (T0 + n * 1_000_000, bytes([10, 0, n >> 8 & 255, n & 255]),
         [f"person {n}-{k}{(n * 7 + k * 13) % 97 if n >= 40 else 0:02d}" for k in range(3)])
        for n in range(count)
    ]


def test_a_settled_field_reports_the_mean_of_its_sample_not_of_its_first_values() -> None:
    # 1,000 messages, 3,000 values: the field settles after 64 and the rest are only
    # counted, yet the confidence is the mean of the CONFIDENCE_SAMPLE values with the
    # smallest occurrence keys, wherever they came (not that of the first 64 values).
    messages = _messages(1_000)
    inv = Inventory({"PERSON_NAME": 0.5})
    _scan_like_the_engine(inv, messages)
    assert inv.fields[NAME_KEY].settled_type == "PERSON_NAME"  # type: ignore[index]
    values = [(occurrence_key(v, ts), v) for ts, _, vs in messages for v in vs]
    sample = sorted(values)[:CONFIDENCE_SAMPLE]
    expected = round(sum(_name_finding(v)[0].confidence for _, v in sample) / len(sample), 2)
    first = [_name_finding(v)[0].confidence for _, v in values[:SETTLE_HIT_AFTER]]
    assert round(sum(first) / len(first), 2) != expected  # the case tells them apart
    (row,) = inv.rows()
    assert (row.count, row.confidence) == (3_000, expected)


def test_a_settled_field_reports_one_confidence_however_its_values_were_split() -> None:
    messages = _messages(4_000)
    whole = Inventory({"PERSON_NAME": 0.5})
    scored = _scan_like_the_engine(whole, messages)
    # After settling few values are scored: the sample's keys only fall.
    assert scored < 3_000  # of 12,000
    for split in (lambda n: n % 2, lambda n: n % 3 == 0, lambda n: n < 500):
        parts = [Inventory({"PERSON_NAME": 0.5}, salt=whole.salt) for _ in range(2)]
        for side, part in enumerate(parts):
            _scan_like_the_engine(
                part, [m for n, m in enumerate(messages) if int(split(n)) == side]
            )
        parts[1].merge(parts[0])
        assert parts[1].rows() == whole.rows()
