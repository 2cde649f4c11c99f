"""TCP reassembly (dpi/reassembly.py, RFC 9293): streams, gaps, closes, limits."""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpi.decode import ACK, FIN, PSH, RST, SYN, Segment
from dpi.reassembly import (
    Closed,
    Data,
    Flow,
    Gap,
    Opened,
    Reassembler,
    ReassemblyLimits,
    Side,
    StreamEvent,
)
from tests.builders.segments import (
    CLIENT_IP,
    CLIENT_PORT,
    SERVER_IP,
    SERVER_PORT,
    Conversation,
    conversation,
    segment,
)

MS = 1_000_000  # ns


def run(
    segments: Iterable[Segment], r: Reassembler | None = None, *, flush: bool = True
) -> list[StreamEvent]:
    """Feed segments 1 ms apart, then flush."""
    r = r if r is not None else Reassembler()
    out: list[StreamEvent] = []
    ts = 0
    for ts, seg in enumerate(segments, start=1):
        out += r.feed(seg, ts * MS)
    if flush:
        out += r.flush((ts + 1) * MS)
    return out


def stream(events: list[StreamEvent], side: Side, flow_id: int = 1) -> bytes:
    return b"".join(
        e.data for e in events if isinstance(e, Data) and e.side is side and e.flow.id == flow_id
    )


def gaps(events: list[StreamEvent], side: Side | None = None) -> list[int]:
    return [e.size for e in events if isinstance(e, Gap) and (side is None or e.side is side)]


def closes(events: list[StreamEvent]) -> list[tuple[int, Side | None, str]]:
    return [(e.flow.id, e.side, e.reason) for e in events if isinstance(e, Closed)]


def flows(events: list[StreamEvent]) -> list[Flow]:
    return [e.flow for e in events if isinstance(e, Opened)]


REQUEST = (
    b"POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n" + bytes(range(256)) * 16
)
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 9000\r\n\r\n" + b"0123456789" * 900


# -- in order ----------------------------------------------------------------------------


def test_in_order_conversation_delivers_both_streams_and_closes_by_fin() -> None:
    conv = conversation([("client", REQUEST), ("server", RESPONSE)], mss=1000)
    events = run(conv.segments)
    assert isinstance(events[0], Opened)
    flow = events[0].flow
    assert (flow.client, flow.server) == ((CLIENT_IP, CLIENT_PORT), (SERVER_IP, SERVER_PORT))
    assert flow.roles_from == "syn" and not flow.partial
    assert stream(events, Side.CLIENT) == REQUEST
    assert stream(events, Side.SERVER) == RESPONSE
    assert gaps(events) == []
    assert closes(events) == [(1, Side.CLIENT, "fin"), (1, Side.SERVER, "fin"), (1, None, "fin")]


def test_in_order_segment_is_delivered_without_copy() -> None:
    conv = Conversation()
    conv.handshake()
    (seg,) = conv.send("client", b"hello")
    r = Reassembler()
    run(conv.segments[:-1], r, flush=False)
    (event,) = r.feed(seg, 10 * MS)
    assert isinstance(event, Data) and event.data is seg.payload and event.ts_ns == 10 * MS


def test_ipv6_conversation_delivers_stream() -> None:
    conv = conversation(
        [("client", b"ping"), ("server", b"pong")],
        client_ip=bytes(15) + b"\x01",
        server_ip=bytes(15) + b"\x02",
    )
    events = run(conv.segments)
    assert stream(events, Side.CLIENT) == b"ping" and stream(events, Side.SERVER) == b"pong"


# -- reordering, retransmission, overlap ----------------------------------------------------


def test_reordered_segments_are_delivered_in_order() -> None:
    conv = Conversation(track_acks=False)
    conv.handshake()
    segs = conv.send("client", REQUEST, mss=500)
    order = conv.segments[:3] + [segs[2], segs[0], segs[3], segs[1]] + segs[4:]
    r = Reassembler()
    events = run(order, r)
    assert stream(events, Side.CLIENT) == REQUEST
    assert gaps(events) == []
    assert r.stats.out_of_order_segments == 2


