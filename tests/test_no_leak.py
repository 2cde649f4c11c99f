"""No output is ever the leak (issue #9; spec/inventory.md, "sample: never a leak").

Every sample and every real capture is scanned in one CLI run with debug logging
(`-vv`), `--explain`, `--summary-json`, and the inventory in CSV and JSON; stdout,
stderr and every file written are searched for every known sensitive value.

Known sensitive values come from three places:
- the sample generators' ground truth (`samples/make_*.py`: the values they put in);
- for the real captures, tshark's reading of the fields the inventory reports (JSON
  members, Authorization headers, query parameters), when tshark is installed;
- for every capture, the values the dissectors extracted from each field that became
  a row (an observer on an in-process scan).
Values shorter than `MIN_LEN` are not searched: they occur by chance in counts, times
and addresses.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dpi.api import scan_engine
from dpi.observer import Observer
from dpi.reassembly import Flow
from fuzz._common import capture_files
from protocols.base import Limits, Message
from protocols.payload import field_pairs

ROOT = Path(__file__).resolve().parents[1]
MIN_LEN = 8


class _Values(Observer):
    """Every (api, direction, location, field) -> values seen, per scan."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str, str, str], set[str]] = {}

    def message(self, flow: Flow, message: Message) -> None:
        for part in message.parts:
            try:
                pairs = field_pairs(part, Limits(), None)
            except Exception:  # noqa: BLE001, S112 (undecodable parts: the engine counts them)
                continue
            key = (message.api, str(message.direction), str(part.location))
            for path, value in pairs:
                self.values.setdefault((*key, path), set()).add(value)


def _observed(path: Path, identity: set[str]) -> tuple[set[str], list[object]]:
    """Values of the fields that became rows; adds the rows' identity columns (server,
    host, api, field: names, not values) to `identity`."""
    observer = _Values()
    engine = scan_engine(path, observers=[observer])
    found: set[str] = set()
    rows = engine.inventory.rows()
    for row in rows:
        found |= observer.values.get((row.api, row.direction, row.location, row.field), set())
        identity |= {row.server, row.host, row.api, row.field}
    return found, list(rows)


def _generator_truth() -> set[str]:
    """Values the sample generators put in the captures (their ground truth)."""
    sys.path.insert(0, str(ROOT / "samples"))
    values: set[str] = set()
    import make_samples

    for build in (make_samples.build_rest_shop, make_samples.build_rest_edge_cases):
        values |= {f.value for f in build().findings}
    try:
        import make_grpc_samples as grpc_gen
    except ImportError:  # grpc is a test extra
        grpc_gen = None
    if grpc_gen is not None:
        values |= {grpc_gen.PATIENT_ID, grpc_gen.TOKEN, grpc_gen.TOKEN.split()[-1]}
        values |= {v for k, v in grpc_gen._leaves(grpc_gen.PATIENT) if k in grpc_gen.SENSITIVE}
        values.add(grpc_gen.SUMMARY["contact_phone"])
    import make_kafka_samples as kafka_gen
    import make_mysql_samples as mysql_gen

    for person in (*kafka_gen.PEOPLE, *mysql_gen.PEOPLE):
        values |= set(person)
    values.add(mysql_gen.NEW_PHONE)
    return values


def _tshark_truth(tshark: str, path: Path, rows: list[object]) -> set[str]:
    """tshark's values for the HTTP fields that the inventory reports for `path`."""
    ports = {r.server.rsplit(":", 1)[1] for r in rows if r.protocol == "http"}  # type: ignore[attr-defined]
    if not ports:
        return set()
    wanted = {(r.location, r.field.replace("[]", "").rsplit(".", 1)[-1].lower()) for r in rows}  # type: ignore[attr-defined]
    args = [tshark, "-r", str(path), "-T", "fields", "-E", "aggregator=\x1e"]
    for port in ports:
        args += ["-d", f"tcp.port=={port},http"]
    args += ["-e", "json.member_with_value", "-e", "http.authorization",
             "-e", "http.request.uri.query.parameter"]  # fmt: skip
    out = subprocess.run(args, capture_output=True, check=False, timeout=120).stdout
    values: set[str] = set()
    for line in out.decode("utf-8", "replace").splitlines():
        members, auth, params = (line.split("\t") + ["", "", ""])[:3]
        for member in members.split("\x1e"):
            key, sep, value = member.partition(":")
            if sep and ("body", key.lower()) in wanted:
                values.add(value)
        for value in auth.split("\x1e"):
            if value and ("header", "authorization") in wanted:
                values |= {value, value.split(" ", 1)[-1]}
        for param in params.split("\x1e"):
            key, sep, value = param.partition("=")
            if sep and ("query", key.lower()) in wanted:
                values.add(value)
    return values


