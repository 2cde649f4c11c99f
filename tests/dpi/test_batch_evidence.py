"""Scheduled mode keeps every feature: `--findings`, `--internal` and `--tls-coverage` with
`--state`, `--jobs` and `--dask` give the same files as a one-process scan of the same
captures, and with `--state` the findings evidence grows run by run like the inventory
(salted client hashes, sanitized names, never values)."""

from __future__ import annotations

import io
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.utils import wrpcap

from dpi.cli import main
from dpi.engine import Engine
from dpi.findings import FindingsObserver, findings
from dpi.findings.coverage import TlsCoverage
from dpi.runs.codec import CodecError
from dpi.runs.evidence import Evidence, evidence_from_obj, evidence_to_obj
from dpi.runs.scanner import expand, scan_inputs
from dpi.runs.state import read_state_document
from tests.builders.conversation import T0, Conversation, http_request, http_response
from tests.builders.dns import dns_answer, dns_query
from tests.dpi.test_findings import CARD, EMAIL, EXTERNAL, JAVA_TRACE, SSN, TOKEN

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
OUTSIDE_CLIENT = "198.51.100.23"
SALT = b"\x01" * 16


def _egress(path: Path) -> Path:
    """DNS names an external payment API; a card number goes there."""
    packets = [dns_query("api.payments.example", ts=T0 - 2),
               dns_answer("api.payments.example", EXTERNAL, cname="edge.cdn.example", ts=T0 - 1)]
    pay = Conversation(server=EXTERNAL, sport=80, cport=40001, ts=T0).handshake()
    pay.request(http_request("POST", "/v1/charges", json.dumps({"card": {"number": CARD}}).encode(),
                             host="api.payments.example", headers={"Authorization": TOKEN}))
    pay.response(http_response(b'{"status":"ok"}'))
    packets += pay.close().packets
    wrpcap(str(path), packets)
    return path


def _users(path: Path, cport: int, ts: int) -> Path:
    """An internal API answering an SSN without credentials, to an outside client too,
    with a stack trace and version headers."""
    body = json.dumps({"email": EMAIL, "ssn": SSN}).encode()
    users = Conversation(cport=cport, ts=ts).handshake()
    users.request(http_request("GET", "/v1/users/42"))
    users.response(http_response(body))
    users.request(http_request("GET", "/v1/users/43", headers={"Authorization": TOKEN}))
    users.response(http_response(body))
    users.request(http_request("GET", "/v1/orders/7"))
    users.response(http_response(JAVA_TRACE, status="500 Internal Server Error", content_type="text/plain",
                                 headers={"Server": "Apache-Coyote/1.1"}))
    outside = Conversation(client=OUTSIDE_CLIENT, cport=cport + 1, ts=ts + 5).handshake()
    outside.request(http_request("GET", "/v1/users/44", headers={"Authorization": TOKEN}))
    outside.response(http_response(body))
    wrpcap(str(path), users.close().packets + outside.close().packets)
    return path


def _captures(where: Path, *, first: bool = True, second: bool = True) -> Path:
    where.mkdir(exist_ok=True)
    if first:
        _egress(where / "a-egress.pcap")
        shutil.copy(SAMPLES / "kafka-tls.pcap", where / "b-kafka-tls.pcap")  # no key: not decrypted
    if second:
        _users(where / "c-users.pcap", 41000, T0 + 100)
        shutil.copy(SAMPLES / "tls-13-python-h2.pcapng", where / "d-tls.pcapng")  # secrets inside
    return where


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    old, sys.stdout = sys.stdout, out
    try:
        status = main(["scan", *args, "--no-progress", "-q"])
    finally:
        sys.stdout = old
    return status, out.getvalue()


def _outputs(tmp: Path, name: str, captures: Path, *extra: str) -> tuple[str, str, str]:
    """(inventory with extra columns, findings, TLS coverage) of one scan."""
    inventory, found, coverage = tmp / f"{name}.csv", tmp / f"{name}-findings.csv", tmp / f"{name}-tls.csv"
    status, _ = _run(str(captures), "-o", str(inventory), "--findings", str(found),
                     "--internal", "10.0.0.0/8", "--tls-coverage", str(coverage), *extra)
    assert status == 0
    return (inventory.read_text(encoding="utf-8"), found.read_text(encoding="utf-8"),
            coverage.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[str, str, str]]:
    base = tmp_path_factory.mktemp("evidence")
    captures = _captures(base / "captures")
    return captures, _outputs(base, "one-process", captures)


def test_reference_has_every_kind_of_evidence(reference: tuple[Path, tuple[str, str, str]]) -> None:
    _, (inventory, found, coverage) = reference
    for kind in ("egress_sensitive_data", "external_endpoint", "external_client_access",
                 "unauthenticated_sensitive_api", "error_details_leak", "version_disclosure",
                 "cleartext_credentials", "response_overexposure"):
        assert kind in found, kind
    assert "api.payments.example" in found and "edge.cdn.example" in found  # DNS names
    lines = coverage.splitlines()
    assert len(lines) >= 3 and ",true," in coverage and "no_key" in coverage
    assert inventory.splitlines()[0].endswith(",egress,auth_share")


