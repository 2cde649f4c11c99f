"""Payload decoding through the whole scan, from crafted HTTP captures to inventory rows
and summary counters: object keys that are data (`{key}`, issue #15 item 1), the key
and path bounds (issue #16, "a 50 KB capture takes 2 GB"), damaged JSON recovered and
counted (issue #16, "parse failures are silent") and percent-encoded cookies (issue #15
item 9)."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path

import orjson
import pytest

from dpi.api import scan_engine
from dpi.cli import main
from tests.builders.conversation import Conversation, http_request, http_response

CARD = "4111111111111111"


def _scan(capture: Path, out: Path) -> tuple[list[dict[str, str]], dict[str, dict[str, int]]]:
    status = main(["scan", str(capture), "-o", str(out / "inv.csv"), "--no-progress",
                   "--summary-json", str(out / "summary.json")])  # fmt: skip
    assert status == 0
    with (out / "inv.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows, json.loads((out / "summary.json").read_text())


def _exchanges(path: Path, exchanges: list[tuple[bytes, bytes]]) -> Path:
    conv = Conversation().handshake()
    for request, response in exchanges:
        conv.request(request).response(response)
    return conv.close().write(path)


def _fields(rows: list[dict[str, str]]) -> set[tuple[str, str, str]]:
    return {(row["api"], row["field"], row["data_type"]) for row in rows}


def test_maps_keyed_by_versions_and_emails_give_one_row_each(tmp_path: Path) -> None:
    # An npm-registry-like document: one row for all versions, not one per version.
    versions = {f"1.{i}.{i % 3}" + ("-beta.1" if i % 5 == 0 else ""):
                {"version": "x", "maintainers": [{"name": "npm", "email": f"dev{i}@acme.io"}]}
                for i in range(40)}  # fmt: skip
    registry = {"name": "pkg", "versions": versions, "time": {v: "2024-01-01T00:00:00Z" for v in versions}}
    subscribers = {"subscribers": {f"user{i}@acme.io": {"since": 2020 + i % 4} for i in range(5)}}
    capture = _exchanges(tmp_path / "keys.pcap", [
        (http_request("GET", "/pkg"), http_response(orjson.dumps(registry))),
        (http_request("GET", "/lists/7/subscribers"), http_response(orjson.dumps(subscribers))),
    ])  # fmt: skip
    rows, _ = _scan(capture, tmp_path)
    fields = _fields(rows)
    assert ("GET /pkg", "versions.{key}.maintainers[].email", "EMAIL_ADDRESS") in fields
    assert ("GET /lists/{id}/subscribers", "subscribers.{key}", "EMAIL_ADDRESS") in fields
    assert not [row["field"] for row in rows if "1." in row["field"] or "@" in row["field"]]
    row = next(r for r in rows if r["field"] == "versions.{key}.maintainers[].email")
    assert row["count"] == "40"
    # `{key}` reads as no field name: no version string is taken for an API key.
    assert not [r for r in rows if r["category"] == "SECRET"]


def _key_bomb() -> bytes:
    """`{"<100k x A>": {"f0": 0, ..., "f19999": 19999}}` (issue #16)."""
    inner = b",".join(b'"f%d":%d' % (i, i) for i in range(20_000))
    return b'{"' + b"A" * 100_000 + b'":{' + inner + b"}}"


def test_long_key_above_many_leaves_is_cut_counted_and_small(tmp_path: Path) -> None:
    capture = _exchanges(tmp_path / "bomb.pcap", [
        (http_request("POST", "/v1/import", _key_bomb()), http_response(b"{}")),
    ])  # fmt: skip
    tracemalloc.start()
    try:
        engine = scan_engine(capture)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert engine.stats.limits_hit["key_too_long"] == 1
    assert peak < 150_000_000  # was above 2 GB
    _, summary = _scan(capture, tmp_path)
    assert summary["limits_hit"]["key_too_long"] == 1


def _bulk() -> bytes:
    lines = [{"index": {"_index": "users", "_id": "1"}}, {"name": "x", "contact": "sam@acme.io"},
             {"index": {"_index": "users", "_id": "2"}}, {"name": "y", "contact": "jo@acme.io"}]  # fmt: skip
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


@pytest.mark.parametrize(
    ("body", "field", "data_type", "anomaly"),
    [
        (b'{"score": NaN, "email": "sam@acme.io"}', "email", "EMAIL_ADDRESS",
         "json_nonstandard"),
        (b'{"note": "caf\xe9", "card_number": "' + CARD.encode() + b'"}', "card_number",
         "CARD_NUMBER", "json_invalid_utf8"),
        (b'{"email": "sam@acme.io"}\x00\x00garbage', "email", "EMAIL_ADDRESS",
         "json_trailing_data"),
        (b'{"email": "sam@acme.io", "deep": ' + b"[" * 2000 + b"]" * 2000 + b"}", "email",
         "EMAIL_ADDRESS", "json_depth_limit"),
        (_bulk(), "contact", "EMAIL_ADDRESS", None),
    ],
    ids=["nan", "invalid-utf8", "trailing-bytes", "too-deep", "ndjson-bulk"],
)  # fmt: skip
def test_json_that_does_not_parse_is_still_scanned_and_counted(
    tmp_path: Path, body: bytes, field: str, data_type: str, anomaly: str | None
) -> None:
    capture = _exchanges(tmp_path / "damaged.pcap", [
        (http_request("POST", "/v1/users/_bulk", body), http_response(b'{"ok": true}')),
    ])  # fmt: skip
    rows, summary = _scan(capture, tmp_path)
    assert ("POST /v1/users/_bulk", field, data_type) in _fields(rows)
    counted = {**summary["anomalies"], **summary["limits_hit"]}
    json_kinds = {kind for kind in counted if kind.startswith("json_")}
    assert json_kinds == ({anomaly} if anomaly else set())


def test_percent_encoded_email_in_a_cookie_is_found(tmp_path: Path) -> None:
    request = http_request("GET", "/account", headers={"Cookie": "theme=dark; login=sam.jones%40acme.io"})
    capture = _exchanges(tmp_path / "cookie.pcap", [(request, http_response(b"{}"))])
    rows, _ = _scan(capture, tmp_path)
    assert ("GET /account", "login", "EMAIL_ADDRESS") in _fields(rows)
