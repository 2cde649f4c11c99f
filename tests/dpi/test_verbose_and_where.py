"""`-v` says what a scan does (each file, each flow's protocol decision, what was skipped
and where) and the summary says where the trouble was: the files behind TCP gaps and
the APIs behind limit hits (issue #17). Never a value, at any verbosity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.builders.conversation import Conversation, http_request, http_response

ROOT = Path(__file__).resolve().parents[2]
CARD = "5555555555554444"
SECRET_NOTE = "patient-note-value-Zq81"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DPI_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "dpi", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=ROOT, check=False)


def _clean(path: Path) -> Path:
    conv = Conversation().handshake()
    conv.request(http_request("POST", "/v1/cards", json.dumps({"pan": CARD}).encode()))
    conv.response(http_response(b"{}"))
    return conv.close().write(path)


def _gappy(path: Path) -> Path:
    """A request body of three segments whose second is lost: a gap."""
    conv = Conversation(cport=40001).handshake()
    body = json.dumps({"pan": CARD, "note": SECRET_NOTE * 200}).encode()
    conv.request(http_request("POST", "/v1/notes", body), drop=1)
    conv.response(http_response(b"{}"))
    return conv.close().write(path)


def _big_body(path: Path) -> Path:
    """A body over --limit max_body_bytes on one API, a small one on another."""
    conv = Conversation(cport=40002).handshake()
    conv.request(http_request("POST", "/v1/upload", json.dumps({"blob": "x" * 5000}).encode()))
    conv.response(http_response(b"{}"))
    conv.request(http_request("POST", "/v1/cards", json.dumps({"pan": CARD}).encode()))
    conv.response(http_response(b"{}"))
    return conv.close().write(path)


def _opaque(path: Path) -> Path:
    """A flow no dissector recognises."""
    conv = Conversation(cport=40003, sport=7777).handshake()
    conv.request(b"\x00\x01binary-protocol-hello\x00" * 4)
    conv.response(b"\x02\x03binary-protocol-answer\x00" * 4)
    return conv.close().write(path)


def test_verbose_logs_files_flow_decisions_and_skips(tmp_path: Path) -> None:
    clean, opaque = _clean(tmp_path / "clean.pcap"), _opaque(tmp_path / "opaque.pcap")
    broken = tmp_path / "broken.pcap"
    broken.write_bytes(clean.read_bytes()[:-30])  # the last record cut short
    result = _run("scan", str(clean), str(opaque), str(broken), "-v", "--no-progress")
    assert result.returncode == 0, result.stderr
    err = result.stderr
    for path in (clean, opaque, broken):
        assert f"/{path.name}: reading" in err  # (the log redacts token-like path parts)
    assert "INFO: flow 1 to 10.0.0.5:8080: http" in err
    assert "to 10.0.0.5:7777: no protocol recognised; skipped" in err
    assert "INFO: skipped: broken.pcap:" in err  # the damage, where it is
    quiet = _run("scan", str(clean), "--no-progress")
    assert "INFO:" not in quiet.stderr  # only with -v


def test_summary_names_the_files_behind_gaps(tmp_path: Path) -> None:
    clean, gappy = _clean(tmp_path / "clean.pcap"), _gappy(tmp_path / "gappy.pcap")
    result = _run("scan", str(clean), str(gappy), "--no-progress", "-vv")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    gaps = [line for line in lines if line.startswith("gaps in: ")]
    assert gaps == [f"gaps in: {gappy} (1)"]
    assert SECRET_NOTE not in result.stderr and CARD not in result.stderr + result.stdout


def test_summary_names_the_apis_behind_limit_hits(tmp_path: Path) -> None:
    big = _big_body(tmp_path / "big.pcap")
    result = _run("scan", str(big), "--limit", "max_body_bytes=1k", "--no-progress", "-v")
    assert result.returncode == 0, result.stderr
    assert "limits hit: body_too_large 1" in result.stderr
    assert "limits hit on: http POST /v1/upload (1)" in result.stderr
    assert "limit hit (body_too_large)" in result.stderr  # -v: on which flow
    assert "/v1/cards (" not in result.stderr
