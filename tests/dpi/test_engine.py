"""End to end through the engine: captures written with scapy in, inventory rows out."""

from __future__ import annotations

import json
from pathlib import Path

from dpi.api import scan_engine
from dpi.inventory import Row
from tests.builders.conversation import Conversation, http_request, http_response

CARD = "4111111111111111"
EMAIL = "dana.whitfield@mail.shopper-demo.net"


def _rows(path: Path) -> list[Row]:
    return scan_engine(path, strict=True).inventory.rows()


def _find(rows: list[Row], **want: str) -> Row:
    matches = [r for r in rows if all(getattr(r, k) == v for k, v in want.items())]
    assert len(matches) == 1, (want, [(r.api, r.field, r.data_type) for r in rows])
    return matches[0]


def _shop(conv: Conversation, **send: object) -> Conversation:
    body = json.dumps({"card": {"number": CARD, "holder": "Dana Whitfield"}, "orderId": 98143,
                       "price": 599.0}).encode()
    reply = json.dumps({"id": 1042, "email": EMAIL, "status": "active"}).encode()
    return conv.request(http_request("POST", "/v1/users/1042/cards", body), **send).response(
        http_response(reply)
    )


def test_rest_exchange_yields_request_and_response_rows(tmp_path: Path) -> None:
    conv = _shop(Conversation().handshake()).close()
    rows = _rows(conv.write(tmp_path / "shop.pcap"))
    card = _find(rows, data_type="CARD_NUMBER")
    assert (card.protocol, card.server, card.host) == ("http", "10.0.0.5:8080", "api.shop.example")
    assert (card.api, card.direction, card.location, card.field) == (
        "POST /v1/users/{id}/cards", "request", "body", "card.number"
    )
    assert card.sample == "************1111" and card.count == 1 and card.clients == 1
    email = _find(rows, data_type="EMAIL_ADDRESS")
    assert (email.direction, email.field, email.api) == ("response", "email", "POST /v1/users/{id}/cards")
    assert not [r for r in rows if r.field in ("orderId", "price", "status", "id")]


def test_reordered_and_retransmitted_segments_give_the_same_rows(tmp_path: Path) -> None:
    big = json.dumps({"card": {"number": CARD}, "notes": "x" * 4000}).encode()
    plain = Conversation().handshake().request(http_request("POST", "/v1/pay", big)).close()
    messy = (Conversation().handshake()
             .request(http_request("POST", "/v1/pay", big), reorder=True, duplicate=1).close())
    a = _rows(plain.write(tmp_path / "plain.pcap"))
    b = _rows(messy.write(tmp_path / "messy.pcap"))
    assert a == b and _find(a, data_type="CARD_NUMBER").field == "card.number"


def test_flow_without_handshake_gets_roles_from_the_payload(tmp_path: Path) -> None:
    # Ports say the opposite of the truth: the client uses 443, the server 50123.
    conv = Conversation(cport=443, sport=50123)
    _shop(conv).close()
    rows = _rows(conv.write(tmp_path / "nosyn.pcap"))
    card = _find(rows, data_type="CARD_NUMBER")
    assert card.server == "10.0.0.5:50123" and card.direction == "request"


def test_lost_segment_loses_one_message_not_the_connection(tmp_path: Path) -> None:
    conv = Conversation().handshake()
    filler = json.dumps({"blob": "y" * 5000}).encode()
    conv.request(http_request("POST", "/v1/blob", filler), drop=1).response(http_response(b"{}"))
    _shop(conv).close()
    engine = scan_engine(conv.write(tmp_path / "gap.pcap"))
    rows = engine.inventory.rows()
    assert _find(rows, data_type="CARD_NUMBER").api == "POST /v1/users/{id}/cards"
    assert engine.stats.gaps >= 1


def test_unknown_protocol_is_counted_not_parsed(tmp_path: Path) -> None:
    conv = Conversation(sport=22).handshake()
    conv.response(b"SSH-2.0-OpenSSH_9.6\r\n").request(b"SSH-2.0-OpenSSH_9.6\r\n" + bytes(200)).close()
    engine = scan_engine(conv.write(tmp_path / "ssh.pcap"))
    assert engine.inventory.rows() == []
    assert engine.stats.unidentified_flows == 1


def test_two_captures_give_one_inventory(tmp_path: Path) -> None:
    first = _shop(Conversation(client="10.0.0.1").handshake()).close().write(tmp_path / "a.pcap")
    second = _shop(Conversation(client="10.0.0.2").handshake()).close().write(tmp_path / "b.pcap")
    rows = scan_engine([first, second]).inventory.rows()
    card = _find(rows, data_type="CARD_NUMBER")
    assert card.count == 2 and card.clients == 2
    assert scan_engine(tmp_path).inventory.rows() == rows  # the directory, walked


def test_a_probe_that_raises_costs_that_probe_not_the_scan(tmp_path: Path) -> None:
    import pytest

    from dpi.engine import Engine
    from dpi.runs.scanner import expand, scan_inputs
    from protocols.base import Direction, Dissector, Event, Probe

    class Broken(Dissector):
        name = "broken"
        ports = frozenset({8080})  # probed first, before the real HTTP dissector

        @classmethod
        def probe(cls, direction: Direction, data: bytes) -> Probe:
            raise ValueError("bug")

        def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
            return []

        def gap(self, direction: Direction, size: int) -> list[Event]:
            return []

        def close(self, direction: Direction, ts_ns: int) -> list[Event]:
            return []

    path = _shop(Conversation().handshake()).close().write(tmp_path / "shop.pcap")
    engine = Engine()
    engine.router.dissectors = (Broken, *engine.router.dissectors)
    scan_inputs(engine, expand([path], []))
    assert engine.stats.bugs >= 1
    assert any(r.data_type == "CARD_NUMBER" for r in engine.inventory.rows())
    strict = Engine(strict=True)
    strict.router.dissectors = (Broken,)
    with pytest.raises(ValueError):
        scan_inputs(strict, expand([path], []))
