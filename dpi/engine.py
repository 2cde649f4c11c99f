"""The engine: segments -> reassembled streams -> dissectors -> fields -> inventory.

Per flow it picks a dissector (the port hint orders the candidates, the probe decides;
no port alone ever does), feeds it both directions, turns parts into field values,
scores them and records the evidence in the inventory. It also decides client and
server when the SYN was not captured: if the bytes the port guess calls "server" are
what a dissector recognises as a request, the roles are swapped.

Per message, the work that depends only on its shape is done once: the fields of a
part (its set of paths, per API) map to their inventory keys, contexts (sibling tokens
included) and evidence through one cache lookup (`_shape`); per value there is only
the scoring and the evidence it adds to.

Errors follow docs/architecture.md: `ProtocolError` stops the flow (earlier messages kept);
anything else is a bug: the flow is dropped and counted, or re-raised in strict mode.
"""

from __future__ import annotations

import ipaddress
import logging
import traceback
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from classifiers.base import FieldContext
from dpi.classify import ClassifierSet, sibling_tokens
from dpi.decode import DecodeError, Decoder
from dpi.frames import Frame
from dpi.identifiers import REQUEST_NAMED_PROTOCOLS, identifiers_for
from dpi.inventory import (
    FIELD_TABLE_FULL,
    SETTLE_CLEAN_AFTER,
    FieldEvidence,
    FieldKey,
    Inventory,
)
from dpi.layers import LayerError, LayerFactory, StreamLayer
from dpi.limits import INVENTORY_LIMIT, LIMIT_ANOMALIES, reassembly_hits
from dpi.observer import Observer
from dpi.printable_scoring import score_runs
from dpi.reassembly import Closed, Data, Flow, Gap, Opened, Reassembler, ReassemblyLimits, Side
from dpi.registry import dissector_by_name, dissector_classes
from dpi.schema_registry import SchemaRegistryLearner
from protocols._printable import PrintableText
from protocols.base import (
    Anomaly,
    Direction,
    Dissector,
    DissectorOptions,
    Event,
    Handoff,
    Limits,
    Message,
    Probe,
    ProtocolError,
)
from protocols.payload import field_pairs

if TYPE_CHECKING:
    from dpi.runs.sharding import ShardFilter

log = logging.getLogger(__name__)

# Bytes per direction held while no dissector has recognised the flow. Every supported
# protocol shows itself in its first message header, far below this.
MAX_PROBE_BYTES = 8192
# How often (in segments) idle flows are expired.
EXPIRE_EVERY = 4096
# Message shapes (the paths of a part, per API): parts wider than MAX_SHAPE_WIDTH are
# not cached (a huge JSON array is rarely repeated path for path), and the cache is
# dropped when it would hold more than MAX_SHAPE_PATHS paths in all or MAX_SHAPE_APIS
# APIs (a memory bound: a few MB besides the contexts it keeps alive; the 2,249
# connections of the shared benchmark workload need ~14,000 paths).
MAX_SHAPE_WIDTH = 512
MAX_SHAPE_PATHS = 30_000
MAX_SHAPE_APIS = 10_000


class FlowStatus(Enum):
    PROBING = "probing"
    ACTIVE = "active"
    OPAQUE = "opaque"  # unknown or undecodable protocol: bytes ignored
    FAILED = "failed"  # stopped after a protocol error or a bug


@dataclass(slots=True, eq=False)
class _FlowState:
    flow: Flow
    status: FlowStatus = FlowStatus.PROBING
    dissector: Dissector | None = None
    # Bytes seen while probing, in arrival order: (side, data, ts_ns).
    pending: list[tuple[Side, bytes, int]] = field(default_factory=list)
    pending_bytes: dict[Side, int] = field(default_factory=lambda: {Side.CLIENT: 0, Side.SERVER: 0})
    closed: set[Side] = field(default_factory=set)
    # A stream layer (TLS) under the dissector, once one was recognised.
    layer: StreamLayer | None = None
    layer_checked: bool = False
    # Bytes this flow held when last accounted (probe bytes, dissector buffers, TCP
    # out-of-order data): its share of the engine's `held_bytes`.
    held: int = 0


