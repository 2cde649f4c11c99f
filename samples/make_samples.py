"""Generates the golden sample captures and their expected inventories.

Run `python samples/make_samples.py [--out-dir DIR]`. Every run writes byte-identical files:
a fixed seed drives every random choice, packet times start at 2026-01-15T09:00:00Z and
advance on a private clock, gzip bodies carry mtime 0, and the pcap writer below owns
every byte of the file (scapy only builds the frames).

Each capture is written next to `<name>.expected.csv`, the inventory of spec/inventory.md
that a correct scan must produce. It is computed from the generator's own ground truth
(which value it put in which field of which message, and when the packet that completed
that message was written), never by running dpi. Only fields that a correct classifier
must flag are listed; every other field in the traffic is an ordinary value that must
stay unflagged (order ids, a 16-digit invoice number failing Luhn, prices, timestamps,
UUIDs, SKUs, versions, product names, statuses).

Ground-truth rules, shared with the golden test:
- first_seen / last_seen: time of the packet that completed the message carrying the
  value. With reordered segments that is the latest first copy among the message's
  segments; a retransmitted copy never completes anything (first copy wins).
- Packet times are whole milliseconds plus 0-499 microseconds, so that truncating or
  rounding to the millisecond give the same ISO 8601 text.
- sample: `dpi.masking.mask(value, category, data_type)` of the first value seen.
- confidence: 0.5 in every row, the minimum the golden test accepts (see README.md).

Not covered here: HTTP/2, gRPC, Kafka, MySQL, TLS (later scenarios).
"""

from __future__ import annotations

import argparse
import base64
import calendar
import csv
import email.utils
import gzip
import io
import json
import random
import re
import struct
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = Path(__file__).resolve().parent
# Run as a script from anywhere: the repository root must be importable for dpi.masking.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from dpi.masking import mask

SEED = 20260115
EPOCH_US = calendar.timegm((2026, 1, 15, 9, 0, 0)) * 1_000_000
MSS4 = 1448  # 1460 minus the 12 bytes of a TCP timestamp option, as Linux sends it
MSS6 = 1428  # the same over IPv6 (20 more bytes of IP header)

COLUMNS = (
    "protocol", "server", "host", "api", "direction", "location", "field", "data_type",
    "category", "count", "first_seen", "last_seen", "clients", "sample", "confidence",
)
CATEGORY = {
    "EMAIL_ADDRESS": "PII", "PHONE_NUMBER": "PII", "PERSON_NAME": "PII",
    "STREET_ADDRESS": "PII", "POSTAL_CODE": "PII", "DATE_OF_BIRTH": "PII", "US_SSN": "PII",
    "IBAN": "PII", "MEDICAL_RECORD_NUMBER": "PHI", "NPI": "PHI", "DIAGNOSIS_CODE": "PHI",
    "CARD_NUMBER": "PCI", "CARD_EXPIRY": "PCI", "CARD_CVV": "PCI",
    "PASSWORD": "SECRET", "API_KEY": "SECRET", "BEARER_TOKEN": "SECRET",
}
# The golden test accepts any confidence at or above this (README.md, "confidence").
MIN_CONFIDENCE = "0.5"


# --------------------------------------------------------------------------- checksums
# Written out here (not imported from classifiers) so that the samples check their
# synthetic values independently of the code under test.

def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _npi(base9: str) -> str:
    """Appends the check digit: Luhn over the 80840 prefix (CMS NPI standard)."""
    for check in "0123456789":
        if _luhn_ok("80840" + base9 + check):
            return base9 + check
    raise AssertionError("unreachable")


