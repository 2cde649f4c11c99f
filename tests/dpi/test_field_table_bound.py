"""The inventory's field table is bounded (`max_fields`), and reaching the bound is never
silent (issue #16): fields that never matched are evicted first, a field with sensitive
evidence is never dropped to keep one without, every eviction or refusal counts in
`limits_hit`, a warning gives the counts, and `--strict` fails.

The bound is lowered through the limits mechanism (`--limit max_fields=N`) so that the
crafted captures stay small.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dpi.engine import Engine
from dpi.inventory import FIELD_TABLE_FULL
from dpi.limits import INVENTORY_LIMIT, apply_limits
from dpi.runs.scanner import expand, scan_inputs
from tests.builders.conversation import Conversation, http_request, http_response

CARD = "4111 1111 1111 1111"
LIMIT = 16


def _capture(path: Path, bodies: list[dict[str, str]]) -> Path:
    conv = Conversation(sport=8080).handshake()
    for body in bodies:
        conv.request(http_request("POST", "/v1/forms", json.dumps(body).encode()))
        conv.response(http_response(b""))
    return conv.close().write(path)


def _clean_then_card(path: Path) -> Path:
    """200 clean fields (ten requests of 20), then three requests with a card number."""
    clean = [{f"f{n}_{i}": "hello world" for i in range(20)} for n in range(10)]
    return _capture(path, [*clean, *[{"card_number": CARD}] * 3])


def _scan(path: Path, max_fields: int = LIMIT) -> Engine:
    limits, reassembly = apply_limits({"max_fields": max_fields})
    engine = Engine(limits=limits, reassembly=reassembly)
    scan_inputs(engine, expand([path], []))
    return engine


def test_clean_fields_then_a_card_number_still_give_the_card_row(tmp_path: Path) -> None:
    engine = _scan(_clean_then_card(tmp_path / "clean-then-card.pcap"))
    rows = engine.inventory.rows()
    assert [(r.field, r.data_type, r.count) for r in rows] == [("card_number", "CARD_NUMBER", 3)]
    inventory = engine.inventory
    assert len(inventory.fields) <= LIMIT
    # 200 clean fields + the card field went through a table of 16.
    assert inventory.evicted_fields >= 200 + 1 - LIMIT
    assert inventory.dropped_fields == 0
    assert engine.stats.limits_hit[INVENTORY_LIMIT] == inventory.evicted_fields
    (warning,) = [w for w in engine.stats.warnings if w.startswith(FIELD_TABLE_FULL)]
    assert f"{inventory.evicted_fields} field(s) that never matched were evicted" in warning
    assert "hello" not in warning and "f1_" not in warning  # counts, never names or values


def test_sensitive_fields_are_never_evicted_for_clean_ones(tmp_path: Path) -> None:
    emails = {f"contact_{i}": f"person{i}@corp-mail.io" for i in range(LIMIT)}
    clean = [{f"note_{n}_{i}": "hello world" for i in range(5)} for n in range(4)]
    engine = _scan(_capture(tmp_path / "full-of-evidence.pcap", [emails, *clean]))
    rows = engine.inventory.rows()
    assert {r.field for r in rows} == set(emails)
    inventory = engine.inventory
    # Only the clean header fields of the first request could make room; the 20 clean
    # body fields after it (and their headers) were refused, and counted.
    assert inventory.evicted_fields <= 3
    assert inventory.dropped_fields >= 20
    assert all(evidence.types for evidence in inventory.fields.values())
    assert engine.stats.limits_hit[INVENTORY_LIMIT] == inventory.lost_fields


def test_no_bound_hit_means_no_count_and_no_warning(tmp_path: Path) -> None:
    engine = _scan(_clean_then_card(tmp_path / "roomy.pcap"), max_fields=10_000)
    assert INVENTORY_LIMIT not in engine.stats.limits_hit
    assert not [w for w in engine.stats.warnings if w.startswith(FIELD_TABLE_FULL)]
    assert engine.inventory.evicted_fields == engine.inventory.dropped_fields == 0


def test_strict_fails_when_the_field_table_was_full(tmp_path: Path) -> None:
    capture = _clean_then_card(tmp_path / "strict.pcap")
    summary = tmp_path / "summary.json"
    base = [sys.executable, "-m", "dpi", "scan", str(capture), "--no-progress",
            "--limit", f"max_fields={LIMIT}", "--summary-json", str(summary)]
    relaxed = subprocess.run(base, capture_output=True, text=True, timeout=120, check=False)
    assert relaxed.returncode == 0, relaxed.stderr[-2000:]
    assert "CARD_NUMBER" in relaxed.stdout
    assert FIELD_TABLE_FULL in relaxed.stderr
    assert json.loads(summary.read_text())["limits_hit"][INVENTORY_LIMIT] > 0
    strict = subprocess.run([*base, "--strict"], capture_output=True, text=True, timeout=120, check=False)
    assert strict.returncode == 1
