"""What one WebSocket message carries, as `Part`s and a message type (spec/inventory.md,
"api, per protocol", WebSocket; "field", binary payloads).

A text message (RFC 6455 section 5.6, opcode 1) is JSON, NDJSON (one JSON document per
line) or plain text. A binary one (opcode 2) is, the first that fits: UTF-8 text (read
as a text message: many servers send JSON in binary frames), MessagePack (a map or an
array of maps with text keys, the whole buffer one value), protobuf (a well-formed
message, decoded schema-less by `protocols.protobuf`), else one binary body that gets
the binary fallback of `protocols._printable` (its printable runs, one value per
message, field empty), so that an e-mail address or a card number inside an unknown
binary format is still classified.

The message type is the top-level `type`, `event`, `action` or `op` member, in that
order, when it is a short name (`message.send`, `subscribe`): values that look like data
(ids, numbers, e-mail addresses) are not names and are left out of the api.

Not supported: Socket.IO / Engine.IO packet prefixes, STOMP, MQTT over WebSocket, CBOR
(these fall to the text or printable-run reading).
"""

from __future__ import annotations

import re

import orjson

from protocols._printable import printable_runs
from protocols.base import Limits, Location, MediaType, Part
from protocols.http_api import template_segment
from protocols.protobuf import scan as protobuf_scan

# Top-level members that name a message's type, in the order they are looked at.
TYPE_MEMBERS = ("type", "event", "action", "op")
# A type longer than this, or with other characters, is data rather than a name.
_TYPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:/\-]{0,63}")
# MessagePack nesting and sizes accepted (msgpack's own bounds, set from the part limits).
_MSGPACK_MAX_LEN = 1 << 20


def message_type(document: object) -> str:
    """The message's own type, or "" when no top-level member names one."""
    if not isinstance(document, dict):
        return ""
    for member in TYPE_MEMBERS:
        value = document.get(member)
        if (
            isinstance(value, str)
            and _TYPE_NAME.fullmatch(value)
            and template_segment(value) == value
        ):
            return value
    return ""


def _json_document(data: bytes) -> tuple[bool, object]:
    try:
        return True, orjson.loads(data)
    except orjson.JSONDecodeError:
        return False, None


def _ndjson_type(lines: list[bytes]) -> tuple[bool, str]:
    """(every non-empty line is JSON, the type they all share or "")."""
    types: set[str] = set()
    for line in lines:
        ok, document = _json_document(line)
        if not ok:
            return False, ""
        types.add(message_type(document))
    return True, types.pop() if len(types) == 1 else ""


def text_parts(data: bytes) -> tuple[list[Part], str]:
    """A text payload -> (parts, message type)."""
    body = data.strip()
    if not body:
        return [], ""
    if body[:1] in (b"{", b"["):
        ok, document = _json_document(body)
        if ok:
            return [_body(data, MediaType.JSON)], message_type(document)
        lines = [line for line in body.split(b"\n") if line.strip()]
        if len(lines) > 1:
            ndjson, kind = _ndjson_type(lines)
            if ndjson:
                return [_body(data, MediaType.NDJSON)], kind
        # Damaged JSON: protocols.payload recovers what it can, counted as damage.
        return [_body(data, MediaType.JSON)], ""
    return [_body(data, MediaType.TEXT)], ""


def binary_parts(data: bytes, limits: Limits) -> tuple[list[Part], str]:
    """A binary payload -> (parts, message type), see the module docstring."""
    if not data:
        return [], ""
    if _is_text(data):
        return text_parts(data)
    document = _msgpack_document(data, limits)
    if document is not None:
        try:
            encoded = orjson.dumps(document)
        except (TypeError, orjson.JSONEncodeError):
            encoded = b""
        if encoded:
            return [_body(encoded, MediaType.JSON)], message_type(document)
    fields = protobuf_scan(data)
    if fields:
        return [_body(data, MediaType.PROTOBUF)], ""
    return printable_parts(data, limits), ""


def printable_parts(data: bytes, limits: Limits) -> list[Part]:
    """Undecodable bytes: one binary body when it holds printable runs
    (`protocols._printable`, read by `protocols.payload`), else nothing."""
    if not printable_runs(data, limits):
        return []
    return [_body(data, MediaType.BINARY)]


def _body(data: bytes, media: str) -> Part:
    return Part(location=Location.BODY, name="", data=data, media_type=media)


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text[:512])


def _msgpack_document(data: bytes, limits: Limits) -> object | None:
    """A MessagePack map (or array of maps) with text keys filling all of `data`, as JSON-
    ready values (bytes that are UTF-8 become text, other bytes and extension types are
    dropped); None when `data` is not one."""
    first = data[0]
    # fixmap (0x80-0x8f), map16/32 (0xde, 0xdf), fixarray (0x90-0x9f), array16/32.
    if not (0x80 <= first <= 0x9F or first in (0xDC, 0xDD, 0xDE, 0xDF)):
        return None
    import msgpack  # here (~10 M instructions): only MessagePack-looking messages need it

    bound = min(len(data), _MSGPACK_MAX_LEN)
    try:
        document = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=False,
            max_str_len=bound,
            max_bin_len=bound,
            max_array_len=bound,
            max_map_len=bound,
            max_ext_len=bound,
        )
    except Exception:  # noqa: BLE001 - msgpack raises assorted errors on garbage bytes
        return None
    items = document if isinstance(document, list) else [document]
    if not items or not all(isinstance(i, dict) and i for i in items):
        return None
    if not all(isinstance(k, str) for item in items for k in item):
        return None
    return _json_ready(document, limits.max_depth)


def _json_ready(value: object, depth: int) -> object:
    if depth <= 0:
        return None
    if isinstance(value, dict):
        return {
            str(k): _json_ready(v, depth - 1) for k, v in value.items() if isinstance(k, (str, int))
        }
    if isinstance(value, list):
        return [_json_ready(v, depth - 1) for v in value]
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1 << 63:
            return str(value)
        return value
    return None
