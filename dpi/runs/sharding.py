"""Flow sharding: N workers scan one capture, each handling only its share of the flows.

Every worker reads and decodes the whole capture (record slicing and decoding are cheap
next to dissection and classification) and hands the reassembler only the TCP segments
whose connection hashes to its shard. The hash is over the unordered pair of endpoints
(address, port) of the segment the decoder gives: the inner packet for tunnels, the
reassembled datagram for IP fragments (every worker reassembles fragments, so the
datagram lands in one shard whole). Both directions of a connection hash alike.

What is not a TCP segment of some flow (UDP datagrams for observers, undecodable
frames, non-TCP frames) belongs to shard 0, so counts are not multiplied. The engine
counts every frame it reads; `ShardFilter.settle_stats` turns that into the frames this
shard owns, so that the stats of the N shards add up to the one-process figures.

Everything outside the reassembler sees the whole capture in every shard: the time of
the latest frame (which dates flows closed at the end of the capture) and the count of
TCP segments (whose multiples trigger idle-flow expiry), so a flow is expired and
closed at the same point as in a one-process scan; and the frame numbers, so each
message gets the scan-order key it gets in a one-process scan (dpi/engine.py
`message_order`) and the merged confidence samples are that scan's (dpi/inventory.py).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from dpi.decode import Segment
from dpi.engine import Engine, ScanStats


def shard_of(seg: Segment, count: int) -> int:
    """The shard of a segment's connection: the same for both directions, in every
    process (crc32, not Python's per-process salted hash())."""
    crc32 = zlib.crc32
    return (crc32(seg.src) + crc32(seg.dst) + seg.sport + seg.dport) % count


@dataclass(slots=True)
class ShardFilter:
    """Shard `index` of `count`: decides per segment, counts the segments it skips."""

    index: int
    count: int
    skipped: int = 0  # TCP segments of other shards' flows

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError("shard index out of range")

    @property
    def primary(self) -> bool:
        """Shard 0: also owns what belongs to no flow (UDP, non-TCP, damaged frames)
        and what belongs to the file (bytes, reader warnings)."""
        return self.index == 0

    def owns(self, seg: Segment) -> bool:
        crc32 = zlib.crc32
        if (crc32(seg.src) + crc32(seg.dst) + seg.sport + seg.dport) % self.count == self.index:
            return True
        self.skipped += 1
        return False

    def settle_stats(self, stats: ScanStats) -> None:
        """After the scan: the engine counted every frame; keep the ones this shard owns
        (its TCP segments; shard 0 also the frames of no flow)."""
        stats.frames -= self.skipped
        stats.tcp_segments -= self.skipped
        self.skipped = 0
        if not self.primary:
            stats.frames -= stats.non_tcp + stats.decode_errors
            stats.non_tcp = 0
            stats.decode_errors = 0


def apply_shard(engine: Engine, index: int, count: int) -> ShardFilter:
    """Make `engine` scan shard `index` of `count` (before its first frame)."""
    shard = ShardFilter(index, count)
    engine.shard = shard
    if not shard.primary:
        engine.decoder.on_udp = None  # datagrams (DNS answers) are shard 0's
    return shard
