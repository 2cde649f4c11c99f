"""The flow router (dpi/flows.py) on its own: captures in, `(flow, event)` pairs out,
with no engine, inventory or observer behind it; and its status changes, which follow
the `TRANSITIONS` table and nothing else."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from dpi.api import scan_engine
from dpi.capture import open_capture
from dpi.decode import Decoder
from dpi.flows import (
    TRANSITIONS,
    Bug,
    Failed,
    FlowRouter,
    FlowState,
    FlowStatus,
    Identified,
    Routed,
    TransitionError,
    Unidentified,
)
from dpi.reassembly import Gap, Opened
from protocols.base import (
    Anomaly,
    Direction,
    Dissector,
    DissectorOptions,
    Event,
    Limits,
    Message,
    Probe,
    ProtocolError,
)
from tests.builders.conversation import Conversation, http_request, http_response

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
EMAIL = "dana.whitfield@mail.shopper-demo.net"
P, A, O, F = FlowStatus.PROBING, FlowStatus.ACTIVE, FlowStatus.OPAQUE, FlowStatus.FAILED


def _router() -> FlowRouter:
    return FlowRouter(limits=Limits(), options=DissectorOptions(), layers=[])


def _frames_routed(path: Path, router: FlowRouter, flush: bool = True) -> Iterable[Routed]:
    """What `Engine.feed_frame`/`finish` hand the router, without the engine."""
    decoder = Decoder()
    for frame in open_capture(path).frames():
        segment = decoder.decode(frame)
        if segment is None:
            continue
        router.last_ts = max(router.last_ts, frame.ts_ns)
        for event in router.reassembler.feed(segment, frame.ts_ns):
            yield from router.route(event)
    for event in router.reassembler.flush(router.last_ts) if flush else ():
        yield from router.route(event)


def _routed(path: Path, router: FlowRouter | None = None) -> list[Routed]:
    router = router or _router()
    return [*_frames_routed(path, router), *router.close_all(router.last_ts)]


def _kinds(routed: list[Routed]) -> list[str]:
    """Each event as one short word: its type, and its protocol, kind or api."""
    words = []
    for _, event in routed:
        if isinstance(event, Message):
            words.append(f"{event.direction} {event.api}")
        elif isinstance(event, Identified):
            words.append(f"identified {event.protocol}")
        elif isinstance(event, Anomaly):
            words.append(f"anomaly {event.kind}")
        else:
            words.append(type(event).__name__.lower())
    return words


def _exchange(path: Path, *, port: int = 8080, request: bytes | None = None) -> Path:
    body = json.dumps({"email": EMAIL}).encode()
    conv = Conversation(sport=port).handshake()
    conv = conv.request(request or http_request("POST", "/v1/users", body))
    return conv.response(http_response(b"{}")).close().write(path)


# -- the transition table --------------------------------------------------------------


def test_the_table_names_every_status_and_failed_is_final() -> None:
    assert set(TRANSITIONS) == set(FlowStatus)
    assert TRANSITIONS == {
        P: {A, O, F},  # a dissector took it, nothing did (or encrypted), its layer broke
        A: {A, P, O, F},  # hand-off to a named dissector, to a new probe, to opaque; failure
        O: {F},  # the layer under an opaque flow broke
        F: set(),
    }


def test_a_move_outside_the_table_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    flow = next(f for f, e in _routed(_exchange(tmp_path / "x.pcap")) if isinstance(e, Opened))
    for before, after in itertools.product(FlowStatus, FlowStatus):
        state = FlowState(flow=flow, status=before)
        if after in TRANSITIONS[before]:
            state.move(after)
            assert state.status is after
        else:
            with pytest.raises(TransitionError):
                state.move(after)
            assert state.status is before


def test_scans_of_real_captures_move_flows_only_along_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: set[tuple[FlowStatus, FlowStatus]] = set()
    move = FlowState.move

    def recording(state: FlowState, status: FlowStatus) -> None:
        seen.add((state.status, status))
        move(state, status)

    monkeypatch.setattr(FlowState, "move", recording)
    connect = b"CONNECT inner.example:80 HTTP/1.1\r\nHost: inner.example:80\r\n\r\n"
    tunnel = (Conversation().handshake().request(connect)
              .response(b"HTTP/1.1 200 Connection established\r\n\r\n")
              .request(http_request("GET", "/v1/ping")).response(http_response(b"{}")).close())
    unknown = Conversation(sport=7777).handshake().request(b"\x00\x17HELO?" * 4).response(b"\x01\x02" * 9)
    captures = [*sorted(SAMPLES.glob("*.pcap*")), tunnel.write(tmp_path / "connect.pcap"),
                unknown.close().write(tmp_path / "unknown.pcap")]
    engine = scan_engine(captures)
    assert engine.stats.flows > 20
    # Probed; given up; CONNECT's tunnel probed; WebSocket and gRPC upgrades taken over.
    assert {(P, A), (P, O), (A, P), (A, A)} <= seen
    assert all(after in TRANSITIONS[before] for before, after in seen)


# -- events returned, not calls made ---------------------------------------------------


def test_an_http_exchange_comes_back_as_events_in_order(tmp_path: Path) -> None:
    routed = _routed(_exchange(tmp_path / "shop.pcap"))
    assert _kinds(routed) == [
        "opened", "identified http", "request POST /v1/users", "response POST /v1/users"
    ]
    assert len({id(flow) for flow, _ in routed}) == 1
    request = routed[2][1]
    assert isinstance(request, Message) and EMAIL.encode() in request.parts[-1].data


def test_connect_hands_the_tunnel_to_a_new_probe(tmp_path: Path) -> None:
    connect = b"CONNECT inner.example:80 HTTP/1.1\r\nHost: inner.example:80\r\n\r\n"
    conv = (Conversation().handshake().request(connect)
            .response(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .request(http_request("POST", "/v1/x", b"{}")).response(http_response(b"{}")).close())
    assert _kinds(_routed(conv.write(tmp_path / "connect.pcap"))) == [
        "opened", "identified http",
        "request CONNECT inner.example:80", "response CONNECT inner.example:80",
        "anomaly handoff_probe", "identified http",
        "request POST /v1/x", "response POST /v1/x",
    ]


def test_an_unknown_protocol_is_given_up_and_returned_as_unidentified(tmp_path: Path) -> None:
    conv = Conversation(sport=7777).handshake().request(b"\x00\x17HELO?" * 4).response(b"\x01\x02" * 9)
    router = _router()
    routed = _routed(conv.close().write(tmp_path / "unknown.pcap"), router)
    assert [e for _, e in routed if not isinstance(e, Opened)] == [Unidentified(ended=False)]
    assert router.flows == {} and router.held_bytes == 0


class _Raising(Dissector):
    """Takes every flow on port 8080, then raises `error` on its first bytes."""

    name = "raising"
    ports = frozenset({8080})
    error: Exception = ProtocolError("bad frame")

    @classmethod
    def probe(cls, direction: Direction, data: bytes) -> Probe:
        return Probe.YES

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
        raise self.error

    def gap(self, direction: Direction, size: int) -> list[Event]:
        return []

    def close(self, direction: Direction, ts_ns: int) -> list[Event]:
        return []


class _RaisingOnResponses(_Raising):
    """Reads the request, raises on the response: a failure of a flow already active
    (the bytes reach it through the router's common path, not after its probe)."""

    name = "raising_late"

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
        if direction is Direction.RESPONSE:
            raise self.error
        return []


@pytest.mark.parametrize("dissector", [_Raising, _RaisingOnResponses])
@pytest.mark.parametrize(
    ("error", "expected"),
    [(ProtocolError("bad frame"), Failed), (KeyError("a bug"), Bug)],
)
def test_a_dissector_that_raises_stops_its_flow_and_is_returned_as_an_event(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    expected: type,
    dissector: type[_Raising],
) -> None:
    monkeypatch.setattr(_Raising, "error", error)
    router = _router()
    router.dissectors = (dissector,)
    routed = _routed(_exchange(tmp_path / "x.pcap"), router)
    events = [e for _, e in routed if not isinstance(e, (Opened, Gap))]
    assert [type(e) for e in events] == [Identified, expected]  # once: the flow stopped
    if isinstance(events[1], Bug):
        assert events[1].exc is error  # for the engine: counted, or raised in strict mode
    else:
        assert events[1] == Failed(dissector.name)


def test_events_are_yielded_before_the_router_goes_on(tmp_path: Path) -> None:
    # At the end of a capture, the first flow's last message reaches the consumer while
    # the second flow is still open: what a consumer learns from one flow (Schema
    # Registry answers) is known before the next flow's dissector is closed.
    head = b'POST %s HTTP/1.1\r\nHost: a.example\r\nContent-Length: 100\r\n\r\n{"x":'
    first = Conversation(cport=40001).handshake().request(head % b"/a")
    second = Conversation(cport=40002).handshake().request(head % b"/b")
    path = Conversation(packets=first.packets + second.packets).write(tmp_path / "open.pcap")
    router = _router()
    assert not [e for _, e in _frames_routed(path, router, flush=False) if isinstance(e, Message)]
    assert len(router.flows) == 2
    closing = router.close_all(router.last_ts)
    flow, message = next((f, e) for f, e in closing if isinstance(e, Message))
    assert (message.api, message.incomplete) == ("POST /a", True)
    others = [s for s in router.flows.values() if s.flow is not flow]
    assert [s.status for s in others] == [FlowStatus.ACTIVE] and not others[0].closed
    rest = [e for _, e in closing if isinstance(e, Message)]
    assert [(e.api, e.incomplete) for e in rest] == [("POST /b", True)]
    assert router.flows == {}
