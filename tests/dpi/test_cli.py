"""The command line: output, exit status, one-line errors, warnings for damage, no leaks."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dpi.cli import main
from dpi.inventory import COLUMNS
from tests.builders.conversation import Conversation, http_request, http_response

CARD = "5555555555554444"
PASSWORD = "correct-horse-battery-staple-42"
EMAIL = "lee.okafor@mail.shopper-demo.net"


def _capture(path: Path) -> Path:
    conv = Conversation().handshake()
    login = f"username=lee&password={PASSWORD}".encode()
    conv.request(http_request("POST", "/login", login, content_type="application/x-www-form-urlencoded"))
    conv.response(http_response(json.dumps({"email": EMAIL}).encode()))
    conv.request(http_request("POST", "/v1/cards", json.dumps({"pan": CARD}).encode()))
    conv.response(http_response(b"{}"))
    return conv.close().write(path)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dpi", *args], capture_output=True, text=True, timeout=120)


def test_scan_writes_contract_csv_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["scan", str(_capture(tmp_path / "c.pcap")), "--no-progress"])
    out = capsys.readouterr()
    assert status == 0
    rows = list(csv.reader(io.StringIO(out.out)))
    assert tuple(rows[0]) == COLUMNS
    types = {(r[3], r[6], r[7]) for r in rows[1:]}
    assert ("POST /v1/cards", "pan", "CARD_NUMBER") in types
    assert ("POST /login", "password", "PASSWORD") in types
    assert "sensitive fields" in out.err  # the summary


def test_out_file_and_json_format(tmp_path: Path) -> None:
    out = tmp_path / "inv.json"
    assert main(["scan", str(_capture(tmp_path / "c.pcap")), "-o", str(out), "--format", "json", "-q"]) == 0
    rows = json.loads(out.read_text())
    assert list(rows[0]) == list(COLUMNS)


def test_not_a_capture_is_one_line_and_status_2(tmp_path: Path) -> None:
    text = tmp_path / "notes.pcap"
    text.write_text("this is not a capture\n")
    result = _run("scan", str(text))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("make", [lambda p: p.write_bytes(b""), lambda p: None])
def test_empty_or_missing_file_is_status_2(tmp_path: Path, make: object) -> None:
    path = tmp_path / "x.pcap"
    make(path)  # type: ignore[operator]
    result = _run("scan", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_bad_usage_is_status_2() -> None:
    result = _run("scan")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_truncated_capture_scans_what_was_read_and_warns(tmp_path: Path) -> None:
    whole = _capture(tmp_path / "whole.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole[: len(whole) - 30])  # the last record loses its end
    result = _run("scan", str(cut), "--no-progress")
    assert result.returncode == 0
    assert "warning" in result.stderr
    assert "CARD_NUMBER" in result.stdout
    strict = _run("scan", str(cut), "--no-progress", "--strict")
    assert strict.returncode == 1


def test_no_sensitive_value_in_any_output(tmp_path: Path) -> None:
    cap = _capture(tmp_path / "c.pcap")
    explain, summary = tmp_path / "explain.json", tmp_path / "summary.json"
    result = _run("scan", str(cap), "-vv", "--explain", str(explain), "--summary-json", str(summary))
    everything = result.stdout + result.stderr + explain.read_text() + summary.read_text()
    for secret in (CARD, PASSWORD, EMAIL, "lee.okafor", "battery"):
        assert secret not in everything


def test_topic_schema_must_name_a_loaded_message_type(tmp_path: Path) -> None:
    result = _run("scan", str(_capture(tmp_path / "c.pcap")), "--topic-schema", "orders=shop.Order")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_explain_says_why_each_row_is_there_without_values(tmp_path: Path) -> None:
    cap = _capture(tmp_path / "c.pcap")
    explain, out = tmp_path / "explain.json", tmp_path / "inv.csv"
    assert main(["scan", str(cap), "-q", "--no-progress", "-o", str(out), "--explain", str(explain)]) == 0
    reasons = json.loads(explain.read_text())
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(reasons) == len(rows)
    card = next(r for r in reasons if r["data_type"] == "CARD_NUMBER")
    assert card["field"] == "pan" and card["hit_share"] == 1.0 and card["validated_share"] == 1.0
    assert any("checksum" in reason for reason in card["reasons"])
    assert CARD not in explain.read_text() and PASSWORD not in explain.read_text()


@pytest.mark.parametrize(
    "argv",
    [
        ["scan", "a.pcap", "--jobs", "2", "-o", "x.json", "--limit", "max_body_bytes=1k"],
        ["check", "a.pcap", "--policy", "p.toml"],
        ["spec", "a.pcap", "-o", "out"],
        ["report", "inv.csv", "-o", "r.html"],
        ["diff", "old.csv", "new.csv", "--fail-on", "new"],
        ["-q", "scan", "a.pcap"],
        ["--", "scan", "a.pcap"],
    ],
)
def test_the_parser_of_one_subcommand_reads_it_as_the_full_parser_does(argv: list[str]) -> None:
    # main() adds only the named subcommand's options (dpi/cli/command.py): the result,
    # or the error, must be the same as with every subcommand's options there.
    import contextlib

    from dpi.cli.command import _command, build_parser

    def parsed(parser: Any) -> tuple[Any, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                return vars(parser.parse_args(argv)), ""
            except SystemExit as exc:
                return exc.code, err.getvalue()

    assert parsed(build_parser(_command(argv))) == parsed(build_parser())
