"""MySQL wire formats below the dissector's state machine: framing, compression, the
basic data types and the packets whose layout does not depend on conversation state.

Spec (MySQL Source Code Documentation, dev.mysql.com/doc/dev/mysql-server/latest/):
- PAGE_PROTOCOL_BASIC_PACKETS ("MySQL Packets": 3-byte length, 1-byte sequence id,
  payloads of 0xffffff continue in the next packet), PAGE_PROTOCOL_BASIC_DT_INTEGERS
  (fixed and length-encoded integers), PAGE_PROTOCOL_BASIC_DT_STRINGS;
- PAGE_PROTOCOL_COMPRESSION (7-byte header: compressed length, compressed sequence id,
  uncompressed length, 0 meaning "sent uncompressed"; zlib, and zstd from 8.0.18);
- page_protocol_connection_phase_packets_protocol_handshake_v10,
  page_protocol_connection_phase_packets_protocol_handshake_response (Protocol::41
  only), page_protocol_connection_phase_packets_protocol_ssl_request;
- page_protocol_basic_ok_packet, page_protocol_basic_err_packet,
  page_protocol_basic_eof_packet;
- page_protocol_com_query_response_text_resultset_column_definition (ColumnDefinition41),
  page_protocol_com_query_response_text_resultset_row;
- page_protocol_binary_resultset (binary rows and their NULL bitmap, offset 2),
  page_protocol_com_stmt_execute (parameter NULL bitmap, offset 0; types; values),
  page_protocol_com_stmt_prepare_response.
MariaDB differences (mariadb.com/kb "0 - Packet", "Connection", "COM_STMT_EXECUTE"):
the `5.5.5-` version prefix; extended capabilities in the last 4 reserved bytes of the
greeting and of the handshake response when the CLIENT_MYSQL bit is clear;
MARIADB_CLIENT_CACHE_METADATA adds a "metadata follows" byte after a column count.

Not supported: Protocol::HandshakeV9 and Protocol::HandshakeResponse320 (servers before
4.1), ColumnDefinition320, the X Protocol (port 33060 speaks protobuf: probe says NO),
MariaDB bulk execution (COM_STMT_BULK_EXECUTE) and array binding, MySQL VECTOR values
(rendered as bytes, not floats).

Errors: `PacketError` (a `ValueError`), whose message names positions and sizes only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

# -- framing -------------------------------------------------------------------------

HEADER = 4  # 3-byte little-endian length, 1-byte sequence id
COMPRESSED_HEADER = 7  # compressed length, sequence id, uncompressed length
MAX_PAYLOAD = 0xFFFFFF  # a payload of exactly this size continues in the next packet

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_I8 = struct.Struct("<b")
_I16 = struct.Struct("<h")
_I32 = struct.Struct("<i")
_I64 = struct.Struct("<q")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_PREPARE_OK = struct.Struct("<BIHHBH")  # status, statement id, columns, params, filler, warnings
_EXECUTE_HEAD = struct.Struct("<IBI")  # statement id, flags, iteration count


class PacketError(ValueError):
    """Bytes that do not fit the packet layout. Names positions and sizes, never content."""


def u24(data: bytes | bytearray | memoryview, pos: int) -> int:
    return data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16


# -- capability and status flags (PAGE_PROTOCOL_CAPABILITIES, SERVER_STATUS_flags_enum) -


class Cap:
    """Capability flags, as bits of one 64-bit integer (MariaDB's extended flags above 32)."""

    LONG_PASSWORD = 1 << 0  # MariaDB calls it CLIENT_MYSQL: clear on MariaDB servers
    CONNECT_WITH_DB = 1 << 3
    COMPRESS = 1 << 5
    LOCAL_FILES = 1 << 7
    PROTOCOL_41 = 1 << 9
    SSL = 1 << 11
    SECURE_CONNECTION = 1 << 15
    MULTI_STATEMENTS = 1 << 16
    MULTI_RESULTS = 1 << 17
    PS_MULTI_RESULTS = 1 << 18
    PLUGIN_AUTH = 1 << 19
    CONNECT_ATTRS = 1 << 20
    PLUGIN_AUTH_LENENC_DATA = 1 << 21
    SESSION_TRACK = 1 << 23
    DEPRECATE_EOF = 1 << 24
    OPTIONAL_RESULTSET_METADATA = 1 << 25
    ZSTD_COMPRESSION = 1 << 26
    QUERY_ATTRIBUTES = 1 << 27
    # MariaDB extended capabilities (bits 32-63).
    MARIADB_EXTENDED_METADATA = 1 << (32 + 3)
    MARIADB_CACHE_METADATA = 1 << (32 + 4)


class Status:
    MORE_RESULTS_EXISTS = 0x0008
    CURSOR_EXISTS = 0x0040


# -- column types (enum_field_types) ---------------------------------------------------


class FieldType(IntEnum):
    DECIMAL = 0
    TINY = 1
    SHORT = 2
    LONG = 3
    FLOAT = 4
    DOUBLE = 5
    NULL = 6
    TIMESTAMP = 7
    LONGLONG = 8
    INT24 = 9
    DATE = 10
    TIME = 11
    DATETIME = 12
    YEAR = 13
    NEWDATE = 14
    VARCHAR = 15
    BIT = 16
    TIMESTAMP2 = 17
    DATETIME2 = 18
    TIME2 = 19
    TYPED_ARRAY = 20
    VECTOR = 242
    INVALID = 243
    BOOL = 244
    JSON = 245
    NEWDECIMAL = 246
    ENUM = 247
    SET = 248
    TINY_BLOB = 249
    MEDIUM_BLOB = 250
    LONG_BLOB = 251
    BLOB = 252
    VAR_STRING = 253
    STRING = 254
    GEOMETRY = 255


KNOWN_TYPES = frozenset(int(t) for t in FieldType)
UNSIGNED_FLAG = 0x20  # column definition flags
PARAM_UNSIGNED = 0x80  # COM_STMT_EXECUTE parameter type flag byte
BINARY_CHARSET = 63  # the `binary` collation: bytes, not text

# Fixed-size binary encodings: type -> (struct, unsigned struct).
_FIXED: dict[int, tuple[struct.Struct, struct.Struct]] = {
    FieldType.TINY: (_I8, struct.Struct("<B")),
    FieldType.SHORT: (_I16, _U16),
    FieldType.YEAR: (_I16, _U16),
    FieldType.LONG: (_I32, _U32),
    FieldType.INT24: (_I32, _U32),
    FieldType.LONGLONG: (_I64, _U64),
}
_DATES = frozenset({FieldType.DATE, FieldType.DATETIME, FieldType.TIMESTAMP, FieldType.NEWDATE})


# -- basic data types -------------------------------------------------------------------


def lenenc_int(data: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    """A length-encoded integer at `pos`: (value, position after it)."""
    end = len(data)
    if pos >= end:
        raise PacketError(f"length-encoded integer missing at {pos}")
    first = data[pos]
    if first < 0xFB:
        return first, pos + 1
    if first == 0xFC:
        if pos + 3 > end:
            raise PacketError(f"2-byte integer truncated at {pos}")
        return data[pos + 1] | data[pos + 2] << 8, pos + 3
    if first == 0xFD:
        if pos + 4 > end:
            raise PacketError(f"3-byte integer truncated at {pos}")
        return u24(data, pos + 1), pos + 4
    if first == 0xFE:
        if pos + 9 > end:
            raise PacketError(f"8-byte integer truncated at {pos}")
        return int(_U64.unpack_from(data, pos + 1)[0]), pos + 9
    raise PacketError(f"invalid length-encoded integer prefix at {pos}")


def lenenc_bytes(data: bytes | bytearray | memoryview, pos: int) -> tuple[bytes, int]:
    size, pos = lenenc_int(data, pos)
    end = pos + size
    if end > len(data):
        raise PacketError(f"string of {size} bytes truncated at {pos}")
    return bytes(data[pos:end]), end


def nul_bytes(data: bytes | bytearray | memoryview, pos: int) -> tuple[bytes, int]:
    raw = bytes(data[pos:])
    end = raw.find(b"\x00")
    if end < 0:
        raise PacketError(f"unterminated string at {pos}")
    return raw[:end], pos + end + 1


def text(raw: bytes) -> str:
    """Identifiers (schema, table, column names) as text; undecodable bytes replaced."""
    return raw.decode("utf-8", "replace")


# -- compressed protocol ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CompressedHeader:
    size: int
    seq: int
    uncompressed: int


def compressed_header(data: bytes | bytearray | memoryview, pos: int) -> CompressedHeader:
    return CompressedHeader(
        size=u24(data, pos), seq=data[pos + 3], uncompressed=u24(data, pos + 4)
    )


# -- connection phase ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Greeting:
    """Protocol::HandshakeV10."""

    server_version: str
    capabilities: int
    auth_plugin: str
    mariadb: bool


def parse_greeting(payload: bytes) -> Greeting:
    if not payload or payload[0] != 10:
        raise PacketError("not a protocol 10 greeting")
    version, pos = nul_bytes(payload, 1)
    # connection id (4), auth data part 1 (8), filler (1)
    pos += 13
    if pos + 2 > len(payload):
        raise PacketError("greeting truncated before capabilities")
    caps = int(_U16.unpack_from(payload, pos)[0])
    pos += 2
    plugin = ""
    mariadb = version.startswith(b"5.5.5-") or b"MariaDB" in version
    if pos + 16 <= len(payload):
        # charset (1), status (2), capabilities upper half (2), auth data length (1),
        # reserved (10; MariaDB: 6 + 4 bytes of extended capabilities).
        caps |= int(_U16.unpack_from(payload, pos + 3)[0]) << 16
        auth_len = payload[pos + 5]
        if not caps & Cap.LONG_PASSWORD:
            caps |= int(_U32.unpack_from(payload, pos + 12)[0]) << 32
        pos += 16
        if caps & Cap.SECURE_CONNECTION:
            pos += max(13, auth_len - 8)
        if caps & Cap.PLUGIN_AUTH and pos < len(payload):
            raw = bytes(payload[pos:])
            plugin = text(raw.split(b"\x00", 1)[0])
    return Greeting(
        server_version=text(version), capabilities=caps, auth_plugin=plugin, mariadb=mariadb
    )


SSL_REQUEST_SIZE = 32  # capabilities, max packet, charset, 23 filler bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Login:
    """Protocol::HandshakeResponse41 (or an SSLRequest when `ssl_request`)."""

    capabilities: int
    user: bytes = field(repr=False)
    auth_response: bytes = field(repr=False)
    database: str
    auth_plugin: str
    zstd_level: int
    ssl_request: bool


def parse_login(payload: bytes) -> Login:
    if len(payload) < SSL_REQUEST_SIZE:
        raise PacketError(f"handshake response of {len(payload)} bytes is too short")
    caps = int(_U32.unpack_from(payload, 0)[0])
    if not caps & Cap.PROTOCOL_41:
        raise PacketError("pre-4.1 handshake response is not supported")
    if not caps & Cap.LONG_PASSWORD:
        caps |= int(_U32.unpack_from(payload, 28)[0]) << 32
    if len(payload) == SSL_REQUEST_SIZE and caps & Cap.SSL:
        return Login(
            capabilities=caps, user=b"", auth_response=b"", database="", auth_plugin="",
            zstd_level=0, ssl_request=True,
        )
    user, pos = nul_bytes(payload, SSL_REQUEST_SIZE)
    if caps & Cap.PLUGIN_AUTH_LENENC_DATA:
        auth, pos = lenenc_bytes(payload, pos)
    elif caps & Cap.SECURE_CONNECTION:
        if pos >= len(payload):
            raise PacketError("auth response length missing")
        size = payload[pos]
        auth = bytes(payload[pos + 1 : pos + 1 + size])
        pos += 1 + size
    else:
        auth, pos = nul_bytes(payload, pos)
    database = b""
    if caps & Cap.CONNECT_WITH_DB and pos < len(payload):
        database, pos = nul_bytes(payload, pos)
    plugin = b""
    if caps & Cap.PLUGIN_AUTH and pos < len(payload):
        plugin, pos = nul_bytes(payload, pos)
    if caps & Cap.CONNECT_ATTRS and pos < len(payload):
        size, pos = lenenc_int(payload, pos)
        pos += size
    level = payload[pos] if caps & Cap.ZSTD_COMPRESSION and pos < len(payload) else 0
    return Login(
        capabilities=caps, user=user, auth_response=auth, database=text(database),
        auth_plugin=text(plugin), zstd_level=level, ssl_request=False,
    )


# -- generic response packets -------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Ok:
    status: int


def parse_ok(payload: bytes, protocol_41: bool = True) -> Ok:
    """OK (0x00) or OK-as-EOF (0xfe, DEPRECATE_EOF): affected rows, insert id, status."""
    _, pos = lenenc_int(payload, 1)
    _, pos = lenenc_int(payload, pos)
    if protocol_41 and pos + 2 <= len(payload):
        return Ok(status=int(_U16.unpack_from(payload, pos)[0]))
    return Ok(status=0)


def is_eof(payload: bytes) -> bool:
    """An EOF packet (or an OK with the 0xfe header): shorter than a length-encoded row."""
    return bool(payload) and payload[0] == 0xFE and len(payload) < 9


def eof_status(payload: bytes) -> int:
    """Status flags of an EOF packet (0xfe, warnings (2), status (2)) or of an OK-as-EOF."""
    if len(payload) == 5:
        return int(_U16.unpack_from(payload, 3)[0])
    if len(payload) > 5:
        try:
            return parse_ok(payload).status
        except PacketError:
            return 0
    return 0


# -- result sets ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """ColumnDefinition41: the names that locate a value (schema.org_table.org_name)."""

    schema: str
    table: str
    org_table: str
    name: str
    org_name: str
    charset: int
    type: int
    flags: int
    format: str = ""  # MariaDB extended metadata: "json", "uuid", ...


def _extended_format(data: bytes) -> str:
    """MariaDB extended type info: (1-byte key, length-encoded value) pairs; key 1 is
    the format name (a JSON column is a LONGTEXT with format `json`)."""
    pos = 0
    found = ""
    while pos < len(data):
        key = data[pos]
        value, pos = lenenc_bytes(data, pos + 1)
        if key == 1:
            found = text(value)
    return found


def parse_column(payload: bytes, extended: bool = False) -> Column:
    pos = 0
    names: list[bytes] = []
    for _ in range(6):  # catalog, schema, table, org_table, name, org_name
        value, pos = lenenc_bytes(payload, pos)
        names.append(value)
    fmt = ""
    if extended:
        info, pos = lenenc_bytes(payload, pos)
        fmt = _extended_format(info)
    size, pos = lenenc_int(payload, pos)  # length of the fixed fields, 0x0c
    if size < 10 or pos + 10 > len(payload):
        raise PacketError("column definition fixed fields truncated")
    charset = int(_U16.unpack_from(payload, pos)[0])
    ctype = payload[pos + 6]
    flags = int(_U16.unpack_from(payload, pos + 7)[0])
    return Column(
        schema=text(names[1]), table=text(names[2]), org_table=text(names[3]),
        name=text(names[4]), org_name=text(names[5]), charset=charset, type=ctype, flags=flags,
        format=fmt,
    )


def parse_text_row(payload: bytes, count: int) -> list[bytes | None]:
    """ProtocolText::ResultsetRow: `count` length-encoded strings, 0xfb for NULL."""
    values: list[bytes | None] = []
    pos = 0
    end = len(payload)
    for _ in range(count):
        if pos >= end:
            raise PacketError(f"text row truncated at {pos}")
        if payload[pos] == 0xFB:
            values.append(None)
            pos += 1
            continue
        value, pos = lenenc_bytes(payload, pos)
        values.append(value)
    if pos != end:
        raise PacketError(f"text row has {end - pos} trailing bytes")
    return values


def _date(data: bytes, pos: int) -> tuple[bytes, int]:
    size = data[pos]
    body = data[pos + 1 : pos + 1 + size]
    if size not in (0, 4, 7, 11) or len(body) < size:
        raise PacketError(f"date value of {size} bytes at {pos}")
    year, month, day = (_U16.unpack_from(body, 0)[0], body[2], body[3]) if size else (0, 0, 0)
    out = f"{year:04d}-{month:02d}-{day:02d}"
    if size >= 7:
        out += f" {body[4]:02d}:{body[5]:02d}:{body[6]:02d}"
    if size == 11:
        out += f".{_U32.unpack_from(body, 7)[0]:06d}"
    return out.encode(), pos + 1 + size


def _time(data: bytes, pos: int) -> tuple[bytes, int]:
    size = data[pos]
    body = data[pos + 1 : pos + 1 + size]
    if size not in (0, 8, 12) or len(body) < size:
        raise PacketError(f"time value of {size} bytes at {pos}")
    if not size:
        return b"00:00:00", pos + 1
    sign = "-" if body[0] else ""
    hours = _U32.unpack_from(body, 1)[0] * 24 + body[5]
    out = f"{sign}{hours:02d}:{body[6]:02d}:{body[7]:02d}"
    if size == 12:
        out += f".{_U32.unpack_from(body, 8)[0]:06d}"
    return out.encode(), pos + 1 + size


def binary_value(data: bytes, pos: int, ftype: int, unsigned: bool) -> tuple[bytes, int]:
    """One value of the binary protocol at `pos`, rendered as text: (text, next pos)."""
    if pos >= len(data):
        raise PacketError(f"binary value missing at {pos}")
    fixed = _FIXED.get(ftype)
    if fixed is not None:
        st = fixed[1] if unsigned else fixed[0]
        if pos + st.size > len(data):
            raise PacketError(f"integer value truncated at {pos}")
        return str(st.unpack_from(data, pos)[0]).encode(), pos + st.size
    if ftype == FieldType.FLOAT:
        if pos + 4 > len(data):
            raise PacketError(f"float value truncated at {pos}")
        # FLOAT has about 7 significant digits: repr of the widened double would invent more.
        return f"{_F32.unpack_from(data, pos)[0]:.7g}".encode(), pos + 4
    if ftype == FieldType.DOUBLE:
        if pos + 8 > len(data):
            raise PacketError(f"double value truncated at {pos}")
        return repr(_F64.unpack_from(data, pos)[0]).encode(), pos + 8
    if ftype in _DATES:
        return _date(data, pos)
    if ftype == FieldType.TIME:
        return _time(data, pos)
    if ftype == FieldType.NULL:
        return b"", pos
    # Everything else (strings, blobs, DECIMAL, JSON, BIT, ENUM, SET, GEOMETRY) is a
    # length-encoded string.
    return lenenc_bytes(data, pos)


def parse_binary_row(payload: bytes, columns: tuple[Column, ...]) -> list[bytes | None]:
    """ProtocolBinary::ResultsetRow: 0x00, NULL bitmap (offset 2), non-NULL values."""
    count = len(columns)
    nulls = (count + 7 + 2) // 8
    if not payload or payload[0] != 0x00 or len(payload) < 1 + nulls:
        raise PacketError("binary row header invalid")
    bitmap = payload[1 : 1 + nulls]
    pos = 1 + nulls
    values: list[bytes | None] = []
    for index, column in enumerate(columns):
        bit = index + 2
        if bitmap[bit >> 3] & (1 << (bit & 7)):
            values.append(None)
            continue
        value, pos = binary_value(payload, pos, column.type, bool(column.flags & UNSIGNED_FLAG))
        values.append(value)
    if pos != len(payload):
        raise PacketError(f"binary row has {len(payload) - pos} trailing bytes")
    return values


# -- prepared statements ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PrepareOk:
    statement_id: int
    columns: int
    params: int


def parse_prepare_ok(payload: bytes) -> PrepareOk:
    if len(payload) < _PREPARE_OK.size or payload[0] != 0:
        raise PacketError("COM_STMT_PREPARE_OK truncated")
    _, stmt, columns, params, _, _ = _PREPARE_OK.unpack_from(payload, 0)
    return PrepareOk(statement_id=int(stmt), columns=int(columns), params=int(params))


@dataclass(frozen=True, slots=True, kw_only=True)
class Execute:
    statement_id: int
    flags: int
    # Per parameter: its text, None for NULL or a value sent as long data.
    values: tuple[bytes | None, ...] = field(repr=False)
    # (type, flag byte) per parameter, as sent or remembered from an earlier execute.
    types: tuple[tuple[int, int], ...]


EXECUTE_HEAD = 1 + _EXECUTE_HEAD.size  # command byte, statement id, flags, iterations


def execute_statement_id(payload: bytes) -> int:
    if len(payload) < EXECUTE_HEAD:
        raise PacketError("COM_STMT_EXECUTE truncated")
    return int(_U32.unpack_from(payload, 1)[0])


def parse_execute(
    payload: bytes,
    count: int,
    known_types: tuple[tuple[int, int], ...],
    long_data: frozenset[int],
    query_attributes: bool = False,
) -> Execute:
    """COM_STMT_EXECUTE with `count` parameters. `known_types` are the types bound by an
    earlier execute (new-params-bound 0 reuses them); parameters in `long_data` were sent
    by COM_STMT_SEND_LONG_DATA and have no value here."""
    if len(payload) < EXECUTE_HEAD:
        raise PacketError("COM_STMT_EXECUTE truncated")
    stmt, flags, _ = _EXECUTE_HEAD.unpack_from(payload, 1)
    pos = EXECUTE_HEAD
    if query_attributes and flags & 0x08 and pos < len(payload):
        # PARAMETER_COUNT_AVAILABLE: the count (parameters plus attributes) is sent.
        sent, pos = lenenc_int(payload, pos)
        if sent < count:
            raise PacketError("parameter count below the prepared count")
        count = sent
    if count == 0:
        return Execute(statement_id=int(stmt), flags=int(flags), values=(), types=())
    nulls = (count + 7) // 8
    if pos + nulls + 1 > len(payload):
        raise PacketError("COM_STMT_EXECUTE parameter block truncated")
    bitmap = payload[pos : pos + nulls]
    pos += nulls
    bound = payload[pos]
    pos += 1
    types: tuple[tuple[int, int], ...]
    if bound:
        if pos + 2 * count > len(payload):
            raise PacketError("COM_STMT_EXECUTE parameter types truncated")
        raw = payload[pos : pos + 2 * count]
        types = tuple((raw[i], raw[i + 1]) for i in range(0, 2 * count, 2))
        pos += 2 * count
        if query_attributes and flags & 0x08:
            # Named parameters (query attributes): one length-encoded name per parameter.
            for _ in range(count):
                _, pos = lenenc_bytes(payload, pos)
    elif len(known_types) == count:
        types = known_types
    else:
        raise PacketError("parameter types were never bound")
    values: list[bytes | None] = []
    for index, (ptype, pflags) in enumerate(types):
        if bitmap[index >> 3] & (1 << (index & 7)) or index in long_data:
            values.append(None)
            continue
        value, pos = binary_value(payload, pos, ptype, bool(pflags & PARAM_UNSIGNED))
        values.append(value)
    if pos != len(payload):
        raise PacketError(f"COM_STMT_EXECUTE has {len(payload) - pos} trailing bytes")
    return Execute(statement_id=int(stmt), flags=int(flags), values=tuple(values), types=types)


# Most parameters tried when guessing the count of a statement whose PREPARE was not
# captured (MySQL's own limit is 65535; ORMs rarely bind more than a few hundred).
MAX_GUESSED_PARAMS = 512


def guess_execute(payload: bytes, long_data: frozenset[int]) -> Execute | None:
    """COM_STMT_EXECUTE of an unknown statement: the smallest parameter count whose
    bitmap, bound types and values use exactly the whole packet, else None."""
    if len(payload) == EXECUTE_HEAD:
        return parse_execute(payload, 0, (), long_data)
    for count in range(1, MAX_GUESSED_PARAMS + 1):
        nulls = (count + 7) // 8
        flag_at = EXECUTE_HEAD + nulls
        end_types = flag_at + 1 + 2 * count
        if end_types > len(payload):
            return None
        if payload[flag_at] != 1:
            continue
        raw = payload[flag_at + 1 : end_types]
        if any(raw[i] not in KNOWN_TYPES or raw[i + 1] & 0x7F for i in range(0, len(raw), 2)):
            continue
        try:
            return parse_execute(payload, count, (), long_data)
        except PacketError:
            continue
    return None
