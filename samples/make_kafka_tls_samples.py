"""Generates the Kafka-over-TLS sample: kafka-python's real producer and consumer with
`security_protocol="SSL"` against the stand-in broker of `make_kafka_samples.py` in TLS.

Run `python samples/make_kafka_tls_samples.py [--out-dir DIR]` as root (dumpcap on `lo`).
Writes
- `kafka-tls.pcap`: every connection of the clients, each TLS 1.3 from its first byte;
- `kafka-tls.keylog`: the sessions' key log (NSS format), for `dpi scan --keylog`;
- `kafka-tls.expected.csv`: the inventory a correct scan with the key log must produce.

The traffic is the cleartext sample `kafka-flexible-lz4-zstd`'s (Produce v9, Fetch v12,
Metadata v11; lz4 and zstd record batches; JSON values and a record header with synthetic
PII): `make_kafka_samples.py`'s broker and `run_clients`, with the broker's accepted
sockets wrapped in a Python `ssl` server context (a throwaway CA and server certificate
from `make_mysql_tls_samples.make_pki`) and the clients made with
`security_protocol="SSL"` and `ssl_cafile` set to that CA (certificate and host name
verified). kafka-python builds its own `SSLContext`, which ignores `SSLKEYLOGFILE`: the
key log is written by the broker's context (`keylog_filename`), same secrets.
So the expected CSV has the cleartext sample's rows; only first/last seen differ.

Ground truth: the broker logs which records it received in each Produce request and
served in each Fetch response (client port, correlation id); the script decrypts the
capture itself with the key log (`make_mysql_tls_samples.Tls13Streams`, not dpi) and
frames the plaintext by Kafka's size prefix to find the packet completing each message.
Packet times are rewritten to the private clock (2026-01-15T09:00:00Z onward); keys,
randoms, ports and certificates differ on every run, the CSV does not.

The key log is test material of throwaway sessions with a generated certificate.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kafka import KafkaConsumer, KafkaProducer

from samples import make_kafka_samples as clear
from samples._capture_tools import (
    dumpcap_loopback,
    ip_header_offset,
    rewrite_times,
    write_csv,
)
from samples.make_mysql_tls_samples import Pki, Tls13Streams, make_pki

NAME = "kafka-tls"
SCENARIO = clear.SCENARIOS["flexible-lz4-zstd"]
PORT = clear.PORT  # the cleartext samples' broker address, so the rows are the same rows
MAX_SAMPLE_BYTES = 1_000_000


class TlsBroker(clear.Broker):
    """The stand-in broker, each accepted connection wrapped in TLS (1.3 only)."""

    def __init__(self, scenario: clear.Scenario, log: clear.Log, pki: Pki, keylog: Path) -> None:
        super().__init__(scenario, log)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_3
        self.context.load_cert_chain(pki.cert, pki.key)
        self.context.keylog_filename = str(keylog)
        # No session tickets: OpenSSL sends two after the handshake, in a packet of their
        # own or with the first answer as timing has it, which moved the packet clock.
        self.context.num_tickets = 0
        self.handshake_failures = 0

    def connection(self, conn: socket.socket, port: int) -> None:
        conn.settimeout(30)
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshake_failures += 1
            conn.close()
            return
        super().connection(tls, port)


@contextlib.contextmanager
def ssl_clients(pki: Pki) -> Iterator[None]:
    """`make_kafka_samples.run_clients` with TLS: its producers and consumer are made
    with `security_protocol="SSL"` and the throwaway CA."""
    tls = {"security_protocol": "SSL", "ssl_cafile": str(pki.ca), "ssl_check_hostname": True}
    with (
        mock.patch.object(clear, "KafkaProducer", functools.partial(KafkaProducer, **tls)),
        mock.patch.object(clear, "KafkaConsumer", functools.partial(KafkaConsumer, **tls)),
    ):
        yield


def completion_times(chunks: list[tuple[int, int, str, bytes]]) -> dict[tuple[int, int, str], int]:
    """(client port, correlation id, direction) -> time of the packet completing the TLS
    record that completed the message, from the decrypted streams."""
    streams: dict[tuple[int, str], bytearray] = defaultdict(bytearray)
    done: dict[tuple[int, int, str], int] = {}
    for ts_us, client_port, direction, data in chunks:
        buf = streams[(client_port, direction)]
        buf += data
        while len(buf) >= 8:
            (size,) = struct.unpack_from(">i", buf, 0)
            if len(buf) < 4 + size:
                break
            corr = struct.unpack_from(">i", buf, 8 if direction == "request" else 4)[0]
            done[(client_port, corr, direction)] = ts_us
            del buf[: 4 + size]
    return done


def make(out_dir: Path) -> None:
    pcap = out_dir / f"{NAME}.pcap"
    log = clear.Log()
    with tempfile.TemporaryDirectory(prefix="dpi-kafka-tls-") as tmp:
        pki = make_pki(Path(tmp))
        keylog = Path(tmp) / "keys.log"
        broker = TlsBroker(SCENARIO, log, pki, keylog)
        server = threading.Thread(target=broker.serve, daemon=True)
        server.start()
        try:
            with dumpcap_loopback(pcap, PORT), ssl_clients(pki):
                clear.run_clients(SCENARIO)
                time.sleep(0.5)
        finally:
            broker.stop = True
            server.join(5)
        if broker.handshake_failures:
            raise RuntimeError(f"{broker.handshake_failures} TLS handshakes failed")
        keys = keylog.read_text()
    frames = rewrite_times(pcap)
    streams = Tls13Streams(PORT, keys)
    streams.feed_frames(frames, ip_header_offset(pcap.read_bytes()))
    rows = clear.expected_rows(log, completion_times(streams.chunks))
    if pcap.stat().st_size >= MAX_SAMPLE_BYTES:
        raise RuntimeError(f"{pcap.name} is {pcap.stat().st_size} bytes")
    (out_dir / f"{NAME}.keylog").write_text(keys)
    write_csv(out_dir / f"{NAME}.expected.csv", rows)
    print(
        f"{pcap.name}: {pcap.stat().st_size} bytes, {len(streams.connections)} connections, "
        f"{len(rows)} rows"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=SAMPLES_DIR)
    args = parser.parse_args()
    make(args.out_dir)


if __name__ == "__main__":
    main()
