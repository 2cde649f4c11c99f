"""Every real capture the project keeps (the shared set, the held-out set, the samples),
split in two and in three shards whatever its size, merges to the one-process scan: the
same rows and counters, the same findings (`--findings`) and the same TLS coverage list
(`--tls-coverage`); dpi/runs/shard_plan.py picks by server or by API. Run in this
process, shard by shard, as a worker runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpi.findings.model import findings_to_csv
from dpi.findings.run import FindingsRun
from dpi.outputs.contract import to_csv
from dpi.runs.shard_plan import plan_shards
from dpi.runs.worker import EngineSpec, FileTask, decode_result, merge_shards, scan_file

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = sorted(
    path
    for folder in ("tests/captures", "tests/heldout/captures", "samples")
    for path in (ROOT / folder).rglob("*")
    if path.suffix in (".pcap", ".pcapng")
)
SPEC = EngineSpec(salt_hex="00" * 16, findings=True, tls_coverage=True)
COUNTERS = ("frames", "tcp_segments", "non_tcp", "decode_errors", "flows", "partial_flows",
            "gaps", "gap_bytes", "messages", "flows_by_protocol", "values", "unidentified_flows",
            "encrypted_flows", "decrypted_flows", "protocol_errors", "bugs", "anomalies",
            "limits_hit")  # fmt: skip


def _outcome(path: Path, shards: int) -> tuple[str, dict[str, object], str, list[dict[str, object]]]:
    st = path.stat()
    plan = plan_shards(path, shards) if shards > 1 else None
    results = [
        scan_file(SPEC, FileTask(index=0, location=str(path), size=st.st_size,
                                 mtime_ns=st.st_mtime_ns, shard=i, shards=shards, plan=plan))
        for i in range(shards)
    ]  # fmt: skip
    decoded = decode_result(merge_shards(*results) if shards > 1 else results[0])
    rows = decoded.inventory.rows()
    run = FindingsRun()
    assert decoded.evidence.findings is not None and decoded.evidence.tls_coverage is not None
    decoded.evidence.findings.networks = run.networks  # as `dpi scan --findings` does
    run.observer = decoded.evidence.findings
    findings = findings_to_csv(run.compute(rows))  # the `--findings` file
    return (to_csv(rows), {k: getattr(decoded.stats, k) for k in COUNTERS}, findings,
            decoded.evidence.tls_coverage.rows())  # fmt: skip


def test_the_set_is_there() -> None:
    assert len(CAPTURES) >= 100


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_split_capture_merges_to_the_one_process_scan(path: Path) -> None:
    whole = _outcome(path, 1)
    assert _outcome(path, 2) == whole
    assert _outcome(path, 3) == whole
