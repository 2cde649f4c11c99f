"""Generates the MySQL-over-TLS sample: a real MariaDB with TLS and a real client.

Run `python samples/make_mysql_tls_samples.py [--out-dir DIR]` as root (dumpcap on `lo`)
with Debian's mariadb-server and mysql-connector-python installed. Writes
- `mysql-tls.pcap`: the client's session, upgraded to TLS 1.3 by an SSLRequest;
- `mysql-tls.keylog`: that session's key log (NSS format), for `dpi scan --keylog`;
- `mysql-tls.expected.csv`: the inventory a correct scan with the key log must produce.

The traffic is the cleartext sample's (`make_mysql_samples.py`: its `run_client`, run
here with `ssl_disabled` replaced by a required, verified TLS connection): the text
protocol (INSERT with literal values, SELECT, UPDATE ... WHERE) and server-side prepared
statements on `crm.customers`, with the same synthetic people. So the expected CSV has
the cleartext sample's rows; only first/last seen differ (other packets, other times).

The server: `tests/mysql_server.py`'s MariaDB (private port, temporary data directory)
started with `--ssl-cert/--ssl-key/--ssl-ca` from a throwaway CA made here, which the
client verifies. The key log: mysql-connector-python builds its context with
`ssl.create_default_context()`, which honours `SSLKEYLOGFILE`.

Ground truth: the script knows which values it sent in which statement and which rows
came back; to find the packet that completed each command and response it decrypts the
capture itself with the key log it wrote (`Tls13Streams`: TLS 1.3 AEAD records, RFC 8446
section 5.2 and 7.1-7.3, with `cryptography`), never with dpi. A MySQL message completes
with the packet that completes the TLS record holding its last byte. Packet times are
rewritten to the private clock (2026-01-15T09:00:00Z onward) so first/last seen are
stable; keys, randoms, ports and certificates differ on every run, the CSV does not.

The key log is test material of a throwaway session with a generated certificate.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import ipaddress
import os
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import mysql.connector
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.x509.oid import NameOID

from samples import make_mysql_samples as clear
from samples._capture_tools import (
    dumpcap_loopback,
    ip_header_offset,
    rewrite_times,
    tcp_payload,
    write_csv,
)
from tests.mysql_server import MariaDB

NAME = "mysql-tls"
PORT = clear.PORT  # the cleartext sample's server, so the rows are the same rows
MAX_SAMPLE_BYTES = 1_000_000


# -- a throwaway CA and server certificate -----------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path
    cert: Path
    key: Path


def make_pki(directory: Path, host: str = "127.0.0.1") -> Pki:
    """A CA and a server certificate it signed (EC P-256, valid two days, SAN `host`)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dpi sample CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pki = Pki(directory / "ca.pem", directory / "server-cert.pem", directory / "server-key.pem")
    pki.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ))  # fmt: skip
    return pki


# -- TLS 1.3 record decryption with a key log (the ground truth's framing) ---------------------

# RFC 8446 B.4: cipher suite -> (AEAD, key length, hash)
_SUITES: dict[int, tuple[Any, int, hashes.HashAlgorithm]] = {
    0x1301: (AESGCM, 16, hashes.SHA256()),
    0x1302: (AESGCM, 32, hashes.SHA384()),
    0x1303: (ChaCha20Poly1305, 32, hashes.SHA256()),
}
_HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
CT_CCS, CT_ALERT, CT_HANDSHAKE, CT_APPLICATION = 20, 21, 22, 23
HS_KEY_UPDATE = 24


