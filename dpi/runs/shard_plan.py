"""How N workers share one capture: by server where the servers balance, else by API.

A field's evidence (dpi/inventory.py) belongs to one API of one server, and when a field
settles (its values then only counted, no longer scored: dpi/field_scoring.py) depends on
the order its values came in. A worker that sees all of a field's values, in capture
order, settles it at the same value as a one-process scan: the merged inventory equals
the one-process scan's byte for byte. (Split by connection, as dpi did before, a server's
values were spread over the workers, each settled at its own point, and counts of
settled fields differed by a few values.) Two splits keep each field whole:

- **By server.** Each worker reads only the connections of its servers, and learns the
  facts they teach (a Kafka broker's topic ids) for all of them. Servers are told apart
  as the reassembler tells a flow's server without a handshake: the port rule
  (`dpi.reassembly.sender_is_client`). The run makes one plan per file
  (`dpi/runs/parallel.py`) and every shard's task carries it: from the first
  SAMPLE_BYTES of captured frames, weighed per server by the work they make (`_weight`),
  the servers seen there go to shards largest first, each to the lightest shard so far
  (longest-processing-time first, ties in endpoint order); a server first seen later
  goes by a hash of its endpoint. Connections whose two ports are equal name no server
  by that rule and are spread by connection (so that rare server's fields can be
  split). A connection whose handshake names the other side its server than the port
  rule does (a client sending from port 80, say) is still read whole by one worker;
  only its server's other connections may be read by another.
- **By API**, when the servers cannot be balanced (one carries most of the sample, or
  there are fewer servers than shards), when the sample holds Kafka (a client learns
  topic ids from one broker's Metadata and fetches from another, and Avro schemas from
  a Schema Registry, a server of its own: facts that cross servers; Kafka found only
  past the sample has the file scanned again, by API: `worker.rescan_by_api`), and for
  objects named by a URL (not fetched to be planned): every worker reads, reassembles and
  dissects every connection, and scores only the messages of its APIs (`ApiOwners`);
  one worker (shard 0) counts and reports the flows. Dissection is done in every worker
  and an API cannot be split, so this gains less (20 MB of the shared workload, forced
  by API: workers of 2.0 s and 2.2 s for a 3.7 s scan, where by server they take 1.3 s
  each), but a capture of one server is split too, and every worker learns every fact.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from dpi.capture import CaptureError, open_capture
from dpi.decode import Decoder, Segment
from dpi.reassembly import sender_is_client
from protocols.base import Direction, Message, Probe
from protocols.kafka import KafkaDissector

# Captured bytes read to weigh the servers: a few percent of a big file's read time, and
# enough frames (tens of thousands) to see its busy servers.
SAMPLE_BYTES = 8 << 20
# A plan by server is kept while its heaviest shard holds at most this many times an
# even share of the sample's weight; above, splitting by API uses the cores better.
BALANCE_SLACK = 1.25

# APIs whose shard is decided by load (`ApiOwners`); more go by a hash.
MAX_OWNED_APIS = 65_536
# Connections whose first request the plan probes for Kafka, at most.
MAX_PROBED = 65_536

Endpoint = tuple[bytes, int]  # (packed address, port)

# The work of a segment that ends a sender's write (PSH: usually the end of a message)
# and of each payload byte, in units of MESSAGE_WEIGHT: the time a worker takes follows
# messages and body bytes, not segments. On `bench/make_capture.py`'s 100 MB a shard with
# 46% of the segments and 57% of the bytes (one server of large bodies) took 39% of the
# time; messages plus bytes / 8 KiB predicted 38.5%, segments alone 46%.
MESSAGE_WEIGHT = 8192
PSH = 0x08


def connection_shard(seg: Segment, count: int) -> int:
    """The shard of a segment's connection: the same for both directions, in every
    process (crc32, not Python's per-process salted hash())."""
    crc32 = zlib.crc32
    return (crc32(seg.src) + crc32(seg.dst) + seg.sport + seg.dport) % count


def server_of(seg: Segment) -> Endpoint | None:
    """The server endpoint of a segment's connection by the port rule, None when both
    ports are equal (the rule then needs the first segment, which a worker cannot know
    of a connection it only sees part of)."""
    sport, dport = seg.sport, seg.dport
    if sport == dport:
        return None
    return (seg.dst, dport) if sender_is_client(sport, dport) else (seg.src, sport)


@dataclass(frozen=True, slots=True)
class ShardPlan:
    count: int
    by_server: bool = False  # else by API
    # The sampled servers' shards (empty when by API).
    servers: dict[Endpoint, int] = field(default_factory=dict)

    def shard_of(self, seg: Segment) -> int:
        """By server: the shard of a segment's connection (by API every shard reads
        every segment, and this is not asked)."""
        count = self.count
        server = server_of(seg)
        if server is None:
            return connection_shard(seg, count)
        shard = self.servers.get(server)
        if shard is None:
            return (zlib.crc32(server[0]) + server[1]) % count
        return shard


def api_shard(message: Message, count: int) -> int:
    """By API, past MAX_OWNED_APIS: the shard that scores a message, by a hash of its
    protocol and API (crc32: the same in every process)."""
    name = f"{message.protocol} {message.api}".encode("utf-8", "surrogatepass")
    return zlib.crc32(name) % count


class ApiOwners:
    """By API: which shard scores each API. Its protocol and API name it, not its server
    or direction, so both directions of an API, and the same API on two servers, go to
    one shard. Every shard dissects every message, in the same order, so every shard
    can decide alike with no word to the others: an API met for the first time goes to
    the shard with the least work so far (messages, and body bytes in MESSAGE_WEIGHT
    units, as the plan weighs servers), which balances better than a hash (20 MB of the
    shared workload: workers of 2.0 s and 2.2 s; by hash, 1.6 s and 2.6 s).
    Past MAX_OWNED_APIS APIs, new ones go by `api_shard`."""

    def __init__(self, index: int, count: int) -> None:
        self.index = index
        self.count = count
        self._owners: dict[tuple[str, str], int] = {}
        self._loads = [0] * count

    def __call__(self, message: Message) -> bool:
        key = (message.protocol, message.api)
        loads = self._loads
        owner = self._owners.get(key)
        if owner is None:
            if len(self._owners) < MAX_OWNED_APIS:
                owner = self._owners[key] = loads.index(min(loads))
            else:
                owner = api_shard(message, self.count)
        loads[owner] += MESSAGE_WEIGHT + sum(len(part.data) for part in message.parts)
        return owner == self.index


def balance(weights: dict[Endpoint, int], spread: int, count: int) -> ShardPlan:
    """The plan for `count` shards from the weight per server and the weight spread by
    connection (`spread`, evenly over the shards)."""
    loads = [spread / count] * count
    servers: dict[Endpoint, int] = {}
    for server, weight in sorted(weights.items(), key=lambda item: (-item[1], item[0])):
        lightest = loads.index(min(loads))
        loads[lightest] += weight
        servers[server] = lightest
    total = sum(loads)
    if not servers or max(loads) > BALANCE_SLACK * total / count:
        return ShardPlan(count)
    return ShardPlan(count, by_server=True, servers=servers)


def _weight(seg: Segment) -> int:
    return len(seg.payload) + (MESSAGE_WEIGHT if seg.flags & PSH else 0)


def plan_shards(path: Path, count: int) -> ShardPlan:
    """The plan for `count` workers reading `path`, from its first SAMPLE_BYTES. A file
    that cannot be read is split by API (the scan itself reports why)."""
    weights: Counter[Endpoint] = Counter()
    spread = 0
    decoder = Decoder()
    read = 0
    probed: set[tuple[bytes, int, Endpoint]] = set()  # connections whose request was probed
    try:
        with open_capture(path) as reader:
            for frame in reader.frames():
                size = len(frame.data)
                read += size
                try:
                    seg = decoder.decode(frame)
                except Exception:  # noqa: BLE001 - a damaged frame only weighs nothing
                    seg = None
                if seg is not None and seg.payload:
                    weight = _weight(seg)
                    server = server_of(seg)
                    if server is None:
                        spread += weight
                    else:
                        weights[server] += weight
                        if _kafka_request(seg, server, probed):
                            return ShardPlan(count)  # facts cross servers: by API
                if read >= SAMPLE_BYTES:
                    break
    except (CaptureError, OSError):
        return ShardPlan(count)
    return balance(weights, spread, count)


def _kafka_request(seg: Segment, server: Endpoint, probed: set[tuple[bytes, int, Endpoint]]) -> bool:
    """Whether `seg` opens a Kafka request: the first client segment of each connection
    in the sample is probed as the router would (a connection seen from its middle may
    not tell; the others do)."""
    if (seg.dst, seg.dport) != server:
        return False  # sent by the server
    key = (seg.src, seg.sport, server)
    if key in probed or len(probed) >= MAX_PROBED:
        return False
    probed.add(key)
    return KafkaDissector.probe(Direction.REQUEST, seg.payload) is Probe.YES
