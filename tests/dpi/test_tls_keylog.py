"""Key logs (NSS format) and capture secrets: strict validation with line numbers and
never a secret in a message; the CLI's --keylog and --tls-coverage; pcapng Decryption
Secrets Blocks; the TLS probe on other protocols; a layer attached mid-flow by a
STARTTLS-style handoff (what MySQL's SSLRequest will do)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import ClassVar

import pytest

from dpi.capture import open_capture
from dpi.cli import main
from dpi.engine import Engine
from dpi.runs.scanner import expand, scan_inputs
from dpi.tls import KeyLog, KeyLogError, TlsLayerFactory
from protocols.base import Direction, Dissector, Event, Handoff, Probe
from protocols.http1 import Http1Dissector
from tests.builders.conversation import Conversation, http_request, http_response
from tests.builders.tls import Tls13Session

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
RANDOM = "ab" * 32
SECRET = "cd" * 48


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"CLIENT_RANDOMX {RANDOM} {SECRET}\n", "line 1: unknown label 'CLIENT_RANDOMX'"),
        (f"# c\n\nCLIENT_RANDOM {RANDOM} {SECRET[:-1]}z\n", "line 3: secret is not valid hex"),
        (f"CLIENT_RANDOM {RANDOM[:-2]} {SECRET}\n", "line 1: CLIENT_RANDOM needs a 32-byte client random, found 31 bytes"),
        (f"CLIENT_RANDOM {RANDOM} {SECRET[:64]}\n", "line 1: CLIENT_RANDOM secret must be 48 bytes, found 32"),
        (f"SERVER_TRAFFIC_SECRET_0 {RANDOM} {'00' * 40}\n", "line 1: SERVER_TRAFFIC_SECRET_0 secret must be 32 or 48 bytes, found 40"),
        (f"CLIENT_RANDOM {RANDOM}\n", "line 1: CLIENT_RANDOM needs 3 fields, found 2"),
        ("\x00\x01garbage\n", "line 1: unknown label '?'"),
    ],
)
def test_bad_keylog_line_names_the_line_never_the_secret(text: str, message: str) -> None:
    with pytest.raises(KeyLogError) as err:
        KeyLog().add_text(text.encode(), "keys.log")
    assert str(err.value) == f"keys.log: {message}"
    assert SECRET[:20] not in str(err.value) and RANDOM[:20] not in str(err.value)


def test_keylog_accepts_every_label_comments_and_crlf() -> None:
    lines = [
        "# SSL/TLS secrets log file",
        f"CLIENT_RANDOM {RANDOM} {SECRET}",
        f"RSA {'11' * 8} {SECRET}",
        *(f"{label} {RANDOM} {'22' * 32}" for label in (
            "CLIENT_EARLY_TRAFFIC_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0",
            "EARLY_EXPORTER_SECRET", "EXPORTER_SECRET", "CLIENT_TRAFFIC_SECRET_N", "SERVER_TRAFFIC_SECRET_2",
        )),
        f"ECH_CONFIG {RANDOM} 0011",
    ]  # fmt: skip
    keylog = KeyLog()
    keylog.add_text("\r\n".join(lines).encode(), "k")
    assert keylog.get("CLIENT_RANDOM", bytes.fromhex(RANDOM)) == bytes.fromhex(SECRET)
    assert "cd" not in repr(keylog) and len(keylog) == 11


def test_cli_bad_keylog_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys.log"
    keys.write_text(f"CLIENT_RANDOM {RANDOM} {SECRET}\nCLIENT_RANDOM {RANDOM} {SECRET[:-2]}\n")
    status = main(["scan", str(SAMPLES / "tls-13-python-http1.pcapng"), "--keylog", str(keys), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.strip().splitlines() == [f"dpi: error: {keys}: line 2: CLIENT_RANDOM secret must be 48 bytes, found 47"]
    assert SECRET[:16] not in err


def test_cli_keylog_decrypts_and_writes_coverage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = Tls13Session(alpn="http/1.1")
    body = json.dumps({"email": "ann.lee@mail.shopper-demo.net"}).encode()
    conv = Conversation(sport=443).handshake()
    conv.request(session.client_hello()).response(session.server_flight())
    conv.request(session.client_finished() + session.client_data(http_request("POST", "/v1/users", body)))
    conv.response(session.server_data(http_response(b"{}"))).close()
    # a second, undecryptable TLS flow
    other = Tls13Session(sni="ledger.example")
    conv2 = Conversation(sport=443, cport=40002, server="10.0.0.9", ts=conv.ts + 1).handshake()
    conv2.request(other.client_hello()).response(other.server_flight()).close()
    conv.packets.extend(conv2.packets)
    capture = conv.write(tmp_path / "t.pcap")
    keys = tmp_path / "keys.log"
    keys.write_text(session.keylog())
    out, cov = tmp_path / "inv.csv", tmp_path / "cov.csv"
    status = main(["scan", str(capture), "--keylog", str(keys), "-o", str(out),
                   "--tls-coverage", str(cov), "--no-progress", "--summary-json", str(tmp_path / "s.json")])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 0
    assert "EMAIL_ADDRESS" in out.read_text()
    rows = list(csv.DictReader(cov.open()))
    assert [(r["server"], r["sni"], r["decrypted"], r["reason"]) for r in rows] == [
        ("10.0.0.5:443", "api.shop.example", "true", ""),
        ("10.0.0.9:443", "ledger.example", "false", "no_key"),
    ]
    assert "tls: 2 flows, 1 decrypted, 1 not decrypted" in err
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["decrypted_flows"] == 1 and summary["encrypted_flows"] == 1
    everything = err + out.read_text() + cov.read_text() + (tmp_path / "s.json").read_text()
    for secret in session.secrets.values():
        assert secret.hex() not in everything


def test_capture_reader_collects_decryption_secrets_blocks() -> None:
    seen: list[tuple[int, int, str]] = []
    with open_capture(SAMPLES / "tls-13-python-http1.pcapng") as reader:
        reader.on_secrets = lambda kind, data, source: seen.append((kind, len(data), source))
        frames = list(reader.frames())
    assert frames and reader.secrets and reader.secrets[0][0] == 0x544C534B
    assert seen == [(0x544C534B, len(reader.secrets[0][1]), "tls-13-python-http1.pcapng: decryption secrets block 3")]
    assert "secrets" not in repr(reader)


def test_bad_secrets_block_is_a_warning_not_an_error(tmp_path: Path) -> None:
    data = bytearray((SAMPLES / "tls-13-python-http1.pcapng").read_bytes())
    at = data.index(b"CLIENT_HANDSHAKE_TRAFFIC_SECRET")
    data[at : at + 6] = b"CLIENX"
    path = tmp_path / "bad.pcapng"
    path.write_bytes(bytes(data))
    engine = Engine(strict=True)
    scan_inputs(engine, expand([path], []))
    [warning] = engine.stats.warnings
    assert warning.startswith("bad.pcapng: decryption secrets block 3: line ")
    assert warning.endswith(": unknown label 'CLIENX_HANDSHAKE_TRAFFIC_SECRET'; secrets block ignored")
    assert engine.stats.encrypted_flows == 1


@pytest.mark.parametrize(
    ("client", "server", "verdict"),
    [
        (b"GET / HTTP/1.1\r\n", b"", Probe.NO),
        (b"\x00\x00\x00\x2a\x00\x03", b"", Probe.NO),  # Kafka request header
        (b"", b"\x4a\x00\x00\x00\x0a8.0.36\x00", Probe.NO),  # MySQL greeting
        (b"PRI * HTTP/2.0\r\n", b"", Probe.NO),
        (b"\x16\x03", b"", Probe.NEED_MORE),
        (b"\x16\x03\x01\x02\x00\x01", b"", Probe.YES),
        (b"\x16\x03\x01\x02\x00\x02", b"", Probe.NO),
        (b"", b"\x16\x03\x03\x00\x50\x02", Probe.YES),
        (b"\x17\x03\x03\x00\x20", b"", Probe.YES),  # mid-stream application data
        (b"\x17\x03\x03\xff\xff", b"", Probe.NO),  # too long for a record
    ],
)
def test_tls_probe(client: bytes, server: bytes, verdict: Probe) -> None:
    assert TlsLayerFactory().probe(client, server) is verdict


class _StartTls(Dissector):
    """A toy server-first protocol: `OK\\n`, then `STARTTLS\\n` hands off to TLS and
    reads HTTP/1 inside (stands in for MySQL's SSLRequest)."""

    name: ClassVar[str] = "starttls-toy"
    ports: ClassVar[frozenset[int]] = frozenset({2525})

    def __init__(self, *args: object) -> None:
        self.tls = False
        self.http = Http1Dissector(*args)  # type: ignore[arg-type]

    @classmethod
    def probe(cls, direction: Direction, data: bytes) -> Probe:
        return Probe.YES if data.startswith((b"OK\n", b"STARTTLS\n")) else Probe.NO

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
        if self.tls:
            return self.http.feed(direction, data, ts_ns)
        if direction is Direction.REQUEST and data.startswith(b"STARTTLS\n"):
            self.tls = True
            return [Handoff(protocol="tls", leftover={Direction.REQUEST: data[9:]}, ts_ns=ts_ns)]
        return []

    def gap(self, direction: Direction, size: int) -> list[Event]:
        return []

    def close(self, direction: Direction, ts_ns: int) -> list[Event]:
        return self.http.close(direction, ts_ns) if self.tls else []


def test_handoff_attaches_tls_mid_flow_and_keeps_the_dissector(tmp_path: Path) -> None:
    session = Tls13Session()
    body = json.dumps({"email": "ann.lee@mail.shopper-demo.net"}).encode()
    conv = Conversation(sport=2525).handshake()
    conv.response(b"OK\n")
    conv.request(b"STARTTLS\n" + session.client_hello())  # ClientHello in the leftover
    conv.response(session.server_flight())
    conv.request(session.client_finished() + session.client_data(http_request("POST", "/v1/users", body)))
    conv.response(session.server_data(http_response(b"{}"))).close()
    keylog = KeyLog()
    keylog.add_text(session.keylog().encode(), "k")
    engine = Engine(layers=[TlsLayerFactory(keylog)], strict=True)
    engine.router.dissectors = [_StartTls, *engine.router.dissectors]
    scan_inputs(engine, expand([conv.write(tmp_path / "t.pcap")], []))
    assert [(r.protocol, r.api, r.field) for r in engine.inventory.rows()] == [("http", "POST /v1/users", "email")]
    assert engine.stats.decrypted_flows == 1 and engine.stats.anomalies["handoff_tls"] == 1
