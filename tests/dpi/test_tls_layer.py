"""The TLS layer end to end on synthetic conversations (tests/builders/tls.py): every
supported suite decrypts to the same inventory as the cleartext conversation; without
keys the flow is reported, not parsed; resumption, HelloRetryRequest, key update,
early data, gaps and mid-flow attachment (STARTTLS-style handoff)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dpi.engine import Engine
from dpi.findings.coverage import TlsCoverage
from dpi.runs.scanner import expand, scan_inputs
from dpi.tls import KeyLog, TlsLayerFactory
from tests.builders.conversation import Conversation, http_request, http_response
from tests.builders.tls import Tls12Session, Tls13Session

CARD = json.dumps({"card": {"number": "4111111111111111"}, "email": "ann.lee@mail.shopper-demo.net"}).encode()
REPLY = json.dumps({"owner": {"email": "bob.kay@mail.shopper-demo.net"}}).encode()
REQUEST = http_request("POST", "/v1/pay", CARD)
RESPONSE = http_response(REPLY)


def _scan(path: Path, keylog_text: str | None, tmp_path: Path) -> tuple[Engine, TlsCoverage]:
    keylog = KeyLog()
    if keylog_text is not None:
        keylog.add_text(keylog_text.encode(), "test.keylog")
    coverage = TlsCoverage()
    engine = Engine(layers=[TlsLayerFactory(keylog)], observers=[coverage], strict=True)
    scan_inputs(engine, expand([path], []))
    return engine, coverage


def _rows(engine: Engine) -> list[tuple[str, ...]]:
    return [(r.protocol, r.server, r.api, r.direction, r.location, r.field, r.data_type,
             str(r.count), r.first_seen, r.last_seen) for r in engine.inventory.rows()]  # fmt: skip


def _cleartext(tmp_path: Path) -> list[tuple[str, ...]]:
    conv = Conversation(sport=443).handshake()
    conv.ts += 0.002  # the TLS conversations' handshake flights take two packet slots
    conv.request(REQUEST).response(RESPONSE).close()
    engine = Engine(strict=True)
    scan_inputs(engine, expand([conv.write(tmp_path / "clear.pcap")], []))
    rows = _rows(engine)
    assert len(rows) == 3
    return rows


def _tls13_capture(path: Path, session: Tls13Session, *, hrr: bool = False) -> Path:
    conv = Conversation(sport=443).handshake()
    conv.request(session.client_hello())
    if hrr:
        conv.response(session.hello_retry())
        conv.request(b"\x14\x03\x03\x00\x01\x01" + session.client_hello())
    conv.response(session.server_flight())
    # The client's Finished and request leave in one flight, as real clients send them.
    conv.request(session.client_finished() + session.client_data(REQUEST))
    conv.response(session.new_session_ticket() + session.server_data(RESPONSE))
    return conv.close().write(path)


@pytest.mark.parametrize("suite", [0x1301, 0x1302, 0x1303, 0x1304, 0x1305])
def test_tls13_every_suite_decrypts_to_the_cleartext_inventory(tmp_path: Path, suite: int) -> None:
    session = Tls13Session(suite_code=suite, alpn="http/1.1", sni="api.shop.example")
    engine, coverage = _scan(_tls13_capture(tmp_path / "t.pcap", session), session.keylog(), tmp_path)
    assert engine.stats.decrypted_flows == 1 and engine.stats.encrypted_flows == 0
    assert [(r.api, r.field) for r in engine.inventory.rows()]
    [row] = coverage.rows()
    assert row["decrypted"] is True and row["reason"] == "" and row["version"] == "TLS 1.3"
    assert row["sni"] == "api.shop.example" and row["alpn"] == "http/1.1"
    assert row["cipher"].startswith("TLS_AES") or row["cipher"].startswith("TLS_CHACHA20")
    # one packet later than the cleartext (the client's Finished shares its flight)
    clear = _cleartext(tmp_path)
    assert [r[:8] for r in _rows(engine)] == [r[:8] for r in clear]


def test_tls13_without_keys_is_reported_with_its_handshake(tmp_path: Path) -> None:
    session = Tls13Session(alpn="h2", offered=["h2", "http/1.1"], sni="pay.example")
    engine, coverage = _scan(_tls13_capture(tmp_path / "t.pcap", session), None, tmp_path)
    assert engine.inventory.rows() == []
    assert engine.stats.encrypted_flows == 1 and engine.stats.unidentified_flows == 0
    [row] = coverage.rows()
    assert row["decrypted"] is False and row["reason"] == "no_key"
    assert row["sni"] == "pay.example" and row["alpn"] == "h2 http/1.1"  # offered: EE is encrypted
    assert row["version"] == "TLS 1.3" and row["cipher"] == "TLS_AES_128_GCM_SHA256"
    assert row["bytes_client"] > len(REQUEST) and row["bytes_server"] > len(RESPONSE)


def test_tls13_hello_retry_request_decrypts(tmp_path: Path) -> None:
    session = Tls13Session(suite_code=0x1302)
    engine, coverage = _scan(_tls13_capture(tmp_path / "t.pcap", session, hrr=True), session.keylog(), tmp_path)
    assert len(engine.inventory.rows()) == 3
    assert coverage.rows()[0]["decrypted"] is True


def test_tls13_key_update_both_sides_decrypts(tmp_path: Path) -> None:
    session = Tls13Session(suite_code=0x1303)
    conv = Conversation(sport=443).handshake()
    conv.request(session.client_hello()).response(session.server_flight())
    conv.request(session.client_finished() + session.client_key_update(request=True))
    conv.response(session.server_key_update())
    conv.request(session.client_data(REQUEST)).response(session.server_data(RESPONSE)).close()
    layer_info: list[dict[str, object]] = []

    class _Info(TlsCoverage):
        def flow_layer(self, flow, layer, info):  # type: ignore[no-untyped-def]
            layer_info.append(info)

    keylog = KeyLog()
    keylog.add_text(session.keylog().encode(), "k")
    engine = Engine(layers=[TlsLayerFactory(keylog)], observers=[_Info()], strict=True)
    scan_inputs(engine, expand([conv.write(tmp_path / "t.pcap")], []))
    assert len(engine.inventory.rows()) == 3
    assert layer_info[-1]["key_updates"] == 2


def test_tls13_missing_application_secrets_is_no_key(tmp_path: Path) -> None:
    session = Tls13Session()
    partial = session.keylog(("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET"))
    engine, coverage = _scan(_tls13_capture(tmp_path / "t.pcap", session), partial, tmp_path)
    assert engine.inventory.rows() == []
    row = coverage.rows()[0]
    assert row["reason"] == "no_key" and row["alpn"] == ""  # EE was readable: nothing negotiated


def test_tls13_psk_resumption_without_its_key_line(tmp_path: Path) -> None:
    session = Tls13Session(psk=True)
    _, coverage = _scan(_tls13_capture(tmp_path / "t.pcap", session), None, tmp_path)
    assert coverage.rows()[0]["reason"] == "resumed_without_key"
    session2 = Tls13Session(psk=True)
    engine, _ = _scan(_tls13_capture(tmp_path / "v.pcap", session2), session2.keylog(), tmp_path)
    assert len(engine.inventory.rows()) == 3  # PSK resumption with its key lines: decrypted


def test_tls13_early_data_decrypts(tmp_path: Path) -> None:
    session = Tls13Session(psk=True, early_data=True)
    conv = Conversation(sport=443).handshake()
    conv.request(session.client_hello() + session.early(REQUEST))
    conv.response(session.server_flight())
    conv.request(session.client_finished(end_of_early_data=True))
    conv.response(session.server_data(RESPONSE)).close()
    engine, _ = _scan(conv.write(tmp_path / "t.pcap"), session.keylog(), tmp_path)
    assert len(engine.inventory.rows()) == 3


SUITES12 = [0xC02F, 0xC030, 0xC02B, 0xCCA8, 0xCCA9, 0x009C, 0xC0AC, 0xC0AE, 0xC013, 0xC014, 0xC027, 0xC028, 0x002F]


@pytest.mark.parametrize("suite", SUITES12)
@pytest.mark.parametrize("etm", [False, True])
def test_tls12_suite_decrypts_to_the_cleartext_inventory(tmp_path: Path, suite: int, etm: bool) -> None:
    session = Tls12Session(suite_code=suite, encrypt_then_mac=etm, alpn="http/1.1")
    conv = Conversation(sport=443).handshake()
    conv.request(session.client_hello()).response(session.server_flight())
    conv.request(session.client_finished() + session.client_data(REQUEST))
    conv.response(session.server_finished() + session.server_data(RESPONSE)).close()
    engine, coverage = _scan(conv.write(tmp_path / "t.pcap"), session.keylog(), tmp_path)
    clear = _cleartext(tmp_path)
    assert [r[:8] for r in _rows(engine)] == [r[:8] for r in clear]
    [row] = coverage.rows()
    assert row["decrypted"] is True and row["version"] == "TLS 1.2" and row["alpn"] == "http/1.1"


def test_tls12_unsupported_suite_is_reported(tmp_path: Path) -> None:
    session = Tls12Session(suite_code=0xC02F)
    conv = Conversation(sport=443).handshake()
    flight = bytearray(session.server_flight())
    # ServerHello cipher_suite sits after record(5) + handshake(4) + version(2) + random(32) + sid(1)
    flight[44:46] = b"\x00\x0a"  # TLS_RSA_WITH_3DES_EDE_CBC_SHA
    conv.request(session.client_hello()).response(bytes(flight)).close()
    _, coverage = _scan(conv.write(tmp_path / "t.pcap"), session.keylog(), tmp_path)
    row = coverage.rows()[0]
    assert row["reason"] == "unsupported_suite" and row["cipher"] == "0x000A"


def _tls12_resumed(conv: Conversation, session: Tls12Session) -> None:
    conv.request(session.client_hello()).response(session.server_flight())
    conv.request(session.client_finished() + session.client_data(REQUEST))
    conv.response(session.server_data(RESPONSE)).close()


def test_tls12_session_id_resumption_uses_the_earlier_session(tmp_path: Path) -> None:
    sid = bytes(range(32))
    first = Tls12Session(session_id=sid)
    conv = Conversation(sport=443).handshake()
    conv.request(first.client_hello()).response(first.server_flight())
    conv.request(first.client_finished()).response(first.server_finished()).close()
    resumed = Tls12Session(session_id=sid, resume=True, master_secret=first.master_secret)
    conv2 = Conversation(sport=443, cport=40001, ts=conv.ts + 1).handshake()
    _tls12_resumed(conv2, resumed)
    conv.packets.extend(conv2.packets)
    engine, coverage = _scan(conv.write(tmp_path / "t.pcap"), first.keylog(), tmp_path)
    assert len(engine.inventory.rows()) == 3
    assert [r["decrypted"] for r in coverage.rows()] == [True, True]


def test_tls12_ticket_resumption_uses_the_earlier_ticket(tmp_path: Path) -> None:
    ticket = b"T" * 80
    first = Tls12Session(ticket=b"")
    conv = Conversation(sport=443).handshake()
    conv.request(first.client_hello()).response(first.server_flight())
    conv.request(first.client_finished()).response(first.server_finished(new_ticket=ticket)).close()
    resumed = Tls12Session(session_id=b"\x07" * 32, ticket=ticket, resume=True, master_secret=first.master_secret)
    conv2 = Conversation(sport=443, cport=40001, ts=conv.ts + 1).handshake()
    _tls12_resumed(conv2, resumed)
    conv.packets.extend(conv2.packets)
    engine, _ = _scan(conv.write(tmp_path / "t.pcap"), first.keylog(), tmp_path)
    assert len(engine.inventory.rows()) == 3


def test_tls12_resumption_without_any_key_is_reported(tmp_path: Path) -> None:
    resumed = Tls12Session(session_id=b"\x07" * 32, resume=True)
    conv = Conversation(sport=443).handshake()
    _tls12_resumed(conv, resumed)
    _, coverage = _scan(conv.write(tmp_path / "t.pcap"), None, tmp_path)
    assert coverage.rows()[0]["reason"] == "resumed_without_key"


def test_records_split_across_segments_and_handshake_across_records(tmp_path: Path) -> None:
    session = Tls13Session()
    conv = Conversation(sport=443).handshake()
    hello = session.client_hello()
    body = hello[5:]
    # the ClientHello split over two records, each record over several small segments
    split = b"\x16\x03\x01" + (40).to_bytes(2, "big") + body[:40]
    split += b"\x16\x03\x01" + (len(body) - 40).to_bytes(2, "big") + body[40:]
    for i in range(0, len(split), 7):
        conv.request(split[i : i + 7])
    conv.response(session.server_flight())
    data = session.client_finished() + session.client_data(REQUEST, size=50)
    for i in range(0, len(data), 100):
        conv.request(data[i : i + 100])
    conv.response(session.server_data(RESPONSE)).close()
    engine, coverage = _scan(conv.write(tmp_path / "t.pcap"), session.keylog(), tmp_path)
    assert len(engine.inventory.rows()) == 3
    assert coverage.rows()[0]["sni"] == "api.shop.example"


def test_gap_in_application_data_resyncs_by_sequence_number(tmp_path: Path) -> None:
    session = Tls13Session()
    conv = Conversation(sport=443).handshake()
    conv.request(session.client_hello()).response(session.server_flight())
    conv.request(session.client_finished())
    lost = session.client_data(http_request("GET", "/v1/ping"))
    conv.request(lost, drop=0)  # this record never reaches the capture
    conv.request(session.client_data(REQUEST)).response(session.server_data(RESPONSE))
    conv.response(session.server_data(RESPONSE)).close()
    engine, coverage = _scan(conv.write(tmp_path / "t.pcap"), session.keylog(), tmp_path)
    assert ("POST /v1/pay", "card.number") in [(r.api, r.field) for r in engine.inventory.rows()]
    assert coverage.rows()[0]["decrypted"] is True


def test_midstream_application_data_is_missing_handshake(tmp_path: Path) -> None:
    session = Tls13Session()
    conv = Conversation(sport=443)  # no SYN, no hellos
    conv.request(session.client_data(REQUEST)).response(session.server_data(RESPONSE))
    engine, coverage = _scan(conv.write(tmp_path / "t.pcap"), session.keylog(), tmp_path)
    assert engine.inventory.rows() == [] and engine.stats.encrypted_flows == 1
    assert coverage.rows()[0]["reason"] == "missing_handshake"


def test_wrong_keys_stop_decryption_without_leaking(tmp_path: Path) -> None:
    session = Tls13Session()
    other = Tls13Session(client_random=session.client_random)
    engine, coverage = _scan(_tls13_capture(tmp_path / "t.pcap", session), other.keylog(), tmp_path)
    assert engine.inventory.rows() == []
    row = coverage.rows()[0]
    assert row["decrypted"] is False and row["reason"] == "decrypt_failed"
    text = json.dumps(coverage.rows()) + repr(engine.layers[0])
    for secret in (*session.secrets.values(), *other.secrets.values()):
        assert secret.hex() not in text
