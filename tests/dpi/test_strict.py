"""`--strict` exits 1 on anything skipped (protocol anomalies and limits too) and says what."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from dpi.cli import main
from dpi.engine import ScanStats
from dpi.runs.strict import skipped, strict_failure
from tests.builders.capture_sets import write_file
from tests.builders.conversation import Conversation, http_request


def _bad_chunk(path: Path) -> Path:
    """A response whose chunk size is not hex: the body is lost, the request is not."""
    conv = Conversation().handshake()
    conv.request(http_request("POST", "/v1/users", json.dumps({"email": "a.b@mail.example-shop.net"}).encode()))
    conv.response(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"zz\r\n" + b'{"ssn": "372-81-5526"}' + b"\r\n0\r\n\r\n")
    conv.close()
    return conv.write(path)


def _big_body(path: Path) -> Path:
    """A request body over a 1 KiB max_body_bytes: cut at the bound."""
    conv = Conversation().handshake()
    body = json.dumps({"email": "a.b@mail.example-shop.net", "note": "x" * 3000}).encode()
    conv.request(http_request("POST", "/v1/users", body))
    conv.close()
    return conv.write(path)


def _unanswered(path: Path) -> Path:
    """A whole request whose response is not in the capture: nothing skipped."""
    conv = Conversation().handshake()
    conv.request(http_request("POST", "/v1/users", json.dumps({"email": "a.b@mail.example-shop.net"}).encode()))
    conv.close()
    return conv.write(path)


@dataclass
class _Run:
    returncode: int
    stdout: str
    stderr: str


def _dpi(*args: str) -> _Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["scan", *args, "--no-progress"])
    return _Run(code, out.getvalue(), err.getvalue())


@pytest.mark.parametrize("batch", [[], ["--jobs", "1"]])
@pytest.mark.parametrize(
    ("build", "extra", "named"),
    [(_bad_chunk, [], "protocol anomalies: bad_chunk 1"),
     (_big_body, ["--limit", "max_body_bytes=1k"], "limits hit: body_too_large 1")],
)
def test_strict_fails_on_a_protocol_anomaly_and_names_it(
    tmp_path: Path, build: object, extra: list[str], named: str, batch: list[str]
) -> None:
    capture = build(tmp_path / "c.pcap")  # type: ignore[operator]
    lenient = _dpi(str(capture), *extra, *batch)
    assert lenient.returncode == 0 and "a.b@" not in lenient.stdout
    assert "email" in lenient.stdout  # what was not skipped is still there
    strict = _dpi(str(capture), "--strict", *extra, *batch)
    assert strict.returncode == 1
    assert strict.stdout == lenient.stdout  # the inventory is written all the same
    last = strict.stderr.strip().splitlines()[-1]
    assert last.startswith("dpi: strict: data was skipped (") and named in last


@pytest.mark.parametrize("batch", [[], ["--jobs", "1"]])
def test_strict_passes_when_nothing_was_skipped(tmp_path: Path, batch: list[str]) -> None:
    for capture in (write_file(tmp_path / "whole.pcap", 0), _unanswered(tmp_path / "unanswered.pcap")):
        result = _dpi(str(capture), "--strict", *batch)
        assert result.returncode == 0, result.stderr
        assert "strict" not in result.stderr


def test_every_kind_of_loss_is_a_reason() -> None:
    stats = ScanStats(decode_errors=1, gaps=2, gap_bytes=10, protocol_errors=1, bugs=1)
    stats.anomalies.update({"gap": 2, "http1_protocol_error": 1, "unanswered_request": 3, "tls": 1,
                            "handoff_tls": 1, "resync": 1, "body_too_large": 1})
    stats.limits_hit.update({"body_too_large": 1})
    assert skipped(stats, warnings=2, dropped_fields=5) == [
        "2 warning(s)", "1 undecodable frames", "2 gaps (10 bytes lost)",
        "1 flows stopped on protocol errors", "1 flows dropped on internal errors",
        "protocol anomalies: resync 1", "limits hit: body_too_large 1",
        "5 fields dropped (field table full)",
    ]
    lossless = ScanStats()
    lossless.anomalies.update({"unanswered_request": 3, "tls": 1, "handoff_tls": 1})
    assert strict_failure(lossless, warnings=0) is None
