"""No output is ever the leak (issues #9, #16; spec/inventory.md, "sample: never a leak").

Every sample and every real capture, plus HTTP/2 captures built here that are large
enough to make the HPACK header table evict (dozens of requests with `authorization:
Bearer ...` and `x-ssn` headers; hpack's debug log quotes each evicted entry), is scanned
in one CLI run with debug logging (`-vv`), and every output channel is searched for every
known sensitive value: stdout (the CSV inventory), the JSON inventory, `--explain`,
`--summary-json`, `--findings` (CSV and JSON), `--tls-coverage` (CSV and JSON) and stderr
(the logs).

Known sensitive values come from four places:
- the sample generators' ground truth (`samples/make_*.py`: the values they put in);
- the HTTP/2 builders' values here (tokens, SSNs, e-mails) and the TLS key log's secrets;
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
import json
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
from tests.builders import http2 as h2
from tests.builders.conversation import Conversation
from tests.builders.tls import Tls13Session

ROOT = Path(__file__).resolve().parents[1]
MIN_LEN = 8
# Requests per HTTP/2 connection: the 4 KiB HPACK table holds about 15 of them, so the
# rest make it evict (hpack logs `Evicting <name>: <value>` at DEBUG).
H2_REQUESTS = 40


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


def _patient_exchange(
    hp: h2.Hpack, sid: int, i: int, seed: int, values: set[str]
) -> tuple[bytes, bytes]:
    """One GET with a bearer token and an SSN header, answered with a JSON record; the
    values (unique per request, so that the HPACK table fills) go into `values`."""
    token = (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwYXRpZW50LT"
        f"{seed:02d}{i:04d}In0.S1gN{seed * 7919 + i * 104_729:012d}xQ"
    )
    ssn = f"{123 + seed * 50 + i:03d}-{10 + i % 89:02d}-{1000 + 37 * i + seed:04d}"
    email = f"patient{seed}x{i}.doe@clinic-mail.test"
    phone = f"+1-415-555-{1000 + 17 * i + seed:04d}"
    values |= {token, f"Bearer {token}", ssn, email, phone}
    request = h2.headers(
        sid,
        hp.req([
            (":method", "GET"), (":scheme", "https"), (":path", f"/v1/patients/{i}/record"),
            (":authority", "ehr.clinic.example"), ("authorization", f"Bearer {token}"),
            ("x-ssn", ssn), ("accept", "application/json"),
        ]),
        end=True,
    )  # fmt: skip
    body = json.dumps({"email": email, "phone": phone, "ssn": ssn}).encode()
    response = h2.headers(
        sid, hp.resp([(":status", "200"), ("content-type", "application/json"), ("x-ssn", ssn)])
    ) + h2.data(sid, body, end=True)
    return request, response


def _h2_conversation(conv: Conversation, seed: int, values: set[str]) -> list[tuple[bool, bytes]]:
    hp = h2.Hpack()
    sends = [(True, h2.PREFACE + h2.settings()), (False, h2.settings() + h2.settings(ack=True))]
    for i in range(H2_REQUESTS):
        request, response = _patient_exchange(hp, 1 + 2 * i, i, seed, values)
        sends += [(True, request), (False, response)]
    return sends


def _h2_captures(directory: Path) -> tuple[list[Path], Path, set[str]]:
    """Cleartext h2 to an external server, TLS 1.3 h2 decrypted by a key log, and a TLS
    flow without keys (a `--tls-coverage` row); returns (captures, key log, values)."""
    values: set[str] = set()
    clear = Conversation(server="198.51.100.20", sport=8080).handshake()
    for from_client, data in _h2_conversation(clear, 1, values):
        clear.send(from_client, data)
    clear.close()
    session = Tls13Session(alpn="h2", sni="ehr.clinic.example")
    tls = Conversation(server="198.51.100.21", sport=443, cport=40100, ts=clear.ts + 1)
    tls.handshake().request(session.client_hello()).response(session.server_flight())
    tls.request(session.client_finished())
    for from_client, data in _h2_conversation(tls, 2, values):
        tls.send(from_client, session.client_data(data) if from_client else session.server_data(data))
    tls.close()
    locked = Tls13Session(sni="billing.clinic.example")
    nokey = Conversation(server="198.51.100.22", sport=443, cport=40200, ts=tls.ts + 1)
    nokey.handshake().request(locked.client_hello()).response(locked.server_flight()).close()
    keylog = directory / "keys.log"
    keylog.write_text(session.keylog())
    values |= {secret.hex() for secret in session.secrets.values()}
    paths = [
        clear.write(directory / "h2-evicting.pcap"),
        tls.write(directory / "h2-tls-evicting.pcap"),
        nokey.write(directory / "tls-no-key.pcap"),
    ]
    return paths, keylog, values


@pytest.fixture(scope="module")
def h2_built(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path, set[str]]:
    return _h2_captures(tmp_path_factory.mktemp("h2-evicting"))


@pytest.fixture(scope="module")
def captures(h2_built: tuple[list[Path], Path, set[str]]) -> list[Path]:
    found = capture_files()
    assert found, "no sample captures"
    return [*found, *h2_built[0]]


@pytest.fixture(scope="module")
def sensitive(captures: list[Path], h2_built: tuple[list[Path], Path, set[str]]) -> set[str]:
    values = _generator_truth() | h2_built[2]
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


def _run(args: list[str], cwd: Path) -> tuple[str, str]:
    """`dpi scan ARGS` in a fresh interpreter -> (stdout, stderr)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "dpi", "scan", *args], cwd=cwd, env=env, capture_output=True,
        text=True, errors="replace", timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return result.stdout, result.stderr


