"""Generates a large, realistic REST/JSON-over-HTTP/1.1 capture for the speed benchmark.

`python bench/make_capture.py OUT.pcap --size-mb 200 [--seed N]` writes a classic pcap
(Ethernet, IPv4, TCP) and `OUT.pcap.meta.json` with what it wrote (packets, connections,
requests, gzip and chunked responses, retransmitted and reordered segments).

Fast on purpose (no scapy per packet): headers are packed with `struct` from per-connection
prefixes, TCP checksums are left 0 (nothing downstream verifies them; tshark does not by
default), IPv4 header checksums are computed from a precomputed partial sum. Bodies come
from a small set of templates built once per run (gzip compressed once), with ids varying
in paths and headers, so the cost is dominated by writing bytes.

Traffic shape: thousands of keep-alive connections from a pool of clients to six services,
64 open at a time and interleaved, 2-10 exchanges each; MSS-sized (1448) segments; about
1 % of data segments retransmitted (identical copy) and 1 % sent out of order; bodies of
0.5-50 KB, Content-Length, chunked, gzip and chunked+gzip; JSON with sensitive fields
(synthetic e-mails, phones, test card numbers, SSNs, IBANs, tokens) and ordinary ones.
Deterministic for a given seed and size. MB here means 10^6 bytes.

Not a sample: nothing checks an inventory of this file; it measures speed and memory.
"""

from __future__ import annotations

import argparse
import calendar
import gzip
import json
import random
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

MSS = 1448
EPOCH_S = calendar.timegm((2026, 1, 15, 9, 0, 0))
CONCURRENT = 64  # connections open at once, interleaved exchange by exchange
RETRANSMIT_RATE = 0.01
REORDER_RATE = 0.01
VARIANTS = 8  # pre-built body variants per endpoint

_REC = struct.Struct("<IIII")
_IP = struct.Struct("!BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIBBHHH")
F_FIN, F_SYN, F_PSH, F_ACK = 0x01, 0x02, 0x08, 0x10

SERVICES = (
    ("10.0.0.5", 8080, "api.shop.example"),
    ("10.0.0.6", 8080, "api.shop.example"),
    ("10.0.1.20", 8080, "billing.internal.example"),
    ("10.0.2.30", 80, "clinic.health.example"),
    ("10.0.4.10", 80, "catalog.shop.example"),
    ("10.0.5.15", 8080, "orders.shop.example"),
)
FIRST = ("Olivia", "Noah", "Priya", "Jamal", "Elena", "Mateo", "Hana", "Liam", "Sofia", "Marcus")
LAST = ("Hart", "Fischer", "Nair", "Okafor", "Marsh", "Rossi", "Sato", "Bell", "Alvarez", "Lind")
PHONES = ("+14155552671", "+442071838750", "+13125552904", "+4915172938461", "+819037461285")
CARDS = ("4111111111111111", "5555555555554444", "378282246310005")
SSNS = ("372-81-5526", "458-62-1037", "541-26-7390")
IBANS = ("GB23WEST40051531926819", "DE75500105170648489890", "GB33BARC20035583718294")
PRODUCTS = ("Trail Runner 2 Shoe", "Summit Down Jacket", "Alpine Wool Socks",
            "Ridge Hydration Pack", "Canyon Softshell Pants", "Basecamp Headlamp")


def _ip4(addr: str) -> bytes:
    return bytes(int(x) for x in addr.split("."))


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _chunked(data: bytes, size: int) -> bytes:
    out = bytearray()
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


@dataclass
class Response:
    wire: bytes
    gzip: bool
    chunked: bool


@dataclass
class Endpoint:
    method: str
    path: str  # with `{}` for an id
    host: str
    headers: bytes
    bodies: list[bytes]
    responses: list[Response]
    weight: int


def _response(status: str, body: bytes, *, gz: bool, chunk: int, extra: str = "") -> Response:
    wire = gzip.compress(body, compresslevel=6, mtime=0) if gz else body
    head = (f"HTTP/1.1 {status}\r\nDate: Thu, 15 Jan 2026 09:00:00 GMT\r\nServer: envoy\r\n"
            f"Content-Type: application/json\r\n{extra}")
    if gz:
        head += "Content-Encoding: gzip\r\n"
    if chunk:
        head += "Transfer-Encoding: chunked\r\n\r\n"
        wire = _chunked(wire, chunk)
    else:
        head += f"Content-Length: {len(wire)}\r\n\r\n"
    return Response(head.encode() + wire, gz, bool(chunk))


