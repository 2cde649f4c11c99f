"""One budget for everything held per flow (`max_held_bytes_total`): crafted captures
of many connections stuck mid-body, scanned with a small budget. What is held stays
under it (the engine's running count and tracemalloc), the least recently active flows
are closed first and counted, and what they held is emitted as incomplete messages, so
their sensitive headers still give rows."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

from dpi.engine import Engine
from dpi.limits import apply_limits
from dpi.runs.scanner import expand, scan_inputs
from tests.builders.frames import ACK, PSH, SYN, pcap_file, tcp_frame

ROOT = Path(__file__).resolve().parents[2]
FLOWS = 2000
BODY_SEEN = 6000  # of a declared 60,000: the rest never comes
BUDGET = 1 << 20


def _stuck_uploads(path: Path, flows: int = FLOWS) -> Path:
    """`flows` connections, one after the other, each sending a request head with an
    Authorization header and the first BODY_SEEN bytes of a JSON body, then nothing."""
    frames: list[tuple[int, bytes]] = []
    ts = 1_768_467_600 * 1_000_000_000
    for i in range(flows):
        port = 20000 + i
        body = b'{"note": "' + b"n" * BODY_SEEN
        head = (
            f"POST /v1/files HTTP/1.1\r\nHost: api.shop.example\r\n"
            f"Authorization: Bearer tok{i:05d}.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlX3ZhbHVl\r\n"
            "Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n"
        ).encode()
        client, server = {"sport": port, "dport": 8080}, {"sport": 8080, "dport": port}
        for flags, side, seq, ack, payload in (
            (SYN, client, 1000, 0, b""),
            (SYN | ACK, server, 5000, 1001, b""),
            (ACK, client, 1001, 5001, b""),
            (PSH | ACK, client, 1001, 5001, head + body[:BODY_SEEN]),
        ):
            ts += 1_000_000
            frames.append((ts, tcp_frame(payload, flags=flags, seq=seq, ack=ack, **side)))
    path.write_bytes(pcap_file(frames))
    return path


def _scan(path: Path, overrides: dict[str, int]) -> tuple[Engine, int]:
    limits, reassembly = apply_limits(overrides)
    engine = Engine(limits=limits, reassembly=reassembly)
    tracemalloc.start()
    try:
        scan_inputs(engine, expand([path], []))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return engine, peak


def test_many_stuck_uploads_stay_within_the_budget_and_still_give_rows(tmp_path: Path) -> None:
    capture = _stuck_uploads(tmp_path / "stuck.pcap")
    small, small_peak = _scan(capture, {"max_held_bytes_total": BUDGET})
    large, large_peak = _scan(capture, {})
    # Without the bound every upload is held to the end: about 12 MB of bodies.
    assert large.router.held_bytes_peak >= FLOWS * BODY_SEEN
    assert large.stats.limits_hit["max_held_bytes_total"] == 0
    # With it: never more than the budget plus the one segment that crossed it.
    assert small.router.held_bytes_peak <= BUDGET + BODY_SEEN + 300
    evicted = small.stats.limits_hit["max_held_bytes_total"]
    assert FLOWS - BUDGET // BODY_SEEN - 1 <= evicted < FLOWS
    assert small.reassembler.stats.held_evictions == evicted
    assert small_peak < large_peak / 2, (small_peak, large_peak)
    assert small.router.held_bytes == 0  # everything released at the end
    # Evicted flows were closed as at the end of a capture: every head was emitted.
    for engine in (small, large):
        assert engine.stats.anomalies["incomplete_message"] == FLOWS
        (auth,) = [r for r in engine.inventory.rows() if r.field == "authorization"]
        assert auth.data_type == "BEARER_TOKEN" and auth.count == FLOWS


def test_budget_set_with_limit_on_the_command_line(tmp_path: Path) -> None:
    capture = _stuck_uploads(tmp_path / "stuck.pcap", flows=300)
    summary = tmp_path / "summary.json"
    result = subprocess.run(
        [sys.executable, "-m", "dpi", "scan", str(capture), "--no-progress", "--limit",
         "max_held_bytes_total=256k", "--summary-json", str(summary)],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    hits = json.loads(summary.read_text())["limits_hit"]
    assert hits["max_held_bytes_total"] >= 300 - (256 << 10) // BODY_SEEN - 1
    assert "max_held_bytes_total" in result.stderr  # the summary's `limits hit:` line
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["field"], r["data_type"], r["count"]) for r in rows if r["location"] == "header"] == [
        ("authorization", "BEARER_TOKEN", "300")
    ]