@pytest.fixture(scope="module")
def captures() -> list[Path]:
    found = capture_files()
    assert found, "no sample captures"
    return found


@pytest.fixture(scope="module")
def sensitive(captures: list[Path]) -> set[str]:
    values = _generator_truth()
    tshark = shutil.which("tshark")
    identity: set[str] = set()
    for path in captures:
        found, rows = _observed(path, identity)
        values |= found
        if tshark is not None and "captures" in path.parts:
            values |= _tshark_truth(tshark, path, rows)
    # A value that is also an API, host, server or field name (an npm package called
    # `accounting` under `GET /accounting`, a password that reads `password`) is shown
    # as that name, rightly: it cannot be told apart, so it is not searched.
    names = "\n".join(identity)
    return {v.strip() for v in values if len(v.strip()) >= MIN_LEN and v.strip() not in names}


def _run(args: list[str], cwd: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "dpi", "scan", *args], cwd=cwd, env=env, capture_output=True,
        text=True, errors="replace", timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return result.stdout + result.stderr


def test_the_oracle_knows_many_sensitive_values(sensitive: set[str]) -> None:
    assert len(sensitive) >= 100
    assert "4111111111111111" in sensitive  # a sample's card number (generator truth)


@pytest.fixture(scope="module", params=["csv", "json"])
def outputs(
    request: pytest.FixtureRequest, captures: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """One scan of everything with debug logging; every text it produced, by name."""
    fmt = request.param
    tmp = tmp_path_factory.mktemp(f"noleak-{fmt}")
    files = {name: tmp / name for name in ("inventory", "explain.json", "summary.json")}
    text = _run(
        [*map(str, captures), "-vv", "--no-progress", "--format", fmt,
         "-o", str(files["inventory"]), "--explain", str(files["explain.json"]),
         "--summary-json", str(files["summary.json"])],
        tmp,
    )
    return {"format": fmt, "stdout+stderr": text} | {
        name: path.read_text(encoding="utf-8", errors="replace") for name, path in files.items()
    }


def test_no_sensitive_value_in_any_output(outputs: dict[str, str], sensitive: set[str]) -> None:
    assert "sensitive fields: 0 " not in outputs["stdout+stderr"]
    leaks = sorted(
        (name, len(value))
        for name, body in outputs.items()
        for value in sensitive
        if value in body
    )
    assert not leaks, f"sensitive values found in outputs (where, value length): {leaks[:20]}"


def test_every_sample_is_masked_shape_only(outputs: dict[str, str]) -> None:
    """The sample column: SECRET rows show no letter or digit, others at most four."""
    if outputs["format"] != "csv":
        pytest.skip("checked once, on the CSV")
    rows = list(csv.DictReader(io.StringIO(outputs["inventory"])))
    assert rows
    for row in rows:
        shown = sum(ch.isalnum() for ch in row["sample"])
        assert shown <= (0 if row["category"] == "SECRET" else 4), (row["data_type"], shown)


def test_a_bug_is_logged_by_place_never_by_message() -> None:
    """Python's own exception messages quote input (`int(b'...')`): the engine's debug
    log of a bug names the exception type and code lines only."""
    from dpi.engine import bug_site

    try:
        int(b"4111111111111111-not-a-number")
    except ValueError as exc:
        site = bug_site(exc)
    assert site.startswith("ValueError at ") and "4111" not in site
