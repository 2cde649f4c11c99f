"""Flow sharding: N workers scan one capture, each handling only its share of the flows.

Every worker reads and decodes the whole capture (record slicing and decoding are cheap
next to dissection and classification) and hands the reassembler only the TCP segments
whose connection its shard plan gives it (`dpi/runs/shard_plan.py`): all connections of
a server to one shard where the capture's servers can be balanced over the shards. The
shard is decided from the segment the decoder gives: the inner packet for tunnels, the
reassembled datagram for IP fragments (every worker reassembles fragments, so the
datagram lands in one shard whole). Both directions of a connection go alike. Where the
servers cannot be balanced, every shard reads every segment and scores the messages of
its APIs (`apply_shard` sets the engine up for it); shard 0 counts the flows.

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

from dataclasses import dataclass, field

from dpi.decode import Segment
from dpi.engine import Engine, ScanStats
from dpi.runs.shard_plan import ApiOwners, ShardPlan

# Connection directions whose owner a shard remembers (~150 bytes each): as many as a
# busy mirror keeps open at once, a few MB.
MAX_OWNED_DIRECTIONS = 16_384


@dataclass(slots=True)
class ShardFilter:
    """Shard `index` of `count` of `plan`: decides per segment, counts the segments it
    skips."""

    index: int
    count: int
    plan: ShardPlan
    skipped: int = 0  # TCP segments of other shards' flows
    # Whether this shard owns a direction of a connection, by (src, dst, sport, dport):
    # the plan's answer depends on those four only, and a connection sends many
    # segments, so each direction asks the plan once, not once per segment (the port
    # rule and the server lookup cost ~1.5 us; every worker asks it of every segment
    # of the file). Bounded: emptied when full.
    _owned: dict[tuple[bytes, bytes, int, int], bool] = field(
        init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError("shard index out of range")
        if self.plan.count != self.count:
            raise ValueError("shard plan made for another count")

    @property
    def primary(self) -> bool:
        """Shard 0: also owns what belongs to no flow (UDP, non-TCP, damaged frames)
        and what belongs to the file (bytes, reader warnings)."""
        return self.index == 0

    def owns(self, seg: Segment) -> bool:
        plan = self.plan
        if not plan.by_server:
            return True  # by API every shard reads every segment
        key = (seg.src, seg.dst, seg.sport, seg.dport)
        owned = self._owned.get(key)
        if owned is None:
            if len(self._owned) >= MAX_OWNED_DIRECTIONS:
                self._owned.clear()
            owned = self._owned[key] = plan.shard_of(seg) == self.index
        if not owned:
            self.skipped += 1
        return owned

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


def apply_shard(engine: Engine, index: int, count: int, plan: ShardPlan | None = None) -> ShardFilter:
    """Make `engine` scan shard `index` of `count` of `plan` (by API without one), before
    its first frame; `finish_shard` after its last."""
    shard = ShardFilter(index, count, plan if plan is not None else ShardPlan(count))
    engine.shard = shard
    if not shard.primary:
        engine.decoder.on_udp = None  # datagrams (DNS answers) are shard 0's
    if not shard.plan.by_server:
        engine.scores = ApiOwners(index, count)
        if not shard.primary:
            # Every shard reads every flow: shard 0 alone counts them and tells the
            # observers of them. Here the engine counts into a scratch object; what
            # scoring counts (values, damaged bodies, the field table) goes on into the
            # scan's own, which the field scorer holds.
            engine.flow_observers = []
            engine.stats = ScanStats()
    return shard


def finish_shard(engine: Engine, shard: ShardFilter) -> None:
    """After the scan: the engine's stats as this shard's part of the one-process ones."""
    engine.stats = engine.scorer.stats  # by API, off shard 0: only what scoring counted
    shard.settle_stats(engine.stats)
