"""The flow router: reassembled streams in, what their dissectors say out.

Per flow it picks a dissector (the port hint orders the candidates, the probe decides;
no port alone ever does), puts a stream layer (TLS) under it when one is recognised,
feeds it both directions, follows its hand-offs (HTTP Upgrade, CONNECT, STARTTLS) and
isolates its failures (`_guard`). It also decides client and server when the SYN was
not captured: if the bytes the port guess calls "server" are what a dissector
recognises as a request, the roles are swapped. And it keeps what all flows hold
(probe bytes, dissector buffers, out-of-order data) within `max_held_bytes_total` by
closing the least recently active holders, as at the end of a capture.

Like a dissector, the router returns what happened instead of acting on it: `route`
takes one reassembler event and yields `(flow, event)` pairs: the dissectors' messages,
anomalies and learned facts, the flows the reassembler opened and the gaps it saw (for
counting), and the router's own findings (`Identified`, `LayerSeen`, `Unidentified`,
`Failed`, `Bug`). The engine (dpi/engine.py) counts them, scores the messages, stores
the facts and tells its observers. They are yielded as they happen, so the engine has
handled each one before the router goes on: a fact a dissector returned (`Learned`,
kept in dpi/facts.py, read by every dissector through the `facts` view the router
gives it) or an observer learnt from a message (dpi/schema_registry.py) is known
before the next flow is read, and a flow whose roles are swapped later (a re-probe
after CONNECT) was reported with the roles it had then.

A flow's status changes only along `TRANSITIONS` (data, checked at every change).

Errors follow docs/architecture.md: `ProtocolError` stops the flow (earlier messages
kept, `Failed` yielded); anything else is a bug: the flow is dropped and a `Bug` yielded
(the engine counts it, or re-raises it in strict mode before the router goes on).
"""

from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from dpi.layers import LayerError, LayerFactory, StreamLayer
from dpi.reassembly import Closed, Data, Flow, Gap, Opened, Reassembler, ReassemblyLimits, Side
from dpi.registry import dissector_by_name, dissector_classes
from protocols.base import (
    Anomaly,
    Direction,
    Dissector,
    DissectorOptions,
    Event,
    Facts,
    Handoff,
    Learned,
    Limits,
    Message,
    Probe,
    ProtocolError,
)

log = logging.getLogger(__name__)

# Bytes per direction held while no dissector has recognised the flow. Every supported
# protocol shows itself in its first message header, far below this.
MAX_PROBE_BYTES = 8192


class FlowStatus(Enum):
    PROBING = "probing"
    ACTIVE = "active"
    OPAQUE = "opaque"  # unknown or undecodable protocol: bytes ignored
    FAILED = "failed"  # stopped after a protocol or layer error, or a bug


# Every status change the router makes, as data. PROBING ends in a dissector (ACTIVE),
# in OPAQUE (nothing recognised, or encrypted without keys) or in FAILED (the layer
# under it broke). An ACTIVE flow's dissector may hand off to another (ACTIVE again) or
# to a new probe (PROBING), declare the rest opaque, or fail. A layer under an OPAQUE
# flow can still break (FAILED). FAILED is final.
TRANSITIONS: dict[FlowStatus, frozenset[FlowStatus]] = {
    FlowStatus.PROBING: frozenset({FlowStatus.ACTIVE, FlowStatus.OPAQUE, FlowStatus.FAILED}),
    FlowStatus.ACTIVE: frozenset(
        {FlowStatus.ACTIVE, FlowStatus.PROBING, FlowStatus.OPAQUE, FlowStatus.FAILED}
    ),
    FlowStatus.OPAQUE: frozenset({FlowStatus.FAILED}),
    FlowStatus.FAILED: frozenset(),
}


class TransitionError(RuntimeError):
    """A status change `TRANSITIONS` does not allow: a bug in the router."""