def test_retransmitted_segment_is_dropped_and_counted() -> None:
    conv = Conversation()
    conv.handshake()
    segs = conv.send("client", b"a" * 300 + b"b" * 300, mss=300)
    r = Reassembler()
    events = run([*conv.segments, segs[0], segs[1]], r)
    assert stream(events, Side.CLIENT) == b"a" * 300 + b"b" * 300
    assert r.stats.retransmitted_bytes == 600


def test_overlap_with_different_bytes_keeps_first_copy() -> None:
    conv = Conversation(track_acks=False)
    conv.handshake()
    base = conv.client_next
    first = segment(seq=base + 4, payload=b"EFGH", ack=conv.server_next)
    forged = segment(seq=base + 2, payload=b"cdXYij", ack=conv.server_next)
    head = segment(seq=base, payload=b"ABCD", ack=conv.server_next)
    tail = segment(seq=base + 8, payload=b"IJ", ack=conv.server_next)
    r = Reassembler()
    events = run([*conv.segments, first, forged, tail, head], r)
    # held EFGH beats XY; held IJ beats ij; cd fills the hole first, then ABCD's CD loses.
    assert stream(events, Side.CLIENT) == b"ABcdEFGHIJ"
    assert r.stats.overlaps >= 1


def test_partial_retransmission_delivers_only_new_tail() -> None:
    conv = Conversation()
    conv.handshake()
    base = conv.client_next
    events = run(
        [
            *conv.segments,
            segment(seq=base, payload=b"hello "),
            segment(seq=base + 3, payload=b"lo world"),
        ]
    )
    assert stream(events, Side.CLIENT) == b"hello world"


@pytest.mark.parametrize("isn", [0xFFFFFFFF - 5, 0xFFFFFFFF, 0xFFFFFF00])
def test_sequence_wrap_around_delivers_stream(isn: int) -> None:
    conv = conversation(
        [("client", REQUEST), ("server", RESPONSE)], client_isn=isn, server_isn=isn - 100
    )
    events = run(conv.segments)
    assert stream(events, Side.CLIENT) == REQUEST and stream(events, Side.SERVER) == RESPONSE
    assert gaps(events) == [] and closes(events)[-1] == (1, None, "fin")


def test_reordering_across_wrap_around_delivers_stream() -> None:
    conv = Conversation(client_isn=0xFFFFFFFF - 700, track_acks=False)
    conv.handshake()
    segs = conv.send("client", REQUEST, mss=400)
    events = run(conv.segments[:3] + segs[::-1])
    assert stream(events, Side.CLIENT) == REQUEST and gaps(events) == []


# -- roles and mid-stream ------------------------------------------------------------------


def test_synless_pickup_guesses_roles_by_port() -> None:
    conv = Conversation()
    conv.handshake()
    conv.send("server", b"late response part")
    conv.send("client", b"GET /next HTTP/1.1\r\n\r\n")
    events = run(conv.segments[3:])
    (flow,) = flows(events)
    assert flow.roles_from == "port" and flow.partial
    assert flow.server == (SERVER_IP, SERVER_PORT)
    assert stream(events, Side.SERVER) == b"late response part"
    assert stream(events, Side.CLIENT) == b"GET /next HTTP/1.1\r\n\r\n"
    assert closes(events) == [(1, None, "end")]


@pytest.mark.parametrize(
    ("sport", "dport", "server_port"),
    [
        (51000, 9092, 9092),  # common server port beats ephemeral
        (3306, 40000, 3306),
        (50051, 443, 443),  # both common: the lower
        (40000, 1022, 1022),  # well-known beats ephemeral
        (20880, 45000, 20880),  # registered beats ephemeral
        (38888, 52000, 38888),  # both ephemeral: the lower
    ],
)
def test_role_guess_by_port_picks_server(sport: int, dport: int, server_port: int) -> None:
    (opened, _) = Reassembler().feed(segment(sport=sport, dport=dport, payload=b"x"), MS)
    assert isinstance(opened, Opened)
    assert opened.flow.server[1] == server_port