def read_keylog(text: str) -> dict[bytes, dict[str, bytes]]:
    """NSS key log lines: client random -> {label: secret}."""
    keys: dict[bytes, dict[str, bytes]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            keys.setdefault(bytes.fromhex(parts[1]), {})[parts[0]] = bytes.fromhex(parts[2])
    return keys


def _expand_label(secret: bytes, label: str, length: int, digest: hashes.HashAlgorithm) -> bytes:
    full = b"tls13 " + label.encode()
    info = struct.pack(">HB", length, len(full)) + full + b"\x00"
    return HKDFExpand(digest, length, info).derive(secret)


@dataclass
class _Direction:
    """One direction of one TLS connection: bytes in, records out."""

    buf: bytearray = field(default_factory=bytearray)
    next_seq: int | None = None
    prefix: int = 0  # cleartext bytes before TLS (MySQL: one packet), -1: one MySQL packet
    stages: list[tuple[Any, bytes]] = field(default_factory=list)  # (aead, iv): handshake, app
    stage: int = 0
    record_seq: int = 0


@dataclass
class _Connection:
    client_port: int
    sides: dict[str, _Direction]
    client_random: bytes = b""
    suite: int = 0


class Tls13Streams:
    """Plaintext application data of the TLS 1.3 connections to `port` in a capture.

    Feed frames in capture order; `chunks` collects (ts_us, client port, direction,
    plaintext) per decrypted application-data record, the time being that of the packet
    completing the record. `mysql_prefix`: each direction starts with one cleartext
    MySQL packet (the greeting, the SSLRequest) before TLS. Retransmitted segments are
    dropped by sequence number; out-of-order segments are not expected on loopback.
    """

    def __init__(self, port: int, keylog: str, *, mysql_prefix: bool = False) -> None:
        self.port = port
        self.keys = read_keylog(keylog)
        self.mysql_prefix = mysql_prefix
        self.connections: dict[int, _Connection] = {}
        self.chunks: list[tuple[int, int, str, bytes]] = []

    def feed_frames(self, frames: list[tuple[int, bytes]], link_offset: int) -> None:
        for ts_us, frame in frames:
            segment = tcp_payload(frame, link_offset)
            if segment is None:
                continue
            sport, dport, seq, payload = segment
            if not payload:
                continue
            direction = "request" if dport == self.port else "response"
            client_port = sport if direction == "request" else dport
            conn = self.connections.get(client_port)
            if conn is None:
                prefix = -1 if self.mysql_prefix else 0
                conn = self.connections[client_port] = _Connection(
                    client_port, {d: _Direction(prefix=prefix) for d in ("request", "response")}
                )
            side = conn.sides[direction]
            if side.next_seq is not None and seq != side.next_seq:
                continue
            side.next_seq = (seq + len(payload)) & 0xFFFFFFFF
            side.buf += payload
            self._drain(conn, direction, ts_us)

    def _drain(self, conn: _Connection, direction: str, ts_us: int) -> None:
        side = conn.sides[direction]
        buf = side.buf
        if side.prefix == -1:
            if len(buf) < 4:
                return
            side.prefix = 4 + int.from_bytes(buf[:3], "little")
        if side.prefix:
            if len(buf) < side.prefix:
                return
            del buf[: side.prefix]
            side.prefix = 0
        while len(buf) >= 5:
            ctype, length = buf[0], struct.unpack_from(">H", buf, 3)[0]
            if len(buf) < 5 + length:
                return
            header, body = bytes(buf[:5]), bytes(buf[5 : 5 + length])
            del buf[: 5 + length]
            self._record(conn, direction, ctype, header, body, ts_us)

    def _record(
        self, conn: _Connection, direction: str, ctype: int, header: bytes, body: bytes, ts_us: int
    ) -> None:
        if ctype == CT_HANDSHAKE and direction == "request" and body[:1] == b"\x01":
            conn.client_random = body[6:38]
            return
        if ctype == CT_HANDSHAKE and direction == "response" and body[:1] == b"\x02":
            if body[6:38] == _HRR_RANDOM:
                raise RuntimeError("HelloRetryRequest: not handled by this generator")
            sid = body[38]
            conn.suite = struct.unpack_from(">H", body, 39 + sid)[0]
            self._keys(conn)
            return
        if ctype in (CT_CCS, CT_ALERT, CT_HANDSHAKE):
            return
        if ctype != CT_APPLICATION:
            raise RuntimeError(f"TLS record type {ctype} on client port {conn.client_port}")
        side = conn.sides[direction]
        if not side.stages:
            raise RuntimeError("encrypted record before the ServerHello (not TLS 1.3?)")
        inner = self._open(side, header, body)
        if inner is None and side.stage == 0:
            side.stage, side.record_seq = 1, 0  # handshake over: application keys
            inner = self._open(side, header, body)
        if inner is None:
            raise RuntimeError("a record that does not decrypt with the key log's secrets")
        plain = inner.rstrip(b"\x00")
        content, data = plain[-1], plain[:-1]
        if content == CT_APPLICATION:
            self.chunks.append((ts_us, conn.client_port, direction, data))
        elif content == CT_HANDSHAKE and data[:1] == bytes([HS_KEY_UPDATE]):
            raise RuntimeError("KeyUpdate: not handled by this generator")

    def _keys(self, conn: _Connection) -> None:
        secrets = self.keys.get(conn.client_random)
        if secrets is None or conn.suite not in _SUITES:
            raise RuntimeError(f"no TLS 1.3 secrets for suite {conn.suite:#06x} in the key log")
        aead, key_len, digest = _SUITES[conn.suite]
        labels = {
            "request": ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"),
            "response": ("SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"),
        }
        for direction, names in labels.items():
            conn.sides[direction].stages = [
                (aead(_expand_label(secrets[n], "key", key_len, digest)),
                 _expand_label(secrets[n], "iv", 12, digest))
                for n in names
            ]  # fmt: skip

    @staticmethod
    def _open(side: _Direction, header: bytes, body: bytes) -> bytes | None:
        aead, iv = side.stages[side.stage]
        nonce = bytes(a ^ b for a, b in zip(iv, side.record_seq.to_bytes(12, "big"), strict=True))
        try:
            plain: bytes = aead.decrypt(nonce, body, header)
        except InvalidTag:
            return None
        side.record_seq += 1
        return plain


# -- the session ---------------------------------------------------------------------------------


class TlsMariaDB(MariaDB):
    """The test server with TLS: the certificate options go to `mariadbd` (and to
    `mariadb-install-db`, which passes options it does not know to the bootstrap server)."""

    def __init__(self, port: int, pki: Pki) -> None:
        super().__init__(port)
        self.tls_args = [f"--ssl-ca={pki.ca}", f"--ssl-cert={pki.cert}", f"--ssl-key={pki.key}"]

    def _root_args(self) -> list[str]:
        return [*super()._root_args(), *self.tls_args]


@contextlib.contextmanager
def tls_required(pki: Pki, keylog: Path) -> Iterator[None]:
    """The cleartext sample's `run_client`, with TLS required and verified against the
    throwaway CA instead of `ssl_disabled`, and the session keys logged."""
    connect = mysql.connector.connect

    def with_tls(**kwargs: Any) -> Any:
        kwargs.pop("ssl_disabled", None)
        kwargs.update(ssl_ca=str(pki.ca), ssl_verify_cert=True, ssl_verify_identity=False)
        conn: Any = connect(**kwargs)
        cipher = conn._socket.sock.cipher()  # the pure-Python connection's SSL socket
        if cipher is None or cipher[1] != "TLSv1.3":
            raise RuntimeError(f"not a TLS 1.3 session: {cipher}")
        return conn

    previous = os.environ.get("SSLKEYLOGFILE")
    os.environ["SSLKEYLOGFILE"] = str(keylog)  # read by ssl.create_default_context()
    try:
        with mock.patch.object(mysql.connector, "connect", with_tls):
            yield
    finally:
        if previous is None:
            os.environ.pop("SSLKEYLOGFILE", None)
        else:
            os.environ["SSLKEYLOGFILE"] = previous


def mysql_packets(chunks: list[tuple[int, int, str, bytes]]) -> list[tuple[int, str, bytes]]:
    """MySQL packets of the decrypted streams in capture order, as the cleartext
    generator's `framed` gives them: (ts completing it, side, payload), client packets
    with a sequence id other than 0 (the login inside TLS) as empty payloads."""
    buffers = {"request": bytearray(), "response": bytearray()}
    out: list[tuple[int, str, bytes]] = []
    for ts_us, _, side, data in chunks:
        buf = buffers[side]
        buf += data
        while len(buf) >= 4:
            length = int.from_bytes(buf[:3], "little")
            if len(buf) < 4 + length:
                break
            keep = buf[3] == 0 or side == "response"
            out.append((ts_us, side, bytes(buf[4 : 4 + length]) if keep else b""))
            del buf[: 4 + length]
    return out


def make(out_dir: Path) -> None:
    pcap = out_dir / f"{NAME}.pcap"
    keylog_out = out_dir / f"{NAME}.keylog"
    with tempfile.TemporaryDirectory(prefix="dpi-mysql-tls-") as tmp:
        pki = make_pki(Path(tmp))
        keylog = Path(tmp) / "keys.log"
        log: list[clear.Sent] = []
        with TlsMariaDB(PORT, pki) as server:
            have_ssl = server.admin("SELECT @@have_ssl").strip()
            if have_ssl != "YES":
                raise RuntimeError(f"MariaDB TLS not enabled: have_ssl={have_ssl}")
            server.admin(clear.DDL)
            with dumpcap_loopback(pcap, PORT), tls_required(pki, keylog):
                clear.run_client(log)
                time.sleep(0.5)
        keys = keylog.read_text()
    frames = rewrite_times(pcap)
    streams = Tls13Streams(PORT, keys, mysql_prefix=True)
    streams.feed_frames(frames, ip_header_offset(pcap.read_bytes()))
    if len(streams.connections) != 1:
        raise RuntimeError(f"{len(streams.connections)} connections captured, expected one")
    rows = clear.expected_rows(log, mysql_packets(streams.chunks))
    if pcap.stat().st_size >= MAX_SAMPLE_BYTES:
        raise RuntimeError(f"{pcap.name} is {pcap.stat().st_size} bytes")
    keylog_out.write_text(keys)
    write_csv(out_dir / f"{NAME}.expected.csv", rows)
    print(f"{pcap.name}: {pcap.stat().st_size} bytes, {len(rows)} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=SAMPLES_DIR)
    args = parser.parse_args()
    make(args.out_dir)


if __name__ == "__main__":
    main()