# Side -> Direction, the statuses, sides, directions and verdicts, as module constants:
# an enum member read off its class goes through `EnumType.__getattr__`'s hook on every
# read (about ten times a global read, ~0.2 us), and these are read for every segment
# (`_DIRECTIONS`, `_ACTIVE`) or many times for every flow (the others).
_ACTIVE = FlowStatus.ACTIVE
_PROBING = FlowStatus.PROBING
_OPAQUE = FlowStatus.OPAQUE
_FAILED = FlowStatus.FAILED
_CLIENT = Side.CLIENT
_SERVER = Side.SERVER
_REQUEST = Direction.REQUEST
_RESPONSE = Direction.RESPONSE
_YES = Probe.YES
_NO = Probe.NO
_NEED_MORE = Probe.NEED_MORE
_DIRECTIONS = {_CLIENT: _REQUEST, _SERVER: _RESPONSE}


@dataclass(slots=True, eq=False)
class FlowState:
    """What the router knows of one flow."""

    flow: Flow
    status: FlowStatus = _PROBING
    dissector: Dissector | None = None
    # Bytes seen while probing, in arrival order: (side, data, ts_ns).
    pending: list[tuple[Side, bytes, int]] = field(default_factory=list)
    pending_bytes: dict[Side, int] = field(default_factory=lambda: {_CLIENT: 0, _SERVER: 0})
    closed: set[Side] = field(default_factory=set)
    # A stream layer (TLS) under the dissector, once one was recognised.
    layer: StreamLayer | None = None
    layer_checked: bool = False
    # Bytes this flow held when last accounted (probe bytes, dissector buffers, TCP
    # out-of-order data): its share of the router's `held_bytes`.
    held: int = 0

    def move(self, status: FlowStatus) -> None:
        """Change the status along `TRANSITIONS`; anything else is a `TransitionError`."""
        if status not in TRANSITIONS[self.status]:
            raise TransitionError(f"flow status {self.status.value} -> {status.value}")
        self.status = status


# -- what the router returns besides the dissectors' messages and anomalies -------------


@dataclass(frozen=True, slots=True)
class Identified:
    """A dissector took the flow (after a probe, or a hand-off naming it)."""

    protocol: str


@dataclass(frozen=True, slots=True)
class LayerSeen:
    """A stream layer went under the flow (`ended` False), or the flow ended with it
    (`ended` True: `decrypting` says whether its plaintext could be read)."""

    name: str
    info: dict[str, Any]
    ended: bool = False
    decrypting: bool = False


@dataclass(frozen=True, slots=True)
class Unidentified:
    """No dissector recognised the flow: given up while probing (`ended` False), or,
    under a decrypting layer, still unrecognised when the flow ended (`ended` True:
    observers are told of those)."""

    ended: bool


@dataclass(frozen=True, slots=True)
class Failed:
    """The flow's dissector raised `ProtocolError`: the flow stops here."""

    protocol: str


@dataclass(frozen=True, slots=True, eq=False)
class Bug:
    """An internal error (a dissector's or a probe's), isolated to this flow."""

    what: str
    exc: Exception


RouterEvent = Message | Anomaly | Learned | Opened | Gap | Identified | LayerSeen | Unidentified | Failed | Bug
Routed = tuple[Flow, RouterEvent]


def format_endpoint(endpoint: tuple[bytes, int]) -> str:
    ip, port = endpoint
    if len(ip) == 16:
        return f"[{ipaddress.IPv6Address(ip)}]:{port}"
    return f"{ipaddress.IPv4Address(ip)}:{port}"