def test_synack_only_sets_roles_from_syn_and_knows_client_start() -> None:
    conv = Conversation()
    conv.syn()
    conv.syn_ack()
    conv.ack("client")
    conv.send("client", b"abc")
    conv.send("server", b"def")
    events = run(conv.segments[1:])
    (flow,) = flows(events)
    assert flow.roles_from == "syn" and not flow.partial
    assert flow.client == (CLIENT_IP, CLIENT_PORT)
    assert stream(events, Side.CLIENT) == b"abc" and stream(events, Side.SERVER) == b"def"


def test_synack_only_reports_lost_first_client_segment_as_gap() -> None:
    conv = Conversation()
    conv.syn()
    conv.syn_ack()
    conv.ack("client")
    conv.lose("client", 7)
    conv.send("client", b"abc")
    events = run(conv.segments[1:])
    assert gaps(events, Side.CLIENT) == [7] and stream(events, Side.CLIENT) == b"abc"


def test_swap_roles_relabels_later_events() -> None:
    conv = Conversation(client_port=8080, server_port=40000)  # the ports mislead the guess
    conv.handshake()
    conv.send("client", b"req1")
    conv.send("server", b"resp1")
    conv.send("client", b"req2")
    segs = conv.segments[3:]
    r = Reassembler()
    first = r.feed(segs[0], MS)
    flow = flows(first)[0]
    assert stream(first, Side.SERVER) == b"req1"  # guessed wrong
    flow.swap_roles()
    assert flow.client == (CLIENT_IP, 8080) and flow.server == (SERVER_IP, 40000)
    later = r.feed(segs[1], 2 * MS) + r.feed(segs[2], 3 * MS)
    assert stream(later, Side.SERVER) == b"resp1" and stream(later, Side.CLIENT) == b"req2"


def test_flow_repr_shows_no_payload() -> None:
    secret = b"4111111111111111"
    events = run([segment(payload=secret)])
    assert all(secret.decode() not in repr(e) and repr(secret) not in repr(e) for e in events)
    assert "4111" not in repr(Reassembler())


# -- gaps ------------------------------------------------------------------------------------


def test_hole_acked_by_peer_becomes_gap_then_held_data() -> None:
    conv = Conversation()
    conv.handshake()
    conv.send("client", b"A" * 100)
    conv.lose("client", 50)
    conv.send("client", b"C" * 100)
    r = Reassembler()
    events = run(conv.segments, r, flush=False)
    assert stream(events, Side.CLIENT) == b"A" * 100  # C held behind the hole
    events += r.feed(conv.ack("server")[0], 50 * MS)  # the server got all 250 bytes
    assert gaps(events) == [50]
    assert stream(events, Side.CLIENT) == b"A" * 100 + b"C" * 100
    assert r.stats.gap_bytes == 50


def test_ack_above_hole_before_later_data_gaps_on_arrival() -> None:
    conv = Conversation()
    conv.handshake()
    conv.lose("client", 10)
    conv.send("client", b"x" * 20)
    data = conv.segments.pop()
    conv.ack("server")  # acks all 30 bytes, seen before the data
    events = run([*conv.segments, data], flush=False)
    assert gaps(events) == [10] and stream(events, Side.CLIENT) == b"x" * 20


def test_hole_over_per_flow_cap_becomes_gap() -> None:
    conv = Conversation(track_acks=False)
    conv.handshake()
    conv.lose("client", 10)
    conv.send("client", b"z" * 5000, mss=1000)
    r = Reassembler(ReassemblyLimits(max_ooo_bytes_per_flow=3000))
    events = run(conv.segments, r, flush=False)
    assert gaps(events) == [10]
    assert stream(events, Side.CLIENT) == b"z" * 5000  # 4000 released, 1000 in order
    assert r.stats.ooo_overflow == 1