def _iban(country: str, bban: str) -> str:
    """ISO 13616 check digits: 98 - (BBAN + country + '00' as digits) mod 97."""
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def _iban_ok(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _ssn_ok(ssn: str) -> bool:
    """SSA rules: area 001-899 but not 666, group 01-99, serial 0001-9999, no known fakes."""
    area, group, serial = (int(x) for x in ssn.split("-"))
    return (0 < area < 900 and area != 666 and 0 < group and 0 < serial
            and ssn not in {"078-05-1120", "219-09-9999", "123-45-6789"})


# --------------------------------------------------------------------------- synthetic data
CARD_VISA = "4111111111111111"
CARD_MC = "5555555555554444"
CARD_AMEX = "378282246310005"
NPI_1 = _npi("149302871")
IBAN_GB = _iban("GB", "WEST" + "40051531926819")  # synthetic sort code and account
IBAN_DE = _iban("DE", "500105170648489890")
IBAN_GB2 = _iban("GB", "BARC" + "20035583718294")
INVOICE_NO_LUHN = "4539148803436469"  # 16 digits in the Visa range, Luhn fails: not a card

PHONES = ("+14155552671", "+442071838750", "+13125552904", "+4915172938461",
          "+819037461285")
SSNS = ("372-81-5526", "458-62-1037", "541-26-7390")

for _card in (CARD_VISA, CARD_MC, CARD_AMEX):
    assert _luhn_ok(_card)
assert not _luhn_ok(INVOICE_NO_LUHN)
assert NPI_1[0] in "12" and _luhn_ok("80840" + NPI_1)
for _iban_value in (IBAN_GB, IBAN_DE, IBAN_GB2):
    assert _iban_ok(_iban_value), _iban_value
for _ssn in SSNS:
    assert _ssn_ok(_ssn)


def _check_phones() -> None:
    try:
        import phonenumbers
    except ImportError:  # validated where the library is installed (the dev venv)
        return
    for number in PHONES:
        assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number


_check_phones()


# --------------------------------------------------------------------------- pcap writing
class Clock:
    """Capture time in microseconds. Each packet is at least 1 ms after the previous one
    and its sub-millisecond part stays under 500 us (see the module docstring)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ms = 0
        self.now_us = EPOCH_US

    def tick(self, ms: int = 1) -> int:
        self.ms += max(1, ms)
        self.now_us = EPOCH_US + self.ms * 1000 + self.rng.randrange(0, 500)
        return self.now_us


def iso_ms(ts_us: int) -> str:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts_us)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def pcap_bytes(records: Iterable[tuple[int, bytes]]) -> bytes:
    """Classic pcap (microsecond timestamps, LINKTYPE_ETHERNET), little-endian."""
    out = io.BytesIO()
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    for ts_us, frame in records:
        sec, usec = divmod(ts_us, 1_000_000)
        out.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
        out.write(frame)
    return out.getvalue()


def _mac(ip: str) -> str:
    """A stable locally administered MAC derived from the address."""
    digest = sum(ord(c) * (i + 1) for i, c in enumerate(ip))
    return "02:00:" + ":".join(f"{b:02x}" for b in (digest & 0xFFFFFFFF).to_bytes(4, "big"))


# --------------------------------------------------------------------------- HTTP messages
Part = tuple[str, str, str]  # (location, field path, value)


@dataclass
class HttpMsg:
    raw: bytes
    parts: list[Part]
    method: str = ""
    target: str = ""
    host: str = ""


def json_leaves(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(field path, value) of every scalar, with the spec's `.` and `[]` rules."""
    if isinstance(obj, dict):
        out: list[tuple[str, str]] = []
        for key, value in obj.items():
            out += json_leaves(value, f"{prefix}.{key}" if prefix else key)
        return out
    if isinstance(obj, list):
        out = []
        for item in obj:
            out += json_leaves(item, prefix + "[]")
        return out
    return [(prefix, obj if isinstance(obj, str) else json.dumps(obj))]


def _body_parts(content_type: str, body: bytes) -> list[Part]:
    if not body:
        return []
    if content_type.startswith("application/json"):
        return [("body", p, v) for p, v in json_leaves(json.loads(body))]
    if content_type.startswith("application/x-www-form-urlencoded"):
        return [("body", k, v) for k, v in parse_qsl(body.decode(), keep_blank_values=True)]
    return []


def _header_block(start: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [start] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _encode_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def http_request(method: str, target: str, host: str, headers: list[tuple[str, str]],
                 body: Any = None, *, form: bool = False) -> HttpMsg:
    """A request; `body` is a dict for JSON (or a form when `form`), bytes as is."""
    content_type = ""
    if isinstance(body, dict):
        if form:
            payload, content_type = urlencode(body).encode(), "application/x-www-form-urlencoded"
        else:
            payload, content_type = _encode_json(body), "application/json"
    else:
        payload = body or b""
    all_headers = [("Host", host)] + list(headers)
    if content_type:
        all_headers.append(("Content-Type", content_type))
    if payload or method in ("POST", "PUT", "PATCH"):
        all_headers.append(("Content-Length", str(len(payload))))
    raw = _header_block(f"{method} {target} HTTP/1.1", all_headers) + payload
    parts: list[Part] = []
    if "?" in target:
        parts += [("query", k, v) for k, v in parse_qsl(target.split("?", 1)[1])]
    for name, value in headers:
        if name.lower() == "cookie":
            parts += [("cookie", *c.strip().split("=", 1)) for c in value.split(";")]
        else:
            parts.append(("header", name.lower(), value))
    parts += _body_parts(content_type, payload)
    return HttpMsg(raw, parts, method, target, host)


def http_response(status: int, reason: str, headers: list[tuple[str, str]], body: Any = None,
                  *, gzipped: bool = False, chunks: list[int] | None = None,
                  content_type: str = "application/json", bodyless: bool = False) -> HttpMsg:
    """A response. `chunks` = chunk sizes for Transfer-Encoding: chunked (the last one
    repeats); `gzipped` compresses before chunking; `bodyless` writes the headers only
    (HEAD, 204, 304, 100)."""
    payload = _encode_json(body) if isinstance(body, (dict, list)) else (body or b"")
    parts: list[Part] = []
    for name, value in headers:
        if name.lower() == "set-cookie":
            cookie_name, cookie_value = value.split(";", 1)[0].split("=", 1)
            parts.append(("cookie", cookie_name.strip(), cookie_value.strip()))
        else:
            parts.append(("header", name.lower(), value))
    if not bodyless:
        parts += _body_parts(content_type, payload)
    wire = gzip.compress(payload, compresslevel=6, mtime=0) if gzipped else payload
    all_headers = list(headers)
    if payload and content_type:
        all_headers.append(("Content-Type", content_type))
    if gzipped:
        all_headers.append(("Content-Encoding", "gzip"))
    if bodyless:
        return HttpMsg(_header_block(f"HTTP/1.1 {status} {reason}", all_headers), parts)
    if chunks:
        all_headers.append(("Transfer-Encoding", "chunked"))
        encoded, pos, i = bytearray(), 0, 0
        while pos < len(wire):
            size = chunks[min(i, len(chunks) - 1)]
            piece = wire[pos:pos + size]
            encoded += b"%x\r\n" % len(piece) + piece + b"\r\n"
            pos, i = pos + size, i + 1
        encoded += b"0\r\n\r\n"
        wire = bytes(encoded)
    else:
        all_headers.append(("Content-Length", str(len(wire))))
    return HttpMsg(_header_block(f"HTTP/1.1 {status} {reason}", all_headers) + wire, parts)


_UUID_SEGMENT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def api_of(method: str, target: str) -> str:
    """The spec's http api, for the path shapes used here: digits -> {id}, UUID -> {uuid}."""
    path = target.split("?", 1)[0]
    segments = ["{id}" if s.isdigit() else "{uuid}" if _UUID_SEGMENT.fullmatch(s) else s
                for s in path.split("/")]
    return f"{method} {'/'.join(segments)}"


# --------------------------------------------------------------------------- ground truth
@dataclass
class Finding:
    server: str
    host: str
    api: str
    direction: str
    location: str
    field: str
    data_type: str
    value: str
    ts_us: int
    client: str
    order: int


@dataclass
class Capture:
    """The frames of one sample and the findings they carry."""

    seed: int
    records: list[tuple[int, bytes]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    http_requests: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.clock = Clock(self.rng)

    def emit(self, frame: bytes, gap_ms: int = 1) -> int:
        ts = self.clock.tick(gap_ms)
        self.records.append((ts, frame))
        return ts

    def token(self, n: int, alphabet: str = "") -> str:
        chars = alphabet or "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(self.rng.choice(chars) for _ in range(n))

    def uuid4(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def jwt(self, subject: str, scope: str) -> str:
        """A JWT-shaped synthetic token (HS256 header, claims, random signature)."""
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        iat = EPOCH_US // 1_000_000 - 600
        claims = {"sub": subject, "iss": "https://auth.shop.example", "aud": "shop-api",
                  "iat": iat, "exp": iat + 3600, "scope": scope}
        signature = bytes(self.rng.getrandbits(8) for _ in range(32))
        return ".".join([b64(_encode_json({"alg": "HS256", "typ": "JWT"})),
                         b64(_encode_json(claims)), b64(signature)])

    def http_date(self) -> str:
        return email.utils.formatdate(self.clock.now_us / 1e6, usegmt=True)

    def rows(self) -> list[list[str]]:
        groups: dict[tuple[str, ...], list[Finding]] = {}
        for f in sorted(self.findings, key=lambda f: (f.ts_us, f.order)):
            key = ("http", f.server, f.api, f.direction, f.location, f.field, f.data_type)
            groups.setdefault(key, []).append(f)
        rows = []
        for key in sorted(groups):
            found = groups[key]
            first = found[0]
            category = CATEGORY[first.data_type]
            rows.append([
                "http", first.server, first.host, first.api, first.direction, first.location,
                first.field, first.data_type, category, str(len(found)), iso_ms(first.ts_us),
                iso_ms(found[-1].ts_us), str(len({f.client for f in found})),
                mask(first.value, category, first.data_type), MIN_CONFIDENCE,
            ])
        return rows

    def csv_bytes(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 line ends
        writer.writerow(COLUMNS)
        writer.writerows(self.rows())
        return out.getvalue().encode("utf-8")


@dataclass
class Segment:
    start: int
    end: int
    ts_us: int | None  # time of the first copy; None when the capture lost it


class Conn:
    """One TCP connection; writes frames for both sides into the capture."""

    def __init__(self, cap: Capture, client: tuple[str, int], server: tuple[str, int], *,
                 vlan: int | None = None, handshake: bool = True) -> None:
        self.cap = cap
        self.ip = {"c": client[0], "s": server[0]}
        self.port = {"c": client[1], "s": server[1]}
        self.v6 = ":" in server[0]
        self.vlan = vlan
        self.mss = MSS6 if self.v6 else MSS4
        self.seq = {"c": cap.rng.getrandbits(32), "s": cap.rng.getrandbits(32)}
        self.ipid = {"c": cap.rng.getrandbits(16), "s": cap.rng.getrandbits(16)}
        self.server = f"[{server[0]}]:{server[1]}" if self.v6 else f"{server[0]}:{server[1]}"
        self.pending: list[HttpMsg] = []  # requests waiting for their response (FIFO)
        if handshake:
            self._packet("c", "S", opts=[("MSS", self.mss + 12), ("SAckOK", b"")])
            self.seq["c"] += 1
            self._packet("s", "SA", opts=[("MSS", self.mss + 12), ("SAckOK", b"")])
            self.seq["s"] += 1
            self._packet("c", "A")

    @staticmethod
    def _other(side: str) -> str:
        return "s" if side == "c" else "c"

    def _frame(self, side: str, flags: str, payload: bytes, seq: int, opts: list[Any]) -> bytes:
        other = self._other(side)
        ipid = self.ipid[side]
        self.ipid[side] = (ipid + 1) & 0xFFFF
        l3: Any
        if self.v6:
            l3 = IPv6(src=self.ip[side], dst=self.ip[other], hlim=64)
        else:
            l3 = IP(src=self.ip[side], dst=self.ip[other], id=ipid, flags="DF", ttl=64)
        ack = self.seq[other] & 0xFFFFFFFF if "A" in flags else 0
        tcp = TCP(sport=self.port[side], dport=self.port[other], seq=seq & 0xFFFFFFFF,
                  ack=ack, flags=flags, window=64240, options=opts)
        ether = Ether(src=_mac(self.ip[side]), dst=_mac(self.ip[other]))
        pkt = ether / Dot1Q(vlan=self.vlan) / l3 / tcp if self.vlan else ether / l3 / tcp
        if payload:
            pkt = pkt / Raw(payload)
        return bytes(pkt)

    def _packet(self, side: str, flags: str, payload: bytes = b"", gap_ms: int = 1,
                opts: list[Any] | None = None) -> int:
        return self.cap.emit(self._frame(side, flags, payload, self.seq[side], opts or []),
                             gap_ms)

    def ack(self, side: str, gap_ms: int = 1) -> None:
        self._packet(side, "A", gap_ms=gap_ms)

    def write(self, side: str, data: bytes, *, gap_ms: int = 1, reorder: Iterable[int] = (),
              retransmit: Iterable[int] = (), drop: Iterable[int] = ()) -> list[Segment]:
        """Sends `data` in MSS-sized segments. `reorder`: segment i goes out after i+1;
        `retransmit`: segment i is sent twice (identical copy right after it); `drop`:
        segment i never reaches the capture (the peer still acknowledges it)."""
        segs = [Segment(i, min(i + self.mss, len(data)), None)
                for i in range(0, len(data), self.mss)]
        order = list(range(len(segs)))
        for i in reorder:
            order[i], order[i + 1] = order[i + 1], order[i]
        retransmit, drop = set(retransmit), set(drop)
        base = self.seq[side]
        for n, idx in enumerate(order):
            seg = segs[idx]
            if idx in drop:
                continue
            flags = "PA" if seg.end == len(data) else "A"
            frame = self._frame(side, flags, data[seg.start:seg.end], base + seg.start, [])
            seg.ts_us = self.cap.emit(frame, gap_ms if n == 0 else 1)
            if idx in retransmit:
                self.cap.emit(frame, 3)
        self.seq[side] = base + len(data)
        return segs

    def send(self, side: str, msgs: list[HttpMsg], *, gap_ms: int = 1,
             sensitive: Iterable[dict[tuple[str, str], str]] = (), **kw: Any) -> None:
        """Writes one or more messages back to back (pipelining when several) and records
        the findings of each message at the time of the packet that completed it."""
        data = b"".join(m.raw for m in msgs)
        segs = self.write(side, data, gap_ms=gap_ms, **kw)
        sens = list(sensitive) or [{} for _ in msgs]
        pos = 0
        for msg, wanted in zip(msgs, sens, strict=True):
            start, end = pos, pos + len(msg.raw)
            pos = end
            if side == "c":
                self.cap.http_requests += 1 if msg.method else 0
                if msg.method and not msg.raw.startswith(b"HTTP/"):
                    self.pending.append(msg)
                request = msg
            else:
                request = self.pending.pop(0) if not msg.raw.startswith(b"HTTP/1.1 100 ") \
                    else self.pending[0]
            covering = [s for s in segs if s.start < end and s.end > start]
            if any(s.ts_us is None for s in covering):
                assert not wanted, "a lost segment cannot carry expected findings"
                continue
            done = max(s.ts_us for s in covering if s.ts_us is not None)
            self._record(msg, request, "request" if side == "c" else "response", wanted, done)

    def _record(self, msg: HttpMsg, request: HttpMsg, direction: str,
                wanted: dict[tuple[str, str], str], ts_us: int) -> None:
        matched = set()
        for location, path, value in msg.parts:
            data_type = wanted.get((location, path))
            if data_type is None:
                continue
            matched.add((location, path))
            self.cap.findings.append(Finding(
                self.server, request.host, api_of(request.method, request.target), direction,
                location, path, data_type, value, ts_us, self.ip["c"], len(self.cap.findings)))
        missing = set(wanted) - matched
        assert not missing, f"declared sensitive fields not in the message: {missing}"

    def exchange(self, req: HttpMsg, resp: HttpMsg, *, think_ms: int | None = None,
                 req_sensitive: dict[tuple[str, str], str] | None = None,
                 resp_sensitive: dict[tuple[str, str], str] | None = None,
                 req_kw: dict[str, Any] | None = None,
                 resp_kw: dict[str, Any] | None = None) -> None:
        """Request, response (which acknowledges the request), then the client's ACK.
        `think_ms`: pause before the request (default: a user-like 0.1-2 s)."""
        if think_ms is None:
            think_ms = self.cap.rng.randrange(100, 2000)
        self.send("c", [req], gap_ms=think_ms, sensitive=[req_sensitive or {}],
                  **(req_kw or {}))
        self.send("s", [resp], gap_ms=self.cap.rng.randrange(2, 40), sensitive=[resp_sensitive or {}], **(resp_kw or {}))
        self.ack("c")

    def close(self, first: str = "c", gap_ms: int = 20) -> None:
        other = self._other(first)
        self._packet(first, "FA", gap_ms=gap_ms)
        self.seq[first] += 1
        self._packet(other, "FA")
        self.seq[other] += 1
        self._packet(first, "A")


# --------------------------------------------------------------------------- scenarios
SHOP = ("10.0.0.5", 8080)
SHOP_HOST = "api.shop.example"
BILLING = ("10.0.1.20", 9000)
BILLING_HOST = "billing.internal.example"
CLINIC = ("10.0.2.30", 80)
CLINIC_HOST = "clinic.health.example"

UA_WEB = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
UA_APP = "ShopApp/4.12.0 (Android 14; build 41200)"
UA_SVC = "billing-worker/2.3.1 python-httpx/0.27.2"
UA_EHR = "clinic-portal/1.8.4 okhttp/4.12.0"

J = "application/json"


def _resp_headers(cap: Capture, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [("Date", cap.http_date()), ("Server", "envoy"),
            ("X-Request-Id", cap.uuid4()), *extra]


def _products(cap: Capture, n: int) -> list[dict[str, Any]]:
    names = ("Trail Runner 2 Shoe", "Summit Down Jacket", "Alpine Wool Socks",
             "Ridge Hydration Pack", "Canyon Softshell Pants", "Basecamp Headlamp",
             "Glacier Insulated Bottle", "Switchback Trekking Poles")
    colors = ("BLK", "NVY", "RED", "GRN", "SND")
    return [{"sku": f"SKU-{cap.rng.randrange(10000, 99999)}-{cap.rng.choice(colors)}",
             "name": names[i % len(names)], "price": round(cap.rng.uniform(9, 240), 2),
             "currency": "USD", "stock": cap.rng.randrange(0, 400),
             "rating": round(cap.rng.uniform(3.2, 4.9), 1),
             "updated_at": f"2026-01-{cap.rng.randrange(1, 15):02d}T0{cap.rng.randrange(10)}:"
                           f"{cap.rng.randrange(60):02d}:00Z",
             "catalog_version": "2026.01.3"} for i in range(n)]


def _order(cap: Capture, order_id: str) -> dict[str, Any]:
    items = _products(cap, 3)
    return {"id": order_id, "order_number": f"ORD-2026-{cap.rng.randrange(100000):06d}",
            "invoice_number": INVOICE_NO_LUHN, "status": "shipped",
            "created_at": "2026-01-12T16:41:09Z", "items": [
                {"sku": it["sku"], "name": it["name"], "qty": cap.rng.randrange(1, 4),
                 "unit_price": it["price"]} for it in items],
            "subtotal": 184.85, "tax": 15.71, "total": 200.56, "currency": "USD",
            "carrier": "UPS", "api_version": "1.14.2"}


def build_rest_shop() -> Capture:
    """The quick-start sample: a shop API, a billing service and a clinic API."""
    cap = Capture(SEED)
    c_web, c_app, c_svc = "10.0.3.11", "10.0.3.12", "10.0.3.47"
    users = {
        1042: {"id": 1042, "email": "olivia.hart@mail.shopper-demo.net",
               "full_name": "Olivia Hart", "phone": PHONES[0], "date_of_birth": "1987-04-12",
               "address": {"street": "1458 Alder Court", "zip": "94107", "country": "US"},
               "status": "active", "created_at": "2024-03-02T11:20:00Z", "loyalty_tier": "gold"},
        1077: {"id": 1077, "email": "noah.fischer@mail.shopper-demo.net",
               "full_name": "Noah Fischer", "phone": PHONES[1], "date_of_birth": "1991-09-23",
               "address": {"street": "27 Kestrel Road", "zip": "60614", "country": "US"},
               "status": "active", "created_at": "2025-07-19T08:02:44Z", "loyalty_tier": "silver"},
    }
    user_fields = {("body", "email"): "EMAIL_ADDRESS", ("body", "full_name"): "PERSON_NAME",
                   ("body", "phone"): "PHONE_NUMBER", ("body", "date_of_birth"): "DATE_OF_BIRTH",
                   ("body", "address.street"): "STREET_ADDRESS",
                   ("body", "address.zip"): "POSTAL_CODE"}
    card_fields = {("body", "card.number"): "CARD_NUMBER", ("body", "card.expiry"): "CARD_EXPIRY",
                   ("body", "card.cvv"): "CARD_CVV"}
    login_req = {("body", "email"): "EMAIL_ADDRESS", ("body", "password"): "PASSWORD"}
    login_resp = {("body", "access_token"): "BEARER_TOKEN", ("cookie", "session"): "BEARER_TOKEN"}

    def login(conn: Conn, mail: str, password: str, ua: str, user_id: int) -> str:
        session = cap.token(43, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        conn.exchange(
            http_request("POST", "/v1/auth/login", SHOP_HOST,
                         [("User-Agent", ua), ("Accept", J)],
                         {"email": mail, "password": password, "remember_me": "true"}, form=True),
            http_response(200, "OK", _resp_headers(
                cap, ("Set-Cookie", f"session={session}; Path=/; HttpOnly; Secure; SameSite=Lax"),
                ("Set-Cookie", "locale=en-US; Path=/; Max-Age=31536000")),
                {"access_token": cap.jwt(f"user_{user_id}", "orders:read cards:write"),
                 "token_type": "Bearer", "expires_in": 3600, "user_id": user_id}),
            req_sensitive=login_req, resp_sensitive=login_resp)
        return session

    # Web client: form login, then cookie-authenticated calls on one keep-alive connection.
    web = Conn(cap, (c_web, 51514), SHOP)
    session = login(web, users[1042]["email"], "Lantern-Quarry-58!", UA_WEB, 1042)
    cookie = ("Cookie", f"session={session}; locale=en-US")
    # The mobile app connects meanwhile (interleaved connections).
    app = Conn(cap, (c_app, 40822), SHOP)
    web.exchange(
        http_request("GET", "/v1/users/1042", SHOP_HOST, [("User-Agent", UA_WEB), ("Accept", J),
                     ("Accept-Encoding", "gzip, deflate"), cookie]),
        http_response(200, "OK", _resp_headers(cap, ("Vary", "Accept-Encoding")),
                      users[1042], gzipped=True),
        req_sensitive={("cookie", "session"): "BEARER_TOKEN"}, resp_sensitive=user_fields)
    token_app = cap.jwt("user_1077", "orders:read cards:write profile")
    bearer = ("Authorization", f"Bearer {token_app}")
    app.exchange(
        http_request("GET", "/v1/users?email=noah.fischer%40mail.shopper-demo.net&limit=1",
                     SHOP_HOST, [("User-Agent", UA_APP), ("Accept", J), bearer]),
        http_response(200, "OK", _resp_headers(cap), {"items": [
            {"id": 1077, "email": users[1077]["email"], "status": "active"}], "total": 1,
            "next_cursor": None}),
        req_sensitive={("query", "email"): "EMAIL_ADDRESS",
                       ("header", "authorization"): "BEARER_TOKEN"},
        resp_sensitive={("body", "items[].email"): "EMAIL_ADDRESS"})
    web.exchange(
        http_request("POST", "/v1/users/1042/cards", SHOP_HOST,
                     [("User-Agent", UA_WEB), ("Accept", J), cookie],
                     {"card": {"number": CARD_VISA, "expiry": "12/28", "cvv": "737"},
                      "make_default": True, "client_ref": cap.uuid4()}),
        http_response(201, "Created", _resp_headers(cap), {
            "id": "card_" + cap.token(14), "brand": "visa", "last4": "1111",
            "created_at": "2026-01-15T09:00:02Z", "status": "verified"}),
        req_sensitive={("cookie", "session"): "BEARER_TOKEN", **card_fields})
    # A large chunked + gzip catalog page, with one segment out of order.
    app.exchange(
        http_request("GET", "/v1/products?category=outdoor&page=1&per_page=60", SHOP_HOST,
                     [("User-Agent", UA_APP), ("Accept", J), ("Accept-Encoding", "gzip"), bearer]),
        http_response(200, "OK", _resp_headers(cap), {"products": _products(cap, 60),
                      "page": 1, "per_page": 60, "total": 412}, gzipped=True, chunks=[1024]),
        req_sensitive={("header", "authorization"): "BEARER_TOKEN"},
        resp_kw={"reorder": [0]})
    order_id = cap.uuid4()
    web.exchange(
        http_request("GET", f"/v1/orders/{order_id}", SHOP_HOST,
                     [("User-Agent", UA_WEB), ("Accept", J), cookie]),
        http_response(200, "OK", _resp_headers(cap), _order(cap, order_id), chunks=[256, 512]),
        req_sensitive={("cookie", "session"): "BEARER_TOKEN"})
    app.exchange(
        http_request("GET", "/v1/users/1077", SHOP_HOST,
                     [("User-Agent", UA_APP), ("Accept", J), ("Accept-Encoding", "gzip"), bearer]),
        http_response(200, "OK", _resp_headers(cap, ("Vary", "Accept-Encoding")),
                      users[1077], gzipped=True),
        req_sensitive={("header", "authorization"): "BEARER_TOKEN"}, resp_sensitive=user_fields)
    app.exchange(
        http_request("POST", "/v1/users/1077/cards", SHOP_HOST,
                     [("User-Agent", UA_APP), ("Accept", J), bearer],
                     {"card": {"number": CARD_MC, "expiry": "03/29", "cvv": "415"},
                      "make_default": False, "client_ref": cap.uuid4()}),
        http_response(201, "Created", _resp_headers(cap), {
            "id": "card_" + cap.token(14), "brand": "mastercard", "last4": "4444",
            "created_at": "2026-01-15T09:00:04Z", "status": "verified"}),
        req_sensitive={("header", "authorization"): "BEARER_TOKEN", **card_fields})
    web.close()

    # Billing worker -> billing service on a non-HTTP port, API key in a header.
    svc = Conn(cap, (c_svc, 38111), BILLING)
    api_key = ("x-api-key", "bk_" + cap.token(40))
    svc_headers = [("User-Agent", UA_SVC), ("Accept", J), api_key,
                   ("Idempotency-Key", cap.uuid4())]
    charge_fields = {("header", "x-api-key"): "API_KEY", ("body", "card_number"): "CARD_NUMBER"}
    svc.exchange(
        http_request("POST", "/billing/v2/charges", BILLING_HOST, svc_headers,
                     {"amount": 20056, "currency": "USD", "card_number": CARD_AMEX,
                      "order_number": "ORD-2026-000184", "capture": True,
                      "statement_descriptor": "SHOP EXAMPLE"}),
        http_response(201, "Created", _resp_headers(cap), {
            "charge_id": "ch_" + cap.token(20), "status": "succeeded", "card_last4": "0005",
            "amount": 20056, "currency": "USD", "processed_at": "2026-01-15T09:00:05.812Z"}),
        req_sensitive=charge_fields)
    account = cap.uuid4()
    svc.exchange(
        http_request("POST", f"/billing/v2/accounts/{account}/payouts", BILLING_HOST,
                     [("User-Agent", UA_SVC), ("Accept", J), api_key],
                     {"iban": IBAN_GB, "amount": "1250.00", "currency": "GBP",
                      "reference": "Payout 2026-01 week 2", "schedule": "next_business_day"}),
        http_response(202, "Accepted", _resp_headers(cap), {
            "payout_id": "po_" + cap.token(18), "status": "queued",
            "estimated_arrival": "2026-01-17", "fee": "0.25"}),
        req_sensitive={("header", "x-api-key"): "API_KEY", ("body", "iban"): "IBAN"})

    # The app's second worker (another client) charges a card on its own connection.
    svc2 = Conn(cap, ("10.0.3.48", 38990), BILLING)
    svc2.exchange(
        http_request("POST", "/billing/v2/charges", BILLING_HOST,
                     [("User-Agent", UA_SVC), ("Accept", J), api_key,
                      ("Idempotency-Key", cap.uuid4())],
                     {"amount": 4999, "currency": "USD", "card_number": CARD_VISA,
                      "order_number": "ORD-2026-000191", "capture": True,
                      "statement_descriptor": "SHOP EXAMPLE"}),
        http_response(201, "Created", _resp_headers(cap), {
            "charge_id": "ch_" + cap.token(20), "status": "succeeded", "card_last4": "1111",
            "amount": 4999, "currency": "USD", "processed_at": "2026-01-15T09:00:06.120Z"}),
        req_sensitive=charge_fields)
    svc2.close()
    svc.close(first="s")

    # A large plain JSON list (MSS segmentation) with a retransmission and reordering,
    # then a second login on the same connection.
    mobile2 = Conn(cap, (c_svc, 52744), SHOP)
    orders = [_order(cap, cap.uuid4()) for _ in range(14)]
    mobile2.exchange(
        http_request("GET", "/v1/orders?status=shipped&limit=14", SHOP_HOST,
                     [("User-Agent", UA_APP), ("Accept", J)]),
        http_response(200, "OK", _resp_headers(cap), {"orders": orders, "count": 14}),
        resp_kw={"reorder": [2], "retransmit": [4]})
    login(mobile2, "priya.nair@mail.shopper-demo.net", "Velvet-Harbor-2031", UA_APP, 1103)
    mobile2.close()
    app.close()

    # Clinic portal: patient records as chunked + gzip responses.
    npi_fields = {("header", "authorization"): "BEARER_TOKEN"}
    # The spec's MEDICAL_RECORD_NUMBER is "MRN / patient id in a clinical context":
    # the record's numeric id identifies the patient as much as the MRN does.
    patient_fields = {("body", "patient.id"): "MEDICAL_RECORD_NUMBER",
                      ("body", "patient.mrn"): "MEDICAL_RECORD_NUMBER",
                      ("body", "patient.name"): "PERSON_NAME",
                      ("body", "patient.ssn"): "US_SSN",
                      ("body", "conditions[].icd10"): "DIAGNOSIS_CODE",
                      ("body", "care_team[].npi"): "NPI"}

    def patient(pid: int, name: str, ssn: str, codes: list[str]) -> dict[str, Any]:
        visits = [{"visit_id": f"VIS-{cap.rng.randrange(10**7, 10**8)}",
                   "date": f"2025-{m:02d}-{cap.rng.randrange(1, 28):02d}",
                   "department": cap.rng.choice(("Cardiology", "Primary Care", "Lab")),
                   "duration_min": cap.rng.choice((15, 20, 30, 45)), "status": "completed",
                   "facility_id": f"FAC-{cap.rng.randrange(100, 999)}",
                   "visit_uuid": cap.uuid4()} for m in range(1, 13) for _ in range(4)]
        return {"patient": {"id": pid, "mrn": f"MRN{pid:08d}", "name": name, "ssn": ssn,
                            "sex": "U", "active": True},
                "conditions": [{"icd10": c, "recorded": "2025-06-02", "status": "active"}
                               for c in codes],
                "care_team": [{"role": "primary", "npi": NPI_1, "since": "2021-03-01"}],
                "visits": visits, "schema_version": "3.2.0"}

    for pid, name, ssn, codes, client, port in (
            (884213, "Jamal Okafor", SSNS[0], ["E11.9", "I10"], c_app, 41870),
            (884377, "Elena Marsh", SSNS[1], ["I10"], "10.0.3.60", 50321)):
        ehr = Conn(cap, (client, port), CLINIC)
        ehr.exchange(
            http_request("GET", f"/api/v1/patients/{pid}", CLINIC_HOST,
                         [("User-Agent", UA_EHR), ("Accept", J), ("Accept-Encoding", "gzip"),
                          ("Authorization", "Bearer " + cap.jwt(f"clinician_{port}", "patient/*.read"))]),
            http_response(200, "OK", _resp_headers(cap, ("Cache-Control", "no-store")),
                          patient(pid, name, ssn, codes), gzipped=True, chunks=[700]),
            req_sensitive=npi_fields, resp_sensitive=patient_fields,
            resp_kw={"reorder": [0]} if pid == 884213 else {})
        ehr.close()
    return cap


EDGE = ("10.0.0.5", 8080)
NEWS6 = ("2001:db8:10::5", 8080)
NEWS_HOST = "newsletter.shop.example"
LEDGER = ("10.20.0.9", 8080)
LEDGER_HOST = "ledger.bank-demo.example"


def build_rest_edge_cases() -> Capture:
    """HTTP/1.1 and TCP corner cases that must not lose or misplace fields."""
    cap = Capture(SEED + 1)
    hdr = [("User-Agent", UA_APP), ("Accept", J)]

    # Pipelining: three requests in one segment, responses in FIFO order.
    pipe = Conn(cap, ("10.0.3.21", 43001), EDGE)
    reqs = [http_request("GET", f"/v1/users/2001/{what}", SHOP_HOST, hdr)
            for what in ("profile", "contact", "preferences")]
    pipe.send("c", reqs, gap_ms=30)
    pipe.send("s", [
        http_response(200, "OK", _resp_headers(cap), {
            "user_id": 2001, "email": "ava.lindqvist@mail.shopper-demo.net", "locale": "sv-SE"}),
        http_response(200, "OK", _resp_headers(cap), {"user_id": 2001, "phone": PHONES[2],
                                                      "phone_verified": True}),
        http_response(200, "OK", _resp_headers(cap), {"user_id": 2001, "newsletter": True,
                                                      "theme": "dark"}),
    ], gap_ms=4, sensitive=[{("body", "email"): "EMAIL_ADDRESS"},
                             {("body", "phone"): "PHONE_NUMBER"}, {}])
    pipe.ack("c")
    pipe.close()

    # HEAD, 204 and 304 carry no body although the headers may announce one.
    nb = Conn(cap, ("10.0.3.22", 43002), EDGE)
    nb.exchange(http_request("HEAD", "/v1/exports/orders.csv", SHOP_HOST, hdr),
                http_response(200, "OK", _resp_headers(
                    cap, ("Content-Type", "text/csv"), ("Content-Length", "48213")),
                    bodyless=True))
    token = cap.jwt("user_2002", "profile")
    nb.exchange(
        http_request("GET", "/v1/users/2002", SHOP_HOST,
                     [*hdr, ("Authorization", f"Bearer {token}")]),
        http_response(200, "OK", _resp_headers(cap), {
            "id": 2002, "email": "marcus.bell@mail.shopper-demo.net", "full_name": "Marcus Bell",
            "date_of_birth": "1984-07-30", "status": "active", "plan": "plus"}),
        req_sensitive={("header", "authorization"): "BEARER_TOKEN"},
        resp_sensitive={("body", "email"): "EMAIL_ADDRESS", ("body", "full_name"): "PERSON_NAME",
                        ("body", "date_of_birth"): "DATE_OF_BIRTH"})
    nb.exchange(http_request("DELETE", "/v1/sessions/current", SHOP_HOST, hdr),
                http_response(204, "No Content", _resp_headers(cap), bodyless=True))
    nb.exchange(http_request("GET", "/v1/users/2002/avatar", SHOP_HOST,
                             [*hdr, ("If-None-Match", '"a7c3f09e21d4b88c"')]),
                http_response(304, "Not Modified", _resp_headers(
                    cap, ("ETag", '"a7c3f09e21d4b88c"'), ("Cache-Control", "max-age=600")),
                    bodyless=True))
    nb.exchange(
        http_request("GET", "/v1/users/2002/addresses", SHOP_HOST, hdr),
        http_response(200, "OK", _resp_headers(cap), {"addresses": [
            {"label": "home", "street": "310 Quarry Street", "zip": "80205", "default": True}]}),
        resp_sensitive={("body", "addresses[].street"): "STREET_ADDRESS",
                        ("body", "addresses[].zip"): "POSTAL_CODE"})
    nb.close()

    # Expect: 100-continue: headers, interim 100, then the body.
    kyc = Conn(cap, ("10.0.3.23", 43003), EDGE)
    full = http_request("POST", "/v1/kyc/submissions", SHOP_HOST,
                        [*hdr, ("Expect", "100-continue")],
                        {"full_name": "Sofia Alvarez", "ssn": SSNS[2],
                         "date_of_birth": "1990-02-14", "consent_version": "2025-11",
                         "submitted_at": "2026-01-15T09:00:09Z"})
    split = full.raw.index(b"\r\n\r\n") + 4
    kyc.write("c", full.raw[:split], gap_ms=25)
    kyc.pending.append(full)
    cap.http_requests += 1
    kyc.send("s", [http_response(100, "Continue", [], bodyless=True)], gap_ms=2)
    # The request completes with the body, sent only after the interim response.
    body_segs = kyc.write("c", full.raw[split:], gap_ms=2)
    kyc._record(full, full, "request", {
        ("body", "full_name"): "PERSON_NAME", ("body", "ssn"): "US_SSN",
        ("body", "date_of_birth"): "DATE_OF_BIRTH"}, max(s.ts_us or 0 for s in body_segs))
    kyc.send("s", [http_response(201, "Created", _resp_headers(cap), {
        "submission_id": cap.uuid4(), "status": "received", "review_eta_hours": 24})], gap_ms=5)
    kyc.ack("c")
    kyc.close()

    # A request whose response never comes: the client gives up after 30 s.
    lost = Conn(cap, ("10.0.3.24", 43004), EDGE)
    lost.send("c", [http_request("POST", "/v1/support/tickets", SHOP_HOST, hdr, {
        "email": "liam.oconnor@mail.shopper-demo.net", "subject": "Parcel not delivered",
        "order_number": "ORD-2026-000233", "priority": "normal"})], gap_ms=15,
        sensitive=[{("body", "email"): "EMAIL_ADDRESS"}])
    lost.ack("s", gap_ms=2)
    lost.pending.clear()
    lost.close(gap_ms=30_000)

    # Captured mid-stream: no handshake, the first bytes are the tail of a response body.
    mid = Conn(cap, ("10.0.3.25", 43005), EDGE, handshake=False)
    mid.write("s", b'd","total":2,"status":"delivered"}]}', gap_ms=10)
    mid.ack("c")
    token = cap.jwt("user_2005", "payments")
    mid.exchange(
        http_request("GET", "/v1/users/2005/payment-methods", SHOP_HOST,
                     [*hdr, ("Authorization", f"Bearer {token}")]),
        http_response(200, "OK", _resp_headers(cap), {"cards": [
            {"number": CARD_MC, "brand": "mastercard", "default": True,
             "added_at": "2025-10-03T12:00:00Z"}]}),
        req_sensitive={("header", "authorization"): "BEARER_TOKEN"},
        resp_sensitive={("body", "cards[].number"): "CARD_NUMBER"})
    mid.close()

    # A segment lost by the capture inside a Content-Length body; the connection goes on.
    gap = Conn(cap, ("10.0.3.26", 43006), EDGE)
    gap.exchange(http_request("GET", "/v1/users/2006", SHOP_HOST, hdr),
                 http_response(200, "OK", _resp_headers(cap), {
                     "id": 2006, "email": "hana.sato@mail.shopper-demo.net", "status": "active"}),
                 resp_sensitive={("body", "email"): "EMAIL_ADDRESS"})
    gap.exchange(http_request("GET", "/v1/catalog/export?format=json", SHOP_HOST, hdr),
                 http_response(200, "OK", _resp_headers(cap), {"products": _products(cap, 30)}),
                 resp_kw={"drop": [1]})
    gap.exchange(http_request("GET", "/v1/users/2006/contact", SHOP_HOST, hdr),
                 http_response(200, "OK", _resp_headers(cap), {"user_id": 2006,
                                                               "phone": PHONES[4]}),
                 resp_sensitive={("body", "phone"): "PHONE_NUMBER"})
    gap.exchange(http_request("PUT", "/v1/users/2006/bank-account", SHOP_HOST, hdr,
                              {"iban": IBAN_DE, "currency": "EUR", "primary": True}),
                 http_response(200, "OK", _resp_headers(cap), {"status": "verified",
                                                               "updated_at": "2026-01-15"}),
                 req_sensitive={("body", "iban"): "IBAN"})
    gap.close()

    # IPv6 service.
    v6 = Conn(cap, ("2001:db8:20::17", 43007), NEWS6)
    v6.exchange(http_request("POST", "/v1/subscriptions", NEWS_HOST, hdr, {
        "email": "mateo.rossi@mail.shopper-demo.net", "list": "weekly-deals", "double_opt_in": True}),
        http_response(201, "Created", _resp_headers(cap), {"subscription_id": cap.uuid4(),
                                                           "status": "pending_confirmation"}),
        req_sensitive={("body", "email"): "EMAIL_ADDRESS"})
    v6.close()

    # An 802.1Q-tagged flow (VLAN 120).
    vl = Conn(cap, ("10.20.0.14", 43008), LEDGER, vlan=120)
    vl.exchange(http_request("GET", "/v1/accounts/5521", LEDGER_HOST,
                             [*hdr, ("x-api-key", "lk_" + cap.token(40))]),
                http_response(200, "OK", _resp_headers(cap), {
                    "account_id": 5521, "iban": IBAN_GB2, "currency": "EUR",
                    "balance": "1520.33", "opened": "2019-05-02", "type": "checking"}),
                req_sensitive={("header", "x-api-key"): "API_KEY"},
                resp_sensitive={("body", "iban"): "IBAN"})
    vl.close()
    return cap


def build_policy_violations() -> Capture:
    """The `dpi check` sample (README, "A data policy in CI"): what the default policy
    must catch (an API key in a query string, card data sent to an external server, a
    password over cleartext, a full card number in a response) beside a payments API
    that a custom policy allows to carry card data."""
    cap = Capture(SEED + 20)
    shop, gateway = ("10.0.0.5", 8080), ("198.51.100.20", 80)
    gateway_host = "api.payments-partner.example"
    client, worker = "10.0.3.11", "10.0.3.47"
    card = {("body", "card.number"): "CARD_NUMBER", ("body", "card.expiry"): "CARD_EXPIRY"}

    web = Conn(cap, (client, 51700), shop)
    # A password over cleartext HTTP.
    web.exchange(
        http_request("POST", "/v1/auth/login", SHOP_HOST, [("User-Agent", UA_WEB), ("Accept", J)],
                     {"username": "olivia.hart@mail.shopper-demo.net",
                      "password": "Lantern-Quarry-58!"}, form=True),
        http_response(200, "OK", _resp_headers(cap), {"status": "ok", "expires_in": 3600}),
        req_sensitive={("body", "username"): "EMAIL_ADDRESS", ("body", "password"): "PASSWORD"})
    # An API key in the query string.
    key = "sk_live_" + cap.token(24)
    web.exchange(
        http_request("GET", f"/v1/reports/daily?api_key={key}&format=json", SHOP_HOST,
                     [("User-Agent", UA_WEB), ("Accept", J)]),
        http_response(200, "OK", _resp_headers(cap), {"rows": 3, "status": "ready"}),
        req_sensitive={("query", "api_key"): "API_KEY"})
    # Payments: card data in the request (allowed by the custom policy), and the full
    # card number echoed back in the response (never allowed).
    for pan, expiry in (("4539578763621486", "09/28"), ("5425233430109903", "04/27")):
        web.exchange(
            http_request("POST", "/v1/payments", SHOP_HOST, [("User-Agent", UA_WEB), ("Accept", J)],
                         {"amount": "129.90", "currency": "USD",
                          "card": {"number": pan, "expiry": expiry}}),
            http_response(201, "Created", _resp_headers(cap),
                          {"payment_id": cap.uuid4(), "status": "authorized",
                           "card": {"number": pan, "brand": "visa"}}),
            req_sensitive=card, resp_sensitive={("body", "card.number"): "CARD_NUMBER"})
    # Card data to a server outside the internal networks.
    out = Conn(cap, (worker, 43910), gateway)
    for pan, expiry in (("4916338506082832", "11/29"), ("4485275742308327", "02/28")):
        out.exchange(
            http_request("POST", "/charges", gateway_host,
                         [("User-Agent", UA_SVC), ("Accept", J)],
                         {"amount": 4200, "card": {"number": pan, "expiry": expiry}}),
            http_response(200, "OK", _resp_headers(cap), {"charge": cap.uuid4(), "paid": True}),
            req_sensitive=card)
    web.close()
    out.close()
    return cap


@dataclass(frozen=True)
class Scenario:
    file: str
    build: Callable[[], Capture]
    http_requests: int  # requests the capture holds (tshark's http.request count)
    decode_as: tuple[int, ...] = ()  # ports tshark must be told are HTTP
    rows: int = 0  # rows of the expected inventory


# Counts are data so that tests can check captures without rebuilding them; the generator
# asserts that what it wrote matches.
SCENARIOS: dict[str, Scenario] = {
    "rest-shop": Scenario("rest-shop.pcap", build_rest_shop, http_requests=15,
                          decode_as=(9000,), rows=33),
    "rest-edge-cases": Scenario("rest-edge-cases.pcap", build_rest_edge_cases,
                                http_requests=17, rows=18),
    "policy-violations": Scenario("policy-violations.pcap", build_policy_violations,
                                  http_requests=6, rows=8),
}


def generate(out_dir: Path) -> dict[str, dict[str, int]]:
    """Writes every scenario's capture and expected CSV into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stats = {}
    for name, scenario in SCENARIOS.items():
        cap = scenario.build()
        rows = cap.rows()
        assert cap.http_requests == scenario.http_requests, (name, cap.http_requests)
        assert len(rows) == scenario.rows, (name, len(rows))
        capture = pcap_bytes(cap.records)
        (out_dir / scenario.file).write_bytes(capture)
        (out_dir / f"{name}.expected.csv").write_bytes(cap.csv_bytes())
        stats[name] = {"packets": len(cap.records), "bytes": len(capture),
                       "http_requests": cap.http_requests, "rows": len(rows)}
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out-dir", type=Path, default=SAMPLES_DIR)
    args = parser.parse_args(argv)
    for name, st in generate(args.out_dir).items():
        print(f"{name}: {st['packets']} packets, {st['bytes']} bytes, "
              f"{st['http_requests']} requests, {st['rows']} inventory rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
