"""The end-of-scan summary names the protocol anomalies that cost data (issue #16:
"parse failures are silent"), by counter name only, and leaves out events that lose
nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpi.cli import main
from tests.builders.conversation import Conversation, http_request, http_response


def _capture(path: Path, body: bytes) -> Path:
    conv = Conversation().handshake()
    conv.request(http_request("POST", "/v1/users", body)).response(http_response(b'{"ok": true}'))
    return conv.close().write(path)


def test_a_body_that_does_not_parse_is_named_in_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = _capture(tmp_path / "broken.pcap", b'{"email": "sam.jones@acme.io", "note": ')
    assert main(["scan", str(capture), "-o", str(tmp_path / "inv.csv"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if line.startswith("anomalies:"))
    assert "json_syntax_error 1" in line
    assert "sam.jones" not in err


def test_a_clean_scan_has_no_anomalies_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture = _capture(tmp_path / "clean.pcap", b'{"email": "sam.jones@acme.io"}')
    assert main(["scan", str(capture), "-o", str(tmp_path / "inv.csv"), "--no-progress"]) == 0
    assert "anomalies:" not in capsys.readouterr().err
