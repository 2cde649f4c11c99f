"""DNS answer datagrams written with scapy (RFC 1035 messages, for the findings tests)."""

from __future__ import annotations

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet


def dns_answer(
    name: str,
    address: str,
    *,
    cname: str = "",
    resolver: str = "10.0.0.53",
    client: str = "10.0.0.1",
    ts: float = 0.0,
) -> Packet:
    """A NOERROR response to an A query for `name`: `name` -> `address`, through
    `name CNAME cname` when `cname` is given."""
    records = [DNSRR(rrname=name + ".", type="A", rdata=address, ttl=60)]
    if cname:
        records = [
            DNSRR(rrname=name + ".", type="CNAME", rdata=cname + ".", ttl=60),
            DNSRR(rrname=cname + ".", type="A", rdata=address, ttl=60),
        ]
    pkt = (
        Ether()
        / IP(src=resolver, dst=client)
        / UDP(sport=53, dport=33333)
        / DNS(id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname=name + ".", qtype="A"), an=records)
    )
    pkt.time = ts
    return pkt


def dns_query(name: str, *, client: str = "10.0.0.1", resolver: str = "10.0.0.53", ts: float = 0.0) -> Packet:
    pkt = Ether() / IP(src=client, dst=resolver) / UDP(sport=33333, dport=53) / DNS(
        id=7, rd=1, qd=DNSQR(qname=name + ".", qtype="A")
    )
    pkt.time = ts
    return pkt
