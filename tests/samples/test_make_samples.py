"""The committed samples stay reproducible, small and readable by an independent tool.

- Regenerating into a temporary directory gives byte-identical captures and expected CSVs
  (docs/architecture.md convention 15: samples are generated and golden).
- Each capture is under 1 MB.
- Debian's tshark reads every capture without errors and counts the HTTP requests the
  generator says it wrote (`SCENARIOS`).

This does not check the engine against the expected CSVs; that is the golden test's job.
"""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from dpi.masking import mask

ROOT = Path(__file__).resolve().parents[2]
MAX_CAPTURE_BYTES = 1_000_000


def _load_generator() -> ModuleType:
    # samples/ is not a package: load the script by path.
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "samples" / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while it executes
    spec.loader.exec_module(module)
    return module


gen = _load_generator()
NAMES = sorted(gen.SCENARIOS)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    gen.generate(out)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_regenerated_capture_is_byte_identical(name: str, regenerated: Path,
                                               samples_dir: Path) -> None:
    file = gen.SCENARIOS[name].file
    assert (samples_dir / file).is_file(), f"run python samples/make_samples.py ({file})"
    assert (regenerated / file).read_bytes() == (samples_dir / file).read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_regenerated_expected_csv_is_byte_identical(name: str, regenerated: Path,
                                                    samples_dir: Path) -> None:
    file = f"{name}.expected.csv"
    assert (regenerated / file).read_bytes() == (samples_dir / file).read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_committed_capture_is_under_1_mb(name: str, samples_dir: Path) -> None:
    assert (samples_dir / gen.SCENARIOS[name].file).stat().st_size < MAX_CAPTURE_BYTES


@pytest.mark.parametrize("name", NAMES)
def test_expected_csv_follows_contract(name: str, samples_dir: Path) -> None:
    with open(samples_dir / f"{name}.expected.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == gen.COLUMNS
    body = rows[1:]
    assert len(body) == gen.SCENARIOS[name].rows
    keys = [(r[0], r[1], r[3], r[4], r[5], r[6], r[7]) for r in body]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for row in body:
        record = dict(zip(gen.COLUMNS, row, strict=True))
        assert record["category"] == gen.CATEGORY[record["data_type"]]
        assert record["first_seen"] <= record["last_seen"]
        assert int(record["count"]) >= int(record["clients"]) >= 1
        assert record["confidence"] == "0.5"
        if record["category"] == "SECRET":
            assert record["sample"] == mask("x", "SECRET")


def _tshark(tshark: str, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tshark, "-n", "-r", str(path), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def _decode_as(name: str) -> list[str]:
    out = []
    for port in gen.SCENARIOS[name].decode_as:
        out += ["-d", f"tcp.port=={port},http"]
    return out


@pytest.mark.tshark
@pytest.mark.parametrize("name", NAMES)
def test_tshark_reads_capture_without_errors(name: str, tshark: str, samples_dir: Path) -> None:
    result = _tshark(tshark, samples_dir / gen.SCENARIOS[name].file)
    assert result.returncode == 0, result.stderr
    # tshark warns about running as root; anything else on stderr is a read error.
    errors = [line for line in result.stderr.splitlines()
              if line.strip() and "Running as user" not in line]
    assert not errors
    assert result.stdout.count("\n") > 0


@pytest.mark.tshark
@pytest.mark.parametrize("name", NAMES)
def test_tshark_counts_generated_http_requests(name: str, tshark: str,
                                               samples_dir: Path) -> None:
    result = _tshark(tshark, samples_dir / gen.SCENARIOS[name].file, *_decode_as(name),
                     "-Y", "http.request", "-T", "fields", "-e", "http.request.method",
                     "-E", "occurrence=a", "-E", "aggregator=,")
    assert result.returncode == 0, result.stderr
    # Pipelined requests share a frame: one line holds several comma-separated methods.
    methods = [m for line in result.stdout.splitlines() for m in line.split(",") if m]
    assert len(methods) == gen.SCENARIOS[name].http_requests