class _KnownField:
    """One field as the cached message shapes know it (one object per field, shared by
    every shape that has it): its inventory key, and its evidence once found in the
    table (dropped when the table evicts it; fields leave the table in no other way)."""

    __slots__ = ("evidence", "key")

    def __init__(self, key: FieldKey) -> None:
        self.key = key
        self.evidence: FieldEvidence | None = None


# A cached message shape: the known field of each path of a part, and its context
# (contexts differ between shapes: the sibling fields are part of them).
_Shape = tuple[tuple[_KnownField, ...], tuple[FieldContext, ...]]


@dataclass(slots=True)
class ScanStats:
    """What a scan saw, for the end-of-scan summary and `--summary-json`."""

    files: int = 0
    bytes_read: int = 0
    frames: int = 0
    tcp_segments: int = 0
    non_tcp: int = 0
    decode_errors: int = 0
    flows: int = 0
    partial_flows: int = 0
    gaps: int = 0
    gap_bytes: int = 0
    messages: Counter[str] = field(default_factory=Counter)
    flows_by_protocol: Counter[str] = field(default_factory=Counter)
    unidentified_flows: int = 0
    # Flows under a stream layer that could not be decrypted (TLS without keys).
    encrypted_flows: int = 0
    decrypted_flows: int = 0
    protocol_errors: int = 0
    bugs: int = 0
    values: int = 0
    anomalies: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    # Bounds that stopped or cut something, by kind (dpi/limits.py): never fatal.
    limits_hit: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            name: (dict(value) if isinstance(value, Counter) else value)
            for name, value in (
                (n, getattr(self, n)) for n in self.__dataclass_fields__
            )
        }


def _default_layers() -> list[LayerFactory]:
    from dpi.tls.layer import TlsLayerFactory  # cryptography loads with the first engine

    return [TlsLayerFactory()]


def bug_site(exc: BaseException) -> str:
    """Where a bug happened, for the debug log: the exception type and the code lines,
    never its message (Python's own messages quote input: `invalid literal for int()
    with base 10: b'...'`, a KeyError's key, a UnicodeDecodeError's bytes)."""
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))
    return f"{type(exc).__name__} at {where or '?'}"


def format_endpoint(endpoint: tuple[bytes, int]) -> str:
    ip, port = endpoint
    if len(ip) == 16:
        return f"[{ipaddress.IPv6Address(ip)}]:{port}"
    return f"{ipaddress.IPv4Address(ip)}:{port}"


