"""The floor: the least work a Python scan of HTTP/1 JSON traffic can do, timed.

    python bench/floor.py FILE [--framing-only]

What any pure-Python design of dpi pays at least, measured on the same file as dpi and
tshark (`bench/run.py --floor` runs it in the same run). It reads a classic pcap of
Ethernet/IPv4/TCP (the benchmark workloads' shape; anything else is skipped), puts each
direction of a connection in order (segments ahead of the next expected byte wait in a
dict; retransmissions and overlaps are dropped), frames HTTP/1 messages (Content-Length,
chunked, gzip), parses JSON bodies with orjson, walks them into (path, value) pairs and
matches every string value and header value against one combined regular expression
of nine common patterns (a Luhn check for card numbers), counting matches per (API,
path, type).

It is not dpi and not a fallback: none of what makes an inventory (sanitized API names,
field contexts and sibling hints, validation by numbering plan or checksum list, settling,
clients, first and last seen, masking, IPv6, VLANs, tunnels, fragments, damaged input,
other protocols) is here. Its time is therefore a lower bound: no design in Python that
does that work as well can be faster on this file. `--framing-only` stops after
`orjson.loads` (no walk, no matching): the floor of reading to messages.

Written by hand (not scapy, not dpkt): a library's per-packet objects would make the
floor higher than the bound it is meant to show. Not a test: the time depends on the
machine; tests/test_bench_floor.py checks that it frames the messages dpi does.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import sys
import time
import zlib
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project's checksums

from classifiers._checksums import digits_only, luhn_valid

RECORD = struct.Struct("<IIII")
PORTS_SEQ = struct.Struct(">HHI")
PCAP_MAGIC = b"\xd4\xc3\xb2\xa1"  # classic pcap, little-endian, microseconds
PATTERNS = {
    "EMAIL": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "CARD": r"(?:\d[ -]?){13,19}",
    "SSN": r"\d{3}-\d{2}-\d{4}",
    "PHONE": r"\+?[\d\s().-]{7,20}",
    "IBAN": r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}",
    "IPV4": r"\d{1,3}(?:\.\d{1,3}){3}",
    "JWT": r"eyJ[\w-]+\.[\w-]+\.[\w-]+",
    "AWS_KEY": r"AKIA[0-9A-Z]{16}",
    "DATE": r"\d{4}-\d{2}-\d{2}",
}
COMBINED = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx in PATTERNS.items()))


class _Direction:
    """One direction of a connection: its bytes in order, and the segments ahead of them."""

    __slots__ = ("ahead", "buffer", "next_seq")

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.next_seq: int | None = None
        self.ahead: dict[int, bytes] = {}


class Floor:
    def __init__(self, classify: bool) -> None:
        self.classify = classify
        self.directions: dict[tuple[bytes, int, bytes, int], _Direction] = {}
        self.packets = self.messages = self.values = 0
        self.found: dict[tuple[str, str, str], int] = {}
        # The API of a request, for the answer: by the connection (client to server key).
        self.requests: dict[tuple[bytes, int, bytes, int], str] = {}

    def _match(self, api: str, path: str, text: str) -> None:
        self.values += 1
        if not self.classify:
            return
        match = COMBINED.fullmatch(text)
        if match is None:
            return
        kind = match.lastgroup or ""
        if kind == "CARD" and not luhn_valid(digits_only(text)):
            return
        key = (api, path, kind)
        self.found[key] = self.found.get(key, 0) + 1

    def _walk(self, api: str, path: str, value: object) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                self._walk(api, f"{path}.{name}" if path else name, item)
        elif isinstance(value, list):
            inner = path + "[]"
            for item in value:
                self._walk(api, inner, item)
        elif isinstance(value, str):
            self._match(api, path, value)

    def _frame(self, key: tuple[bytes, int, bytes, int], way: _Direction) -> None:
        buffer = way.buffer
        while True:
            end_of_head = buffer.find(b"\r\n\r\n")
            if end_of_head < 0:
                return
            lines = bytes(buffer[:end_of_head]).decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            start = end_of_head + 4
            if headers.get("transfer-encoding", "").lower() == "chunked":
                body, at = bytearray(), start
                while True:
                    line_end = buffer.find(b"\r\n", at)
                    if line_end < 0:
                        return
                    size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
                    if len(buffer) < line_end + 4 + size:
                        return
                    body += buffer[line_end + 2:line_end + 2 + size]
                    at = line_end + 4 + size
                    if size == 0:
                        break
                end = at
            else:
                size = int(headers.get("content-length", "0"))
                if len(buffer) < start + size:
                    return
                body, end = bytearray(buffer[start:start + size]), start + size
            del buffer[:end]
            self.messages += 1
            first = lines[0]
            if first.startswith("HTTP/"):
                api = self.requests.get((key[2], key[3], key[0], key[1]), "")
            else:
                method, target = (first.split(" ") + ["", ""])[:2]
                api = self.requests[key] = f"{method} {target.split('?')[0]}"
            for name, value in headers.items():
                self._match(api, name, value)
            if headers.get("content-encoding") == "gzip":
                body = bytearray(zlib.decompress(body, 31))
            if body and "json" in headers.get("content-type", ""):
                try:
                    document = orjson.loads(body)
                except orjson.JSONDecodeError:
                    continue
                if self.classify:
                    self._walk(api, "", document)

    def scan(self, data: bytes) -> None:
        if data[:4] != PCAP_MAGIC:
            raise SystemExit("floor.py reads classic little-endian pcap only")
        at, size = 24, len(data)
        directions = self.directions
        while at + 16 <= size:
            _, _, captured, _ = RECORD.unpack_from(data, at)
            frame, at = at + 16, at + 16 + captured
            self.packets += 1
            if data[frame + 12:frame + 14] != b"\x08\x00" or data[frame + 23] != 6:
                continue  # not IPv4 over Ethernet, or not TCP
            ip = frame + 14
            total = (data[ip + 2] << 8) | data[ip + 3]
            tcp = ip + (data[ip] & 15) * 4
            sport, dport, seq = PORTS_SEQ.unpack_from(data, tcp)
            flags = data[tcp + 13]
            key = (data[ip + 12:ip + 16], sport, data[ip + 16:ip + 20], dport)
            way = directions.get(key)
            if way is None:
                way = directions[key] = _Direction()
            if flags & 2:  # SYN: data starts after it
                way.next_seq = (seq + 1) & 0xFFFFFFFF
                continue
            payload = data[tcp + (data[tcp + 12] >> 4) * 4:ip + total]
            if not payload:
                continue
            if way.next_seq is None:
                way.next_seq = seq
            if seq == way.next_seq:
                way.buffer += payload
                way.next_seq = (seq + len(payload)) & 0xFFFFFFFF
                while way.next_seq in way.ahead:
                    later = way.ahead.pop(way.next_seq)
                    way.buffer += later
                    way.next_seq = (way.next_seq + len(later)) & 0xFFFFFFFF
                self._frame(key, way)
            elif (seq - way.next_seq) & 0xFFFFFFFF < 1 << 31:
                way.ahead[seq] = payload  # ahead of the next byte: wait for the gap


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--framing-only", action="store_true",
                        help="stop after orjson.loads: no walk, no matching")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    floor = Floor(classify=not args.framing_only)
    floor.scan(args.file.read_bytes())
    print(json.dumps({"seconds": round(time.perf_counter() - started, 3),
                      "packets": floor.packets, "messages": floor.messages,
                      "values": floor.values, "matched_fields": len(floor.found)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
