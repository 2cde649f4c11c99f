"""DNS answers -> the names that clients used for IP addresses (RFC 1035, RFC 3596).

Egress findings name external endpoints by what the capture itself says about them: the
HTTP Host, the TLS server name and, here, the DNS answers seen on the wire. A response
(`QR` set, `RCODE` 0) is read: its question names, then its answer records; A and AAAA
records map an address to their owner name, and CNAME chains carry the question name
down to the address (`api.shop.example CNAME shop.cdn.example A 203.0.113.7` names
203.0.113.7 both ways).

Spec: RFC 1035 section 4.1 (header, question, resource records), 4.1.4 (compression
pointers), RFC 3596 (AAAA). Not supported, on purpose: DNS over TCP (port 53 streams),
DNSSEC validation, EDNS options, mDNS cache-flush semantics, DoH/DoT (encrypted). Names
are lower-cased ASCII; labels with other bytes are shown with `\\xNN` escapes, never raw.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from dataclasses import dataclass

# RFC 1035 2.3.4: names are at most 255 octets, labels at most 63.
MAX_NAME_OCTETS = 255
# Compression pointers followed per name: a loop or a chain longer than the labels a
# legal name can hold is hostile.
MAX_POINTER_JUMPS = 64
# Questions and answer records read per message: real answers hold a handful; a crafted
# count must not make us walk a 64 KB datagram record by record forever.
MAX_QUESTIONS = 4
MAX_RECORDS = 64
# Addresses remembered per scan, and names per address (CDNs put many names on one IP).
MAX_ADDRESSES = 100_000
MAX_NAMES_PER_ADDRESS = 8
# UDP ports whose datagrams are read as DNS: DNS and multicast DNS (RFC 6762).
DNS_PORTS = frozenset({53, 5353})

_TYPE_A = 1
_TYPE_CNAME = 5
_TYPE_AAAA = 28
_CLASS_IN = 1
_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")


class DnsError(Exception):
    """A message that breaks RFC 1035 framing (positions only, never content)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One address record: `address` is the packed IPv4/IPv6 address."""

    name: str
    address: bytes


def _label_text(label: bytes) -> str:
    if all(0x21 <= b < 0x7F for b in label):
        return label.decode("ascii").lower()
    return "".join(chr(b).lower() if 0x21 <= b < 0x7F else f"\\x{b:02x}" for b in label)


def read_name(data: bytes, pos: int) -> tuple[str, int]:
    """The name at `pos` and the offset just after it (after the first pointer, if any)."""
    labels: list[str] = []
    octets = 0
    jumps = 0
    end = -1
    while True:
        if pos >= len(data):
            raise DnsError(f"name runs past the message at offset {pos}")
        length = data[pos]
        if length == 0:
            pos += 1
            break
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise DnsError(f"compression pointer cut short at offset {pos}")
            jumps += 1
            if jumps > MAX_POINTER_JUMPS:
                raise DnsError("too many compression pointers")
            target = ((length & 0x3F) << 8) | data[pos + 1]
            if end < 0:
                end = pos + 2
            if target >= pos:
                # RFC 1035 4.1.4: a pointer refers to a *prior* occurrence; forward ones loop.
                raise DnsError(f"forward compression pointer at offset {pos}")
            pos = target
            continue
        if length & 0xC0:
            raise DnsError(f"reserved label type at offset {pos}")
        label = data[pos + 1 : pos + 1 + length]
        if len(label) != length:
            raise DnsError(f"label cut short at offset {pos}")
        octets += length + 1
        if octets > MAX_NAME_OCTETS:
            raise DnsError("name longer than 255 octets")
        labels.append(_label_text(label))
        pos += 1 + length
    return ".".join(labels), (end if end >= 0 else pos)


def parse_answers(data: bytes) -> list[Answer]:
    """Address answers of one DNS response, with names resolved through CNAME chains.

    Each address is returned once per name that leads to it (owner name, and every
    name whose CNAME chain reaches that owner). Queries and error responses give [].
    Raises `DnsError` for a message that breaks the framing.
    """
    if len(data) < _HEADER.size:
        raise DnsError("shorter than a DNS header")
    _id, flags, qdcount, ancount, _ns, _ar = _HEADER.unpack_from(data)
    if not flags & 0x8000 or flags & 0x000F:  # a query, or RCODE != NOERROR
        return []
    pos = _HEADER.size
    for _ in range(min(qdcount, MAX_QUESTIONS)):
        _name, pos = read_name(data, pos)
        pos += 4  # QTYPE, QCLASS
    if qdcount > MAX_QUESTIONS:
        return []  # RFC 1035 allows it, no resolver sends it: not worth following
    aliases: dict[str, str] = {}  # CNAME target -> the name that pointed to it
    addresses: list[Answer] = []
    for _ in range(min(ancount, MAX_RECORDS)):
        owner, pos = read_name(data, pos)
        if pos + _RR_FIXED.size > len(data):
            raise DnsError(f"resource record cut short at offset {pos}")
        rtype, rclass, _ttl, rdlength = _RR_FIXED.unpack_from(data, pos)
        pos += _RR_FIXED.size
        rdata_at = pos
        pos += rdlength
        if pos > len(data):
            raise DnsError(f"record data cut short at offset {rdata_at}")
        if rclass & 0x7FFF != _CLASS_IN:  # mDNS sets the top bit (cache flush)
            continue
        if rtype == _TYPE_A and rdlength == 4 or rtype == _TYPE_AAAA and rdlength == 16:
            addresses.append(Answer(owner, data[rdata_at:pos]))
        elif rtype == _TYPE_CNAME:
            target, _after = read_name(data, rdata_at)
            if target not in aliases:
                aliases[target] = owner
    out: list[Answer] = []
    for answer in addresses:
        name: str | None = answer.name
        seen: set[str] = set()
        while name is not None and name not in seen and len(seen) < MAX_RECORDS:
            seen.add(name)
            out.append(Answer(name, answer.address))
            name = aliases.get(name)
    return out


class DnsNames:
    """Names per address over a whole scan, bounded (oldest addresses forgotten first)."""

    def __init__(self) -> None:
        self._names: OrderedDict[bytes, list[str]] = OrderedDict()
        self.errors = 0

    def add_datagram(self, sport: int, payload: bytes) -> None:
        """A UDP datagram from `sport`: answers of a DNS response are remembered."""
        if sport not in DNS_PORTS:
            return
        try:
            answers = parse_answers(payload)
        except DnsError:
            self.errors += 1
            return
        for answer in answers:
            self.add(answer.address, answer.name)

    def add(self, address: bytes, name: str) -> None:
        if not name:
            return
        names = self._names.get(address)
        if names is None:
            if len(self._names) >= MAX_ADDRESSES:
                self._names.popitem(last=False)
            names = self._names[address] = []
        else:
            self._names.move_to_end(address)
        if name not in names and len(names) < MAX_NAMES_PER_ADDRESS:
            names.append(name)

    def names(self, address: bytes) -> list[str]:
        return list(self._names.get(address, ()))

    def __len__(self) -> int:
        return len(self._names)
