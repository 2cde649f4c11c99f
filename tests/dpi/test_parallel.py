"""Parallel and distributed scans give exactly the inventory of a single-process scan."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dpi.cli import main
from dpi.inventory import CONFIDENCE_SAMPLE
from dpi.outputs.contract import to_csv
from dpi.runs.batch import BatchOptions, run_batch
from dpi.runs.worker import EngineSpec, FileTask, decode, merge_results, scan_file
from tests.builders.capture_sets import write_set
from tests.builders.conversation import T0, Conversation, http_request, http_response

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _cli(*args: str) -> str:
    out = io.StringIO()
    old, sys.stdout = sys.stdout, out
    try:
        assert main(["scan", *args, "--no-progress", "-q"]) == 0
    finally:
        sys.stdout = old
    return out.getvalue()


@pytest.fixture(scope="module")
def capture_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("set")
    write_set(directory, 12)
    return directory


def test_two_workers_equal_one_process_and_the_serial_scan(capture_set: Path) -> None:
    serial = _cli(str(capture_set))
    assert _cli(str(capture_set), "--jobs", "2") == serial
    assert _cli(str(capture_set), "--jobs", "1") == serial


def test_bundled_samples_in_parallel_equal_serial() -> None:
    samples = sorted(str(p) for p in SAMPLES.glob("*.pcap"))
    assert _cli(*samples, "--jobs", "2") == _cli(*samples)


def test_merge_is_associative_and_keeps_file_order(capture_set: Path) -> None:
    spec = EngineSpec(salt_hex=os.urandom(16).hex())
    results = []
    for i, path in enumerate(sorted(capture_set.iterdir())[:5]):
        st = path.stat()
        results.append(scan_file(spec, FileTask(index=i, location=str(path), size=st.st_size, mtime_ns=st.st_mtime_ns)))
    a, b, c, d, e = results
    left = merge_results(merge_results(merge_results(merge_results(a, b), c), d), e)
    tree = merge_results(merge_results(a, b), merge_results(merge_results(c, d), e))
    assert left == tree
    assert [f["index"] for f in decode(tree)[2]] == [0, 1, 2, 3, 4]


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        yield str(cluster.scheduler_address)


def test_dask_cluster_scan_equals_serial(capture_set: Path, dask_cluster: str, tmp_path: Path) -> None:
    serial = _cli(str(capture_set))
    assert _cli(str(capture_set), "--dask", dask_cluster) == serial
    # Incremental on the cluster too: small batches, each merged as a tree, then saved.
    options = BatchOptions(paths=(str(capture_set),), state=str(tmp_path / "s"), dask=dask_cluster,
                           dask_batch=5, settle_seconds=0)
    outcome = run_batch(options)
    assert outcome.scanned == 12 and to_csv(outcome.inventory.rows()) == serial


def test_dask_workers_read_captures_from_an_fsspec_url(capture_set: Path, dask_cluster: str) -> None:
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    for path in sorted(capture_set.iterdir()):
        fs.pipe(f"/captures/{path.name}", path.read_bytes())
    assert _cli("memory://captures", "--dask", dask_cluster) == _cli(str(capture_set))


def test_unreachable_scheduler_is_exit_2(capture_set: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dpi.runs.parallel.DASK_CONNECT_TIMEOUT", "1s")
    assert main(["scan", str(capture_set), "--dask", "tcp://127.0.0.1:9", "-q", "--no-progress"]) == 2


def test_workers_rebuild_the_parents_limits_and_config(tmp_path: Path) -> None:
    from dpi.runs.worker import build_engine

    config = '[limits]\nmax_flows = 1234\n[[classifiers]]\ndata_type = "EMPLOYEE_ID"\ncategory = "PII"\npatterns = [\'EMP-\\\\d{6}\']\n'
    engine = build_engine(EngineSpec(salt_hex="00" * 16, config_text=config, limit_args=("max_body_bytes=64k",)))
    assert engine.limits.max_body_bytes == 64 * 1024
    assert "EMPLOYEE_ID" in engine.classifiers.by_type
    assert engine.inventory.salt == bytes(16)


def test_settled_fields_give_one_confidence_plain_and_with_one_or_two_workers(
    tmp_path: Path,
) -> None:
    # The shared benchmark workload, 3 MB: two workers split it by connection. Fields of
    # names, addresses and IPs settle after 64 values, each worker's on its own first
    # ones; the confidence is the mean over the first hits in scan order, which every
    # worker gives the same keys, so all three scans agree to the byte.
    from bench.workloads import make_http_pcap

    capture = tmp_path / "shared3.pcap"
    make_http_pcap.main(["3", str(capture)])
    explained = tmp_path / "explain.json"
    serial = _cli(str(capture), "--explain", str(explained))
    settled = [row for row in json.loads(explained.read_text()) if row["settled"]]
    assert len(settled) >= 20
    assert sum(row["hits"] > 4 * CONFIDENCE_SAMPLE for row in settled) >= 5
    assert len({row["confidence"] for row in csv.DictReader(io.StringIO(serial))}) > 5
    assert _cli(str(capture), "--jobs", "2") == serial
    assert _cli(str(capture), "--jobs", "1") == serial


def test_a_file_read_after_a_later_one_dates_its_last_messages_by_its_own_time(tmp_path: Path) -> None:
    # Two unrelated captures, the first read a day later than the second: a response
    # that ends with the second capture (no length, no close) is dated by that capture's
    # own last packet, as when each file is scanned alone (--jobs), not by the first's.
    later = Conversation(client="10.2.0.1", ts=T0 + 86_400).handshake()
    later.request(http_request("GET", "/v1/ping")).response(http_response(b"{}")).close()
    later.write(tmp_path / "a.pcap")
    cut = Conversation(client="10.2.0.2", ts=T0).handshake()
    cut.request(http_request("GET", "/v1/users/7"))
    cut.response(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
                 b'{"email": "ann.example@mail.example-shop.net"}')
    cut.write(tmp_path / "b.pcap")
    serial = _cli(str(tmp_path))
    (row,) = csv.DictReader(io.StringIO(serial))
    assert (row["field"], row["last_seen"][:10]) == ("email", "2026-01-15")
    assert _cli(str(tmp_path), "--jobs", "1") == serial


def test_the_forkserver_warm_up_builds_the_default_classifier_set_once_and_survives_a_failed_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The forkserver imports dpi.runs.warm (dpi/runs/parallel.py): it leaves the default
    # config's classifier set built, which every worker forked from it then reuses.
    import importlib

    from classifiers.phi.diagnosis_code import _code_list
    from classifiers.pii._name_lists import name_lists
    from dpi import build
    from dpi.runs import warm

    monkeypatch.setattr(build, "_CLASSIFIERS", {})
    name_lists.cache_clear()
    _code_list.cache_clear()
    importlib.reload(warm)
    assert None in build._CLASSIFIERS
    # The word lists the classifiers load on first use are loaded there too.
    assert name_lists.cache_info().currsize == _code_list.cache_info().currsize == 1
    made = build._CLASSIFIERS[None]
    assert build.build_engine(EngineSpec(salt_hex="00" * 16)).classifiers is made

    # A build that fails there must not end the forkserver: the workers report it.
    def broken(spec: EngineSpec) -> None:
        raise ValueError("no")

    monkeypatch.setattr(build, "build_engine", broken)
    monkeypatch.setattr(build, "_CLASSIFIERS", {})
    importlib.reload(warm)  # no exception
    assert build._CLASSIFIERS == {}