def test_the_oracle_knows_many_sensitive_values(sensitive: set[str]) -> None:
    assert len(sensitive) >= 100
    assert "4111111111111111" in sensitive  # a sample's card number (generator truth)


@pytest.fixture(scope="module", params=["csv", "json"])
def outputs(
    request: pytest.FixtureRequest,
    captures: list[Path],
    h2_built: tuple[list[Path], Path, set[str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """One scan of everything with debug logging; every text it produced, by channel.
    The CSV run writes the inventory to stdout, the JSON run to a file; each run writes
    findings and TLS coverage in the other text format."""
    fmt = request.param
    other = "json" if fmt == "csv" else "csv"
    tmp = tmp_path_factory.mktemp(f"noleak-{fmt}")
    files = {
        "explain": tmp / "explain.json",
        "summary-json": tmp / "summary.json",
        f"findings-{other}": tmp / f"findings.{other}",
        f"tls-coverage-{fmt}": tmp / f"coverage.{fmt}",
    }
    inventory = ["-o", str(tmp / "inventory.json")] if fmt == "json" else []
    stdout, stderr = _run(
        [*map(str, captures), "-vv", "--no-progress", "--format", fmt, *inventory,
         "--keylog", str(h2_built[1]), "--explain", str(files["explain"]),
         "--summary-json", str(files["summary-json"]), "--findings", str(files[f"findings-{other}"]),
         "--tls-coverage", str(files[f"tls-coverage-{fmt}"])],
        tmp,
    )  # fmt: skip
    if fmt == "json":
        files["inventory-json"] = tmp / "inventory.json"
    texts = {name: path.read_text(encoding="utf-8", errors="replace") for name, path in files.items()}
    return {"format": fmt, "stdout": stdout, "stderr": stderr} | texts


def test_every_channel_was_written(outputs: dict[str, str]) -> None:
    """The search below means something only if each channel has the H2 traffic in it."""
    inventory = outputs["stdout"] if outputs["format"] == "csv" else outputs["inventory-json"]
    assert "/v1/patients/{id}/record" in inventory and "x-ssn" in inventory
    assert "/v1/patients/{id}/record" in outputs["explain"]
    findings = next(v for k, v in outputs.items() if k.startswith("findings-"))
    assert "198.51.100.20" in findings and "198.51.100.21" in findings
    coverage = next(v for k, v in outputs.items() if k.startswith("tls-coverage-"))
    assert "billing.clinic.example" in coverage and "ehr.clinic.example" in coverage
    assert "sensitive fields:" in outputs["stderr"]


# The logging set-up dpi had before issue #16: DEBUG for every library's logger.
_EVERY_LOGGER_AT_DEBUG = """
import logging, sys
import dpi.logsetup
def debug_everything(verbose=0, quiet=False, stream=None):
    logging.basicConfig(level=logging.DEBUG, format="dpi: %(levelname)s: %(message)s")
dpi.logsetup.configure = debug_everything
from dpi.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_h2_captures_make_hpack_evict_and_would_leak_without_the_filter(
    h2_built: tuple[list[Path], Path, set[str]], tmp_path: Path
) -> None:
    """The captures are large enough: with DEBUG on every logger (dpi before this fix),
    hpack's eviction log prints tokens and SSNs; with dpi's logging, nothing."""
    clear = h2_built[0][0]
    tokens = {v for v in h2_built[2] if v.startswith("Bearer ")}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    old = subprocess.run(
        [sys.executable, "-c", _EVERY_LOGGER_AT_DEBUG, "scan", str(clear), "-vv", "--no-progress",
         "-o", str(tmp_path / "inv.csv")],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert old.returncode == 0, old.stderr[-2000:]
    assert "Evicting" in old.stderr
    assert any(token in old.stderr for token in tokens)
    _stdout, stderr = _run([str(clear), "-vv", "--no-progress", "-o", str(tmp_path / "inv2.csv")], tmp_path)
    assert "Evicting" not in stderr
    assert not any(value in stderr for value in h2_built[2])


def test_no_sensitive_value_in_any_output(outputs: dict[str, str], sensitive: set[str]) -> None:
    assert "sensitive fields: 0 " not in outputs["stderr"]
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
    rows = list(csv.DictReader(io.StringIO(outputs["stdout"])))
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