def test_hole_over_segment_cap_becomes_gap() -> None:
    conv = Conversation(track_acks=False)
    conv.handshake()
    conv.lose("client", 1)
    conv.send("client", b"q" * 10, mss=1)
    r = Reassembler(ReassemblyLimits(max_ooo_segments_per_flow=4))
    events = run(conv.segments, r, flush=False)
    assert gaps(events) == [1] and stream(events, Side.CLIENT) == b"q" * 10


def test_global_ooo_budget_releases_flow_holding_most() -> None:
    r = Reassembler(ReassemblyLimits(max_ooo_bytes_total=1500))
    small = Conversation(client_port=40001, track_acks=False)
    big = Conversation(client_port=40002, track_acks=False)
    for conv in (small, big):
        conv.handshake()
        conv.lose("client", 5)
    small.send("client", b"s" * 400)
    big.send("client", b"b" * 1000)
    big.send("client", b"B" * 200)
    events = run(small.segments + big.segments, r, flush=False)
    assert stream(events, Side.CLIENT, flow_id=2) == b"b" * 1000 + b"B" * 200
    assert stream(events, Side.CLIENT, flow_id=1) == b""  # still held
    assert r.stats.ooo_budget_evictions == 1 and r.held_bytes == 400


def test_hole_at_flush_becomes_gap_then_held_data() -> None:
    conv = Conversation(track_acks=False)
    conv.handshake()
    conv.send("client", b"head")
    conv.lose("client", 6)
    conv.send("client", b"tail")
    events = run(conv.segments)
    assert gaps(events) == [6] and stream(events, Side.CLIENT) == b"headtail"
    assert closes(events) == [(1, None, "end")]
    assert [type(e).__name__ for e in events[-3:]] == ["Gap", "Data", "Closed"]


def test_unseen_acked_tail_at_flush_becomes_gap() -> None:
    conv = Conversation()
    conv.handshake()
    conv.send("client", b"seen")
    conv.lose("client", 30)
    conv.ack("server")
    events = run(conv.segments)
    assert gaps(events, Side.CLIENT) == [30]


def test_snaplen_missing_bytes_become_gap_after_payload() -> None:
    conv = Conversation()
    conv.handshake()
    conv.send_truncated("client", b"GET / HTTP/1.1\r\nHo", 40)
    conv.send("client", b"next request")
    conv.send_truncated("server", b"HTTP/1.1 200", 500)
    events = run(conv.segments)
    client = [e for e in events if isinstance(e, Data | Gap) and e.side is Side.CLIENT]
    assert [type(e).__name__ for e in client] == ["Data", "Gap", "Data"]
    assert gaps(events) == [40, 500]
    assert stream(events, Side.CLIENT) == b"GET / HTTP/1.1\r\nHonext request"


def test_snaplen_missing_out_of_order_keeps_gap_position() -> None:
    conv = Conversation(track_acks=False)
    conv.handshake()
    first = conv.send_truncated("client", b"abc", 7)
    second = conv.send("client", b"xyz")
    events = run(conv.segments[:3] + second + first)
    client = [e for e in events if isinstance(e, Data | Gap) and e.side is Side.CLIENT]
    assert [(type(e).__name__, e.size if isinstance(e, Gap) else e.data) for e in client] == [
        ("Data", b"abc"),
        ("Gap", 7),
        ("Data", b"xyz"),
    ]


# -- closing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["client", "server"])
def test_fin_from_each_side_closes_that_side_then_flow(first: str) -> None:
    conv = Conversation()
    conv.handshake()
    conv.send("client", b"req")
    conv.send("server", b"resp")
    other = "server" if first == "client" else "client"
    conv.close(first)  # type: ignore[arg-type]
    conv.close(other)  # type: ignore[arg-type]
    events = run(conv.segments, flush=False)
    assert closes(events) == [(1, Side(first), "fin"), (1, Side(other), "fin"), (1, None, "fin")]


