"""The TLS samples (samples/make_tls_samples.py: real Python ssl and openssl stacks on
loopback): decrypted with the keys in the capture's Decryption Secrets Block, or with
the `.keylog` file, the inventory equals the expected CSV and the inventory of the
cleartext twin of the same traffic; without keys, every flow is in the coverage list."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from dpi.api import scan_engine
from dpi.findings.coverage import TlsCoverage
from dpi.outputs.contract import to_csv
from tests.samples.golden import assert_matches_expected

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
TLS = sorted(p for p in SAMPLES.glob("tls-*.pcapng") if not p.name.endswith(".cleartext.pcapng"))
NAMES = [p.name.removesuffix(".pcapng") for p in TLS]


def _without_secrets(src: Path, dst: Path) -> Path:
    """The same pcapng minus its Decryption Secrets Blocks (little-endian, as written)."""
    data = src.read_bytes()
    out = bytearray()
    pos = 0
    while pos < len(data):
        btype, length = struct.unpack_from("<II", data, pos)
        if btype != 0x0000000A:
            out += data[pos : pos + length]
        pos += length
    dst.write_bytes(bytes(out))
    return dst


def test_every_scenario_is_there() -> None:
    assert {"tls-13-python-http1", "tls-12-python-chacha-http1", "tls-12-python-cbc-http1",
            "tls-13-python-h2"} <= set(NAMES)  # fmt: skip
    for path in SAMPLES.glob("tls-*"):
        assert path.stat().st_size < 1_000_000


@pytest.mark.parametrize("name", NAMES)
def test_tls_sample_with_capture_secrets_equals_expected_and_cleartext(name: str) -> None:
    coverage = TlsCoverage()
    engine = scan_engine(SAMPLES / f"{name}.pcapng", strict=True, observers=[coverage])
    assert engine.stats.bugs == 0 and engine.stats.decrypted_flows == 1
    assert_matches_expected(engine.inventory.rows(), SAMPLES / f"{name}.expected.csv")
    clear = scan_engine(SAMPLES / f"{name}.cleartext.pcapng", strict=True)
    assert to_csv(engine.inventory.rows()) == to_csv(clear.inventory.rows())
    [row] = coverage.rows()
    assert row["decrypted"] is True and row["sni"] == "api.shop.example"


@pytest.mark.parametrize("name", NAMES)
def test_tls_sample_with_keylog_file_equals_expected(name: str, tmp_path: Path) -> None:
    bare = _without_secrets(SAMPLES / f"{name}.pcapng", tmp_path / "bare.pcapng")
    engine = scan_engine(bare, strict=True, keylogs=[SAMPLES / f"{name}.keylog"])
    assert_matches_expected(engine.inventory.rows(), SAMPLES / f"{name}.expected.csv")


@pytest.mark.parametrize("name", NAMES)
def test_tls_sample_without_keys_is_covered_not_parsed(name: str, tmp_path: Path) -> None:
    bare = _without_secrets(SAMPLES / f"{name}.pcapng", tmp_path / "bare.pcapng")
    coverage = TlsCoverage()
    engine = scan_engine(bare, strict=True, observers=[coverage])
    assert engine.inventory.rows() == [] and engine.stats.encrypted_flows == 1
    assert engine.stats.unidentified_flows == 0 and sum(engine.stats.messages.values()) == 0
    [row] = coverage.rows()
    assert row["reason"] == "no_key" and row["version"] in ("TLS 1.2", "TLS 1.3")
    assert row["cipher"].startswith("TLS_") and row["bytes_client"] and row["bytes_server"]
    if "h2" in name:
        assert row["alpn"] == "h2 http/1.1"  # offered: TLS 1.3 hides the answer


def test_h2_sample_alpn_is_negotiated_when_decrypted() -> None:
    coverage = TlsCoverage()
    scan_engine(SAMPLES / "tls-13-python-h2.pcapng", observers=[coverage])
    assert coverage.rows()[0]["alpn"] == "h2"


@pytest.mark.tshark
def test_tshark_decrypts_the_samples_alike() -> None:
    import shutil
    import subprocess

    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark not installed")
    for name in NAMES:
        out = subprocess.run(
            [tshark, "-r", str(SAMPLES / f"{name}.pcapng"), "-Y", "http.request or http2.type == 1",
             "-T", "fields", "-e", "frame.number"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        assert out, name
