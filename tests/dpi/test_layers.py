"""The stream-layer seam: a layer found by probing turns the flow's bytes into plaintext
that is dissected like cleartext; a layer without keys keeps the flow out of the
dissectors and is counted as encrypted. A toy XOR layer stands in for TLS here."""

from __future__ import annotations

import json
from pathlib import Path

from dpi.api import scan_engine
from dpi.engine import Engine
from dpi.layers import Chunk, LayerFactory, StreamLayer
from dpi.observer import Observer
from dpi.reassembly import Flow, Side
from dpi.runs.scanner import expand, scan_inputs
from protocols.base import Message, Probe
from tests.builders.conversation import Conversation, http_request, http_response

MAGIC = b"XOR!"
KEY = 0x55


def _xor(data: bytes) -> bytes:
    return bytes(b ^ KEY for b in data)


class _XorLayer(StreamLayer):
    name = "xor"

    def __init__(self, keyed: bool) -> None:
        self.keyed = keyed
        self.started: set[Side] = set()

    @property
    def decrypting(self) -> bool:
        return self.keyed

    def feed(self, side: Side, data: bytes, ts_ns: int) -> list[Chunk]:
        if side not in self.started:
            self.started.add(side)
            data = data[len(MAGIC):]
        return [(side, _xor(data), ts_ns)] if self.keyed and data else []

    def gap(self, side: Side, size: int) -> list[Chunk]:
        return []

    def info(self) -> dict[str, object]:
        return {"decrypted": self.keyed}


class _XorFactory(LayerFactory):
    name = "xor"

    def __init__(self, keyed: bool) -> None:
        self.keyed = keyed

    def probe(self, client_data: bytes, server_data: bytes) -> Probe:
        if client_data.startswith(MAGIC):
            return Probe.YES
        return Probe.NEED_MORE if MAGIC.startswith(client_data) else Probe.NO

    def create(self) -> StreamLayer:
        return _XorLayer(self.keyed)


class _Seen(Observer):
    def __init__(self) -> None:
        self.layers: list[tuple[str, dict[str, object]]] = []
        self.protocols: list[str] = []
        self.messages = 0

    def flow_layer(self, flow: Flow, layer: str, info: dict[str, object]) -> None:
        self.layers.append((layer, info))

    def flow_identified(self, flow: Flow, protocol: str) -> None:
        self.protocols.append(protocol)

    def message(self, flow: Flow, message: Message) -> None:
        self.messages += 1


def _capture(path: Path) -> Path:
    body = json.dumps({"card": {"number": "4111111111111111"}}).encode()
    conv = Conversation(sport=443).handshake()
    conv.request(MAGIC + _xor(http_request("POST", "/v1/pay", body)))
    conv.response(MAGIC + _xor(http_response(b"{}")))
    return conv.close().write(path)


def _run(path: Path, keyed: bool) -> tuple[Engine, _Seen]:
    seen = _Seen()
    engine = Engine(layers=[_XorFactory(keyed)], observers=[seen], strict=True)
    scan_inputs(engine, expand([path], []))
    return engine, seen


def test_layer_with_keys_gives_the_cleartext_inventory(tmp_path: Path) -> None:
    engine, seen = _run(_capture(tmp_path / "x.pcap"), keyed=True)
    rows = engine.inventory.rows()
    assert [(r.api, r.field, r.data_type) for r in rows] == [("POST /v1/pay", "card.number", "CARD_NUMBER")]
    assert engine.stats.decrypted_flows == 1 and seen.protocols == ["http"] and seen.messages == 2
    assert seen.layers[0][0] == "xor"


def test_layer_without_keys_is_counted_encrypted_not_parsed(tmp_path: Path) -> None:
    engine, seen = _run(_capture(tmp_path / "x.pcap"), keyed=False)
    assert engine.inventory.rows() == []
    assert engine.stats.encrypted_flows == 1 and engine.stats.unidentified_flows == 0
    assert seen.protocols == [] and seen.layers[-1] == ("xor", {"decrypted": False})


def test_no_layer_configured_leaves_the_flow_unidentified(tmp_path: Path) -> None:
    engine = scan_engine(_capture(tmp_path / "x.pcap"))
    assert engine.inventory.rows() == [] and engine.stats.unidentified_flows == 1
