"""Generates the TLS samples: real TLS stacks on loopback, recorded, written as pcapng
with the session keys in a Decryption Secrets Block, plus the key log file, the
cleartext twin of the same traffic and the expected inventory.

Run `python samples/make_tls_samples.py [--out-dir DIR]`. Writes, per scenario NAME:
- `NAME.pcapng`: the TLS conversation with a Decryption Secrets Block (pcapng 4.7,
  secrets type "TLSK") holding the key log lines of that connection;
- `NAME.keylog`: the same lines (NSS key log format), for `dpi scan --keylog`;
- `NAME.cleartext.pcapng`: the same application bytes without TLS, each message in
  the packet slot of the TLS flight that carried it (equal inventories expected);
- `NAME.expected.csv`: the inventory a correct scan must produce, from the script's
  ground truth (samples/README.md rules: confidence 0.5 is a floor; `sample` from
  `dpi.masking.mask`).

TLS comes from real stacks, so the bytes (randoms, keys, certificate) differ on every
run; the packet times, addresses and the expected CSV do not. Stacks:
- Python's `ssl` (OpenSSL) client and server in one process over memory BIOs, with
  `SSLContext.keylog_filename`: TLS 1.3 (AES-256-GCM), TLS 1.2 ECDHE ChaCha20-Poly1305
  and ECDHE AES-CBC-SHA256 (encrypt-then-MAC, RFC 7366), TLS 1.3 with ALPN h2.
- `openssl s_client` against `openssl s_server -www`, through a recording TCP relay on
  loopback (when the `openssl` binary is installed): TLS 1.3 AES-128-CCM-8 with a
  KeyUpdate requested by the client.
Each flight (the bytes one side wrote before the other answered) is one packet slot;
packet times are whole milliseconds plus 0-499 microseconds on a private clock.

The key logs here are test material of throwaway sessions with a generated certificate.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import io
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hpack import Encoder
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from samples._capture_tools import csv_text, expected_row, sort_rows

EPOCH_US = calendar.timegm((2026, 1, 15, 11, 0, 0)) * 1_000_000
MSS = 1448
HOST = "api.shop.example"
CLIENT_IP = "10.0.6.21"

# Synthetic values (the README of samples/ explains each kind).
CARD = "4111111111111111"
EMAIL_REQ = "ann.lee@mail.shopper-demo.net"
EMAIL_RESP = "bob.kay@mail.shopper-demo.net"
SSN = "372-81-5526"
REQUEST_BODY = json.dumps({"email": EMAIL_REQ, "card": {"number": CARD, "brand": "visa"}}).encode()
RESPONSE_BODY = json.dumps(
    {"id": 1042, "holder": {"email": EMAIL_RESP, "ssn": SSN}, "status": "active"}
).encode()
API = "POST /v1/users/{id}/cards"
# (direction, location, field, data_type, category, value) carried by each exchange
FIELDS = [
    ("request", "body", "card.number", "CARD_NUMBER", "PCI", CARD),
    ("request", "body", "email", "EMAIL_ADDRESS", "PII", EMAIL_REQ),
    ("response", "body", "holder.email", "EMAIL_ADDRESS", "PII", EMAIL_RESP),
    ("response", "body", "holder.ssn", "US_SSN", "PII", SSN),
]


def http1_request() -> bytes:
    head = (
        f"POST /v1/users/1042/cards HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(REQUEST_BODY)}\r\n\r\n"
    )
    return head.encode() + REQUEST_BODY


def http1_response() -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(RESPONSE_BODY)}\r\n\r\n"
    return head.encode() + RESPONSE_BODY


def _h2_frame(ftype: int, flags: int, sid: int, payload: bytes) -> bytes:
    return struct.pack(">IBI", (len(payload) << 8) | ftype, flags, sid) + payload


def h2_request(encoder: Encoder) -> bytes:
    block = encoder.encode([
        (":method", "POST"), (":scheme", "https"), (":authority", HOST),
        (":path", "/v1/users/1042/cards"), ("content-type", "application/json"),
    ])  # fmt: skip
    return (
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _h2_frame(4, 0, 0, b"")
        + _h2_frame(1, 0x4, 1, block) + _h2_frame(0, 0x1, 1, REQUEST_BODY)
    )  # fmt: skip


def h2_response(encoder: Encoder) -> bytes:
    block = encoder.encode([(":status", "200"), ("content-type", "application/json")])
    return (
        _h2_frame(4, 0, 0, b"") + _h2_frame(4, 0x1, 0, b"")
        + _h2_frame(1, 0x4, 1, block) + _h2_frame(0, 0x1, 1, RESPONSE_BODY)
    )  # fmt: skip


# --------------------------------------------------------------------------- recording


@dataclass
class Flight:
    from_client: bool
    wire: bytes  # TLS bytes
    plain: bytes = b""  # application bytes this flight carried (cleartext twin)
    message: str = ""  # "request" / "response" when it completes one


@dataclass
class Recording:
    flights: list[Flight] = field(default_factory=list)
    keylog: str = ""

    def add(self, from_client: bool, wire: bytes, plain: bytes = b"", message: str = "") -> None:
        if wire:
            self.flights.append(Flight(from_client, wire, plain, message))


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))  # fmt: skip
    return cert_path, key_path


def python_ssl(
    workdir: Path,
    *,
    tls12: bool = False,
    ciphers: str = "",
    alpn: list[str] | None = None,
    h2: bool = False,
) -> Recording:
    """Python ssl client and server over memory BIOs: one request, one response."""
    cert, key = _certificate(workdir)
    keylog = workdir / f"keys-{os.getpid()}-{time.monotonic_ns()}.log"
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cert)
    client_ctx.keylog_filename = str(keylog)
    if tls12:
        client_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers:
        client_ctx.set_ciphers(ciphers)
    if alpn:
        client_ctx.set_alpn_protocols(alpn)
        server_ctx.set_alpn_protocols(alpn)
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=HOST)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    rec = Recording()

    def pump() -> None:
        while True:
            moved = False
            data = c_out.read()
            if data:
                rec.add(True, data)
                s_in.write(data)
                moved = True
            data = s_out.read()
            if data:
                rec.add(False, data)
                c_in.write(data)
                moved = True
            if not moved:
                return

    def step(obj: ssl.SSLObject) -> bool:
        try:
            obj.do_handshake()
            return True
        except ssl.SSLWantReadError:
            return False

    done_c = done_s = False
    for _ in range(20):
        if not done_c:
            done_c = step(client)
        pump()
        if not done_s:
            done_s = step(server)
        pump()
        if done_c and done_s:
            break
    assert done_c and done_s, "handshake did not finish"
    if h2:
        assert client.selected_alpn_protocol() == "h2"
        request, response = h2_request(Encoder()), h2_response(Encoder())
    else:
        request, response = http1_request(), http1_response()
    client.write(request)
    rec.add(True, c_out.read(), request, "request")
    s_in.write(rec.flights[-1].wire)
    got = b""
    while len(got) < len(request):
        got += server.read(65536)
    pump()  # TLS 1.3 session tickets the server sends on its first read
    server.write(response)
    rec.add(False, s_out.read(), response, "response")
    c_in.write(rec.flights[-1].wire)
    got = b""
    while len(got) < len(response):
        got += client.read(65536)
    rec.keylog = keylog.read_text()
    return rec


def openssl_s_client(workdir: Path) -> Recording | None:
    """openssl s_client -> recording relay -> openssl s_server -www, TLS 1.3
    AES-128-CCM-8, with a KeyUpdate (update_requested) before the request."""
    binary = shutil.which("openssl")
    if binary is None:
        return None
    cert, key = _certificate(workdir)
    keylog = workdir / "openssl-keys.log"
    server_port = _free_port()
    server = subprocess.Popen(
        [binary, "s_server", "-accept", f"127.0.0.1:{server_port}", "-cert", str(cert), "-key", str(key),
         "-www", "-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_8_SHA256", "-naccept", "1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    relay = _Relay(server_port)
    try:
        assert server.stdout is not None
        while b"ACCEPT" not in server.stdout.readline():  # listening (never probe: -naccept 1)
            if server.poll() is not None:
                raise RuntimeError("openssl s_server did not start")
        relay.start()
        client = subprocess.Popen(
            [binary, "s_client", "-connect", f"127.0.0.1:{relay.port}", "-servername", HOST,
             "-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_8_SHA256", "-keylogfile", str(keylog),
             "-no_ign_eof"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert client.stdin is not None
        relay.quiet(1.0)
        client.stdin.write(b"K\n")  # s_client command: KeyUpdate, update_requested
        client.stdin.flush()
        relay.quiet(0.5)
        with relay.lock:
            marker = len(relay.flights)
            relay.cut = True
        request = http1_request().replace(b"HTTP/1.1", b"HTTP/1.0", 1)
        client.stdin.write(request)
        client.stdin.flush()
        relay.quiet(1.0)
        client.kill()  # s_server -www answers GETs only; the request is what we need
        client.wait()
    finally:
        relay.stop()
        server.kill()
        server.wait()
    rec = Recording(keylog=keylog.read_text())
    requested = False
    for i, (from_client, wire) in enumerate(relay.flights):
        if i >= marker and from_client and not requested:
            rec.add(True, wire, request, "request")
            requested = True
        else:
            rec.add(from_client, wire)
    # s_server -www answers with an HTML status page: no field the inventory lists.
    return rec if requested else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Relay:
    """A TCP relay on loopback that records what each side wrote, in order."""

    def __init__(self, server_port: int) -> None:
        self.server_port = server_port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.flights: list[tuple[bool, bytes]] = []
        self.lock = threading.Lock()
        self.last = time.monotonic()
        self.threads: list[threading.Thread] = []
        self.cut = False  # the next bytes start a new flight

    def start(self) -> None:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _accept(self) -> None:
        client, _ = self.listener.accept()
        upstream = socket.create_connection(("127.0.0.1", self.server_port))
        for src, dst, from_client in ((client, upstream, True), (upstream, client, False)):
            thread = threading.Thread(target=self._pipe, args=(src, dst, from_client), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _pipe(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with self.lock:
                if self.flights and self.flights[-1][0] == from_client and not self.cut:
                    self.flights[-1] = (from_client, self.flights[-1][1] + data)
                else:
                    self.flights.append((from_client, data))
                    self.cut = False
                self.last = time.monotonic()
            dst.sendall(data)

    def quiet(self, seconds: float) -> None:
        """Wait `seconds`, then until nothing moved for `seconds` (s_client reads one
        command or message per read: writes must not reach it together)."""
        time.sleep(seconds)
        while time.monotonic() - self.last < seconds:
            time.sleep(0.05)

    def stop(self) -> None:
        self.listener.close()


# --------------------------------------------------------------------------- writing


@dataclass
class Packetized:
    packets: list[tuple[int, bytes]]  # (ts_us, frame)
    message_ts: dict[str, int]  # "request"/"response" -> ts_us of the completing packet


def _slot_time(i: int) -> int:
    return EPOCH_US + 20_000 * (i + 1) + (i * 37) % 500


def packetize(rec: Recording, server_ip: str, server_port: int, *, cleartext: bool) -> Packetized:
    cport = 51000 + server_port % 1000
    cseq, sseq = 100_000, 900_000
    packets: list[tuple[int, bytes]] = []

    def frame(from_client: bool, flags: str, payload: bytes, ts: int) -> None:
        src, dst = (CLIENT_IP, server_ip) if from_client else (server_ip, CLIENT_IP)
        sport, dport = (cport, server_port) if from_client else (server_port, cport)
        seq, ack = (cseq, sseq) if from_client else (sseq, cseq)
        pkt = (
            Ether(src="02:00:00:00:06:15", dst="02:00:00:00:05:0a")
            / IP(src=src, dst=dst)
            / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=65535)
        )
        if payload:
            pkt = pkt / payload
        packets.append((ts, bytes(pkt)))

    t0 = EPOCH_US
    frame(True, "S", b"", t0)
    cseq += 1
    frame(False, "SA", b"", t0 + 100)
    sseq += 1
    frame(True, "A", b"", t0 + 200)
    message_ts: dict[str, int] = {}
    for i, flight in enumerate(rec.flights):
        data = flight.plain if cleartext else flight.wire
        ts = _slot_time(i)
        for off in range(0, len(data), MSS):
            chunk = data[off : off + MSS]
            frame(flight.from_client, "PA", chunk, ts)
            if flight.from_client:
                cseq += len(chunk)
            else:
                sseq += len(chunk)
        if flight.message:
            message_ts[flight.message] = ts
    end = _slot_time(len(rec.flights))
    frame(True, "FA", b"", end)
    cseq += 1
    frame(False, "FA", b"", end + 100)
    sseq += 1
    frame(True, "A", b"", end + 200)
    return Packetized(packets, message_ts)


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack("<II", btype, length) + body + struct.pack("<I", length)


def pcapng_bytes(packets: list[tuple[int, bytes]], keylog: str) -> bytes:
    """pcapng: SHB, IDB (Ethernet, microseconds), DSB (TLSK) if keys, then EPBs."""
    out = io.BytesIO()
    out.write(_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    out.write(_block(0x00000001, struct.pack("<HHI", 1, 0, 262144)))
    if keylog:
        secrets = keylog.encode()
        out.write(_block(0x0000000A, struct.pack("<II", 0x544C534B, len(secrets)) + secrets))
    for ts, frame in packets:
        body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame)) + frame
        out.write(_block(0x00000006, body))
    return out.getvalue()


def expected_csv(server: str, message_ts: dict[str, int], fields: list[tuple[str, ...]]) -> str:
    rows = []
    for direction, location, path, data_type, category, value in fields:
        ts = message_ts[direction]
        rows.append(expected_row(
            protocol="http", server=server, host=HOST, api=API, direction=direction,
            location=location, field=path, data_type=data_type, category=category,
            count=1, first_us=ts, last_us=ts, value=value,
        ))  # fmt: skip
    return csv_text(sort_rows(rows), lineterminator="\r\n")


@dataclass(frozen=True)
class Scenario:
    name: str
    server_ip: str
    port: int


SCENARIOS = {
    "tls-13-python-http1": Scenario("tls-13-python-http1", "10.0.5.10", 443),
    "tls-12-python-chacha-http1": Scenario("tls-12-python-chacha-http1", "10.0.5.11", 443),
    "tls-12-python-cbc-http1": Scenario("tls-12-python-cbc-http1", "10.0.5.12", 8443),
    "tls-13-python-h2": Scenario("tls-13-python-h2", "10.0.5.13", 443),
    "tls-13-openssl-ccm8-keyupdate": Scenario("tls-13-openssl-ccm8-keyupdate", "10.0.5.14", 443),
}


def record(name: str, workdir: Path) -> Recording | None:
    if name == "tls-13-python-http1":
        return python_ssl(workdir, alpn=["http/1.1"])
    if name == "tls-12-python-chacha-http1":
        return python_ssl(workdir, tls12=True, ciphers="ECDHE-ECDSA-CHACHA20-POLY1305")
    if name == "tls-12-python-cbc-http1":
        return python_ssl(workdir, tls12=True, ciphers="ECDHE-ECDSA-AES128-SHA256")
    if name == "tls-13-python-h2":
        return python_ssl(workdir, alpn=["h2", "http/1.1"], h2=True)
    if name == "tls-13-openssl-ccm8-keyupdate":
        return openssl_s_client(workdir)
    raise KeyError(name)


def write_scenario(scenario: Scenario, rec: Recording, out_dir: Path) -> None:
    server = f"{scenario.server_ip}:{scenario.port}"
    tls = packetize(rec, scenario.server_ip, scenario.port, cleartext=False)
    clear = packetize(rec, scenario.server_ip, scenario.port, cleartext=True)
    assert tls.message_ts == clear.message_ts
    fields = [f for f in FIELDS if f[0] in tls.message_ts]
    data = pcapng_bytes(tls.packets, rec.keylog)
    assert len(data) < 1_000_000
    (out_dir / f"{scenario.name}.pcapng").write_bytes(data)
    (out_dir / f"{scenario.name}.cleartext.pcapng").write_bytes(pcapng_bytes(clear.packets, ""))
    (out_dir / f"{scenario.name}.keylog").write_text(rec.keylog)
    (out_dir / f"{scenario.name}.expected.csv").write_text(
        expected_csv(server, tls.message_ts, fields), newline=""
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=SAMPLES_DIR)
    parser.add_argument("names", nargs="*", default=list(SCENARIOS))
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names:
            rec = record(name, Path(tmp))
            if rec is None:
                print(f"{name}: skipped (stack not available)", file=sys.stderr)
                continue
            write_scenario(SCENARIOS[name], rec, args.out_dir)
            print(f"{name}: {len(rec.flights)} flights", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
