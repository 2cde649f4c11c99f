"""The engine: frames -> segments -> flows -> messages -> scored fields -> inventory.

It wires the parts and keeps the books: the decoder (dpi/decode.py) turns frames into
TCP segments, the reassembler (dpi/reassembly.py) into in-order streams, the flow router
(dpi/flows.py) picks each flow's dissector and returns what the dissectors say, and the
field scorer (dpi/field_scoring.py) scores each message's values into the inventory.
The engine counts (`ScanStats`), keeps learned facts (dpi/facts.py), tells its observers.
Errors follow docs/architecture.md: a bug isolated to one item (a frame, a flow, a
datagram) is counted and logged by type only, or re-raised in strict mode.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from dpi.classify import ClassifierSet
from dpi.decode import DecodeError, Decoder
from dpi.facts import FactStore
from dpi.field_scoring import FieldScorer
from dpi.flows import Bug, FlowRouter, Identified, LayerSeen, Routed, Unidentified, format_endpoint
from dpi.frames import Frame
from dpi.inventory import Inventory
from dpi.layers import LayerFactory
from dpi.limits import LIMIT_ANOMALIES, reassembly_hits
from dpi.observer import Observer
from dpi.reassembly import Flow, Gap, Opened, ReassemblyLimits
from dpi.scan_stats import ScanStats
from protocols.base import Anomaly, DissectorOptions, Learned, Limits, Message

if TYPE_CHECKING:
    from dpi.runs.sharding import ShardFilter

__all__ = ["Engine", "ScanStats", "bug_site", "format_endpoint"]

log = logging.getLogger(__name__)

EXPIRE_EVERY = 4096  # how often (in segments) idle flows are expired

# Scan-order keys of messages (`message_order`, for the inventory's confidence sample):
# the phase of the scan a message came in, within one frame, in the order the engine
# runs them.
FED, EXPIRED, FLUSHED, CLOSED = range(4)
_FRAME_BITS = 48
_COUNT_BITS = 32


def scan_position(stream: int, frame: int, phase: int) -> int:
    """Where a scan is: capture stream (file or rotated set, in order), frame number,
    phase (FED...CLOSED) within that frame's work."""
    return (stream << _FRAME_BITS | frame) << 2 | phase


def message_order(position: int, flow_frame: int, number: int) -> int:
    """The scan-order key of a flow's `number`th message, emitted at `position`
    (`scan_position`) by a flow last reached by frame `flow_frame`, as one integer whose
    low bits count the message's values (`Inventory.order`). A frame's own segment
    feeds one flow; idle expiry and the end of input close flows least recently reached
    first, so these keys ascend in the order a one-process scan handles messages, and a
    shard of a split scan (dpi/runs/sharding.py) gives its messages the same keys."""
    return ((position << _FRAME_BITS | flow_frame) << _COUNT_BITS | number) << _COUNT_BITS


def bug_site(exc: BaseException) -> str:
    """Where a bug happened, for the debug log: the exception type and the code lines,
    never its message (Python's own messages quote input: `invalid literal for int()
    with base 10: b'...'`, a KeyError's key, a UnicodeDecodeError's bytes)."""
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))
    return f"{type(exc).__name__} at {where or '?'}"