def test_fin_with_payload_delivers_then_closes() -> None:
    conv = Conversation()
    conv.handshake()
    base = conv.client_next
    events = run([*conv.segments, segment(seq=base, flags=FIN | ACK | PSH, payload=b"bye")])
    assert stream(events, Side.CLIENT) == b"bye"
    assert closes(events) == [(1, Side.CLIENT, "fin"), (1, None, "end")]


def test_fin_before_missing_data_waits_for_it() -> None:
    conv = Conversation(track_acks=False)
    conv.handshake()
    data = conv.send("client", b"last bytes")
    fin = conv.close("client")
    r = Reassembler()
    events = run(conv.segments[:3] + fin, r, flush=False)
    assert closes(events) == []
    events = r.feed(data[0], 9 * MS)
    assert stream(events, Side.CLIENT) == b"last bytes"
    assert closes(events) == [(1, Side.CLIENT, "fin")]


def test_rst_delivers_contiguous_gaps_rest_and_ends_flow() -> None:
    conv = Conversation(track_acks=False)
    conv.handshake()
    conv.send("client", b"one")
    conv.lose("client", 4)
    conv.send("client", b"three")
    conv.reset("server")
    r = Reassembler()
    events = run(conv.segments, r, flush=False)
    assert stream(events, Side.CLIENT) == b"onethree" and gaps(events) == [4]
    assert closes(events) == [(1, None, "rst")]
    assert r.active_flows == 0 and r.stats.resets == 1


def test_segments_after_close_do_not_open_ghost_flows() -> None:
    conv = conversation([("client", b"req"), ("server", b"resp")])
    conv.send("server", b"late")  # a straggler after both FINs
    r = Reassembler()
    events = run(conv.segments, r)
    assert len(flows(events)) == 1 and r.stats.late_segments == 1
    assert r.stats.ignored_segments == 1  # the last ACK


def test_connection_refused_opens_and_resets() -> None:
    conv = Conversation()
    conv.syn()
    conv.reset("server")
    events = run(conv.segments)
    assert closes(events) == [(1, None, "rst")]


# -- time and memory -------------------------------------------------------------------------


def test_idle_flow_expires_with_gap_for_held_data() -> None:
    limits = ReassemblyLimits(idle_timeout_ns=60_000 * MS)
    r = Reassembler(limits)
    conv = Conversation(track_acks=False)
    conv.handshake()
    conv.lose("client", 3)
    conv.send("client", b"held")
    events = run(conv.segments, r, flush=False)
    assert r.expire(59_000 * MS) == []
    events = r.expire(61_000 * MS)
    assert gaps(events) == [3] and stream(events, Side.CLIENT) == b"held"
    assert closes(events) == [(1, None, "idle")]
    assert r.active_flows == 0 and r.stats.expired_flows == 1


def test_expired_flow_resuming_comes_back_as_partial_flow() -> None:
    r = Reassembler(ReassemblyLimits(idle_timeout_ns=10 * MS))
    conv = Conversation()
    conv.handshake()
    run(conv.segments, r, flush=False)
    r.expire(100 * MS)
    events = r.feed(conv.send("client", b"again")[0], 101 * MS)
    (flow,) = flows(events)
    assert flow.id == 2 and flow.partial and stream(events, Side.CLIENT, 2) == b"again"


def test_expire_keeps_recently_active_flows() -> None:
    r = Reassembler(ReassemblyLimits(idle_timeout_ns=10 * MS))
    old = Conversation(client_port=40001)
    new = Conversation(client_port=40002)
    r.feed(old.syn()[0], 1 * MS)
    r.feed(new.syn()[0], 2 * MS)
    r.feed(old.syn_ack()[0], 8 * MS)  # old is now the most recent
    events = r.expire(12 * MS + 1)
    assert closes(events) == [(2, None, "idle")] and r.active_flows == 1