class Engine:
    """One scan: feed frames (or segments), then `finish()`; results in `inventory`."""

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
    ) -> None:
        self.limits = limits or Limits()
        self.options = options or DissectorOptions()
        self.classifiers = classifiers or ClassifierSet()
        self.inventory = Inventory(
            {c.data_type: c.min_share for c in self.classifiers.classifiers}
        )
        self.stats = ScanStats()
        self.strict = strict
        # UDP datagrams reach observers (DNS answers); no hook, no cost, without any.
        self.decoder = Decoder(on_udp=self._datagram if observers else None)
        self.reassembler = Reassembler(reassembly)
        self.flows: dict[int, _FlowState] = {}
        # Everything held for flows (max_held_bytes_total), kept incrementally: flows
        # holding bytes, least recently active first, and their total and its peak.
        self._holding: OrderedDict[int, _FlowState] = OrderedDict()
        self.held_bytes = 0
        self.held_bytes_peak = 0
        self._dissectors = dissector_classes()
        self._servers: dict[tuple[bytes, int], str] = {}
        self._last_ts = 0
        # (protocol, server, api, direction) -> (location, paths) -> the known field
        # (inventory key, evidence) and context of each path: see `_shape`.
        self._shapes: dict[
            tuple[str, str, str, str],
            dict[tuple[str, tuple[str, ...]], _Shape],
        ] = {}
        self._known: dict[FieldKey, _KnownField] = {}
        self._shaped_paths = 0
        self._shaped_for: Inventory | None = None  # whose evidence the shapes hold
        # Set by a worker that scans one shard of a capture (dpi/sharding.py): only
        # its flows' segments reach the reassembler.
        self.shard: ShardFilter | None = None
        self.observers = list(observers or [])
        # Schema Registry answers seen in the capture teach the scan's Avro schemas
        # (the Kafka dissector only reads them: dpi/schema_registry.py).
        if self.options.avro is not None:
            self.observers.append(SchemaRegistryLearner(self.options.avro))
        # Stream layers: TLS (without keys) unless the caller says otherwise, so that TLS
        # flows are recognised and reported on every scan, never misparsed.
        self.layers = list(layers) if layers is not None else _default_layers()
        self._layers_by_name = {factory.name: factory for factory in self.layers}

    # -- input -------------------------------------------------------------------------

    def feed_frame(self, frame: Frame) -> None:
        self.stats.frames += 1
        try:
            segment = self.decoder.decode(frame)
        except DecodeError:
            self.stats.decode_errors += 1
            return
        except Exception as exc:  # noqa: BLE001 - isolated, see _bug
            # A decoder bug costs one frame, not the scan.
            self._bug(f"decoder failed on frame {frame.number}", exc)
            return
        if segment is None:
            self.stats.non_tcp += 1
            return
        self.stats.tcp_segments += 1
        ts = frame.ts_ns
        if ts > self._last_ts:  # noqa: PLR1730 - cheaper than max() once per packet
            self._last_ts = ts
        shard = self.shard
        if shard is None or shard.owns(segment):
            self._handle(self.reassembler.feed(segment, ts))
        if self.stats.tcp_segments % EXPIRE_EVERY == 0:
            self._handle(self.reassembler.expire(self._last_ts))

    def _datagram(
        self, src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, ts_ns: int
    ) -> None:
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

    def _safe_probe(self, cls: type[Dissector], direction: Direction, data: bytes) -> Probe:
        try:
            return cls.probe(direction, data)
        except Exception as exc:  # noqa: BLE001 - isolated, see _bug
            self._bug(f"probe of {cls.name} failed", exc)
            return Probe.NO

    def add_secrets(self, kind: int, data: bytes, source: str) -> None:
        """Key material found in a capture (pcapng Decryption Secrets Block): handed to
        the layers before the frames that follow it; bad blocks become warnings."""
        for factory in self.layers:
            self.stats.warnings.extend(factory.add_secrets(kind, data, source))

    def finish(self) -> None:
        """End of input: flush every flow, close every dissector."""
        self._handle(self.reassembler.flush(self._last_ts))
        for state in list(self.flows.values()):
            self._close_flow(state, self._last_ts)
        self.flows.clear()
        self._holding.clear()
        self.held_bytes = 0
        # The reassembler counts over the whole scan (finish runs per file): copy, not add.
        for kind, count in reassembly_hits(self.reassembler.stats).items():
            self.stats.limits_hit[kind] = count

    # -- stream events -----------------------------------------------------------------

    def _handle(self, events: Sequence[object]) -> None:
        for event in events:
            if isinstance(event, Data):
                state = self.flows.get(event.flow.id)
                if state is not None:
                    self._data(state, event.side, event.data, event.ts_ns)
                    self._account(state)
            elif isinstance(event, Gap):
                self.stats.gaps += 1
                self.stats.gap_bytes += event.size
                state = self.flows.get(event.flow.id)
                if state is not None:
                    self._gap(state, event.side, event.size)
                    self._account(state)
            elif isinstance(event, Opened):
                self.stats.flows += 1
                if event.flow.partial:
                    self.stats.partial_flows += 1
                self.flows[event.flow.id] = _FlowState(flow=event.flow)
            elif isinstance(event, Closed):
                state = self.flows.get(event.flow.id)
                if state is None:
                    continue
                if event.side is None:
                    self._close_flow(state, event.ts_ns)
                    del self.flows[event.flow.id]
                    self._release(state)
                else:
                    self._close_side(state, event.side, event.ts_ns)
                    self._account(state)

    # -- the held-bytes budget (max_held_bytes_total) ------------------------------------

    def _account(self, state: _FlowState) -> None:
        """After the flow's bytes were handled: update its share of what all flows hold
        (O(1): each part keeps a running count), then keep within the budget."""
        flow = state.flow
        held = flow.held_bytes()
        dissector = state.dissector
        if dissector is not None:
            held += dissector.held_bytes()
        elif state.status is FlowStatus.PROBING:
            pending = state.pending_bytes
            held += pending[Side.CLIENT] + pending[Side.SERVER]
        before = state.held
        if held == before:  # the common case: nothing held before or after
            if held:
                self._holding.move_to_end(flow.id)
            return
        if held:
            self._holding[flow.id] = state
            self._holding.move_to_end(flow.id)
        else:
            del self._holding[flow.id]
        total = self.held_bytes = self.held_bytes + held - before
        state.held = held
        if total > self.held_bytes_peak:  # noqa: PLR1730 - cheaper than max() per segment
            self.held_bytes_peak = total
        if total > self.reassembler.limits.max_held_bytes_total:
            self._evict_held()

    def _release(self, state: _FlowState) -> None:
        """The flow is gone: what it held no longer counts."""
        if state.held:
            self.held_bytes -= state.held
            state.held = 0
            self._holding.pop(state.flow.id, None)

    def _evict_held(self) -> None:
        """Over the budget: close the least recently active flows that hold bytes. Each
        is closed as at the end of a capture, so what it holds (a request head, the start
        of a body, batched rows) is emitted as incomplete, not lost."""
        budget = self.reassembler.limits.max_held_bytes_total
        holding = self._holding
        while self.held_bytes > budget and holding:
            key, state = next(iter(holding.items()))
            self._handle(self.reassembler.evict(state.flow, self._last_ts))
            if self.flows.get(key) is state:  # not in the reassembler any more: close here
                self._close_flow(state, self._last_ts)
                del self.flows[key]
            self._release(state)

    def _direction(self, side: Side) -> Direction:
        return Direction.REQUEST if side is Side.CLIENT else Direction.RESPONSE

    def _data(self, state: _FlowState, side: Side, data: bytes, ts_ns: int) -> None:
        layer = state.layer
        if layer is None:
            self._plain(state, side, data, ts_ns)
        else:
            self._through_layer(state, layer, lambda: layer.feed(side, data, ts_ns))

    def _through_layer(self, state: _FlowState, layer: StreamLayer, call: object) -> None:
        """Run one layer call; its plaintext goes on to the dissector (or its probe)."""
        try:
            chunks = call()  # type: ignore[operator]
        except LayerError:
            self.stats.anomalies[f"{layer.name}_error"] += 1
            state.status = FlowStatus.FAILED
            state.dissector = None
            state.layer = None
            return
        for side, plain, ts_ns in chunks:
            if state.layer is None:
                break
            self._plain(state, side, plain, ts_ns)

    def _attach_layer(self, state: _FlowState, factory: LayerFactory) -> None:
        """Put a layer under the flow and run what was held through it."""
        layer = state.layer = factory.create()
        state.layer_checked = True
        pending, state.pending = state.pending, []
        state.pending_bytes = {Side.CLIENT: 0, Side.SERVER: 0}
        for observer in self.observers:
            observer.flow_layer(state.flow, layer.name, layer.info())
        for side, data, ts_ns in pending:
            if state.layer is not layer:
                break
            self._through_layer(state, layer, lambda s=side, d=data, t=ts_ns: layer.feed(s, d, t))

    def _plain(self, state: _FlowState, side: Side, data: bytes, ts_ns: int) -> None:
        status = state.status
        if status is FlowStatus.ACTIVE:
            assert state.dissector is not None
            self._guard(state, lambda d: d.feed(self._direction(side), data, ts_ns))
        elif status is FlowStatus.PROBING:
            state.pending.append((side, data, ts_ns))
            state.pending_bytes[side] += len(data)
            self._probe(state)

    def _gap(self, state: _FlowState, side: Side, size: int) -> None:
        layer = state.layer
        if layer is not None:
            # The layer resyncs on its own records; the plaintext lost is of unknown size.
            self._through_layer(state, layer, lambda: layer.gap(side, size))
            size = 0
        if state.status is FlowStatus.ACTIVE:
            self._guard(state, lambda d: d.gap(self._direction(side), size))
        elif state.status is FlowStatus.PROBING:
            # What was held for that side is no longer contiguous with what follows;
            # the dissector will meet the rest as a mid-stream start.
            state.pending = [p for p in state.pending if p[0] is not side]
            state.pending_bytes[side] = 0

    def _close_side(self, state: _FlowState, side: Side, ts_ns: int) -> None:
        state.closed.add(side)
        if state.status is FlowStatus.PROBING:
            self._probe(state, final=True)
        if state.status is FlowStatus.ACTIVE:
            self._guard(state, lambda d: d.close(self._direction(side), ts_ns))

    def _close_flow(self, state: _FlowState, ts_ns: int) -> None:
        if state.status is FlowStatus.PROBING:
            self._probe(state, final=True)
        if state.status is FlowStatus.ACTIVE:
            for side in (Side.CLIENT, Side.SERVER):
                if side not in state.closed:
                    state.closed.add(side)
                    self._guard(state, lambda d, s=side: d.close(self._direction(s), ts_ns))
        layer = state.layer
        if layer is not None:
            if layer.decrypting:
                self.stats.decrypted_flows += 1
            else:
                self.stats.encrypted_flows += 1
            for observer in self.observers:
                observer.flow_layer(state.flow, layer.name, layer.info())
            state.layer = None
            if state.status is FlowStatus.PROBING and not layer.decrypting:
                state.status = FlowStatus.OPAQUE
        if state.status is FlowStatus.PROBING:
            self.stats.unidentified_flows += 1
            state.status = FlowStatus.OPAQUE
            for observer in self.observers:
                observer.flow_unidentified(state.flow)

    # -- dissector choice --------------------------------------------------------------

    def _joined(self, state: _FlowState, side: Side) -> bytes:
        return b"".join(chunk for s, chunk, _ in state.pending if s is side)[:MAX_PROBE_BYTES]

    def _candidates(self, flow: Flow) -> list[type[Dissector]]:
        ports = {flow.server[1], flow.client[1]}
        hinted = [d for d in self._dissectors if ports & d.ports]
        return hinted + [d for d in self._dissectors if d not in hinted]

    def _probe(self, state: _FlowState, final: bool = False) -> None:
        flow = state.flow
        if state.layer is not None and not state.layer.decrypting:
            return  # nothing readable will come: the flow is reported as encrypted
        client_data = self._joined(state, Side.CLIENT)
        server_data = self._joined(state, Side.SERVER)
        if not state.layer_checked and state.layer is None and self.layers:
            layer_pending = False
            for factory in self.layers:
                verdict = factory.probe(client_data, server_data)
                if verdict is Probe.YES:
                    self._attach_layer(state, factory)
                    return
                layer_pending |= verdict is Probe.NEED_MORE
            state.layer_checked = not layer_pending
        undecided = False
        for cls in self._candidates(flow):
            verdicts = []
            if client_data:
                verdicts.append(self._safe_probe(cls, Direction.REQUEST, client_data))
            if server_data:
                verdicts.append(self._safe_probe(cls, Direction.RESPONSE, server_data))
            if Probe.YES in verdicts:
                self._activate(state, cls)
                return
            if Probe.NEED_MORE in verdicts:
                undecided = True
        if flow.roles_from != "syn" and server_data:
            # The port guess may be wrong: does the "server" speak a request?
            for cls in self._candidates(flow):
                if self._safe_probe(cls, Direction.REQUEST, server_data) is Probe.YES:
                    flow.swap_roles()
                    state.pending = [
                        (Side.SERVER if s is Side.CLIENT else Side.CLIENT, d, t)
                        for s, d, t in state.pending
                    ]
                    state.pending_bytes = {
                        Side.CLIENT: state.pending_bytes[Side.SERVER],
                        Side.SERVER: state.pending_bytes[Side.CLIENT],
                    }
                    self._activate(state, cls)
                    return
        too_much = max(state.pending_bytes.values()) >= MAX_PROBE_BYTES
        # Give up when told to, when the probe window is full, or when every dissector
        # said NO to what both sides sent.
        if final or too_much or (not undecided and client_data and server_data):
            self.stats.unidentified_flows += 1
            state.status = FlowStatus.OPAQUE
            state.pending = []
            log.info("flow %d to %s: no protocol recognised; skipped", flow.id, self._server(flow))

    def _activate(
        self, state: _FlowState, cls: type[Dissector], context: dict[str, str] | None = None
    ) -> None:
        state.dissector = cls(self.limits, self.options)
        if context:
            state.dissector.takeover(context)  # a Handoff's handshake facts, before any byte
        state.status = FlowStatus.ACTIVE
        state.layer_checked = True
        self.stats.flows_by_protocol[cls.name] += 1
        for observer in self.observers:
            observer.flow_identified(state.flow, cls.name)
        pending, state.pending = state.pending, []
        for side, data, ts_ns in pending:
            if state.status is not FlowStatus.ACTIVE:
                if state.status is FlowStatus.PROBING:
                    state.pending.append((side, data, ts_ns))
                continue
            self._guard(state, lambda d, s=side, b=data, t=ts_ns: d.feed(self._direction(s), b, t))
        if state.status is FlowStatus.PROBING and state.pending:
            self._probe(state)

    # -- dissector output --------------------------------------------------------------

    def _guard(self, state: _FlowState, call: object) -> None:
        """Run one dissector call; isolate the flow on failure (docs/architecture.md, Errors)."""
        dissector = state.dissector
        if dissector is None:
            return
        try:
            events: list[Event] = call(dissector)  # type: ignore[operator]
        except ProtocolError:
            self.stats.protocol_errors += 1
            self.stats.anomalies[f"{dissector.name}_protocol_error"] += 1
            state.status = FlowStatus.FAILED
            state.dissector = None
            return
        except Exception as exc:  # noqa: BLE001 - isolated, see _bug
            state.status = FlowStatus.FAILED
            state.dissector = None
            self._bug(f"dissector {dissector.name} failed on flow {state.flow.id}", exc)
            return
        for event in events:
            if isinstance(event, Message):
                self._message(state.flow, event)
            elif isinstance(event, Anomaly):
                self.stats.anomalies[event.kind] += 1
                if event.kind in LIMIT_ANOMALIES:
                    self.stats.limits_hit[event.kind] += 1
                    for observer in self.observers:  # which API: dpi/scan_trace.py
                        observer.limit_hit(state.flow, event.kind)
            elif isinstance(event, Handoff):
                self._handoff(state, event)

    def _handoff(self, state: _FlowState, handoff: Handoff) -> None:
        self.stats.anomalies[f"handoff_{handoff.protocol or 'probe'}"] += 1
        leftovers = [
            (Side.CLIENT if direction is Direction.REQUEST else Side.SERVER, data, handoff.ts_ns)
            for direction, data in sorted(handoff.leftover.items(), key=lambda kv: kv[0] != Direction.REQUEST)
            if data
        ]
        factory = self._layers_by_name.get(handoff.protocol)
        if factory is not None and state.layer is None:
            # STARTTLS-style upgrade: the dissector stays and reads the plaintext.
            layer = state.layer = factory.create()
            for observer in self.observers:
                observer.flow_layer(state.flow, layer.name, layer.info())
            for side, data, ts_ns in leftovers:
                self._through_layer(state, layer, lambda s=side, d=data, t=ts_ns: layer.feed(s, d, t))
            return
        if handoff.protocol == "opaque":
            state.status = FlowStatus.OPAQUE
            state.dissector = None
            return
        if handoff.protocol:
            cls = dissector_by_name(handoff.protocol)
            if cls is None:
                state.status = FlowStatus.OPAQUE
                state.dissector = None
                return
            state.pending = leftovers
            self._activate(state, cls, handoff.context)
            return
        state.dissector = None
        state.status = FlowStatus.PROBING
        state.pending = leftovers
        state.pending_bytes = {Side.CLIENT: 0, Side.SERVER: 0}
        for side, data, _ in leftovers:
            state.pending_bytes[side] += len(data)
        if leftovers:
            self._probe(state)

    def _server(self, flow: Flow) -> str:
        key = flow.server
        name = self._servers.get(key)
        if name is None:
            name = format_endpoint(key)
            if len(self._servers) < 100_000:
                self._servers[key] = name
        return name

    def _message(self, flow: Flow, message: Message) -> None:
        self.stats.messages[message.protocol] += 1
        inventory = self.inventory
        if inventory.owner is not self:
            self._attach_inventory(inventory)
        # Identifiers from traffic (api, host) are stored only sanitized: observers see
        # what the inventory sees (dpi/identifiers.py; one dict lookup when cached).
        names = self._identifiers.message(message.protocol, message.api, message.host)
        if names.changed:
            message = replace(message, api=names.api, host=names.host)
        for observer in self.observers:
            observer.message(flow, message)
        server = self._server(flow)
        # The server's own IP (`ip:port`, `[v6]:port` less the port): its address in a
        # payload is routing, not data (FieldContext.server).
        server_ip = server[: server.rfind(":")].strip("[]")
        client = flow.client[0]
        classifiers = self.classifiers
        protocol, api, host, ts_ns = message.protocol, message.api, message.host, message.ts_ns
        direction = str(message.direction)
        if names.hits and (
            message.direction is Direction.REQUEST or protocol not in REQUEST_NAMED_PROTOCOLS
        ):
            inventory.identifier_hits((protocol, server, api, direction), names.hits, host, ts_ns, client)
        # The fields of a part, their inventory keys and contexts: one lookup per part
        # once this API has shown the same set of paths (a message shape) before.
        if inventory is not self._shaped_for:
            self._forget_shapes()  # another inventory: the evidence held is not its own
            self._shaped_for = inventory
        shapes = self._shapes.get((protocol, server, api, direction))
        if shapes is None:
            if len(self._shapes) >= MAX_SHAPE_APIS:
                self._forget_shapes()
            shapes = self._shapes[(protocol, server, api, direction)] = {}
        fields = inventory.fields
        stats = self.stats
        for part in message.parts:
            try:
                pairs = field_pairs(
                    part, self.limits, self.options.schemas, stats.limits_hit,
                    stats.anomalies,  # damaged JSON recovered, by kind
                )
            except ProtocolError:
                stats.anomalies["undecodable_part"] += 1
                continue
            if not pairs:
                continue
            # Group by path: the inventory key, the context and the settled state are
            # looked up once per field of the part, not once per value.
            groups: dict[str, list[str]] = {}
            for path, text in pairs:
                if text:  # empty strings carry nothing; whitespace is rare, scored as is
                    values = groups.get(path)
                    if values is None:
                        groups[path] = [text]
                    else:
                        values.append(text)
            if not groups:
                continue
            stats.values += len(pairs)
            location = str(part.location)
            shape_key = (location, tuple(groups))
            shape = shapes.get(shape_key)
            if shape is None:
                shape = self._shape(
                    shapes, shape_key, (protocol, server, api, direction), server_ip
                )
            for known, ctx, values in zip(*shape, groups.values()):
                evidence = known.evidence
                if evidence is None or evidence.evicted:
                    key = known.key
                    evidence = fields.get(key)
                    if evidence is None:
                        # New, evicted or aliased (a sanitized name, whose hits count
                        # on every sight): `field` each time until it is in the table.
                        evidence = inventory.field(key, host, ts_ns, client)
                        if evidence is None:
                            continue
                    else:
                        known.evidence = evidence
                if not evidence.host and host:
                    evidence.host = host
                count = len(values)
                if evidence.settled_type:
                    evidence.seen += count
                    inventory.repeat(evidence, ts_ns, client, count)
                    continue
                seen = evidence.seen
                if evidence.types or seen + count <= SETTLE_CLEAN_AFTER:
                    evidence.seen = seen + count  # `to_score`'s common case, inline
                    scored = values
                else:
                    scored = evidence.to_score(values)
                # The binary fallback's value: its runs scored one by one, one value per
                # payload (dpi/printable_scoring.py).
                if type(values[0]) is PrintableText:
                    for i, text in enumerate(scored, 1):
                        findings = score_runs(classifiers, text, ctx)
                        inventory.record(evidence, findings, text, ts_ns, client)
                        if evidence.settled_type:
                            if i < len(scored):  # settled now: the rest only count
                                inventory.repeat(evidence, ts_ns, client, len(scored) - i)
                            break
                    continue
                score = classifiers.score
                for i, text in enumerate(scored, 1):
                    findings = score(text, ctx)
                    if not findings and not evidence.types:
                        # `record` of a miss in a field without evidence: only counted
                        # (nothing to settle on).
                        evidence.scored += 1
                        continue
                    inventory.record(evidence, findings, text, ts_ns, client)
                    if evidence.settled_type:
                        if i < len(scored):  # settled now: the rest only count
                            inventory.repeat(evidence, ts_ns, client, len(scored) - i)
                        break
        if inventory.lost_fields != self._lost_reported:
            self._report_lost_fields(inventory)

    def _shape(
        self,
        shapes: dict[tuple[str, tuple[str, ...]], _Shape],
        shape_key: tuple[str, tuple[str, ...]],
        where: tuple[str, str, str, str],
        server_ip: str,
    ) -> _Shape:
        """The known field and context of each path of a part whose paths are
        `shape_key[1]`, in order; cached under `where` (protocol, server, api,
        direction) unless the part is too wide to be worth keeping."""
        location, paths = shape_key
        protocol, _, api, _ = where
        cache = len(paths) <= MAX_SHAPE_WIDTH
        if cache and self._shaped_paths + len(paths) > MAX_SHAPE_PATHS:
            self._forget_shapes()
            self._shapes[where] = shapes  # emptied, kept for the message at hand
        siblings = sibling_tokens(paths)
        context = self.classifiers.context
        # Known fields are shared through `_known` only by cached shapes (bounded with
        # them); a wide part's are its own.
        known = self._known if cache else {}
        fields: list[_KnownField] = []
        for path in paths:
            key: FieldKey = (*where, location, path)
            field_ = known.get(key)
            if field_ is None:
                field_ = known[key] = _KnownField(key)
            fields.append(field_)
        shape = (
            tuple(fields),
            tuple(context(protocol, location, path, api, siblings, server_ip) for path in paths),
        )
        if cache:
            shapes[shape_key] = shape
            self._shaped_paths += len(paths)
        return shape

    def _forget_shapes(self) -> None:
        """Drops the shape cache (a cache: rebuilt on the next misses)."""
        for shapes in self._shapes.values():
            shapes.clear()
        self._shapes.clear()
        self._known.clear()
        self._shaped_paths = 0

    def _attach_inventory(self, inventory: Inventory) -> None:
        """First message into an inventory (the engine's own, or one a worker or a
        state file gave it): the scan's classifiers and field bound apply to it, and
        its field losses count from here."""
        inventory.owner = self
        inventory.identifiers = self._identifiers = identifiers_for(self.classifiers)
        inventory.max_fields = self.limits.max_fields
        self._lost_reported = inventory.lost_fields
        self._lost_base = (inventory.evicted_fields, inventory.dropped_fields)
        self._lost_warning = -1

    def _report_lost_fields(self, inventory: Inventory) -> None:
        """The field table was full: `max_fields` in limits hit, and one warning (kept up
        to date) that says how many fields went; counts only, never a name."""
        self._lost_reported = inventory.lost_fields
        evicted = inventory.evicted_fields - self._lost_base[0]
        dropped = inventory.dropped_fields - self._lost_base[1]
        self.stats.limits_hit[INVENTORY_LIMIT] = evicted + dropped
        text = (
            f"{FIELD_TABLE_FULL} (max_fields={inventory.max_fields}): {evicted} field(s) "
            f"that never matched were evicted, {dropped} new field(s) refused (fields "
            f"with sensitive data are always kept); raise it with --limit max_fields=N"
        )
        warnings = self.stats.warnings
        at = self._lost_warning
        if 0 <= at < len(warnings) and warnings[at].startswith(FIELD_TABLE_FULL):
            warnings[at] = text
        else:
            self._lost_warning = len(warnings)
            warnings.append(text)