class Engine:
    """One scan: feed frames (or segments), then `finish()`; results in `inventory`.
    Built for the command line, the API and batch workers by dpi/build.py."""

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        reassembly: ReassemblyLimits | None = None,
        options: DissectorOptions | None = None,
        classifiers: ClassifierSet | None = None,
        strict: bool = False,
        observers: list[Observer] | None = None,
        layers: list[LayerFactory] | None = None,
        facts: FactStore | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.options = options or DissectorOptions()
        self.classifiers = classifiers or ClassifierSet()
        self.inventory = Inventory({c.data_type: c.min_share for c in self.classifiers.classifiers})
        self.stats = ScanStats()
        self.strict = strict
        # UDP datagrams reach observers (DNS answers); no hook, no cost, without any.
        self.decoder = Decoder(on_udp=self._datagram if observers else None)
        if layers is None:  # TLS (without keys): TLS flows are reported, never misparsed
            from dpi.tls.layer import TlsLayerFactory  # cryptography loads with the first engine

            layers = [TlsLayerFactory()]
        self.facts = facts or FactStore.for_scan(self.options.schemas)  # one per scan
        self.router = FlowRouter(limits=self.limits, options=self.options, layers=list(layers),
                                 reassembly=reassembly, facts=self.facts.view)  # fmt: skip
        self.reassembler = self.router.reassembler
        self.layers = self.router.layers
        self.scorer = FieldScorer(self.classifiers, self.limits, self.options, self.stats)
        # Set by a worker that scans one shard of a capture (dpi/runs/sharding.py): only
        # its flows' segments reach the reassembler.
        self.shard: ShardFilter | None = None
        # The capture stream being read (counted by `finish`; a batch worker sets its
        # file's number) and where in it the messages now handled came (scan_position).
        self.stream = 0
        self._position = 0
        self.learners = self.facts.learners()
        self.observers = list(observers or []) + self.learners  # its learners last
        # Set on the shards of a capture split by API (dpi/runs/sharding.py): every shard
        # reads every flow, scores the messages `scores` gives it (the others only teach
        # the learners), and one of them tells the observers of flows (`flow_observers`).
        self.scores: Callable[[Message], bool] | None = None
        self.flow_observers = self.observers

    @property
    def stream(self) -> int:
        return self._stream

    @stream.setter
    def stream(self, number: int) -> None:
        self._stream = number
        self._stream_frames = number << _FRAME_BITS  # scan_position's, once per stream

    def feed_frame(self, frame: Frame) -> None:
        stats = self.stats
        stats.frames += 1
        try:
            segment = self.decoder.decode(frame)
        except DecodeError:
            stats.decode_errors += 1
            return
        except Exception as exc:  # noqa: BLE001 - isolated, see _bug
            # A decoder bug costs one frame, not the scan.
            self._bug(f"decoder failed on frame {frame.number}", exc)
            return
        if segment is None:
            stats.non_tcp += 1
            return
        stats.tcp_segments += 1
        ts, router = frame.ts_ns, self.router
        if ts > router.last_ts:  # noqa: PLR1730 - cheaper than max() once per packet
            router.last_ts = ts
        if self.shard is None or self.shard.owns(segment):
            reassembler = self.reassembler
            reassembler.frame = stats.frames
            events = reassembler.feed(segment, ts)
            if events:  # most segments (pure ACKs) deliver nothing
                self._position = (self._stream_frames | stats.frames) << 2  # scan_position, FED
                self._handle(events)
        if stats.tcp_segments % EXPIRE_EVERY == 0:
            self._position = scan_position(self.stream, stats.frames, EXPIRED)
            self._handle(self.reassembler.expire(router.last_ts))

    def _datagram(self, src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, ts_ns: int) -> None:
        for observer in self.observers:
            try:
                observer.datagram(src, dst, sport, dport, payload, ts_ns)
            except Exception as exc:  # noqa: BLE001 - isolated, see _bug
                # Datagrams are attacker-controlled (DNS answers): a bug in reading one
                # costs that datagram, not the scan.
                self._bug("observer failed on a datagram", exc)

    def _bug(self, what: str, exc: Exception) -> None:
        """An internal error isolated to one item: counted, re-raised in strict mode,
        logged by type only (exception messages can quote input)."""
        self.stats.bugs += 1
        if self.strict:
            raise exc
        log.debug("%s: %s", what, bug_site(exc))

    def add_secrets(self, kind: int, data: bytes, source: str) -> None:
        """Key material found in a capture (pcapng Decryption Secrets Block): handed to
        the layers before the frames that follow it; bad blocks become warnings."""
        for factory in self.layers:
            self.stats.warnings.extend(factory.add_secrets(kind, data, source))

    def finish(self) -> None:
        """End of input: flush every flow, close every dissector. What comes next is
        another stream."""
        frames = self.stats.frames
        self._position = scan_position(self.stream, frames, FLUSHED)
        self._handle(self.reassembler.flush(self.router.last_ts))
        self._position = scan_position(self.stream, frames, CLOSED)
        self._dispatch(self.router.close_all(self.router.last_ts))
        self.stream += 1
        # The next stream's flows are closed at its own latest time, not this one's (an
        # unrelated capture of another day: as when each file is scanned alone).
        self.router.last_ts = 0
        # The reassembler counts over the whole scan (finish runs per file): copy, not add.
        for kind, count in reassembly_hits(self.reassembler.stats).items():
            self.stats.limits_hit[kind] = count

    def _handle(self, events: Iterable[object]) -> None:
        route = self.router.route
        for event in events:
            self._dispatch(route(event))

    def _dispatch(self, routed: Iterable[Routed]) -> None:
        """Count what the router says happened, score the messages, tell the observers."""
        stats = self.stats
        for flow, event in routed:
            if isinstance(event, Message):
                self._message(flow, event)
            elif isinstance(event, Anomaly):
                stats.anomalies[event.kind] += 1
                if event.kind in LIMIT_ANOMALIES:
                    stats.limits_hit[event.kind] += 1
                    for observer in self.flow_observers:  # which API: dpi/scan_trace.py
                        observer.limit_hit(flow, event.kind)
            elif isinstance(event, Learned):
                self.facts.learn(event)
            elif isinstance(event, Opened):
                stats.flows += 1
                stats.partial_flows += flow.partial
            elif isinstance(event, Gap):
                stats.gaps += 1
                stats.gap_bytes += event.size
            elif isinstance(event, Identified):
                stats.flows_by_protocol[event.protocol] += 1
                for observer in self.flow_observers:
                    observer.flow_identified(flow, event.protocol)
            elif isinstance(event, LayerSeen):
                if event.ended:
                    stats.decrypted_flows += event.decrypting
                    stats.encrypted_flows += not event.decrypting
                for observer in self.flow_observers:
                    observer.flow_layer(flow, event.name, event.info)
            elif isinstance(event, Unidentified):
                stats.unidentified_flows += 1
                if event.ended:
                    for observer in self.flow_observers:
                        observer.flow_unidentified(flow)
            elif isinstance(event, Bug):
                self._bug(event.what, event.exc)
            else:  # Failed: the dissector's ProtocolError stopped the flow
                stats.protocol_errors += 1
                stats.anomalies[f"{event.protocol}_protocol_error"] += 1

    def _message(self, flow: Flow, message: Message) -> None:
        self.stats.messages[message.protocol] += 1
        inventory = self.inventory
        flow.messages = number = flow.messages + 1
        inventory.order = message_order(self._position, flow.last_frame, number)
        message, names = self.scorer.admit(inventory, message)
        scores = self.scores
        if scores is not None and not scores(message):
            for learner in self.learners:  # another shard's API: only what it teaches
                learner.message(flow, message)
            return
        for observer in self.observers:
            observer.message(flow, message)
        self.scorer.score(inventory, flow, message, names)