def build_endpoints(rng: random.Random) -> list[Endpoint]:
    """The body templates, built once (this is where gzip runs)."""
    def person(i: int) -> dict[str, Any]:
        first, last = FIRST[i % len(FIRST)], LAST[(i * 3) % len(LAST)]
        return {"id": 1000 + i, "email": f"{first}.{last}@mail.shopper-demo.net".lower(),
                "full_name": f"{first} {last}", "phone": PHONES[i % len(PHONES)],
                "date_of_birth": f"19{60 + i % 40}-0{1 + i % 9}-1{i % 10}",
                "address": {"street": f"{100 + i} Alder Court", "zip": f"9{4100 + i:04d}"},
                "status": "active", "created_at": "2024-03-02T11:20:00Z"}

    def products(n: int) -> list[dict[str, Any]]:
        return [{"sku": f"SKU-{rng.randrange(10000, 99999)}-BLK",
                 "name": PRODUCTS[k % len(PRODUCTS)], "price": round(rng.uniform(9, 240), 2),
                 "stock": rng.randrange(400), "rating": round(rng.uniform(3, 5), 1),
                 "updated_at": "2026-01-14T08:30:00Z", "catalog_version": "2026.01.3",
                 "id": f"{rng.getrandbits(64):016x}"} for k in range(n)]

    def order(k: int) -> dict[str, Any]:
        return {"id": f"{rng.getrandbits(128):032x}", "order_number": f"ORD-2026-{k:06d}",
                "invoice_number": "4539148803436469", "status": "shipped",
                "items": [{"sku": f"SKU-{rng.randrange(10000, 99999)}-NVY", "qty": 1,
                           "unit_price": round(rng.uniform(9, 240), 2)} for _ in range(4)],
                "total": round(rng.uniform(20, 900), 2), "currency": "USD",
                "shipping": {"name": f"{FIRST[k % 10]} {LAST[k % 10]}",
                             "street": f"{k % 900 + 10} Kestrel Road", "zip": "60614"}}

    def patient(k: int) -> dict[str, Any]:
        return {"patient": {"id": 884000 + k, "mrn": f"MRN{884000 + k:08d}",
                            "name": f"{FIRST[k % 10]} {LAST[(k + 4) % 10]}",
                            "ssn": SSNS[k % 3], "birth_date": "1979-11-03"},
                "conditions": [{"icd10": code, "recorded": "2025-06-02"}
                               for code in ("E11.9", "I10")[: 1 + k % 2]],
                "care_team": [{"role": "primary", "npi": "1493028710"}],
                "visits": [{"visit_id": f"VIS-{rng.randrange(10**7, 10**8)}",
                            "date": f"2025-{1 + v % 12:02d}-1{v % 10}", "department": "Lab",
                            "status": "completed"} for v in range(10 + 8 * k)]}

    ua = "User-Agent: ShopApp/4.12.0 (Android 14)\r\nAccept: application/json\r\n"
    auth = "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyXzEwNDIifQ."
    eps: list[Endpoint] = []

    def add(method: str, path: str, host: str, headers: str, bodies: list[bytes],
            responses: list[Response], weight: int) -> None:
        eps.append(Endpoint(method, path, host, headers.encode(), bodies, responses, weight))

    add("GET", "/v1/users/{}", "api.shop.example",
        ua + auth + "{tok}\r\nAccept-Encoding: gzip\r\n", [b""],
        [_response("200 OK", _json(person(i)), gz=i % 2 == 0, chunk=0)
         for i in range(VARIANTS)], 30)
    add("GET", "/v1/products?page={}&per_page=50", "catalog.shop.example", ua,
        [b""], [_response("200 OK", _json({"products": products(4 + 40 * i), "page": i}),
                          gz=i % 3 != 0, chunk=4096 if i % 2 else 0)
                for i in range(VARIANTS)], 20)
    add("GET", "/v1/orders?limit={}", "orders.shop.example", ua + "Cookie: session={tok}\r\n",
        [b""], [_response("200 OK", _json({"orders": [order(k) for k in range(2 + 12 * i)]}),
                          gz=False, chunk=8192 if i % 3 == 0 else 0)
                for i in range(VARIANTS)], 15)
    add("POST", "/v1/users/{}/cards", "api.shop.example", ua + auth + "{tok}\r\n",
        [_json({"card": {"number": CARDS[i % 3], "expiry": f"{1 + i % 12:02d}/2{8 + i % 2}",
                         "cvv": f"{300 + 17 * i}"}, "make_default": True})
         for i in range(VARIANTS)],
        [_response("201 Created", _json({"id": f"card_{rng.getrandbits(56):x}",
                                         "brand": "visa", "last4": "1111"}), gz=False, chunk=0)],
        10)
    add("POST", "/v1/auth/login", "api.shop.example", ua,
        [f"email={FIRST[i].lower()}.{LAST[i].lower()}%40mail.shopper-demo.net&password=Lantern-"
         f"Quarry-{50 + i}%21".encode() for i in range(VARIANTS)],
        [_response("200 OK", _json({"access_token": auth[22:] + f"{rng.getrandbits(160):x}",
                                    "expires_in": 3600}), gz=False, chunk=0,
                   extra=f"Set-Cookie: session={rng.getrandbits(256):064x}; Path=/; HttpOnly\r\n")
         for _ in range(VARIANTS)], 5)
    add("GET", "/api/v1/patients/{}", "clinic.health.example", ua + auth + "{tok}\r\n",
        [b""], [_response("200 OK", _json(patient(i)), gz=True, chunk=2048)
                for i in range(VARIANTS)], 10)
    add("POST", "/billing/v2/charges", "billing.internal.example",
        ua + "x-api-key: bk_{tok}\r\nIdempotency-Key: {}\r\n",
        [_json({"amount": 1000 + 37 * i, "currency": "USD", "card_number": CARDS[i % 3],
                "iban": IBANS[i % 3], "order_number": f"ORD-2026-{i:06d}"})
         for i in range(VARIANTS)],
        [_response("201 Created", _json({"charge_id": f"ch_{rng.getrandbits(80):x}",
                                         "status": "succeeded"}), gz=False, chunk=0)],
        10)
    return eps


