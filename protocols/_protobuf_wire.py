"""The protobuf wire format's field scanner (protobuf encoding guide, "Message
Structure"): what every scan may need (the WebSocket and Kafka dissectors sniff messages
with it, through `protocols.protobuf`) and what the value walk (`protocols._protobuf_walk`)
reads messages with. Its own module, below both, so that neither imports the other at
load time."""

from __future__ import annotations

# Largest varint: 10 bytes (64 bits, 7 per byte).
MAX_VARINT_BYTES = 10
# Field numbers are 29 bits (encoding guide, "Message Structure").
MAX_FIELD_NUMBER = (1 << 29) - 1


class Malformed(Exception):
    """Bytes that are not a well-formed message at this position."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after) of the varint at `pos`; raises Malformed."""
    result = 0
    shift = 0
    end = min(len(data), pos + MAX_VARINT_BYTES)
    while pos < end:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    raise Malformed


# A wire field: (number, wire type, integer value or payload bytes)
WireField = tuple[int, int, int | bytes]


def scan(data: bytes, start: int = 0, max_fields: int = 0) -> list[WireField] | None:
    """Every top-level field of the message at `data[start:]`, or None if it is not a
    well-formed one. Groups (wire types 3/4) count as malformed (`protocols.protobuf`'s docstring).
    `max_fields` > 0 stops after that many fields, the rest unjudged (`is_message`)."""
    fields: list[WireField] = []
    pos = start
    end = len(data)
    # Every field takes at least one byte: without a cap the count never reaches `cap`.
    cap = max_fields if max_fields > 0 else end + 1
    try:
        while pos < end:
            if len(fields) == cap:
                break
            key, pos = read_varint(data, pos)
            number, wire = key >> 3, key & 7
            if number == 0 or number > MAX_FIELD_NUMBER:
                return None
            if wire == 0:
                value, pos = read_varint(data, pos)
                fields.append((number, 0, value))
            elif wire == 1:
                if pos + 8 > end:
                    return None
                fields.append((number, 1, data[pos : pos + 8]))
                pos += 8
            elif wire == 2:
                length, pos = read_varint(data, pos)
                if pos + length > end:
                    return None
                fields.append((number, 2, data[pos : pos + length]))
                pos += length
            elif wire == 5:
                if pos + 4 > end:
                    return None
                fields.append((number, 5, data[pos : pos + 4]))
                pos += 4
            else:
                return None
    except Malformed:
        return None
    return fields
