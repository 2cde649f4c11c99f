"""Imports off the scan path (issue #14 item 4): a plain CSV or JSON scan of REST traffic
loads none of the heavy optional libraries; each one loads when its feature runs.

Every scan runs in a fresh interpreter under `python -X importtime`, which lists every
module imported (at start-up and later, inside functions), so a module imported lazily
by the scan counts too. The positive cases keep the negative one honest: the same check
finds the library when the traffic or option that needs it is there.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from dpi.inventory import COLUMNS
from tests.samples.golden import expected_rows

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"

# Top-level packages a CSV/JSON scan of plain HTTP must not load (each costs tens to
# hundreds of milliseconds and megabytes before the first packet).
HEAVY = (
    "pandas",
    "numpy",
    "pyarrow",
    "kafka",
    "sqlglot",
    "cryptography",
    "google.protobuf",
    "grpc_tools",
    "graphql",
    "openpyxl",
    "dask",
    "distributed",
    "tqdm",
)


def _imported(args: list[str], cwd: Path) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """Module names imported by `python -m dpi <args>` in a new interpreter."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dpi", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return names, done


def _heavy(names: set[str]) -> list[str]:
    return sorted(n for n in names for h in HEAVY if n == h or n.startswith(h + "."))


def _table(path: Path) -> list[tuple[str, ...]]:
    """The rows without `confidence` (the golden files hold its minimum)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [tuple(r[c] for c in COLUMNS if c != "confidence") for r in csv.DictReader(handle)]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_plain_rest_scan_loads_no_heavy_library(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"inventory.{fmt}"
    names, done = _imported(
        ["scan", str(SAMPLES / "rest-shop.pcap"), "-o", str(out), "-q", "--format", fmt], ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "dpi.engine" in names  # the listing is real: the scan's own modules are in it
    assert _heavy(names) == []
    if fmt == "csv":
        expected = [tuple(r[c] for c in COLUMNS if c != "confidence")
                    for r in expected_rows(SAMPLES / "rest-shop.expected.csv")]
        assert _table(out) == expected
    else:
        assert out.read_text(encoding="utf-8").startswith('[\n  {\n    "protocol": "http"')


@pytest.mark.parametrize(
    ("args", "library"),
    [
        # TLS with its key log: the ciphers need cryptography.
        (["tls-13-python-http1.pcapng", "--keylog", "tls-13-python-http1.keylog"], "cryptography"),
        # MySQL statements are mapped to columns by sqlglot.
        (["mysql-customers.pcap"], "sqlglot"),
        # Kafka v2 record batches are read by kafka-python.
        (["kafka-v3-gzip-snappy.pcap"], "kafka"),
        # GraphQL documents are parsed by graphql-core.
        (["graphql-patients.pcap"], "graphql"),
        # .proto files are compiled by grpcio-tools into protobuf descriptors.
        (["grpc-patients.pcap", "--proto", "grpc"], "google.protobuf"),
    ],
    ids=["tls-keys", "mysql", "kafka", "graphql", "grpc-proto"],
)
def test_each_library_loads_when_its_feature_runs(
    tmp_path: Path, args: list[str], library: str
) -> None:
    out = tmp_path / "inventory.csv"
    names, done = _imported(["scan", *args, "-o", str(out), "-q"], SAMPLES)
    assert done.returncode == 0, done.stderr[-2000:]
    assert library in _heavy(names)
    assert len(_table(out)) > 0


def test_parquet_output_loads_pandas_and_pyarrow(tmp_path: Path) -> None:
    out = tmp_path / "inventory.parquet"
    names, done = _imported(
        ["scan", str(SAMPLES / "rest-shop.pcap"), "-o", str(out), "-q", "--format", "parquet"], ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert {"pandas", "pyarrow"} <= set(_heavy(names))
    assert out.read_bytes()[:4] == b"PAR1"


# Standard-library and dpi modules that only an option loads (issue #14, the start-up of a
# small scan): the config file's parser, the Schema Registry client (urllib.request pulls
# in http.client, email and ssl), the exposure rules and their observer.
OPTION_ONLY = {
    "tomllib": "--config",
    "urllib.request": "--schema-registry",
    "dpi.findings.rules": "--findings",
    "dpi.findings.observe": "--findings",
}


def test_a_plain_scan_loads_no_module_of_an_option_it_was_not_given(tmp_path: Path) -> None:
    out = tmp_path / "inventory.csv"
    names, done = _imported(["scan", "rest-shop.pcap", "-o", str(out), "-q"], SAMPLES)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "dpi.engine" in names and len(_table(out)) > 0
    assert sorted(set(OPTION_ONLY) & names) == []
    config = tmp_path / "dpi.toml"
    config.write_text('[[allow]]\napi = "GET /health"\n', encoding="utf-8")
    names, done = _imported(
        ["scan", "rest-shop.pcap", "-o", str(out), "-q", "--config", str(config),
         "--findings", str(tmp_path / "findings.csv"), "--schema-registry", "http://127.0.0.1:9"],
        SAMPLES,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert set(OPTION_ONLY) <= names


# Helper modules of one protocol and libraries of one coding (issue #14, the start-up of
# a small scan): the registry imports every dissector and runs its probe on every
# connection, but these load only once a connection speaks that protocol or coding.
# Each maps to a sample whose traffic needs it.
PROTOCOL_ONLY = {
    "protocols.kafka._session": "kafka-v3-gzip-snappy.pcap",  # the Kafka dissector's work
    "protocols.kafka._apis": "kafka-v3-gzip-snappy.pcap",  # Kafka body layouts
    "protocols.kafka._records": "kafka-v3-gzip-snappy.pcap",  # Kafka record batches
    "cramjam": "kafka-v3-gzip-snappy.pcap",  # snappy record batches
    "protocols._zstd": "kafka-flexible-lz4-zstd.pcap",  # zstd record batches
    "hpack": "grpc-patients.pcap",  # HTTP/2 header blocks
    "protocols.http2._session": "grpc-patients.pcap",  # the HTTP/2 dissector's work
    "protocols.mysql._session": "mysql-customers.pcap",  # the MySQL dissector's work
    "protocols.mysql._packets": "mysql-customers.pcap",  # MySQL packet layouts
}
# What a sample's golden rows were made with (samples/README.md).
SAMPLE_ARGS = {"grpc-patients.pcap": ["--proto", "grpc"]}


def test_a_plain_scan_loads_no_helper_of_a_protocol_it_did_not_see(tmp_path: Path) -> None:
    out = tmp_path / "inventory.csv"
    names, done = _imported(["scan", "rest-shop.pcap", "-o", str(out), "-q"], SAMPLES)
    assert done.returncode == 0, done.stderr[-2000:]
    # The registry did import every dissector: only their helpers stayed out.
    assert {"protocols.kafka.kafka", "protocols.http2.http2", "protocols.mysql.mysql"} <= names
    assert sorted(set(PROTOCOL_ONLY) & names) == []
    assert len(_table(out)) > 0


@pytest.mark.parametrize("sample", sorted(set(PROTOCOL_ONLY.values())))
def test_each_protocol_helper_loads_when_its_traffic_is_seen(tmp_path: Path, sample: str) -> None:
    out = tmp_path / "inventory.csv"
    names, done = _imported(["scan", sample, *SAMPLE_ARGS.get(sample, []), "-o", str(out), "-q"],
                            SAMPLES)
    assert done.returncode == 0, done.stderr[-2000:]
    assert {m for m, s in PROTOCOL_ONLY.items() if s == sample} <= names
    expected = [tuple(r[c] for c in COLUMNS if c != "confidence")
                for r in expected_rows(SAMPLES / sample.replace(".pcap", ".expected.csv"))]
    assert _table(out) == expected