def test_jobs_and_state_give_the_one_process_outputs(
    reference: tuple[Path, tuple[str, str, str]], tmp_path: Path
) -> None:
    captures, expected = reference
    assert _outputs(tmp_path, "jobs", captures, "--jobs", "2") == expected
    state = tmp_path / "state"
    assert _outputs(tmp_path, "state", captures, "--state", str(state), "--jobs", "2",
                    "--settle-seconds", "0") == expected
    # Nothing new: the second run reads no file and answers from the state alone.
    assert _outputs(tmp_path, "again", captures, "--state", str(state), "--settle-seconds", "0") == expected


def test_state_keeps_findings_evidence_across_runs_salted_and_without_values(
    reference: tuple[Path, tuple[str, str, str]], tmp_path: Path
) -> None:
    _, expected = reference
    captures = _captures(tmp_path / "captures", second=False)
    state = tmp_path / "state"
    first = _outputs(tmp_path, "run1", captures, "--state", str(state), "--settle-seconds", "0")
    assert first != expected  # half the files
    _captures(captures, first=False)
    assert _outputs(tmp_path, "run2", captures, "--state", str(state), "--jobs", "2",
                    "--settle-seconds", "0") == expected
    document = read_state_document(state / "state.json.zst")
    assert set(document["evidence"]) == {"findings", "tls_coverage"}
    text = json.dumps(document)
    outside = bytes(int(part) for part in OUTSIDE_CLIENT.split("."))
    for value in (CARD, SSN, EMAIL, TOKEN.split()[1], OUTSIDE_CLIENT, outside.hex()):
        assert value not in text
    (api,) = [a for a in document["evidence"]["findings"]["apis"] if a[2] == "GET /v1/users/{id}"]
    assert len(api[12]) == 24  # one 16-byte salted hash, base64: the outside client


def test_state_made_without_findings_says_they_cover_only_new_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    captures = _captures(tmp_path / "captures", second=False)
    state = tmp_path / "state"
    assert _run(str(captures), "--state", str(state), "--settle-seconds", "0")[0] == 0
    _captures(captures, first=False)
    capsys.readouterr()
    status, _ = _run(str(captures), "--state", str(state), "--settle-seconds", "0",
                     "--findings", str(tmp_path / "f.csv"))
    assert status == 0
    assert "made without findings: they cover only the files scanned from this run on" in capsys.readouterr().err


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        yield str(cluster.scheduler_address)


def test_dask_gives_the_one_process_outputs(
    reference: tuple[Path, tuple[str, str, str]], dask_cluster: str, tmp_path: Path
) -> None:
    captures, expected = reference
    assert _outputs(tmp_path, "dask", captures, "--dask", dask_cluster) == expected


# -- units --------------------------------------------------------------------------------


def _observed(paths: list[Path]) -> tuple[FindingsObserver, TlsCoverage, list[object]]:
    observer, coverage = FindingsObserver(salt=SALT), TlsCoverage()
    from dpi.tls import KeyLog, TlsLayerFactory

    engine = Engine(observers=[observer, coverage], layers=[TlsLayerFactory(KeyLog())])
    assert scan_inputs(engine, expand(paths, []), separate_files=True) == len(paths)
    return observer, coverage, list(engine.inventory.rows())


def test_merged_observers_give_the_findings_of_one_scan(tmp_path: Path) -> None:
    captures = _captures(tmp_path / "c")
    files = sorted(captures.iterdir())
    whole, whole_coverage, rows = _observed(files)
    merged = Evidence()
    for path in files:
        observer, coverage, _ = _observed([path])
        # Through the JSON-safe form, as from a worker process.
        merged.merge(evidence_from_obj(json.loads(json.dumps(evidence_to_obj(
            Evidence(observer, coverage)))), SALT))
    assert merged.findings is not None and merged.tls_coverage is not None
    assert findings(rows, merged.findings) == findings(rows, whole)  # type: ignore[arg-type]
    assert merged.tls_coverage.rows() == whole_coverage.rows()
    assert merged.findings.auth_shares() == whole.auth_shares()


def test_malformed_evidence_is_a_codec_error_without_content() -> None:
    good = evidence_to_obj(Evidence(FindingsObserver(salt=SALT), TlsCoverage()))
    bad_rows = json.loads(json.dumps(good))
    bad_rows["tls_coverage"]["rows"] = [["10.0.0.1:443", "secret-value"]]
    bad_clients = json.loads(json.dumps(good))
    bad_clients["findings"]["apis"] = [["http", "s", "GET /", 1, 0, {}, 0, 0, 0, {}, {}, {}, "!!"]]
    for obj in (bad_rows, bad_clients, {"findings": []}, ["x"]):
        with pytest.raises(CodecError) as info:
            evidence_from_obj(obj, SALT)
        assert "secret-value" not in str(info.value)


def test_observers_of_another_salt_refuse_to_merge() -> None:
    with pytest.raises(ValueError, match="another salt"):
        FindingsObserver(salt=SALT).merge(FindingsObserver(salt=b"\x02" * 16))
