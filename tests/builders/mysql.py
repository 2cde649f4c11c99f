"""Byte factories for MySQL/MariaDB conversations, written from the MySQL client/server
protocol documentation (dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html):
packets and continuation, HandshakeV10 and HandshakeResponse41, OK/ERR/EOF, text and
binary result sets, the prepared-statement commands, and the compressed protocol."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import zstandard

from protocols.base import Direction
from protocols.mysql._packets import Cap, FieldType

MAX_PAYLOAD = 0xFFFFFF
UTF8MB4 = 255  # utf8mb4_0900_ai_ci
BINARY = 63

SERVER_CAPS = (
    Cap.LONG_PASSWORD | Cap.CONNECT_WITH_DB | Cap.COMPRESS | Cap.PROTOCOL_41 | Cap.SSL
    | Cap.SECURE_CONNECTION | Cap.MULTI_STATEMENTS | Cap.MULTI_RESULTS | Cap.PS_MULTI_RESULTS
    | Cap.PLUGIN_AUTH | Cap.CONNECT_ATTRS | Cap.PLUGIN_AUTH_LENENC_DATA | Cap.SESSION_TRACK
    | Cap.DEPRECATE_EOF | Cap.ZSTD_COMPRESSION | Cap.QUERY_ATTRIBUTES
)
CLIENT_CAPS = (
    Cap.LONG_PASSWORD | Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.MULTI_STATEMENTS
    | Cap.MULTI_RESULTS | Cap.PS_MULTI_RESULTS | Cap.PLUGIN_AUTH | Cap.PLUGIN_AUTH_LENENC_DATA
)


# -- primitives -------------------------------------------------------------------------


def lenenc_int(value: int) -> bytes:
    if value < 0xFB:
        return bytes([value])
    if value < 1 << 16:
        return b"\xfc" + struct.pack("<H", value)
    if value < 1 << 24:
        return b"\xfd" + struct.pack("<I", value)[:3]
    return b"\xfe" + struct.pack("<Q", value)


def lenenc_str(value: bytes | str) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return lenenc_int(len(raw)) + raw


def packet(payload: bytes, seq: int = 0) -> bytes:
    """One logical packet: payloads of 0xffffff bytes or more continue in the next packet
    (and one of exactly a multiple of 0xffffff ends with an empty packet)."""
    out = bytearray()
    pos = 0
    while True:
        chunk = payload[pos : pos + MAX_PAYLOAD]
        out += struct.pack("<I", len(chunk))[:3] + bytes([seq & 0xFF]) + chunk
        seq += 1
        pos += len(chunk)
        if len(chunk) < MAX_PAYLOAD:
            return bytes(out)


def packets(payloads: Sequence[bytes], seq: int = 1) -> bytes:
    return b"".join(packet(p, seq + i) for i, p in enumerate(payloads))


def compress(stream: bytes, algorithm: str = "zlib", seq: int = 0, min_size: int = 50) -> bytes:
    """The compressed protocol: 7-byte header (compressed length, sequence id,
    uncompressed length; 0 when sent as is, as servers do below `min_size` bytes)."""
    if len(stream) < min_size:
        return struct.pack("<I", len(stream))[:3] + bytes([seq]) + b"\x00\x00\x00" + stream
    if algorithm == "zstd":
        body = zstandard.ZstdCompressor(level=3).compress(stream)
    else:
        body = zlib.compress(stream)
    return (
        struct.pack("<I", len(body))[:3] + bytes([seq]) + struct.pack("<I", len(stream))[:3] + body
    )


# -- connection phase ----------------------------------------------------------------------


def greeting(
    version: str = "8.0.36",
    caps: int = SERVER_CAPS,
    plugin: str = "caching_sha2_password",
    mariadb_caps: int = 0,
) -> bytes:
    """Protocol::HandshakeV10 (seq 0). `mariadb_caps`: extended capabilities, sent in the
    last 4 reserved bytes when CLIENT_MYSQL (bit 0) is clear."""
    scramble = b"0123456789abcdefghij"
    reserved = b"\x00" * 6 + (struct.pack("<I", mariadb_caps) if mariadb_caps else b"\x00" * 4)
    payload = (
        b"\x0a" + version.encode() + b"\x00" + struct.pack("<I", 7) + scramble[:8] + b"\x00"
        + struct.pack("<H", caps & 0xFFFF) + bytes([UTF8MB4]) + struct.pack("<H", 2)
        + struct.pack("<H", caps >> 16 & 0xFFFF) + bytes([len(scramble) + 1]) + reserved
        + scramble[8:] + b"\x00" + plugin.encode() + b"\x00"
    )
    return packet(payload, 0)


def mariadb_greeting(version: str = "5.5.5-10.11.6-MariaDB", mariadb_caps: int = 0) -> bytes:
    caps = SERVER_CAPS & ~Cap.LONG_PASSWORD & ~Cap.DEPRECATE_EOF & ~Cap.QUERY_ATTRIBUTES
    return greeting(version, caps & 0xFFFFFFFF, "mysql_native_password", mariadb_caps)


def login(
    user: str = "app",
    database: str = "",
    caps: int = CLIENT_CAPS,
    plugin: str = "caching_sha2_password",
    auth: bytes = b"\x11" * 32,
    zstd_level: int = 0,
    mariadb_caps: int = 0,
) -> bytes:
    """Protocol::HandshakeResponse41 (seq 1)."""
    if database:
        caps |= Cap.CONNECT_WITH_DB
    if zstd_level:
        caps |= Cap.ZSTD_COMPRESSION
    filler = b"\x00" * 19 + struct.pack("<I", mariadb_caps)
    payload = struct.pack("<IIB", caps & 0xFFFFFFFF, 1 << 24, UTF8MB4) + filler
    payload += user.encode() + b"\x00"
    if caps & Cap.PLUGIN_AUTH_LENENC_DATA:
        payload += lenenc_str(auth)
    else:
        payload += bytes([len(auth)]) + auth
    if database:
        payload += database.encode() + b"\x00"
    payload += plugin.encode() + b"\x00"
    if zstd_level:
        payload += bytes([zstd_level])
    return packet(payload, 1)


def ssl_request(caps: int = CLIENT_CAPS | Cap.SSL) -> bytes:
    return packet(struct.pack("<IIB", caps, 1 << 24, UTF8MB4) + b"\x00" * 23, 1)


def auth_switch(plugin: str, data: bytes = b"", seq: int = 2) -> bytes:
    return packet(b"\xfe" + plugin.encode() + b"\x00" + data, seq)


# -- generic responses --------------------------------------------------------------------------


def ok_payload(status: int = 2, affected: int = 0, header: int = 0x00) -> bytes:
    return bytes([header]) + lenenc_int(affected) + lenenc_int(0) + struct.pack("<HH", status, 0)


def ok(seq: int = 1, status: int = 2, affected: int = 0) -> bytes:
    return packet(ok_payload(status, affected), seq)


def err(seq: int = 1, code: int = 1146, message: str = "Table doesn't exist") -> bytes:
    return packet(b"\xff" + struct.pack("<H", code) + b"#42S02" + message.encode(), seq)


def eof_payload(status: int = 2) -> bytes:
    return b"\xfe" + struct.pack("<HH", 0, status)


# -- text protocol -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Col:
    name: str
    type: int = FieldType.VAR_STRING
    table: str = "customers"
    schema: str = "shop"
    org_table: str | None = None
    org_name: str | None = None
    charset: int = UTF8MB4
    flags: int = 0


def column_def(col: Col) -> bytes:
    return (
        lenenc_str("def") + lenenc_str(col.schema) + lenenc_str(col.table)
        + lenenc_str(col.table if col.org_table is None else col.org_table)
        + lenenc_str(col.name) + lenenc_str(col.name if col.org_name is None else col.org_name)
        + b"\x0c" + struct.pack("<HIBHB", col.charset, 255, col.type, col.flags, 0) + b"\x00\x00"
    )


def text_row(values: Sequence[str | bytes | None]) -> bytes:
    out = bytearray()
    for value in values:
        out += b"\xfb" if value is None else lenenc_str(value)
    return bytes(out)


def query(sql: str, attributes: bool = False) -> bytes:
    prefix = b"\x00\x01" if attributes else b""
    return packet(b"\x03" + prefix + sql.encode(), 0)


def init_db(schema: str) -> bytes:
    return packet(b"\x02" + schema.encode(), 0)


def ping() -> bytes:
    return packet(b"\x0e", 0)


def quit_() -> bytes:
    return packet(b"\x01", 0)


def result_set(
    columns: Sequence[Col],
    rows: Sequence[Sequence[str | bytes | None]] | Sequence[bytes],
    deprecate_eof: bool = False,
    more: bool = False,
    seq: int = 1,
    binary: bool = False,
) -> bytes:
    """Column count, definitions, (EOF), rows, terminator. Binary rows are given encoded."""
    payloads = [lenenc_int(len(columns))] + [column_def(c) for c in columns]
    status = 2 | (0x0008 if more else 0)
    if not deprecate_eof:
        payloads.append(eof_payload(2))
    for row in rows:
        payloads.append(row if binary else text_row(row))  # type: ignore[arg-type]
    payloads.append(ok_payload(status, header=0xFE) if deprecate_eof else eof_payload(status))
    return packets(payloads, seq)


# -- binary protocol ------------------------------------------------------------------------


def binary_value(ftype: int, value: object, unsigned: bool = False) -> bytes:
    """One value of the binary protocol (page_protocol_binary_resultset)."""
    ints = {
        FieldType.TINY: "b", FieldType.SHORT: "h", FieldType.YEAR: "h", FieldType.LONG: "i",
        FieldType.INT24: "i", FieldType.LONGLONG: "q",
    }
    if ftype in ints:
        fmt = ints[ftype]
        return struct.pack("<" + (fmt.upper() if unsigned else fmt), value)
    if ftype == FieldType.FLOAT:
        return struct.pack("<f", value)
    if ftype == FieldType.DOUBLE:
        return struct.pack("<d", value)
    if ftype in (FieldType.DATE, FieldType.DATETIME, FieldType.TIMESTAMP):
        parts = tuple(value)  # type: ignore[call-overload]
        if len(parts) == 3:
            return b"\x04" + struct.pack("<HBB", *parts)
        if len(parts) == 6:
            return b"\x07" + struct.pack("<HBBBBB", *parts)
        return b"\x0b" + struct.pack("<HBBBBBI", *parts)
    if ftype == FieldType.TIME:
        negative, days, hours, minutes, seconds, micros = value  # type: ignore[misc]
        if micros:
            return b"\x0c" + struct.pack("<BIBBBI", negative, days, hours, minutes, seconds, micros)
        return b"\x08" + struct.pack("<BIBBB", negative, days, hours, minutes, seconds)
    raw = value if isinstance(value, bytes) else str(value).encode()
    return lenenc_str(raw)


Param = tuple[int, object, bool]  # type, value (None for NULL), unsigned


def prepare(sql: str) -> bytes:
    return packet(b"\x16" + sql.encode(), 0)


def prepare_ok(
    stmt_id: int, params: Sequence[Col], columns: Sequence[Col], deprecate_eof: bool = False
) -> bytes:
    payloads = [struct.pack("<BIHHBH", 0, stmt_id, len(columns), len(params), 0, 0)]
    for group in (params, columns):
        if group:
            payloads += [column_def(c) for c in group]
            if not deprecate_eof:
                payloads.append(eof_payload())
    return packets(payloads, 1)


def execute(
    stmt_id: int, params: Sequence[Param], new_params_bound: bool = True, skip: Sequence[int] = ()
) -> bytes:
    """COM_STMT_EXECUTE; parameters in `skip` were sent by COM_STMT_SEND_LONG_DATA."""
    payload = bytearray(b"\x17" + struct.pack("<IBI", stmt_id, 0, 1))
    if params:
        bitmap = bytearray((len(params) + 7) // 8)
        for index, (_, value, _) in enumerate(params):
            if value is None:
                bitmap[index // 8] |= 1 << (index % 8)
        payload += bitmap + bytes([1 if new_params_bound else 0])
        if new_params_bound:
            for ftype, _, unsigned in params:
                payload += bytes([ftype, 0x80 if unsigned else 0])
        for index, (ftype, value, unsigned) in enumerate(params):
            if value is not None and index not in skip:
                payload += binary_value(ftype, value, unsigned)
    return packet(bytes(payload), 0)


def binary_row(columns: Sequence[Col], values: Sequence[object]) -> bytes:
    bitmap = bytearray((len(columns) + 7 + 2) // 8)
    body = bytearray()
    for index, (col, value) in enumerate(zip(columns, values, strict=True)):
        if value is None:
            bit = index + 2
            bitmap[bit // 8] |= 1 << (bit % 8)
            continue
        body += binary_value(col.type, value, bool(col.flags & 0x20))
    return b"\x00" + bytes(bitmap) + bytes(body)


def send_long_data(stmt_id: int, param: int, data: bytes) -> bytes:
    return packet(b"\x18" + struct.pack("<IH", stmt_id, param) + data, 0)


def stmt_close(stmt_id: int) -> bytes:
    return packet(b"\x19" + struct.pack("<I", stmt_id), 0)


def stmt_reset(stmt_id: int) -> bytes:
    return packet(b"\x1a" + struct.pack("<I", stmt_id), 0)


# -- the shared contract ---------------------------------------------------------------------


CUSTOMER_COLUMNS = (Col("name"), Col("email"))
CUSTOMER_ROWS = (
    ("Ana Silva", "ana.silva@example.com"),
    ("Li Wei", "li.wei@example.com"),
)


def contract_conversation() -> list[tuple[Direction, bytes]]:
    """Greeting, login, OK, then a query and its text result set (classic EOF packets)."""
    caps = SERVER_CAPS & ~Cap.DEPRECATE_EOF & ~Cap.QUERY_ATTRIBUTES & ~Cap.COMPRESS
    return [
        (Direction.RESPONSE, greeting(caps=caps, plugin="mysql_native_password")),
        (Direction.REQUEST, login("app", "shop", plugin="mysql_native_password", auth=b"\x22" * 20)),
        (Direction.RESPONSE, ok(2)),
        (Direction.REQUEST, query("SELECT name, email FROM customers WHERE id = 7")),
        (Direction.RESPONSE, result_set(CUSTOMER_COLUMNS, CUSTOMER_ROWS)),
        (Direction.REQUEST, quit_()),
    ]
