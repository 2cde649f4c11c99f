"""A lighter install (issue #17): Parquet, Excel, Dask and object stores are optional
extras; the core scans and writes CSV/JSON without them, and a feature whose library is
missing says, in one line and with status 2, which extra to install.

A missing library is simulated in a subprocess by `sys.modules[name] = None`, which
makes every `import name` fail as if it were not installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from dpi.cli import main
from tests.builders.conversation import Conversation, http_request, http_response

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = ("pyarrow", "openpyxl", "dask", "distributed", "fsspec", "s3fs")


def _capture(path: Path) -> Path:
    conv = Conversation().handshake()
    conv.request(http_request("POST", "/v1/cards", json.dumps({"pan": "5555555555554444"}).encode()))
    conv.response(http_response(b"{}"))
    return conv.close().write(path)


def _without(missing: tuple[str, ...], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"for name in {list(missing)!r}:\n"
        "    sys.modules[name] = None\n"
        "from dpi.cli import main\n"
        f"sys.exit(main({list(args)!r}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, cwd=cwd,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


@pytest.mark.parametrize(
    ("missing", "args", "expected"),
    [
        (("pyarrow",), ["--format", "parquet", "-o", "{tmp}/x.parquet"],
         "dpi: error: --format parquet needs pyarrow: pip install 'dpi-inventory[parquet]'"),
        (("pyarrow",), ["-o", "{tmp}/x.parquet"],
         "dpi: error: --format parquet needs pyarrow: pip install 'dpi-inventory[parquet]'"),
        (("openpyxl",), ["-o", "{tmp}/x.xlsx"],
         "dpi: error: --format xlsx needs openpyxl: pip install 'dpi-inventory[excel]'"),
        (("openpyxl",), ["--findings", "{tmp}/f.xlsx"],
         "dpi: error: --findings FILE.xlsx needs openpyxl: pip install 'dpi-inventory[excel]'"),
        (("openpyxl",), ["--tls-coverage", "{tmp}/t.xlsx"],
         "dpi: error: --tls-coverage FILE.xlsx needs openpyxl: pip install 'dpi-inventory[excel]'"),
        (("distributed",), ["--dask", "tcp://127.0.0.1:1", "-o", "{tmp}/x.csv"],
         "dpi: error: --dask needs distributed: pip install 'dpi-inventory[dask]'"),
    ],
)
def test_scan_names_the_missing_extra_before_scanning(
    tmp_path: Path, missing: tuple[str, ...], args: list[str], expected: str
) -> None:
    capture = _capture(tmp_path / "c.pcap")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert _one_line_error(_without(missing, "scan", str(capture), *args)) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pcap"]  # nothing written


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        (("s3fs",), "dpi: error: reading s3:// paths needs s3fs: pip install 'dpi-inventory[s3]'"),
        (("fsspec", "s3fs"), "dpi: error: reading s3:// paths needs fsspec: pip install 'dpi-inventory[s3]'"),
    ],
)
def test_s3_paths_without_s3fs_say_so(missing: tuple[str, ...], expected: str) -> None:
    """Before: `no capture to scan`."""
    result = _without(missing, "scan", "s3://bucket/mirror/", "--no-progress")
    assert _one_line_error(result) == expected
    batch = _without(missing, "scan", "s3://bucket/mirror/", "--state", "/nonexistent/state")
    assert _one_line_error(batch) == expected


def test_diff_and_report_name_the_extra_for_the_files_they_read(tmp_path: Path) -> None:
    capture = _capture(tmp_path / "c.pcap")
    parquet, xlsx, csv_file = tmp_path / "i.parquet", tmp_path / "i.xlsx", tmp_path / "i.csv"
    for out in (parquet, xlsx, csv_file):
        assert main(["scan", str(capture), "-o", str(out), "-q"]) == 0
    result = _without(("pyarrow",), "diff", str(parquet), str(csv_file))
    assert _one_line_error(result) == (
        "dpi: error: reading the Parquet file i.parquet needs pyarrow: pip install 'dpi-inventory[parquet]'"
    )
    result = _without(("openpyxl",), "report", str(xlsx), "--html", str(tmp_path / "r.html"))
    assert _one_line_error(result) == (
        "dpi: error: reading the Excel file i.xlsx needs openpyxl: pip install 'dpi-inventory[excel]'"
    )
    # Written only at the end (dpi/outputs/diff.py imports openpyxl then): still one line.
    result = _without(("openpyxl",), "diff", str(csv_file), str(csv_file), "-o", str(tmp_path / "d.xlsx"))
    assert _one_line_error(result) == "dpi: error: openpyxl is not installed: pip install 'dpi-inventory[excel]'"


def test_the_core_scans_without_any_extra(tmp_path: Path) -> None:
    """CSV and JSON, with findings, TLS coverage and explain, with every optional
    library missing."""
    capture = _capture(tmp_path / "c.pcap")
    result = _without(
        OPTIONAL, "scan", str(capture), "-o", str(tmp_path / "inv.json"), "--no-progress",
        "--findings", str(tmp_path / "f.csv"), "--tls-coverage", str(tmp_path / "t.csv"),
        "--explain", str(tmp_path / "e.json"),
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "inv.json").read_text())
    assert {r["data_type"] for r in rows} == {"CARD_NUMBER"}
    diff = _without(OPTIONAL, "diff", str(tmp_path / "inv.json"), str(tmp_path / "inv.json"))
    assert diff.returncode == 0 and diff.stdout == "no changes\n"


def test_pyproject_keeps_the_large_libraries_optional() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {dep.split(">")[0].split("[")[0].split("=")[0].strip().lower() for dep in project["dependencies"]}
    assert not core & {"pyarrow", "openpyxl", "dask", "distributed", "fsspec", "s3fs", "cryptography", "fastavro"}
    # The project's brief names these: they stay core. phonenumberslite is the same
    # `phonenumbers` module without the geocoder/carrier/time-zone data; scapy crafts
    # samples and test packets only: the `samples` extra, in `test` (issue #17).
    assert {"grpcio-tools", "protobuf", "kafka-python", "phonenumberslite", "pandas"} <= core
    extras = project["optional-dependencies"]
    assert any(d.startswith("scapy") for d in extras["samples"])
    assert any(d.startswith("pyarrow") for d in extras["parquet"])
    assert any(d.startswith("openpyxl") for d in extras["excel"])
    assert any(d.startswith("dask[distributed]") for d in extras["dask"])
    assert any(d.startswith("s3fs") for d in extras["s3"])
    assert any(d.startswith("cryptography") for d in extras["tls"])
    assert any(d.startswith("fastavro") for d in extras["avro"])
    assert extras["all"] == ["dpi-inventory[parquet,excel,dask,s3,tls,avro]"]
    assert "dpi-inventory[all,samples,fast]" in extras["test"]  # the tests exercise every feature
