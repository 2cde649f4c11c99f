"""Damaged captures through the command line (issue #9; spec/inventory.md, exit status).

Each file is crafted: a short HTTP exchange that carries an e-mail address, then the
damage. The scan must say what happened in a one-line warning that names the place,
keep the data before the damage, never print a traceback, and exit 0 (scanned, even
with warnings) or 2 (nothing readable); `--strict` makes warnings exit 1.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.builders.frames import (
    ACK,
    FIN,
    PSH,
    SYN,
    Pcapng,
    pcap_file,
    pcap_header,
    pcap_record,
    tcp_frame,
)

ROOT = Path(__file__).resolve().parents[1]
EMAIL = "dana.damaged@example.org"


def _exchange() -> list[bytes]:
    """Handshake, a POST with a JSON e-mail and its answer, on 10.0.0.1 -> 10.0.0.2:80."""
    body = json.dumps({"email": EMAIL}).encode()
    request = (
        b"POST /v1/users HTTP/1.1\r\nHost: api.example\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    ) + body
    response = b"HTTP/1.1 204 No Content\r\n\r\n"
    c, s = 1000, 5000
    return [
        tcp_frame(seq=c, flags=SYN, sport=40000, dport=80),
        tcp_frame(seq=s, ack=c + 1, flags=SYN | ACK, sport=80, dport=40000),
        tcp_frame(request, seq=c + 1, ack=s + 1, flags=PSH | ACK, sport=40000, dport=80),
        tcp_frame(response, seq=s + 1, ack=c + 1 + len(request), flags=PSH | ACK, sport=80, dport=40000),
        tcp_frame(seq=c + 1 + len(request), ack=s + 1 + len(response), flags=FIN | ACK, sport=40000, dport=80),
    ]


def _scan(tmp_path: Path, *files: Path, strict: bool = False) -> tuple[int, str, str, dict[str, Any]]:
    summary = tmp_path / "summary.json"
    args = [sys.executable, "-m", "dpi", "scan", *map(str, files), "--no-progress",
            "--summary-json", str(summary)]  # fmt: skip
    if strict:
        args.append("--strict")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    stats = json.loads(summary.read_text()) if summary.exists() else {}
    return result.returncode, result.stdout, result.stderr, stats


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(("dpi: warning:", "dpi: error:"))]


def _keeps_the_email_row(stdout: str) -> bool:
    return "POST /v1/users" in stdout and "EMAIL_ADDRESS" in stdout and EMAIL not in stdout


def test_truncated_pcap_scans_what_was_read(tmp_path: Path) -> None:
    data = pcap_file(_exchange())
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[:-7])  # the last record (the FIN) is cut short
    code, out, err, stats = _scan(tmp_path, path)
    assert code == 0 and _keeps_the_email_row(out)
    (warning,) = _warnings(err)
    assert "cut.pcap" in warning and "cut short" in warning and "offset" in warning
    assert stats["frames"] == 4


def test_truncated_pcap_is_a_failure_with_strict(tmp_path: Path) -> None:
    path = tmp_path / "cut.pcap"
    path.write_bytes(pcap_file(_exchange())[:-7])
    code, out, err, _ = _scan(tmp_path, path, strict=True)
    assert code == 1 and _keeps_the_email_row(out) and "strict" in err


def test_pcapng_bad_block_length_stops_there_and_keeps_what_came_before(tmp_path: Path) -> None:
    ng = Pcapng().section().interface(linktype=1, tsresol=9)
    for i, frame in enumerate(_exchange()):
        ng.packet(frame, ts=(1_700_000_000 + i) * 10**9)
    ng.raw(struct.pack("<II", 6, 13) + b"\x00" * 20)  # length 13: not a multiple of 4
    ng.packet(b"never read", ts=0)
    path = tmp_path / "badlen.pcapng"
    path.write_bytes(ng.bytes())
    code, out, err, stats = _scan(tmp_path, path)
    assert code == 0 and _keeps_the_email_row(out)
    (warning,) = _warnings(err)
    assert "invalid block length 13" in warning and "block 8" in warning
    assert stats["frames"] == 5


def test_pcapng_huge_block_length_is_refused_not_allocated(tmp_path: Path) -> None:
    ng = Pcapng().section().interface(linktype=1, tsresol=9)
    for i, frame in enumerate(_exchange()):
        ng.packet(frame, ts=(1_700_000_000 + i) * 10**9)
    ng.raw(struct.pack("<II", 6, 0xFFFFFFF0) + b"\x00" * 64)
    path = tmp_path / "huge.pcapng"
    path.write_bytes(ng.bytes())
    code, out, err, _ = _scan(tmp_path, path)
    assert code == 0 and _keeps_the_email_row(out)
    assert "exceeds the" in _warnings(err)[0]


def test_snaplen_cut_packets_are_gaps_not_failures(tmp_path: Path) -> None:
    frames = _exchange()
    records = [pcap_record(f, ts_ns=(1_700_000_000 + i) * 10**9) for i, f in enumerate(frames[:2])]
    records.append(
        pcap_record(frames[2][:80], ts_ns=1_700_000_002 * 10**9, wire_len=len(frames[2]))
    )
    records += [
        pcap_record(f, ts_ns=(1_700_000_003 + i) * 10**9) for i, f in enumerate(frames[3:])
    ]
    path = tmp_path / "snap.pcap"
    path.write_bytes(pcap_header(snaplen=80) + b"".join(records))
    code, out, err, stats = _scan(tmp_path, path)
    assert code == 0 and EMAIL not in out + err
    assert stats["gaps"] >= 1 and stats["bugs"] == 0


def test_unsupported_link_type_is_skipped_with_one_warning_and_exit_0(tmp_path: Path) -> None:
    # Issue 16: a readable capture is never refused for its link type (exit 2 is for
    # no readable capture at all); its frames are skipped and counted in one warning.
    path = tmp_path / "linktype.pcap"
    path.write_bytes(pcap_file(_exchange(), linktype=147))
    code, out, err, stats = _scan(tmp_path, path)
    assert code == 0 and EMAIL not in out + err and stats["files"] == 1
    assert _warnings(err) == [
        f"dpi: warning: linktype.pcap: link type 147 is not supported: {len(_exchange())} frames skipped"
    ]


def test_unsupported_link_type_on_one_pcapng_interface_keeps_the_other(tmp_path: Path) -> None:
    ng = Pcapng().section().interface(linktype=1, tsresol=9).interface(linktype=147, tsresol=9)
    for i, frame in enumerate(_exchange()):
        ng.packet(frame, ts=(1_700_000_000 + i) * 10**9)
        ng.packet(b"\x00" * 40, interface=1, ts=(1_700_000_000 + i) * 10**9)
    path = tmp_path / "twoif.pcapng"
    path.write_bytes(ng.bytes())
    code, out, err, _stats = _scan(tmp_path, path)
    assert code == 0 and _keeps_the_email_row(out)
    assert any("link type 147" in w for w in _warnings(err))


def test_wrong_link_type_in_the_header_gives_undecodable_frames_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "raw-as-eth.pcap"
    path.write_bytes(pcap_file(_exchange(), linktype=101))  # Ethernet frames labelled raw IP
    code, out, err, stats = _scan(tmp_path, path)
    assert code == 0 and stats["bugs"] == 0 and EMAIL not in out + err


@pytest.mark.parametrize("garbage", [b"\xff" * 64, bytes(range(256)) * 4, b"\x00" * 15])
def test_garbage_after_the_header_is_a_warning_and_exit_0(tmp_path: Path, garbage: bytes) -> None:
    path = tmp_path / "garbage.pcap"
    path.write_bytes(pcap_header() + garbage)
    code, _out, err, stats = _scan(tmp_path, path)
    assert code == 0 and stats["frames"] == 0
    (warning,) = _warnings(err)
    assert "garbage.pcap" in warning and "offset 24" in warning


def test_garbage_after_good_records_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "tail.pcap"
    path.write_bytes(pcap_file(_exchange()) + b"\xde\xad\xbe\xef" * 8)
    code, out, err, stats = _scan(tmp_path, path)
    assert code == 0 and _keeps_the_email_row(out) and stats["frames"] == 5
    assert len(_warnings(err)) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty file"), (b"not a capture at all", "unknown magic"), (b"\xd4\xc3\xb2\xa1\x02", "header cut short")],
)
def test_unreadable_file_is_exit_2_with_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    code, out, err, _ = _scan(tmp_path, path)
    assert code == 2 and out == ""
    assert any(message in line for line in _warnings(err))


def test_truncated_gzip_capture_scans_what_was_decompressed(tmp_path: Path) -> None:
    packed = gzip.compress(pcap_file(_exchange() * 40))
    path = tmp_path / "cut.pcap.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    code, _, err, stats = _scan(tmp_path, path)
    assert code == 0 and 0 < stats["frames"] < 200
    assert any("cut.pcap.gz" in w for w in _warnings(err))


def test_one_damaged_file_among_good_ones_still_exits_0(tmp_path: Path) -> None:
    good = tmp_path / "good.pcap"
    good.write_bytes(pcap_file(_exchange()))
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"garbage, not a capture")
    code, out, err, stats = _scan(tmp_path, good, bad)
    assert code == 0 and _keeps_the_email_row(out) and stats["files"] == 1
    assert any("bad.pcap" in w for w in _warnings(err))


def test_limits_hit_are_in_the_summary_and_never_fatal(tmp_path: Path) -> None:
    path = tmp_path / "ok.pcap"
    path.write_bytes(pcap_file(_exchange()))
    summary = tmp_path / "summary.json"
    result = subprocess.run(
        [sys.executable, "-m", "dpi", "scan", str(path), "--no-progress", "--limit",
         "max_body_bytes=8", "--summary-json", str(summary)],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
        text=True, timeout=120, check=False,
    )
    assert result.returncode == 0
    assert "limits hit: body_too_large 1" in result.stderr
    assert json.loads(summary.read_text())["limits_hit"] == {"body_too_large": 1}


@pytest.mark.parametrize("option", ["nonsense=1", "max_body_bytes=-1", "max_body_bytes", "max_flows=many"])
def test_bad_limit_is_a_one_line_usage_error(tmp_path: Path, option: str) -> None:
    path = tmp_path / "ok.pcap"
    path.write_bytes(pcap_file(_exchange()))
    result = subprocess.run(
        [sys.executable, "-m", "dpi", "scan", str(path), "--limit", option],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(("table", "code"), [('max_body_bytes = "8"', 0), ("no_such_limit = 1", 2)])
def test_limits_table_in_dpi_toml(tmp_path: Path, table: str, code: int) -> None:
    path = tmp_path / "ok.pcap"
    path.write_bytes(pcap_file(_exchange()))
    (tmp_path / "dpi.toml").write_text(f"[limits]\n{table}\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "dpi", "scan", str(path), "--no-progress"],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == code and "Traceback" not in result.stderr
    if code == 0:
        assert "limits hit: body_too_large 1" in result.stderr
    else:
        assert "[limits] unknown limit 'no_such_limit'" in result.stderr