def test_max_flows_evicts_least_recently_active() -> None:
    r = Reassembler(ReassemblyLimits(max_flows=2))
    convs = [Conversation(client_port=40000 + i) for i in range(3)]
    r.feed(convs[0].syn()[0], 1 * MS)
    r.feed(convs[1].syn()[0], 2 * MS)
    r.feed(convs[0].syn_ack()[0], 3 * MS)
    events = r.feed(convs[2].syn()[0], 4 * MS)
    assert closes(events) == [(2, None, "evicted")]
    assert isinstance(events[-1], Opened) and events[-1].flow.id == 3
    assert r.stats.evicted_flows == 1 and r.active_flows == 2


def test_port_reuse_with_new_syn_starts_new_flow() -> None:
    first = conversation([("client", b"one")], close=False)
    first.close("client")  # half-closed, then the port is reused
    second = conversation([("client", b"two")], client_isn=777_777, close=False)
    events = run(first.segments + second.segments)
    opened = flows(events)
    assert [f.id for f in opened] == [1, 2] and opened[0] is not opened[1]
    assert stream(events, Side.CLIENT, 1) == b"one" and stream(events, Side.CLIENT, 2) == b"two"
    assert (1, None, "end") in closes(events)


def test_new_syn_after_full_close_starts_new_flow() -> None:
    first = conversation([("client", b"one")])
    second = conversation([("client", b"two")], client_isn=99)
    events = run(first.segments + second.segments)
    assert [f.id for f in flows(events)] == [1, 2]
    assert stream(events, Side.CLIENT, 2) == b"two"


def test_duplicate_syn_does_not_start_new_flow() -> None:
    conv = Conversation()
    conv.handshake()
    conv.send("client", b"x")
    events = run([*conv.segments, conv.segments[0], conv.segments[1]])
    assert len(flows(events)) == 1


def test_limits_reject_non_positive_values() -> None:
    with pytest.raises(ValueError, match="max_flows"):
        ReassemblyLimits(max_flows=0)


def test_pure_ack_of_unknown_flow_is_ignored() -> None:
    r = Reassembler()
    assert r.feed(segment(flags=ACK), MS) == [] and r.feed(segment(flags=RST), MS) == []
    assert r.active_flows == 0 and r.stats.ignored_segments == 2


def test_flush_closes_every_flow_and_empties() -> None:
    r = Reassembler()
    for port in (40001, 40002):
        Conversation(client_port=port).syn()
        r.feed(segment(sport=port, flags=SYN, seq=1), MS)
    events = r.flush(5 * MS)
    assert closes(events) == [(1, None, "end"), (2, None, "end")] and r.active_flows == 0


# -- property ----------------------------------------------------------------------------------


@st.composite
def shuffled_conversations(draw: st.DrawFn) -> tuple[Conversation, bytes, bytes, list[Segment]]:
    isn = draw(st.sampled_from([0, 1000, 0xFFFFFFFF - 3000, 0xFFFFFFFF]))
    mss = draw(st.integers(1, 700))
    request = draw(st.binary(min_size=0, max_size=3000))
    response = draw(st.binary(min_size=0, max_size=3000))
    conv = Conversation(client_isn=isn, server_isn=(isn + 0x9000_0000), mss=mss, track_acks=False)
    conv.handshake()
    conv.send("client", request)
    conv.send("server", response)
    conv.close("client")
    conv.close("server")
    head, rest = conv.segments[:2], conv.segments[2:]
    extra = draw(st.lists(st.sampled_from(conv.segments), max_size=10))  # duplicates
    shuffled = draw(st.permutations(rest + extra))
    return conv, request, response, head + shuffled


@settings(deadline=None, max_examples=200)
@given(shuffled_conversations())
def test_any_permutation_with_duplicates_delivers_original_streams(
    case: tuple[Conversation, bytes, bytes, list[Segment]],
) -> None:
    _, request, response, segs = case
    r = Reassembler()
    events = run(segs, r)
    assert len(flows(events)) == 1
    assert stream(events, Side.CLIENT) == request
    assert stream(events, Side.SERVER) == response
    assert gaps(events) == []
    assert closes(events)[-1] == (1, None, "fin")
    assert r.active_flows == 0 and r.held_bytes == 0