@dataclass
class Conn:
    client: str
    cport: int
    server: str
    sport: int
    host: str
    exchanges: int
    seq_c: int
    seq_s: int
    pre: dict[int, tuple[bytes, int, bytes, bytes]] = field(default_factory=dict)
    ipid: int = 0


@dataclass
class Stats:
    packets: int = 0
    bytes: int = 0
    connections: int = 0
    http_requests: int = 0
    http_responses: int = 0
    gzip_responses: int = 0
    chunked_responses: int = 0
    retransmitted_segments: int = 0
    reordered_segments: int = 0


class Writer:
    """Packs frames straight into the output file."""

    def __init__(self, out: BinaryIO, rng: random.Random) -> None:
        self.out = out
        self.rng = rng
        self.ts_us = EPOCH_S * 1_000_000
        self.stats = Stats()
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.stats.bytes = 24

    @staticmethod
    def prefixes(conn: Conn) -> None:
        """Per direction: Ethernet header, the IPv4 checksum's constant partial sum, and
        the address bytes (0 = client to server, 1 = server to client)."""
        for side, (src, dst) in enumerate(((conn.client, conn.server),
                                           (conn.server, conn.client))):
            s, d = _ip4(src), _ip4(dst)
            eth = b"\x02\x00" + s + b"\x02\x00" + d + b"\x08\x00"
            # version/IHL+TOS, flags (DF), TTL+protocol, then the addresses as 16-bit words
            partial = 0x4500 + 0x4000 + 0x4006 + sum(
                (a[i] << 8) + a[i + 1] for a in (s, d) for i in (0, 2))
            conn.pre[side] = (eth, partial, s, d)

    def frame(self, conn: Conn, side: int, flags: int, seq: int, ack: int,
              payload: bytes | memoryview = b"") -> None:
        eth, partial, src, dst = conn.pre[side]
        total = 40 + len(payload)
        conn.ipid = (conn.ipid + 1) & 0xFFFF
        csum = partial + total + conn.ipid
        csum = (csum & 0xFFFF) + (csum >> 16)
        csum = (csum & 0xFFFF) + (csum >> 16)
        if side == 0:
            sport, dport = conn.cport, conn.sport
        else:
            sport, dport = conn.sport, conn.cport
        # LAN-like spacing: 20-400 us between frames
        self.ts_us += 20 + int(self.rng.random() * 380)
        caplen = 54 + len(payload)
        write = self.out.write
        write(_REC.pack(self.ts_us // 1_000_000, self.ts_us % 1_000_000, caplen, caplen))
        write(eth)
        write(_IP.pack(0x45, 0, total, conn.ipid, 0x4000, 64, 6, ~csum & 0xFFFF, src, dst))
        write(_TCP.pack(sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags,
                        64240, 0, 0))
        if payload:
            write(payload)
        self.stats.packets += 1
        self.stats.bytes += 16 + caplen

    def data(self, conn: Conn, side: int, data: bytes) -> None:
        """Sends `data` in MSS segments with occasional retransmits and reordering."""
        rng = self.rng
        view = memoryview(data)
        seq0 = conn.seq_c if side == 0 else conn.seq_s
        ack = conn.seq_s if side == 0 else conn.seq_c
        offsets = list(range(0, len(data), MSS))
        i, n = 0, len(offsets)
        while i < n:
            if i + 1 < n and rng.random() < REORDER_RATE:
                order = (i + 1, i)
                self.stats.reordered_segments += 1
            else:
                order = (i,)
            for k in order:
                off = offsets[k]
                piece = view[off:off + MSS]
                flags = F_ACK | (F_PSH if off + MSS >= len(data) else 0)
                self.frame(conn, side, flags, seq0 + off, ack, piece)
                if rng.random() < RETRANSMIT_RATE:
                    self.frame(conn, side, flags, seq0 + off, ack, piece)
                    self.stats.retransmitted_segments += 1
            i += len(order)
        if side == 0:
            conn.seq_c += len(data)
        else:
            conn.seq_s += len(data)

    def open(self, conn: Conn) -> None:
        self.prefixes(conn)
        self.frame(conn, 0, F_SYN, conn.seq_c, 0)
        conn.seq_c += 1
        self.frame(conn, 1, F_SYN | F_ACK, conn.seq_s, conn.seq_c)
        conn.seq_s += 1
        self.frame(conn, 0, F_ACK, conn.seq_c, conn.seq_s)
        self.stats.connections += 1

    def close(self, conn: Conn) -> None:
        self.frame(conn, 0, F_FIN | F_ACK, conn.seq_c, conn.seq_s)
        conn.seq_c += 1
        self.frame(conn, 1, F_FIN | F_ACK, conn.seq_s, conn.seq_c)
        conn.seq_s += 1
        self.frame(conn, 0, F_ACK, conn.seq_c, conn.seq_s)


def generate(path: Path, size_mb: float, seed: int = 1) -> dict[str, Any]:
    started = time.perf_counter()
    rng = random.Random(seed)
    endpoints = build_endpoints(rng)
    by_host: dict[str, list[Endpoint]] = {}
    for ep in endpoints:
        by_host.setdefault(ep.host, []).append(ep)
    target = int(size_mb * 1_000_000)
    next_port = 20000
    active: list[Conn] = []
    with open(path, "wb", buffering=4 << 20) as out:
        w = Writer(out, rng)
        stats = w.stats
        while stats.bytes < target or active:
            if stats.bytes < target and len(active) < CONCURRENT:
                server, sport, host = SERVICES[rng.randrange(len(SERVICES))]
                client = f"10.1.{rng.randrange(1, 40)}.{rng.randrange(2, 250)}"
                next_port = next_port + 1 if next_port < 60999 else 20000
                conn = Conn(client, next_port, server, sport, host, rng.randrange(2, 11),
                            rng.getrandbits(32), rng.getrandbits(32))
                w.open(conn)
                active.append(conn)
                continue
            idx = rng.randrange(len(active))
            conn = active[idx]
            if conn.exchanges == 0 or stats.bytes >= target:
                w.close(conn)
                active[idx] = active[-1]
                active.pop()
                continue
            conn.exchanges -= 1
            choices = by_host[conn.host]
            ep = choices[0] if len(choices) == 1 else rng.choices(
                choices, weights=[e.weight for e in choices])[0]
            ident = rng.randrange(1000, 99999)
            body = ep.bodies[ident % len(ep.bodies)]
            headers = ep.headers.replace(b"{tok}", b"%x" % rng.getrandbits(96)).replace(
                b"{}", b"%08x-7c1e-4a52-9b1d-%012x" % (ident, rng.getrandbits(48)))
            request = b"%s %s HTTP/1.1\r\nHost: %s\r\n%s" % (
                ep.method.encode(), ep.path.replace("{}", str(ident)).encode(), ep.host.encode(),
                headers)
            if body:
                kind = b"application/json" if body[:1] == b"{" else \
                    b"application/x-www-form-urlencoded"
                request += b"Content-Type: %s\r\nContent-Length: %d\r\n" % (kind, len(body))
            request += b"\r\n" + body
            w.data(conn, 0, request)
            resp = ep.responses[rng.randrange(len(ep.responses))]
            w.data(conn, 1, resp.wire)
            w.frame(conn, 0, F_ACK, conn.seq_c, conn.seq_s)
            stats.http_requests += 1
            stats.http_responses += 1
            stats.gzip_responses += resp.gzip
            stats.chunked_responses += resp.chunked
    meta = {"file": str(path), "seed": seed, "size_mb": size_mb, **vars(stats),
            "generator_seconds": round(time.perf_counter() - started, 3)}
    Path(str(path) + ".meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size-mb", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    meta = generate(args.out, args.size_mb, args.seed)
    print(json.dumps(meta, indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