class FlowRouter:
    """The flows of one scan, from the reassembler's events to their dissectors'."""

    def __init__(
        self,
        *,
        limits: Limits,
        options: DissectorOptions,
        layers: list[LayerFactory],
        reassembly: ReassemblyLimits | None = None,
        facts: Facts | None = None,
    ) -> None:
        self.limits = limits
        self.options = options
        self.facts = facts or Facts()  # what the scan learned, read-only (dpi/facts.py)
        self.reassembler = Reassembler(reassembly)
        self.flows: dict[int, FlowState] = {}
        self.dissectors: Sequence[type[Dissector]] = dissector_classes()
        self.layers = layers
        self._layers_by_name = {factory.name: factory for factory in layers}
        # Everything held for flows (max_held_bytes_total), kept incrementally: flows
        # holding bytes, least recently active first, and their total and its peak.
        self._holding: OrderedDict[int, FlowState] = OrderedDict()
        self.held_bytes = 0
        self.held_bytes_peak = 0
        self.last_ts = 0  # capture time, set by the engine: evictions close flows at it

    # -- entry points --------------------------------------------------------------------

    def route(self, event: object) -> Iterator[Routed]:
        """One reassembler event (`Opened`, `Data`, `Gap`, `Closed`); what follows from it."""
        if isinstance(event, Data):
            state = self.flows.get(event.flow.id)
            if state is not None:
                dissector = state.dissector
                if state.status is _ACTIVE and state.layer is None and dissector is not None:
                    # The common case: what `_data`, `_plain` and `_guard(state, "feed",
                    # ...)` would do, without their calls and `_guard`'s generator.
                    flow = state.flow
                    try:
                        events = dissector.feed(_DIRECTIONS[event.side], event.data, event.ts_ns)
                    except Exception as exc:  # noqa: BLE001 - isolated as `_guard` does
                        yield from self._failed(state, dissector, exc)
                        events = []
                    for routed in events:
                        if isinstance(routed, Handoff):
                            yield from self._handoff(state, routed)
                        else:
                            yield flow, routed
                else:
                    yield from self._data(state, event.side, event.data, event.ts_ns)
                if self._account(state):
                    yield from self._evict_held()
        elif isinstance(event, Gap):
            yield event.flow, event
            state = self.flows.get(event.flow.id)
            if state is not None:
                yield from self._gap(state, event.side, event.size)
                if self._account(state):
                    yield from self._evict_held()
        elif isinstance(event, Opened):
            yield event.flow, event
            self.flows[event.flow.id] = FlowState(flow=event.flow)
        elif isinstance(event, Closed):
            state = self.flows.get(event.flow.id)
            if state is None:
                return
            if event.side is None:
                yield from self._close_flow(state, event.ts_ns)
                del self.flows[event.flow.id]
                self._release(state)
            else:
                yield from self._close_side(state, event.side, event.ts_ns)
                if self._account(state):
                    yield from self._evict_held()

    def close_all(self, ts_ns: int) -> Iterator[Routed]:
        """End of input (after the reassembler's flush): close every flow."""
        for state in list(self.flows.values()):
            yield from self._close_flow(state, ts_ns)
        self.flows.clear()
        self._holding.clear()
        self.held_bytes = 0

    # -- the held-bytes budget (max_held_bytes_total) ------------------------------------

    def _account(self, state: FlowState) -> bool:
        """After the flow's bytes were handled: update its share of what all flows hold
        (O(1): each part keeps a running count). True: over the budget (`_evict_held`)."""
        flow = state.flow
        held = flow.held_bytes()
        dissector = state.dissector
        if dissector is not None:
            held += dissector.held_bytes()
        elif state.status is _PROBING:
            pending = state.pending_bytes
            held += pending[_CLIENT] + pending[_SERVER]
        before = state.held
        if held == before:  # the common case: nothing held before or after
            if held:
                self._holding.move_to_end(flow.id)
            return False
        if held:
            self._holding[flow.id] = state
            self._holding.move_to_end(flow.id)
        else:
            del self._holding[flow.id]
        total = self.held_bytes = self.held_bytes + held - before
        state.held = held
        if total > self.held_bytes_peak:  # noqa: PLR1730 - cheaper than max() per segment
            self.held_bytes_peak = total
        return total > self.reassembler.limits.max_held_bytes_total

    def _release(self, state: FlowState) -> None:
        """The flow is gone: what it held no longer counts."""
        if state.held:
            self.held_bytes -= state.held
            state.held = 0
            self._holding.pop(state.flow.id, None)

    def _evict_held(self) -> Iterator[Routed]:
        """Over the budget: close the least recently active flows that hold bytes. Each
        is closed as at the end of a capture, so what it holds (a request head, the start
        of a body, batched rows) is emitted as incomplete, not lost."""
        budget = self.reassembler.limits.max_held_bytes_total
        holding = self._holding
        while self.held_bytes > budget and holding:
            key, state = next(iter(holding.items()))
            for event in self.reassembler.evict(state.flow, self.last_ts):
                yield from self.route(event)
            if self.flows.get(key) is state:  # not in the reassembler any more: close here
                yield from self._close_flow(state, self.last_ts)
                del self.flows[key]
            self._release(state)

    # -- bytes, gaps and ends ------------------------------------------------------------

    def _data(self, state: FlowState, side: Side, data: bytes, ts_ns: int) -> Iterator[Routed]:
        layer = state.layer
        if layer is None:
            return self._plain(state, side, data, ts_ns)
        return self._through_layer(state, layer, lambda: layer.feed(side, data, ts_ns))

    def _through_layer(self, state: FlowState, layer: StreamLayer, call: object) -> Iterator[Routed]:
        """Run one layer call; its plaintext goes on to the dissector (or its probe)."""
        try:
            chunks = call()  # type: ignore[operator]
        except LayerError:
            self._fail(state)
            state.layer = None
            yield state.flow, Anomaly(kind=f"{layer.name}_error")
            return
        for side, plain, ts_ns in chunks:
            if state.layer is None:
                break
            yield from self._plain(state, side, plain, ts_ns)

    def _attach_layer(self, state: FlowState, factory: LayerFactory) -> Iterator[Routed]:
        """Put a layer under the flow and run what was held through it."""
        layer = state.layer = factory.create()
        state.layer_checked = True
        pending, state.pending = state.pending, []
        state.pending_bytes = {_CLIENT: 0, _SERVER: 0}
        yield state.flow, LayerSeen(layer.name, layer.info())
        for side, data, ts_ns in pending:
            if state.layer is not layer:
                break
            yield from self._through_layer(
                state, layer, lambda s=side, d=data, t=ts_ns: layer.feed(s, d, t)
            )

    def _plain(self, state: FlowState, side: Side, data: bytes, ts_ns: int) -> Iterator[Routed]:
        status = state.status
        if status is _ACTIVE:
            return self._guard(state, "feed", _DIRECTIONS[side], data, ts_ns)
        if status is _PROBING:
            state.pending.append((side, data, ts_ns))
            state.pending_bytes[side] += len(data)
            return self._probe(state)
        return iter(())

    def _gap(self, state: FlowState, side: Side, size: int) -> Iterator[Routed]:
        layer = state.layer
        if layer is not None:
            # The layer resyncs on its own records; the plaintext lost is of unknown size.
            yield from self._through_layer(state, layer, lambda: layer.gap(side, size))
            size = 0
        if state.status is _ACTIVE:
            yield from self._guard(state, "gap", _DIRECTIONS[side], size)
        elif state.status is _PROBING:
            # What was held for that side is no longer contiguous with what follows;
            # the dissector will meet the rest as a mid-stream start.
            state.pending = [p for p in state.pending if p[0] is not side]
            state.pending_bytes[side] = 0

    def _close_side(self, state: FlowState, side: Side, ts_ns: int) -> Iterator[Routed]:
        state.closed.add(side)
        if state.status is _PROBING:
            yield from self._probe(state, final=True)
        if state.status is _ACTIVE:
            yield from self._guard(state, "close", _DIRECTIONS[side], ts_ns)

    def _close_flow(self, state: FlowState, ts_ns: int) -> Iterator[Routed]:
        if state.status is _PROBING:
            yield from self._probe(state, final=True)
        if state.status is _ACTIVE:
            for side in (_CLIENT, _SERVER):
                if side not in state.closed:
                    state.closed.add(side)
                    yield from self._guard(state, "close", _DIRECTIONS[side], ts_ns)
        layer = state.layer
        if layer is not None:
            yield state.flow, LayerSeen(layer.name, layer.info(), True, layer.decrypting)
            state.layer = None
            if state.status is _PROBING and not layer.decrypting:
                state.move(_OPAQUE)
        if state.status is _PROBING:
            state.move(_OPAQUE)
            yield state.flow, Unidentified(ended=True)

    # -- dissector choice --------------------------------------------------------------

    def _safe_probe(
        self, flow: Flow, cls: type[Dissector], direction: Direction, data: bytes
    ) -> Generator[Routed, None, Probe]:
        """`cls.probe`; its verdict is the generator's value (NO after a bug)."""
        try:
            return cls.probe(direction, data)
        except Exception as exc:  # noqa: BLE001 - isolated: a Bug
            yield flow, Bug(f"probe of {cls.name} failed", exc)
            return _NO

    def _joined(self, state: FlowState, side: Side) -> bytes:
        # A list, not a generator: `join` makes one of it anyway, and a flow's first
        # probe (the common one) sees one chunk, which `join` then returns as it is.
        return b"".join([chunk for s, chunk, _ in state.pending if s is side])[:MAX_PROBE_BYTES]

    def _candidates(self, flow: Flow) -> list[type[Dissector]]:
        ports = {flow.server[1], flow.client[1]}
        hinted = [d for d in self.dissectors if ports & d.ports]
        return hinted + [d for d in self.dissectors if d not in hinted]

    def _probe(self, state: FlowState, final: bool = False) -> Iterator[Routed]:
        flow = state.flow
        if state.layer is not None and not state.layer.decrypting:
            return  # nothing readable will come: the flow is reported as encrypted
        client_data = self._joined(state, _CLIENT)
        server_data = self._joined(state, _SERVER)
        if not state.layer_checked and state.layer is None and self.layers:
            layer_pending = False
            for factory in self.layers:
                verdict = factory.probe(client_data, server_data)
                if verdict is _YES:
                    yield from self._attach_layer(state, factory)
                    return
                layer_pending |= verdict is _NEED_MORE
            state.layer_checked = not layer_pending
        undecided = False
        for cls in self._candidates(flow):
            verdicts = []
            if client_data:
                verdicts.append((yield from self._safe_probe(flow, cls, _REQUEST, client_data)))
            if server_data:
                verdicts.append((yield from self._safe_probe(flow, cls, _RESPONSE, server_data)))
            if _YES in verdicts:
                yield from self._activate(state, cls)
                return
            if _NEED_MORE in verdicts:
                undecided = True
        if flow.roles_from != "syn" and server_data:
            # The port guess may be wrong: does the "server" speak a request?
            for cls in self._candidates(flow):
                if (yield from self._safe_probe(flow, cls, _REQUEST, server_data)) is _YES:
                    flow.swap_roles()
                    state.pending = [
                        (_SERVER if s is _CLIENT else _CLIENT, d, t)
                        for s, d, t in state.pending
                    ]
                    state.pending_bytes = {
                        _CLIENT: state.pending_bytes[_SERVER],
                        _SERVER: state.pending_bytes[_CLIENT],
                    }
                    yield from self._activate(state, cls)
                    return
        too_much = max(state.pending_bytes.values()) >= MAX_PROBE_BYTES
        # Give up when told to, when the probe window is full, or when every dissector
        # said NO to what both sides sent.
        if final or too_much or (not undecided and client_data and server_data):
            state.move(_OPAQUE)
            state.pending = []
            yield flow, Unidentified(ended=False)
            if log.isEnabledFor(logging.INFO):  # format_endpoint costs microseconds
                log.info(
                    "flow %d to %s: no protocol recognised; skipped", flow.id, format_endpoint(flow.server)
                )

    def _activate(
        self, state: FlowState, cls: type[Dissector], context: dict[str, str] | None = None
    ) -> Iterator[Routed]:
        dissector = state.dissector = cls(self.limits, self.options)
        dissector.facts = self.facts
        if context:
            state.dissector.takeover(context)  # a Handoff's handshake facts, before any byte
        state.move(_ACTIVE)
        state.layer_checked = True
        yield state.flow, Identified(cls.name)
        pending, state.pending = state.pending, []
        for side, data, ts_ns in pending:
            if state.status is not _ACTIVE:
                if state.status is _PROBING:
                    state.pending.append((side, data, ts_ns))
                continue
            yield from self._guard(state, "feed", _DIRECTIONS[side], data, ts_ns)
        if state.status is _PROBING and state.pending:
            yield from self._probe(state)

    # -- dissector output --------------------------------------------------------------

    def _fail(self, state: FlowState) -> None:
        if state.status is not _FAILED:  # a layer can break after its dissector
            state.move(_FAILED)
        state.dissector = None

    def _guard(self, state: FlowState, method: str, *args: Any) -> Iterator[Routed]:
        """Run the dissector's `method` (`feed`, `gap` or `close`) on `args`; isolate the
        flow on failure (docs/architecture.md, Errors)."""
        dissector = state.dissector
        if dissector is None:
            return
        flow = state.flow
        try:
            events: list[Event] = getattr(dissector, method)(*args)
        except Exception as exc:  # noqa: BLE001 - isolated in `_failed`
            yield from self._failed(state, dissector, exc)
            return
        for event in events:
            if isinstance(event, Handoff):
                yield from self._handoff(state, event)
            else:
                yield flow, event

    def _failed(self, state: FlowState, dissector: Dissector, exc: Exception) -> Iterator[Routed]:
        """The dissector raised: `ProtocolError` stops the flow (`Failed`), anything else
        is a bug isolated to it (`Bug`)."""
        self._fail(state)
        if isinstance(exc, ProtocolError):
            yield state.flow, Failed(dissector.name)
        else:
            yield state.flow, Bug(f"dissector {dissector.name} failed on flow {state.flow.id}", exc)

    def _handoff(self, state: FlowState, handoff: Handoff) -> Iterator[Routed]:
        yield state.flow, Anomaly(kind=f"handoff_{handoff.protocol or 'probe'}")
        leftovers = [
            (_CLIENT if direction is _REQUEST else _SERVER, data, handoff.ts_ns)
            for direction, data in sorted(handoff.leftover.items(), key=lambda kv: kv[0] != _REQUEST)
            if data
        ]
        factory = self._layers_by_name.get(handoff.protocol)
        if factory is not None and state.layer is None:
            # STARTTLS-style upgrade: the dissector stays and reads the plaintext.
            layer = state.layer = factory.create()
            yield state.flow, LayerSeen(layer.name, layer.info())
            for side, data, ts_ns in leftovers:
                yield from self._through_layer(
                    state, layer, lambda s=side, d=data, t=ts_ns: layer.feed(s, d, t)
                )
            return
        if handoff.protocol == "opaque":
            state.move(_OPAQUE)
            state.dissector = None
            return
        if handoff.protocol:
            cls = dissector_by_name(handoff.protocol)
            if cls is None:
                state.move(_OPAQUE)
                state.dissector = None
                return
            state.pending = leftovers
            yield from self._activate(state, cls, handoff.context)
            return
        state.dissector = None
        state.move(_PROBING)
        state.pending = leftovers
        state.pending_bytes = {_CLIENT: 0, _SERVER: 0}
        for side, data, _ in leftovers:
            state.pending_bytes[side] += len(data)
        if leftovers:
            yield from self._probe(state)