@settings(deadline=None, max_examples=100)
@given(
    st.binary(min_size=1, max_size=2000),
    st.integers(1, 300),
    st.data(),
)
def test_any_loss_pattern_accounts_for_every_byte(
    data: bytes, mss: int, draw: st.DataObject
) -> None:
    """Whatever segments the capture loses, delivered + gap bytes = the stream length."""
    conv = Conversation(mss=mss)
    conv.handshake()
    segs = conv.send("client", data)
    conv.ack("server")
    kept = [s for s in segs if draw.draw(st.booleans())]
    events = run(conv.segments[:3] + kept + conv.segments[-1:])
    assert len(stream(events, Side.CLIENT)) + sum(gaps(events, Side.CLIENT)) == len(data)


def test_syn_with_payload_delivers_data_after_syn_number() -> None:
    events = run([segment(seq=41, flags=SYN, payload=b"fastopen")])
    assert stream(events, Side.CLIENT) == b"fastopen"


def test_hole_nobody_fills_is_given_up_after_wait() -> None:
    conv = Conversation(track_acks=False)
    conv.handshake()
    conv.lose("client", 8)
    first = conv.send("client", b"early")
    later = conv.send("client", b"late")
    r = Reassembler(ReassemblyLimits(max_hole_wait_ns=5_000 * MS))
    events = run(conv.segments[:3] + first, r, flush=False)
    assert stream(events, Side.CLIENT) == b""
    events = r.feed(later[0], 6_000 * MS)
    assert gaps(events) == [8] and stream(events, Side.CLIENT) == b"earlylate"
    assert r.stats.hole_timeouts == 1


# -- cross-check with tshark ----------------------------------------------------------------


def _tshark_segments(tshark: str, path: Path) -> list[tuple[int, Segment]]:
    """Segments from tshark's field export (the packet decoder is tested elsewhere)."""
    fields = ["frame.time_epoch", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport"]
    fields += ["tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.payload"]
    cmd = [tshark, "-r", str(path), "-Y", "tcp", "-T", "fields", "-E", "separator=|"]
    for name in fields:
        cmd += ["-e", name]
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    out = []
    for line in lines:
        ts, src, dst, sport, dport, seq, ack, flags, payload = line.split("|")
        seg = Segment(
            ipaddress.ip_address(src).packed,
            ipaddress.ip_address(dst).packed,
            int(sport),
            int(dport),
            int(seq),
            int(ack or 0),
            int(flags, 16),
            bytes.fromhex(payload.replace(":", "")),
        )
        out.append((int(Decimal(ts) * 10**9), seg))
    return out


def _tshark_follow(tshark: str, path: Path, stream_index: int) -> set[bytes]:
    cmd = [tshark, "-r", str(path), "-q", "-z", f"follow,tcp,raw,{stream_index}"]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    body = text.split("=" * 67)[1]
    node0, node1 = b"", b""
    for line in body.splitlines():
        if not line or line.startswith(("Follow:", "Filter:", "Node ")):
            continue
        if line.startswith("\t"):
            node1 += bytes.fromhex(line.strip())
        else:
            node0 += bytes.fromhex(line.strip())
    return {node0, node1}


@pytest.mark.tshark
def test_capture_with_reordering_and_retransmissions_matches_tshark_follow(
    tshark: str, shared_captures: Path
) -> None:
    path = shared_captures / "robustness" / "http-206-out-of-order-retrans.pcap.gz"
    r = Reassembler()
    events: list[StreamEvent] = []
    for ts, seg in _tshark_segments(tshark, path):
        events += r.feed(seg, ts)
    events += r.flush(ts)
    assert gaps(events) == [] and r.stats.retransmitted_bytes > 0
    for index, flow in enumerate(flows(events)):  # tshark numbers streams the same way
        mine = {stream(events, Side.CLIENT, flow.id), stream(events, Side.SERVER, flow.id)}
        assert mine == _tshark_follow(tshark, path, index)
