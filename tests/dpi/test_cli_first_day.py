"""The command line as a new user meets it (issue #17): the output format follows `-o`'s
extension, every output path is checked before the scan, `dpi --version`, `dpi scan -`
streams a capture from standard input, `--proto` takes a `.proto` file, `dpi report
--findings-in`, and `dpi diff`/`dpi report` read every format `dpi scan` writes."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.utils import wrpcapng

from dpi.cli import main
from dpi.inventory import COLUMNS
from tests.builders.conversation import Conversation, http_request, http_response

ROOT = Path(__file__).resolve().parents[2]
CARD = "5555555555554444"
EMAIL = "lee.okafor@mail.shopper-demo.net"


def _conversation() -> Conversation:
    conv = Conversation().handshake()
    conv.request(http_request("POST", "/v1/cards", json.dumps({"pan": CARD}).encode()))
    conv.response(http_response(json.dumps({"email": EMAIL}).encode()))
    return conv.close()


def _capture(path: Path) -> Path:
    return _conversation().write(path)


def _run(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DPI_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "dpi", *args],
        input=stdin, capture_output=True, timeout=120, env=env, cwd=cwd or ROOT, check=False,
    )


def _types(rows: list[dict[str, object]]) -> set[tuple[object, object, object]]:
    return {(r["api"], r["field"], r["data_type"]) for r in rows}


EXPECTED = {("POST /v1/cards", "pan", "CARD_NUMBER"), ("POST /v1/cards", "email", "EMAIL_ADDRESS")}


# -- the format follows -o --------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx", ".json", ".csv"])
def test_format_follows_the_out_extension(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"inv{suffix}"
    assert main(["scan", str(_capture(tmp_path / "c.pcap")), "-o", str(out), "-q"]) == 0
    data = out.read_bytes()
    if suffix == ".parquet":
        import pandas

        assert data[:4] == b"PAR1"
        frame = pandas.read_parquet(out)
        assert list(frame.columns) == list(COLUMNS)
        assert EXPECTED <= _types(frame.to_dict("records"))
    elif suffix == ".xlsx":
        from openpyxl import load_workbook

        assert data[:4] == b"PK\x03\x04"
        assert load_workbook(out).sheetnames == ["PII", "PHI", "PCI", "SECRET"]
    elif suffix == ".json":
        assert EXPECTED <= _types(json.loads(data))
    else:
        assert EXPECTED <= _types(list(csv.DictReader(io.StringIO(data.decode()))))


def test_format_option_wins_over_the_extension(tmp_path: Path) -> None:
    out = tmp_path / "inv.parquet"
    assert main(["scan", str(_capture(tmp_path / "c.pcap")), "-o", str(out), "--format", "csv", "-q"]) == 0
    assert out.read_bytes().startswith(b"protocol,server,")


def test_unknown_extension_stays_csv(tmp_path: Path) -> None:
    out = tmp_path / "inventory.out"
    assert main(["scan", str(_capture(tmp_path / "c.pcap")), "-o", str(out), "-q"]) == 0
    assert out.read_bytes().startswith(b"protocol,server,")


# -- outputs checked before the scan ----------------------------------------------------


@pytest.mark.parametrize("flag", ["-o", "--findings", "--explain", "--summary-json", "--tls-coverage"])
def test_unwritable_output_fails_before_scanning(tmp_path: Path, flag: str) -> None:
    capture = _capture(tmp_path / "c.pcap")
    result = _run("scan", str(capture), flag, "/nonexistent-dir/out.csv", "--no-progress")
    err = result.stderr.decode()
    assert result.returncode == 2
    assert err.count("\n") == 1, err  # one line, and no scan summary before it
    assert "/nonexistent-dir" in err and "no such directory" in err
    assert "Traceback" not in err


def test_output_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    capture = _capture(tmp_path / "c.pcap")
    assert main(["scan", str(capture), "-o", str(tmp_path), "-q"]) == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_directory_is_refused(tmp_path: Path) -> None:
    capture = _capture(tmp_path / "c.pcap")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = _run("scan", str(capture), "-o", str(locked / "x.csv"))
    assert result.returncode == 2 and b"not writable" in result.stderr


# -- --version -------------------------------------------------------------------------------


def test_version() -> None:
    from importlib.metadata import version

    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.decode().strip() == f"dpi {version('dpi-inventory')}"


# -- dpi scan - --------------------------------------------------------------------------


def _stdin_rows(data: bytes, *extra: str) -> tuple[subprocess.CompletedProcess[bytes], set[tuple[object, object, object]]]:
    result = _run("scan", "-", "--no-progress", *extra, stdin=data)
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
    return result, _types(rows)  # type: ignore[arg-type]


def test_scan_stdin_pcap(tmp_path: Path) -> None:
    result, types = _stdin_rows(_capture(tmp_path / "c.pcap").read_bytes())
    assert result.returncode == 0, result.stderr
    assert EXPECTED <= types
    assert b"scanned 1 file(s)" in result.stderr


def test_scan_stdin_pcapng_and_gzip(tmp_path: Path) -> None:
    path = tmp_path / "c.pcapng"
    wrpcapng(str(path), _conversation().packets)
    assert path.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    result, types = _stdin_rows(path.read_bytes())
    assert result.returncode == 0 and EXPECTED <= types
    result, types = _stdin_rows(gzip.compress(path.read_bytes()))
    assert result.returncode == 0 and EXPECTED <= types


def test_scan_stdin_through_a_real_pipe(tmp_path: Path) -> None:
    """`cat capture | dpi scan -`: a pipe, not a file, on standard input."""
    capture = _capture(tmp_path / "c.pcap")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cat = subprocess.Popen(["cat", str(capture)], stdout=subprocess.PIPE)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "dpi", "scan", "-", "-q"],
            stdin=cat.stdout, capture_output=True, timeout=120, env=env, check=False,
        )
    finally:
        assert cat.stdout is not None
        cat.stdout.close()
        cat.wait()
    assert result.returncode == 0, result.stderr
    assert EXPECTED <= _types(list(csv.DictReader(io.StringIO(result.stdout.decode()))))  # type: ignore[arg-type]


def test_scan_stdin_with_files_and_errors(tmp_path: Path) -> None:
    capture = _capture(tmp_path / "c.pcap")
    result = _run("scan", "-", str(capture), "-q", stdin=capture.read_bytes())
    assert result.returncode == 0
    result = _run("scan", "-", "-", stdin=b"")
    assert result.returncode == 2 and b"only once" in result.stderr
    result = _run("scan", "-", "--jobs", "2", stdin=capture.read_bytes())
    assert result.returncode == 2 and result.stderr.count(b"\n") == 1
    result = _run("scan", "-", stdin=b"not a capture at all")
    assert result.returncode == 2
    assert b"<stdin>: not a pcap or pcapng" in result.stderr
    assert b"Traceback" not in result.stderr


# -- --proto FILE ------------------------------------------------------------------------------


def test_proto_accepts_a_proto_file(tmp_path: Path) -> None:
    sample = ROOT / "samples" / "grpc-patients.pcap"
    proto = ROOT / "samples" / "grpc" / "patients.proto"
    by_file = tmp_path / "file.csv"
    by_dir = tmp_path / "dir.csv"
    assert main(["scan", str(sample), "--proto", str(proto), "-o", str(by_file), "-q"]) == 0
    assert main(["scan", str(sample), "--proto", str(proto.parent), "-o", str(by_dir), "-q"]) == 0
    assert by_file.read_bytes() == by_dir.read_bytes()
    fields = {r["field"] for r in csv.DictReader(io.StringIO(by_file.read_text()))}
    assert "sender_email" in fields  # a name from the schema, not a field number
    not_proto = tmp_path / "notes.txt"
    not_proto.write_text("x")
    assert main(["scan", str(sample), "--proto", str(not_proto), "-q"]) == 2


# -- diff and report read every format ------------------------------------------------------


def test_diff_reads_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old_capture = tmp_path / "old.pcap"
    conv = Conversation().handshake()
    conv.request(http_request("POST", "/v1/cards", json.dumps({"pan": CARD}).encode()))
    conv.response(http_response(b"{}"))
    conv.close().write(old_capture)
    new_capture = _capture(tmp_path / "new.pcap")
    for suffix in (".csv", ".json", ".parquet", ".xlsx"):
        assert main(["scan", str(old_capture), "-o", str(tmp_path / f"old{suffix}"), "-q"]) == 0
        assert main(["scan", str(new_capture), "-o", str(tmp_path / f"new{suffix}"), "-q"]) == 0
    capsys.readouterr()
    outputs = set()
    for old_suffix in (".csv", ".json", ".parquet", ".xlsx"):
        for new_suffix in (".csv", ".parquet", ".xlsx"):
            status = main(["diff", str(tmp_path / f"old{old_suffix}"), str(tmp_path / f"new{new_suffix}"),
                           "--format", "json"])
            assert status == 0
            outputs.add(capsys.readouterr().out)
    assert len(outputs) == 1  # the same diff whatever the formats
    changes = json.loads(outputs.pop())["changes"]
    assert [(c["kind"], c["field"], c["data_types"]) for c in changes] == [
        ("new_field", "email", ["EMAIL_ADDRESS"])
    ]


def test_diff_refuses_a_table_that_is_not_an_inventory(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('[{"a": 1}]')
    inv = tmp_path / "inv.csv"
    assert main(["scan", str(_capture(tmp_path / "c.pcap")), "-o", str(inv), "-q"]) == 0
    result = _run("diff", str(inv), str(other))
    assert result.returncode == 2 and b"not an inventory" in result.stderr


def test_report_reads_parquet_and_excel_with_findings_in(tmp_path: Path) -> None:
    capture = _capture(tmp_path / "c.pcap")
    findings = tmp_path / "findings.json"
    pages = []
    for suffix in (".csv", ".parquet", ".xlsx"):
        inv = tmp_path / f"inv{suffix}"
        assert main(["scan", str(capture), "-o", str(inv), "--findings", str(findings), "-q"]) == 0
        html = tmp_path / f"report{suffix}.html"
        assert main(["report", str(inv), "--findings-in", str(findings), "--html", str(html), "-q"]) == 0
        page = html.read_text()
        assert "POST /v1/cards" in page and "CARD_NUMBER" in page
        assert CARD not in page
        pages.append(page)
    assert len(pages) == 3


def test_report_findings_old_spelling_still_works_with_a_note(tmp_path: Path) -> None:
    capture = _capture(tmp_path / "c.pcap")
    inv, findings, html = tmp_path / "inv.csv", tmp_path / "f.csv", tmp_path / "r.html"
    assert main(["scan", str(capture), "-o", str(inv), "--findings", str(findings), "-q"]) == 0
    result = _run("report", str(inv), "--findings", str(findings), "--html", str(html))
    assert result.returncode == 0
    assert b"--findings is now --findings-in" in result.stderr
    assert html.is_file()
    result = _run("report", str(inv), "--findings", str(findings), "--findings-in", str(findings),
                  "--html", str(html))
    assert result.returncode == 2
