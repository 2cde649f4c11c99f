"""MySQL / MariaDB dissector: table rows read and written -> inventory messages.

Spec (MySQL Source Code Documentation, dev.mysql.com/doc/dev/mysql-server/latest/):
PAGE_PROTOCOL.html and its pages PAGE_PROTOCOL_BASICS (packets, sequence ids, 16 MB
continuation), PAGE_PROTOCOL_CONNECTION_PHASE (HandshakeV10, HandshakeResponse41,
SSLRequest, AuthSwitchRequest, AuthMoreData), PAGE_PROTOCOL_COMPRESSION (zlib; zstd
from 8.0.18), PAGE_PROTOCOL_COMMAND_PHASE (COM_QUERY and its text result sets,
COM_INIT_DB, COM_FIELD_LIST, COM_CHANGE_USER, utility commands),
PAGE_PROTOCOL_COMMAND_PHASE_PS (COM_STMT_PREPARE/EXECUTE/FETCH/SEND_LONG_DATA/CLOSE/
RESET, binary result sets), CLIENT_DEPRECATE_EOF and CLIENT_QUERY_ATTRIBUTES. MariaDB
differences (mariadb.com/kb, "Clients & Utilities / Server client software / MariaDB
protocol"): the `5.5.5-` version prefix, extended capabilities, and
MARIADB_CLIENT_CACHE_METADATA (a "metadata follows" byte after a column count).
The wire layouts live in `protocols.mysql._packets`; statement text is mapped to
tables and columns by `protocols.mysql._sql_columns` (sqlglot).

Events (spec/inventory.md, "mysql"):
- result-set rows (text and binary): direction response, api `schema.table` from the
  column definition (original table, else the alias, else the current schema),
  location `column`, field the original column name; one Message per table per batch
  of up to `ROW_BATCH` rows (a result set cut by a gap or the end of the connection
  gives the rows read before the cut), JSON columns with media type JSON, binary
  columns that are not UTF-8 as binary;
- literal values of COM_QUERY statements (INSERT/REPLACE VALUES and SET, UPDATE SET,
  `col = value` conditions): direction request, location `column`; `INSERT INTO t
  VALUES (...)` without a column list names no column: field `#<n>` (1-based position);
- COM_STMT_EXECUTE parameters (and COM_STMT_SEND_LONG_DATA): location `param`, field
  the column the `?` binds to per the PREPARE text; a statement whose PREPARE was not
  captured (or a `?` that binds to no column) gives field `?<n>` and api `(unknown)`.
- login (HandshakeResponse41, COM_CHANGE_USER): location `auth`, field `user`, and
  field `password` only when the password travels in clear (mysql_clear_password). The
  auth response of the other plugins is a salted scramble, not a reusable secret, and
  is not reported. api: the database named in the login, else `(unknown)`.
A table whose schema is unknown (a statement naming `t` before any USE, mid-stream) is
reported as the bare table name rather than a guessed schema; the schema is taken from
column definitions of the same table seen earlier on the connection when there is one.

Pairing: MySQL answers commands in order, so commands are queued and the head decides
how response packets are read (PAGE_PROTOCOL_COMMAND_PHASE). Statement ids map to the
PREPARE's text, parameter types and columns (bounded by `MAX_STATEMENTS`).

Mid-stream (no greeting): the common capabilities are assumed (PROTOCOL_41, plugin
auth, multi results); CLIENT_DEPRECATE_EOF is learnt from the packet after the column
definitions (EOF packet or not), query attributes from the COM_QUERY prefix, the
compressed protocol from a 7-byte header whose payload holds a plausible command. The
request side resynchronises on the next plausible command packet (anomaly `midstream`),
the response side waits for a command and ignores bytes before it. After a gap, the same.
A TLS upgrade (SSLRequest) stops the dissection: anomaly `tls` and a hand-off `opaque`.

Not supported: servers before 4.1 (HandshakeV9, Protocol::320), COM_BINLOG_DUMP and
replication streams (dissection stops with `unsupported_command`), LOCAL INFILE file
contents, MariaDB COM_STMT_BULK_EXECUTE, cursor fetches of a cursor opened mid-stream,
and session-state tracking of the current schema (USE and COM_INIT_DB are followed).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, ClassVar

from protocols._decompress import DecompressionBomb, DecompressionError, decompress
from protocols.base import (
    Anomaly,
    Direction,
    Dissector,
    DissectorOptions,
    Event,
    Handoff,
    Limits,
    Location,
    MediaType,
    Message,
    Part,
    Probe,
    ProtocolError,
)
from protocols.mysql import _packets as wire
from protocols.mysql._packets import Cap, Column, FieldType, PacketError, Status

if TYPE_CHECKING:
    # sqlglot takes ~170 ms to load: `_analysis` imports it when a statement is mapped.
    from protocols.mysql._sql_columns import Analysis

PROTOCOL = "mysql"
UNKNOWN_API = "(unknown)"

# Rows gathered before their values are emitted: bounds the parts held per message
# while keeping messages few for long result sets.
ROW_BATCH = 256
# Prepared statements remembered per connection (MySQL's max_prepared_stmt_count
# defaults to 16382 server-wide; a connection rarely holds more than a few hundred).
MAX_STATEMENTS = 4096
# Table -> schema entries learnt from column definitions.
MAX_TABLE_SCHEMAS = 10_000
# Statement analyses cached per connection (pooled connections repeat a few statements).
MAX_ANALYSES = 256
# Commands awaiting a response: clients do not pipeline, so a long queue means the
# responses are lost.
MAX_PENDING = 256
# Columns of one result set (InnoDB's limit is 1017, MySQL's 4096).
MAX_COLUMNS = 4096
# Parameters of one prepared statement (the protocol's 2-byte count).
MAX_PARAMS = 65535
# A greeting is about a hundred bytes; a larger first packet is not a greeting.
MAX_GREETING = 1024
# Bytes of a truncated logical packet kept: enough for the command byte and ids.
TRUNCATED_HEAD = 64
# Leading bytes of an SQL text checked for plausibility when hunting for a command.
SQL_PROBE_CHARS = 16

_CAPS_MIDSTREAM = (
    Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.PLUGIN_AUTH | Cap.MULTI_RESULTS
    | Cap.PS_MULTI_RESULTS | Cap.MULTI_STATEMENTS
)

# -- commands (PAGE_PROTOCOL_COMMAND_PHASE) ------------------------------------------------

COM_QUIT = 0x01
COM_INIT_DB = 0x02
COM_QUERY = 0x03
COM_FIELD_LIST = 0x04
COM_CREATE_DB = 0x05
COM_DROP_DB = 0x06
COM_REFRESH = 0x07
COM_STATISTICS = 0x09
COM_PROCESS_INFO = 0x0A
COM_PROCESS_KILL = 0x0C
COM_DEBUG = 0x0D
COM_PING = 0x0E
COM_CHANGE_USER = 0x11
COM_BINLOG_DUMP = 0x12
COM_REGISTER_SLAVE = 0x15
COM_STMT_PREPARE = 0x16
COM_STMT_EXECUTE = 0x17
COM_STMT_SEND_LONG_DATA = 0x18
COM_STMT_CLOSE = 0x19
COM_STMT_RESET = 0x1A
COM_SET_OPTION = 0x1B
COM_STMT_FETCH = 0x1C
COM_BINLOG_DUMP_GTID = 0x1E
COM_RESET_CONNECTION = 0x1F


class _Reply(Enum):
    """How the response to a command is read."""

    NONE = "none"  # no response (QUIT, STMT_CLOSE, SEND_LONG_DATA)
    SIMPLE = "simple"  # one OK, ERR, EOF or string packet
    TEXT = "text"  # OK, ERR or text result sets
    BINARY = "binary"  # OK, ERR or a binary result set (COM_STMT_EXECUTE)
    FETCH = "fetch"  # binary rows of an open cursor
    PREPARE = "prepare"  # COM_STMT_PREPARE_OK, parameter and column definitions
    FIELDS = "fields"  # column definitions until EOF (COM_FIELD_LIST)
    AUTH = "auth"  # a new authentication exchange (COM_CHANGE_USER)
    STREAM = "stream"  # replication: not dissected


# Command byte -> how its response is read.
_COMMANDS: dict[int, _Reply] = {
    COM_QUIT: _Reply.NONE,
    COM_INIT_DB: _Reply.SIMPLE,
    COM_QUERY: _Reply.TEXT,
    COM_FIELD_LIST: _Reply.FIELDS,
    COM_CREATE_DB: _Reply.SIMPLE,
    COM_DROP_DB: _Reply.SIMPLE,
    COM_REFRESH: _Reply.SIMPLE,
    COM_STATISTICS: _Reply.SIMPLE,
    COM_PROCESS_INFO: _Reply.TEXT,
    COM_PROCESS_KILL: _Reply.SIMPLE,
    COM_DEBUG: _Reply.SIMPLE,
    COM_PING: _Reply.SIMPLE,
    COM_CHANGE_USER: _Reply.AUTH,
    COM_BINLOG_DUMP: _Reply.STREAM,
    COM_REGISTER_SLAVE: _Reply.SIMPLE,
    COM_STMT_PREPARE: _Reply.PREPARE,
    COM_STMT_EXECUTE: _Reply.BINARY,
    COM_STMT_SEND_LONG_DATA: _Reply.NONE,
    COM_STMT_CLOSE: _Reply.NONE,
    COM_STMT_RESET: _Reply.SIMPLE,
    COM_SET_OPTION: _Reply.SIMPLE,
    COM_STMT_FETCH: _Reply.FETCH,
    COM_BINLOG_DUMP_GTID: _Reply.STREAM,
    COM_RESET_CONNECTION: _Reply.SIMPLE,
}

# Command byte -> (smallest, largest) payload length a plausible packet has, for probing
# and resynchronising (None: no upper bound).
_PLAUSIBLE: dict[int, tuple[int, int | None]] = {
    COM_QUIT: (1, 1),
    COM_INIT_DB: (2, 256),
    COM_QUERY: (2, None),
    COM_FIELD_LIST: (2, 1024),
    COM_STATISTICS: (1, 1),
    COM_PROCESS_INFO: (1, 1),
    COM_PING: (1, 1),
    COM_STMT_PREPARE: (2, None),
    COM_STMT_EXECUTE: (wire.EXECUTE_HEAD, None),
    COM_STMT_SEND_LONG_DATA: (7, None),
    COM_STMT_CLOSE: (5, 5),
    COM_STMT_RESET: (5, 5),
    COM_SET_OPTION: (3, 3),
    COM_STMT_FETCH: (9, 9),
    COM_RESET_CONNECTION: (1, 1),
}

# -- connection phase: one transition table (docs/architecture.md convention 6) ----------------


class _Phase(Enum):
    START = "start"  # nothing decided yet
    GREETED = "greeted"  # server greeting seen, login expected
    AUTH = "auth"  # login sent: authentication exchange until OK or ERR
    COMMAND = "command"  # command phase
    ENDED = "ended"  # QUIT sent or login refused: nothing more to read
    ENCRYPTED = "encrypted"  # TLS: not parsed


class _Step(Enum):
    GREETING = "greeting"
    MIDSTREAM = "midstream"
    LOGIN = "login"
    SSL_REQUEST = "ssl_request"
    AUTH_OK = "auth_ok"
    AUTH_ERROR = "auth_error"
    COMMAND = "command"
    CHANGE_USER = "change_user"
    QUIT = "quit"


_PHASES: dict[tuple[_Phase, _Step], _Phase] = {
    (_Phase.START, _Step.GREETING): _Phase.GREETED,
    (_Phase.START, _Step.MIDSTREAM): _Phase.COMMAND,
    (_Phase.GREETED, _Step.LOGIN): _Phase.AUTH,
    # After an SSLRequest the login is sent again inside TLS (seq 2): with session keys
    # the engine's TLS layer hands us that plaintext, so the phase stays GREETED.
    (_Phase.GREETED, _Step.SSL_REQUEST): _Phase.GREETED,
    (_Phase.AUTH, _Step.AUTH_OK): _Phase.COMMAND,
    (_Phase.AUTH, _Step.AUTH_ERROR): _Phase.ENDED,
    (_Phase.AUTH, _Step.COMMAND): _Phase.COMMAND,  # the server's OK was not captured
    (_Phase.COMMAND, _Step.COMMAND): _Phase.COMMAND,
    (_Phase.COMMAND, _Step.CHANGE_USER): _Phase.AUTH,
    (_Phase.COMMAND, _Step.QUIT): _Phase.ENDED,
}


# -- reading one response: states and packet kinds -----------------------------------------


class _RS(Enum):
    FIRST = "first"  # the first packet of a result (or of the next result)
    COLUMNS = "columns"  # column definitions of a result set
    COLUMNS_END = "columns_end"  # the EOF after them (unless CLIENT_DEPRECATE_EOF)
    ROWS = "rows"
    PARAMS = "params"  # parameter definitions of a PREPARE response
    PARAMS_END = "params_end"
    PREP_COLUMNS = "prep_columns"
    PREP_COLUMNS_END = "prep_columns_end"
    DONE = "done"


class _Pk(Enum):
    OK = "ok"
    ERR = "err"
    EOF = "eof"
    MORE = "more"  # OK/EOF announcing another result (SERVER_MORE_RESULTS_EXISTS)
    COUNT = "count"  # a column count
    PREPARE_OK = "prepare_ok"
    DEF = "def"  # a column or parameter definition, more to come
    LAST_DEF = "last_def"  # the last definition, an EOF follows
    LAST_DEF_NO_EOF = "last_def_no_eof"  # the last definition, rows follow directly
    ROW = "row"
    CURSOR = "cursor"  # EOF after column definitions: rows come by COM_STMT_FETCH


_READS: dict[tuple[_RS, _Pk], _RS] = {
    (_RS.FIRST, _Pk.OK): _RS.DONE,
    (_RS.FIRST, _Pk.ERR): _RS.DONE,
    (_RS.FIRST, _Pk.EOF): _RS.DONE,
    (_RS.FIRST, _Pk.MORE): _RS.FIRST,
    (_RS.FIRST, _Pk.COUNT): _RS.COLUMNS,
    (_RS.FIRST, _Pk.PREPARE_OK): _RS.PARAMS,
    (_RS.FIRST, _Pk.ROW): _RS.ROWS,  # COM_STMT_FETCH: rows without a header
    (_RS.COLUMNS, _Pk.DEF): _RS.COLUMNS,
    (_RS.COLUMNS, _Pk.LAST_DEF): _RS.COLUMNS_END,
    (_RS.COLUMNS, _Pk.LAST_DEF_NO_EOF): _RS.ROWS,
    (_RS.COLUMNS, _Pk.EOF): _RS.DONE,  # COM_FIELD_LIST ends with an EOF
    (_RS.COLUMNS, _Pk.ERR): _RS.DONE,
    (_RS.COLUMNS_END, _Pk.EOF): _RS.ROWS,
    (_RS.COLUMNS_END, _Pk.CURSOR): _RS.DONE,
    (_RS.ROWS, _Pk.ROW): _RS.ROWS,
    (_RS.ROWS, _Pk.EOF): _RS.DONE,
    (_RS.ROWS, _Pk.OK): _RS.DONE,
    (_RS.ROWS, _Pk.MORE): _RS.FIRST,
    (_RS.ROWS, _Pk.ERR): _RS.DONE,
    (_RS.PARAMS, _Pk.DEF): _RS.PARAMS,
    (_RS.PARAMS, _Pk.LAST_DEF): _RS.PARAMS_END,
    (_RS.PARAMS, _Pk.LAST_DEF_NO_EOF): _RS.PREP_COLUMNS,
    (_RS.PARAMS_END, _Pk.EOF): _RS.PREP_COLUMNS,
    (_RS.PREP_COLUMNS, _Pk.DEF): _RS.PREP_COLUMNS,
    (_RS.PREP_COLUMNS, _Pk.LAST_DEF): _RS.PREP_COLUMNS_END,
    (_RS.PREP_COLUMNS, _Pk.LAST_DEF_NO_EOF): _RS.DONE,
    (_RS.PREP_COLUMNS_END, _Pk.EOF): _RS.DONE,
}


class _Sync(Enum):
    """Framing state of one direction."""

    IN_SYNC = "in_sync"
    HUNTING = "hunting"  # lost: requests scan for a command, responses wait for one
    STOPPED = "stopped"


# -- per-connection records ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Packet:
    seq: int
    payload: bytes = field(repr=False)
    truncated: bool


@dataclass(slots=True, kw_only=True)
class _Statement:
    """One prepared statement: where its parameters go and what its rows hold."""

    # Per `?`: (schema, table, column) or None; an empty schema is resolved when used.
    targets: tuple[tuple[str, str, str] | None, ...]
    params: int
    columns: tuple[Column, ...] = ()
    types: tuple[tuple[int, int], ...] = ()
    long_data: dict[int, bytearray] = field(default_factory=dict)
    long_data_bytes: int = 0


@dataclass(slots=True, kw_only=True)
class _Command:
    code: int
    reply: _Reply
    analysis: Analysis | None = None
    schema: str = ""  # COM_INIT_DB's schema, applied on OK
    statement_id: int = -1
    prepare: tuple[tuple[str, str, str] | None, ...] | None = None  # targets of a PREPARE


@dataclass(slots=True)
class _Side:
    """One direction's bytes: the wire buffer, and the decompressed one when compressed."""

    sync: _Sync = _Sync.IN_SYNC
    raw: bytearray = field(default_factory=bytearray)
    inner: bytearray = field(default_factory=bytearray)
    compressed: bool = False
    # A logical packet being assembled from 0xffffff-long pieces or streamed in.
    payload: bytearray = field(default_factory=bytearray)
    seq: int = 0
    remaining: int = 0
    more: bool = False
    started: bool = False
    dropped: bool = False
    skip_raw: int = 0  # bytes of an oversized compressed packet still to discard


@dataclass(slots=True)
class _ResultSet:
    """Columns of the result being read and the rows gathered for the next message."""

    binary: bool
    columns: list[Column] = field(default_factory=list)
    expected: int = 0
    targets: list[tuple[str, str, str, bool]] = field(default_factory=list)
    parts: dict[str, list[Part]] = field(default_factory=dict)
    batch: int = 0
    held: int = 0  # value bytes in `parts` (the engine's memory budget reads it)
    rows: int = 0
    limited: bool = False


_STRINGY = frozenset({
    FieldType.VARCHAR, FieldType.VAR_STRING, FieldType.STRING, FieldType.TINY_BLOB,
    FieldType.MEDIUM_BLOB, FieldType.LONG_BLOB, FieldType.BLOB, FieldType.GEOMETRY,
    FieldType.BIT,
})


def _printable_sql(data: bytes | bytearray, start: int, end: int) -> bool:
    """Does an SQL text start at `start`? Printable ASCII or whitespace, a letter, `(`,
    `/` (comment) or `{` (ODBC escape) first: statements begin with a keyword."""
    sample = bytes(data[start:end])
    stripped = sample.lstrip(b" \t\r\n")
    if not stripped:
        return len(sample) > 0
    first = stripped[:1]
    if not (first.isalpha() or first in (b"(", b"/", b"{", b"-", b"#")):
        return False
    return all(0x20 <= b < 0x7F or b in (9, 10, 13) for b in sample)


def plausible_command(data: bytes | bytearray, pos: int, max_size: int) -> bool | None:
    """Does a client command packet (sequence id 0) start at `pos`? None: need more bytes."""
    if len(data) - pos < 5:
        return None
    length = wire.u24(data, pos)
    if data[pos + 3] != 0:
        return False
    code = data[pos + 4]
    bounds = _PLAUSIBLE.get(code)
    if bounds is None or length < bounds[0] or length > max_size:
        return False
    if bounds[1] is not None and length > bounds[1]:
        return False
    body = pos + 5
    if code in (COM_QUERY, COM_STMT_PREPARE):
        if length >= 3 and data[pos + 5 : pos + 7] == b"\x00\x01":
            body += 2  # CLIENT_QUERY_ATTRIBUTES: no attributes, one parameter set
        end = min(pos + 4 + length, body + SQL_PROBE_CHARS)
        if len(data) < end:
            return None
        return _printable_sql(data, body, end)
    if code in (COM_INIT_DB, COM_FIELD_LIST):
        end = min(pos + 4 + length, body + SQL_PROBE_CHARS)
        if len(data) < end:
            return None
        return all(0x20 < b < 0x7F or b == 0 for b in bytes(data[body:end]))
    if code == COM_STMT_EXECUTE:
        if len(data) < pos + 4 + wire.EXECUTE_HEAD:
            return None
        flags = data[pos + 9]
        iterations = bytes(data[pos + 10 : pos + 14])
        return flags < 0x10 and iterations == b"\x01\x00\x00\x00"
    return True


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # RFC 8878 section 3.1.1


def compressed_command(data: bytes | bytearray, pos: int, limits: Limits) -> str | None:
    """Does a compressed-protocol packet holding a client command start at `pos`?
    Returns the coding ("zlib", "zstd", "none" for a packet sent uncompressed), "" for
    no, None when more bytes are needed to say."""
    if len(data) - pos < wire.HEADER:
        return None
    size = wire.u24(data, pos)
    if data[pos + 3] != 0 or size < 5 or size > limits.max_buffer_bytes:
        return ""
    if len(data) - pos < wire.COMPRESSED_HEADER + 5:
        return None
    head = wire.compressed_header(data, pos)
    inner = pos + wire.COMPRESSED_HEADER
    if head.uncompressed == 0:
        if wire.u24(data, inner) + wire.HEADER != head.size:
            return ""
        verdict = plausible_command(data, inner, head.size)
        return None if verdict is None else ("none" if verdict else "")
    if data[inner] == 0x78:  # zlib header (RFC 1950): deflate with a 32 KiB window
        coding = "zlib"
    elif bytes(data[inner : inner + 4]) == _ZSTD_MAGIC:
        coding = "zstd"
    else:
        return ""
    if len(data) < inner + head.size:
        return None
    try:
        plain = decompress(bytes(data[inner : inner + head.size]), coding, limits)
    except DecompressionError:
        return ""
    if len(plain) != head.uncompressed:
        return ""
    return coding if plausible_command(plain, 0, len(plain)) else ""


class _Redispatch(Exception):
    """The packet belongs to the next command's response (learnt mid-stream)."""


class MysqlDissector(Dissector):
    """One MySQL/MariaDB connection, both directions (see the module docstring)."""

    name: ClassVar[str] = PROTOCOL
    ports: ClassVar[frozenset[int]] = frozenset({3306, 3307, 33060})

    def __init__(
        self, limits: Limits | None = None, options: DissectorOptions | None = None
    ) -> None:
        super().__init__(limits, options)
        self._sides = {Direction.REQUEST: _Side(), Direction.RESPONSE: _Side()}
        self._phase = _Phase.START
        self._caps = 0  # negotiated: server's and client's flags
        self._server_caps = 0
        self._deprecate_eof: bool | None = None
        self._query_attributes: bool | None = None
        self._compress = ""  # "zlib" or "zstd" once negotiated
        self._auth_plugin = ""
        self._schema = ""
        self._login_api = UNKNOWN_API
        self._midstream_reported = False
        self._pending: deque[_Command] = deque()
        self._reply: _Command | None = None
        self._rs_state = _RS.FIRST
        self._result: _ResultSet | None = None
        self._statements: OrderedDict[int, _Statement] = OrderedDict()
        self._table_schemas: dict[str, str] = {}
        self._analyses: OrderedDict[str, Analysis] = OrderedDict()
        self._prepare_columns = 0
        self._extended_metadata = False
        self._login_seen = False
        # Capture time of the latest bytes: rows batched before a gap are emitted with it.
        self._last_ts = 0

    # -- probe -------------------------------------------------------------------------

    @classmethod
    def probe(cls, direction: Direction, data: bytes) -> Probe:
        if direction is Direction.RESPONSE:
            return cls._probe_greeting(data)
        verdict = plausible_command(data, 0, Limits().max_buffer_bytes)
        if verdict is None:
            if len(data) >= 4 and data[3] != 0:
                return Probe.NO
            if len(data) >= 5 and data[4] not in _PLAUSIBLE:
                return Probe.NO
            return Probe.NEED_MORE
        return Probe.YES if verdict else Probe.NO

    @staticmethod
    def _probe_greeting(data: bytes) -> Probe:
        if len(data) < 5:
            if len(data) >= 4 and data[3] != 0:
                return Probe.NO
            return Probe.NEED_MORE
        length = wire.u24(data, 0)
        if data[3] != 0 or data[4] != 10 or not 32 <= length <= MAX_GREETING:
            return Probe.NO
        if len(data) < 4 + length:
            head = data[5:]
            # The version string is printable up to its NUL.
            version = head.split(b"\x00", 1)[0]
            return Probe.NEED_MORE if all(0x20 <= b < 0x7F for b in version) else Probe.NO
        try:
            wire.parse_greeting(data[4 : 4 + length])
        except PacketError:
            return Probe.NO
        version = data[5:].split(b"\x00", 1)[0]
        return Probe.YES if version[:1].isdigit() else Probe.NO

    # -- feeding -----------------------------------------------------------------------

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
        side = self._sides[direction]
        if side.sync is _Sync.STOPPED or not data:
            return []
        events: list[Event] = []
        self._last_ts = ts_ns
        side.raw += data
        if direction is Direction.REQUEST:
            self._drain_requests(side, ts_ns, events)
        else:
            self._drain_responses(side, ts_ns, events)
        return events

    def gap(self, direction: Direction, size: int) -> list[Event]:
        side = self._sides[direction]
        if side.sync is _Sync.STOPPED or size <= 0:
            return []
        events: list[Event] = []
        self._lose(side)
        if direction is Direction.RESPONSE:
            # Rows decoded before the gap are kept: only the rest of the result is lost.
            self._drop_replies(events)
        events.append(Anomaly(kind="gap", direction=direction))
        return events

    def close(self, direction: Direction, ts_ns: int) -> list[Event]:
        side = self._sides[direction]
        events: list[Event] = []
        if direction is Direction.RESPONSE and self._result is not None:
            self._flush(ts_ns, events)  # rows of a result set cut by the close
        if side.sync is _Sync.STOPPED:
            return events
        if side.sync is _Sync.IN_SYNC and (side.raw or side.inner or side.started):
            events.append(Anomaly(kind="truncated_message", direction=direction))
        self._lose(side)
        side.sync = _Sync.STOPPED
        return events

    @staticmethod
    def _lose(side: _Side) -> None:
        side.raw.clear()
        side.inner.clear()
        side.payload.clear()
        side.remaining = 0
        side.more = side.started = side.dropped = False
        side.skip_raw = 0
        side.sync = _Sync.HUNTING

    def _drop_replies(self, events: list[Event]) -> None:
        self._pending.clear()
        self._reply = None
        self._end_result(events)
        self._rs_state = _RS.FIRST

    def _end_result(self, events: list[Event]) -> None:
        """The result set being read is over, whole or not: emit the rows batched so far."""
        if self._result is not None:
            self._flush(self._last_ts, events)
            self._result = None

    def held_bytes(self) -> int:
        request, response = self._sides[Direction.REQUEST], self._sides[Direction.RESPONSE]
        held = (
            len(request.raw) + len(request.inner) + len(request.payload)
            + len(response.raw) + len(response.inner) + len(response.payload)
        )  # fmt: skip
        result = self._result
        return held if result is None else held + result.held

    def _move(self, step: _Step) -> None:
        nxt = _PHASES.get((self._phase, step))
        if nxt is None:
            raise ProtocolError(f"{step.value} not expected in phase {self._phase.value}")
        self._phase = nxt

    def _note_midstream(self, events: list[Event], direction: Direction) -> None:
        if not self._midstream_reported:
            self._midstream_reported = True
            events.append(Anomaly(kind="midstream", direction=direction))

    # -- framing: packets out of a side's bytes -----------------------------------------

    def _fill_inner(self, side: _Side, direction: Direction, events: list[Event]) -> None:
        """Decompress every complete compressed packet of `raw` into `inner`."""
        raw = side.raw
        while True:
            if side.skip_raw:
                used = min(side.skip_raw, len(raw))
                del raw[:used]
                side.skip_raw -= used
                if side.skip_raw:
                    return
            if len(raw) < wire.COMPRESSED_HEADER:
                return
            head = wire.compressed_header(raw, 0)
            if head.size > self.limits.max_buffer_bytes:
                events.append(Anomaly(kind="message_too_large", direction=direction))
                del raw[: wire.COMPRESSED_HEADER]
                side.skip_raw = head.size
                side.inner.clear()
                side.payload.clear()
                side.remaining = 0
                side.started = side.more = False
                side.sync = _Sync.HUNTING
                continue
            end = wire.COMPRESSED_HEADER + head.size
            if len(raw) < end:
                return
            body = bytes(raw[wire.COMPRESSED_HEADER : end])
            del raw[:end]
            if head.uncompressed == 0:
                side.inner += body
                continue
            try:
                side.inner += decompress(body, self._compress or "zlib", self.limits)
            except DecompressionBomb:
                events.append(Anomaly(kind="decompression_limit", direction=direction))
                self._lose_inner(side, direction, events)
            except DecompressionError:
                events.append(Anomaly(kind="undecodable", direction=direction))
                self._lose_inner(side, direction, events)

    def _lose_inner(self, side: _Side, direction: Direction, events: list[Event]) -> None:
        side.inner.clear()
        side.payload.clear()
        side.remaining = 0
        side.started = side.more = False
        side.sync = _Sync.HUNTING
        if direction is Direction.RESPONSE:
            self._drop_replies(events)

    def _next_packet(self, side: _Side, direction: Direction, events: list[Event]) -> _Packet | None:
        """The next complete logical packet (continuations joined), or None for now."""
        if side.compressed:
            self._fill_inner(side, direction, events)
            buf = side.inner
        else:
            buf = side.raw
        limit = self.limits.max_buffer_bytes
        while True:
            if side.remaining:
                take = min(side.remaining, len(buf))
                if not take:
                    return None
                if not side.dropped:
                    room = limit - len(side.payload)
                    if take > room:
                        # Too large to hold: keep the head (command byte, ids), drop the rest.
                        side.dropped = True
                        events.append(Anomaly(kind="message_too_large", direction=direction))
                        del side.payload[TRUNCATED_HEAD:]
                    else:
                        side.payload += buf[:take]
                del buf[:take]
                side.remaining -= take
                if side.remaining:
                    return None
                if side.more:
                    continue
                return self._finish(side)
            if len(buf) < wire.HEADER:
                return None
            length = wire.u24(buf, 0)
            seq = buf[3]
            if not side.started:
                side.started = True
                side.seq = seq
                if length < wire.MAX_PAYLOAD and length <= limit and len(buf) >= wire.HEADER + length:
                    # The common case: one whole packet in the buffer.
                    payload = bytes(buf[wire.HEADER : wire.HEADER + length])
                    del buf[: wire.HEADER + length]
                    side.started = False
                    return _Packet(seq=seq, payload=payload, truncated=False)
            del buf[: wire.HEADER]
            side.more = length == wire.MAX_PAYLOAD
            side.remaining = length
            if not length:
                return self._finish(side)

    @staticmethod
    def _finish(side: _Side) -> _Packet:
        packet = _Packet(seq=side.seq, payload=bytes(side.payload), truncated=side.dropped)
        side.payload.clear()
        side.started = side.more = side.dropped = False
        return packet

    # -- requests ------------------------------------------------------------------------

    def _drain_requests(self, side: _Side, ts_ns: int, events: list[Event]) -> None:
        while side.sync is not _Sync.STOPPED:
            if self._phase is _Phase.START:
                self._move(_Step.MIDSTREAM)
                self._caps = _CAPS_MIDSTREAM
                self._note_midstream(events, Direction.REQUEST)
                side.sync = _Sync.HUNTING
            if side.sync is _Sync.HUNTING and not self._hunt_request(side, events):
                return
            if (
                self._phase is _Phase.AUTH
                and self._compress
                and not side.compressed
                and len(side.raw) >= wire.HEADER
                and side.raw[3] == 0
                and not side.started
            ):
                # A sequence id 0 ends the authentication: the first command, compressed.
                side.compressed = True
            packet = self._next_packet(side, Direction.REQUEST, events)
            if packet is None:
                return
            self._on_request(packet, ts_ns, events)

    def _hunt_request(self, side: _Side, events: list[Event]) -> bool:
        """Scan for a plausible command; drop what precedes it. Compressed packets are
        looked for once compression is known, or while it is unknown (mid-stream)."""
        raw = side.raw
        max_size = self.limits.max_buffer_bytes
        plain = not side.compressed
        squeezable = side.compressed or not self._login_seen
        pos = 0
        while True:
            verdict = plausible_command(raw, pos, max_size) if plain else False
            coding = compressed_command(raw, pos, self.limits) if squeezable else ""
            if verdict is None or coding is None:
                # Decide with both answers known, whatever the split of the bytes.
                del raw[:pos]
                return False
            if verdict or coding:
                if coding and not verdict:
                    for each in self._sides.values():
                        each.compressed = True
                    if coding != "none":
                        self._compress = coding
                    self._compress = self._compress or "zlib"
                del raw[:pos]
                side.sync = _Sync.IN_SYNC
                events.append(Anomaly(kind="resync", direction=Direction.REQUEST))
                return True
            pos += 1

    def _on_request(self, packet: _Packet, ts_ns: int, events: list[Event]) -> None:
        phase = self._phase
        if phase is _Phase.GREETED:
            self._on_login(packet, ts_ns, events)
            return
        if phase is _Phase.AUTH and packet.seq != 0:
            self._on_auth_data(packet, ts_ns, events)
            return
        if phase is _Phase.ENDED or phase is _Phase.ENCRYPTED:
            return
        if phase is _Phase.AUTH:
            self._move(_Step.COMMAND)
            self._caps_after_auth()
        self._on_command(packet, ts_ns, events)

    def _on_login(self, packet: _Packet, ts_ns: int, events: list[Event]) -> None:
        try:
            login = wire.parse_login(packet.payload)
        except PacketError as exc:
            raise ProtocolError(f"handshake response: {exc}") from None
        if login.ssl_request:
            self._move(_Step.SSL_REQUEST)
            events.append(Anomaly(kind="tls", direction=Direction.REQUEST))
            leftover = {
                d: bytes(s.raw) for d, s in self._sides.items() if s.raw
            }
            for side in self._sides.values():
                # What follows is TLS: the engine puts its TLS layer under this
                # dissector (decrypting when the key log has the session) and feeds
                # us the plaintext, which starts at a packet boundary.
                self._lose(side)
                side.sync = _Sync.IN_SYNC
            events.append(Handoff(protocol="tls", leftover=leftover, ts_ns=ts_ns))
            return
        self._move(_Step.LOGIN)
        self._login_seen = True
        self._caps = login.capabilities
        if self._server_caps:
            self._caps &= self._server_caps
        if self._caps & Cap.ZSTD_COMPRESSION:
            self._compress = "zstd"
        elif self._caps & Cap.COMPRESS:
            self._compress = "zlib"
        if login.auth_plugin:
            self._auth_plugin = login.auth_plugin
        if login.database:
            self._schema = login.database
            self._login_api = login.database
        self._emit_login(login.user, login.auth_response, ts_ns, events)

    def _emit_login(self, user: bytes, auth: bytes, ts_ns: int, events: list[Event]) -> None:
        parts = []
        if user:
            parts.append(Part(location=Location.AUTH, name="user", data=user))
        if auth and self._auth_plugin == "mysql_clear_password":
            parts.append(Part(location=Location.AUTH, name="password", data=auth.rstrip(b"\x00")))
        if parts:
            events.append(self._message(Direction.REQUEST, self._login_api, parts, ts_ns))

    def _on_auth_data(self, packet: _Packet, ts_ns: int, events: list[Event]) -> None:
        # An AuthSwitchResponse: the clear password when the server asked for it.
        if self._auth_plugin == "mysql_clear_password" and packet.payload:
            part = Part(location=Location.AUTH, name="password", data=packet.payload.rstrip(b"\x00"))
            events.append(self._message(Direction.REQUEST, self._login_api, [part], ts_ns))

    def _caps_after_auth(self) -> None:
        if self._compress:
            for side in self._sides.values():
                side.compressed = True
        self._deprecate_eof = bool(self._caps & Cap.DEPRECATE_EOF)
        self._extended_metadata = bool(self._caps & Cap.MARIADB_EXTENDED_METADATA)
        self._query_attributes = bool(self._caps & Cap.QUERY_ATTRIBUTES)

    def _on_command(self, packet: _Packet, ts_ns: int, events: list[Event]) -> None:
        payload = packet.payload
        if not payload:
            events.append(Anomaly(kind="unexpected_packet", direction=Direction.REQUEST))
            return
        code = payload[0]
        reply = _COMMANDS.get(code)
        if reply is None:
            events.append(Anomaly(kind="unknown_command", direction=Direction.REQUEST))
            self._lose(self._sides[Direction.REQUEST])
            return
        if packet.seq != 0:
            events.append(Anomaly(kind="sequence", direction=Direction.REQUEST))
        command = _Command(code=code, reply=reply)
        handler = self._REQUEST_HANDLERS.get(code)
        if handler is not None and not packet.truncated:
            try:
                handler(self, command, payload, ts_ns, events)
            except PacketError:
                events.append(Anomaly(kind="malformed_request", direction=Direction.REQUEST))
        if code == COM_QUIT:
            self._move(_Step.QUIT)
            return
        if reply is _Reply.NONE:
            return
        if code == COM_CHANGE_USER:
            self._move(_Step.CHANGE_USER)
        response = self._sides[Direction.RESPONSE]
        if response.sync is _Sync.HUNTING:
            # Bytes before this command answered earlier, unseen commands.
            self._lose(response)
            response.sync = _Sync.IN_SYNC
        if len(self._pending) >= MAX_PENDING:
            self._pending.popleft()
            events.append(Anomaly(kind="pending_overflow", direction=Direction.REQUEST))
        self._pending.append(command)

    # -- request handlers (dispatch by command byte) -------------------------------------

    def _analysis(self, sql: str) -> Analysis:
        found = self._analyses.get(sql)
        if found is None:
            from protocols.mysql._sql_columns import (
                analyze,  # loads sqlglot, only for MySQL statements
            )

            found = analyze(sql, self.limits.max_records)
            self._analyses[sql] = found
            if len(self._analyses) > MAX_ANALYSES:
                self._analyses.popitem(last=False)
        else:
            self._analyses.move_to_end(sql)
        return found

    def _sql_text(self, payload: bytes) -> str:
        """COM_QUERY's statement, after the query attributes of CLIENT_QUERY_ATTRIBUTES
        (parameter count, parameter set count, NULL bitmap, types and names, values)."""
        pos = 1
        attributes = self._query_attributes
        if attributes is None:
            # Mid-stream: SQL text never starts with a NUL, the attribute prefix
            # without attributes is 0x00 0x01.
            attributes = payload[1:3] == b"\x00\x01"
        if attributes:
            count, pos = wire.lenenc_int(payload, 1)
            _, pos = wire.lenenc_int(payload, pos)
            if count:
                if count > MAX_PARAMS:
                    raise PacketError("query attribute count out of range")
                nulls = (count + 7) // 8
                bitmap = payload[pos : pos + nulls]
                pos += nulls
                if pos >= len(payload) or not payload[pos]:
                    raise PacketError("query attribute types not bound")
                pos += 1
                types: list[tuple[int, int]] = []
                for _ in range(count):
                    if pos + 2 > len(payload):
                        raise PacketError("query attribute types truncated")
                    types.append((payload[pos], payload[pos + 1]))
                    _, pos = wire.lenenc_bytes(payload, pos + 2)
                for index, (ptype, pflags) in enumerate(types):
                    if bitmap[index >> 3] & (1 << (index & 7)):
                        continue
                    _, pos = wire.binary_value(
                        payload, pos, ptype, bool(pflags & wire.PARAM_UNSIGNED)
                    )
        return payload[pos:].decode("utf-8", "replace")

    def _req_query(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        sql = self._sql_text(payload)
        analysis = self._analysis(sql)
        command.analysis = analysis
        if analysis.truncated:
            events.append(Anomaly(kind="records_limit", direction=Direction.REQUEST))
        grouped: dict[str, list[Part]] = {}
        for item in analysis.values:
            binding = item.binding
            api = self._api(binding.schema, binding.table)
            grouped.setdefault(api, []).append(
                Part(location=Location.COLUMN, name=binding.column, data=item.value.encode())
            )
        for api, parts in grouped.items():
            events.append(self._message(Direction.REQUEST, api, parts, ts_ns))

    def _req_init_db(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        command.schema = wire.text(payload[1:])

    def _req_prepare(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        analysis = self._analysis(payload[1:].decode("utf-8", "replace"))
        command.prepare = tuple(
            None if b is None or not b.table else (b.schema or self._schema, b.table, b.column)
            for b in analysis.params
        )

    def _req_execute(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        stmt_id = wire.execute_statement_id(payload)
        command.statement_id = stmt_id
        statement = self._statements.get(stmt_id)
        long_data = frozenset(statement.long_data) if statement is not None else frozenset()
        attributes = bool(self._query_attributes)
        if statement is None:
            execute = wire.guess_execute(payload, long_data)
            if execute is None:
                events.append(Anomaly(kind="unknown_statement", direction=Direction.REQUEST))
                return
            targets: tuple[tuple[str, str, str] | None, ...] = ()
        else:
            execute = wire.parse_execute(
                payload, statement.params, statement.types, long_data, attributes
            )
            statement.types = execute.types[: statement.params]
            targets = statement.targets
        values = list(execute.values)
        if statement is not None:
            for index, data in statement.long_data.items():
                if index < len(values):
                    values[index] = bytes(data)
            statement.long_data.clear()
            statement.long_data_bytes = 0
        grouped: dict[str, list[Part]] = {}
        for index, value in enumerate(values):
            if not value:
                continue
            target = targets[index] if index < len(targets) else None
            if target is None:
                api, name = UNKNOWN_API, f"?{index + 1}"
            else:
                api, name = self._api(target[0], target[1]), target[2]
            grouped.setdefault(api, []).append(
                Part(location=Location.PARAM, name=name, data=value, media_type=MediaType.TEXT)
            )
        for api, parts in grouped.items():
            events.append(self._message(Direction.REQUEST, api, parts, ts_ns))

    def _req_long_data(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        if len(payload) < 7:
            raise PacketError("COM_STMT_SEND_LONG_DATA truncated")
        stmt_id = int.from_bytes(payload[1:5], "little")
        param = int.from_bytes(payload[5:7], "little")
        statement = self._statements.get(stmt_id)
        if statement is None:
            return
        chunk = payload[7:]
        if statement.long_data_bytes + len(chunk) > self.limits.max_body_bytes:
            events.append(Anomaly(kind="message_too_large", direction=Direction.REQUEST))
            return
        statement.long_data.setdefault(param, bytearray()).extend(chunk)
        statement.long_data_bytes += len(chunk)

    def _req_close(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        if len(payload) >= 5:
            self._statements.pop(int.from_bytes(payload[1:5], "little"), None)

    def _req_reset(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        if len(payload) >= 5:
            statement = self._statements.get(int.from_bytes(payload[1:5], "little"))
            if statement is not None:
                statement.long_data.clear()
                statement.long_data_bytes = 0

    def _req_fetch(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        if len(payload) >= 5:
            command.statement_id = int.from_bytes(payload[1:5], "little")

    def _req_change_user(
        self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]
    ) -> None:
        user, pos = wire.nul_bytes(payload, 1)
        if self._caps & Cap.SECURE_CONNECTION and pos < len(payload):
            size = payload[pos]
            auth = payload[pos + 1 : pos + 1 + size]
            pos += 1 + size
        else:
            auth, pos = wire.nul_bytes(payload, pos)
        database = b""
        if pos < len(payload):
            database, pos = wire.nul_bytes(payload, pos)
        if database:
            command.schema = wire.text(database)
            self._login_api = command.schema
        self._emit_login(user, auth, ts_ns, events)

    _REQUEST_HANDLERS: ClassVar[dict[int, _RequestHandler]] = {}

    # -- responses -----------------------------------------------------------------------

    def _drain_responses(self, side: _Side, ts_ns: int, events: list[Event]) -> None:
        while side.sync is not _Sync.STOPPED and (side.raw or side.inner or side.started):
            if self._phase is _Phase.START:
                if not self._start_response(side, events):
                    return
                continue
            if side.sync is _Sync.HUNTING or self._phase is _Phase.ENDED:
                # Nothing to pair these bytes with: wait for the next command.
                side.raw.clear()
                return
            if self._phase is _Phase.COMMAND and self._reply is None and not self._pending:
                events.append(Anomaly(kind="unpaired_response", direction=Direction.RESPONSE))
                self._lose(side)
                return
            packet = self._next_packet(side, Direction.RESPONSE, events)
            if packet is None:
                return
            if self._phase is _Phase.GREETED:
                events.append(Anomaly(kind="unexpected_packet", direction=Direction.RESPONSE))
            elif self._phase is _Phase.AUTH:
                self._on_auth_reply(packet, events)
            else:
                self._on_reply(packet, ts_ns, events)

    def _start_response(self, side: _Side, events: list[Event]) -> bool:
        """First server bytes: a greeting, or a connection joined mid-stream."""
        verdict = self._probe_greeting(bytes(side.raw[: wire.HEADER + MAX_GREETING]))
        if verdict is Probe.NEED_MORE:
            return False
        if verdict is Probe.YES:
            packet = self._next_packet(side, Direction.RESPONSE, events)
            if packet is None:  # pragma: no cover - the probe saw the whole packet
                return False
            greeting = wire.parse_greeting(packet.payload)
            self._server_caps = greeting.capabilities
            self._auth_plugin = greeting.auth_plugin
            self._move(_Step.GREETING)
            return True
        self._move(_Step.MIDSTREAM)
        self._caps = _CAPS_MIDSTREAM
        self._note_midstream(events, Direction.RESPONSE)
        self._lose(side)
        # The client's first bytes may be mid-packet too.
        self._sides[Direction.REQUEST].sync = _Sync.HUNTING
        return False

    def _on_auth_reply(self, packet: _Packet, events: list[Event]) -> None:
        payload = packet.payload
        head = payload[:1]
        if head == b"\x00":
            self._move(_Step.AUTH_OK)
            self._caps_after_auth()
            if self._pending and self._pending[0].code == COM_CHANGE_USER:
                command = self._pending.popleft()
                if command.schema:
                    self._schema = command.schema
        elif head == b"\xff":
            self._move(_Step.AUTH_ERROR)
            self._drop_replies(events)
        elif head == b"\xfe":
            # AuthSwitchRequest: the plugin the client must answer with.
            try:
                plugin, _ = wire.nul_bytes(payload, 1)
                self._auth_plugin = wire.text(plugin)
            except PacketError:
                self._auth_plugin = ""
        # 0x01 AuthMoreData (caching_sha2 fast auth, RSA key) carries nothing of ours.

    def _on_reply(self, packet: _Packet, ts_ns: int, events: list[Event]) -> None:
        if self._reply is None:
            self._reply = self._pending.popleft()
            self._rs_state = _RS.FIRST
            self._end_result(events)
            if self._reply.reply is _Reply.FETCH:
                self._begin_fetch(self._reply)
        command = self._reply
        if packet.truncated:
            # Only a row can be this large: skip it, the result set goes on.
            if self._rs_state is _RS.ROWS:
                return
            self._abandon(events)
            return
        reader = self._REPLY_READERS[command.reply]
        try:
            reader(self, command, packet.payload, ts_ns, events)
        except _Redispatch:
            self._reply = None
            self._end_result(events)
            if self._pending:
                self._on_reply(packet, ts_ns, events)
            return
        except PacketError:
            events.append(Anomaly(kind="malformed_response", direction=Direction.RESPONSE))
            self._abandon(events)
            return
        if self._rs_state is _RS.DONE:
            self._reply = None
            self._end_result(events)

    def _abandon(self, events: list[Event]) -> None:
        """The response no longer makes sense: wait for the next command."""
        events.append(Anomaly(kind="unexpected_packet", direction=Direction.RESPONSE))
        self._drop_replies(events)
        side = self._sides[Direction.RESPONSE]
        self._lose(side)

    def _read(self, kind: _Pk) -> None:
        nxt = _READS.get((self._rs_state, kind))
        if nxt is None:
            raise PacketError(f"{kind.value} packet in state {self._rs_state.value}")
        self._rs_state = nxt

    # -- reply readers (dispatch by reply kind) --------------------------------------------

    def _reply_simple(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        if payload[:1] == b"\x00" and command.schema:
            self._schema = command.schema
        self._rs_state = _RS.DONE

    def _reply_none(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        self._rs_state = _RS.DONE  # never queued; kept so that every kind has a reader

    def _reply_stream(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        events.append(Anomaly(kind="unsupported_command", direction=Direction.RESPONSE))
        for side in self._sides.values():
            self._lose(side)
            side.sync = _Sync.STOPPED

    def _reply_auth(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        # COM_CHANGE_USER answered directly (no AuthSwitch): handled as in the login.
        self._on_auth_reply(_Packet(seq=0, payload=payload, truncated=False), events)
        self._rs_state = _RS.DONE

    def _reply_result(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        """TEXT, BINARY, FETCH and FIELDS responses: result sets."""
        state = self._rs_state
        head = payload[0] if payload else -1
        if head == 0xFF:
            self._flush(ts_ns, events)
            self._read(_Pk.ERR)
            return
        if state is _RS.FIRST:
            self._first_packet(command, payload, ts_ns, events)
        elif state is _RS.COLUMNS:
            self._column_packet(command, payload, ts_ns, events)
        elif state is _RS.COLUMNS_END:
            self._columns_end(command, payload, ts_ns, events)
        elif state is _RS.ROWS:
            self._row_packet(payload, ts_ns, events)
        else:
            raise PacketError(f"result packet in state {state.value}")

    def _first_packet(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        head = payload[0] if payload else -1
        if command.reply is _Reply.FIELDS:
            self._result = _ResultSet(binary=False, expected=MAX_COLUMNS)
            self._rs_state = _RS.COLUMNS
            self._column_packet(command, payload, ts_ns, events)
            return
        if command.reply is _Reply.FETCH:
            self._read(_Pk.ROW)
            self._row_packet(payload, ts_ns, events)
            return
        if head == 0x00 or (head == 0xFE and len(payload) < 9):
            status = wire.parse_ok(payload).status if head == 0x00 else wire.eof_status(payload)
            if head == 0x00 and command.schema:
                self._schema = command.schema
            if head == 0x00 and command.analysis is not None and command.analysis.use_schema:
                self._schema = command.analysis.use_schema
            self._read(_Pk.MORE if status & Status.MORE_RESULTS_EXISTS else _Pk.OK)
            return
        if head == 0xFB:
            # LOCAL INFILE request: the file's contents are not dissected.
            events.append(Anomaly(kind="unsupported_command", direction=Direction.RESPONSE))
            self._read(_Pk.OK)
            return
        count, pos = wire.lenenc_int(payload, 0)
        if not 0 < count <= MAX_COLUMNS:
            raise PacketError(f"column count {count} out of range")
        metadata = True
        if pos < len(payload) and self._caps & (
            Cap.OPTIONAL_RESULTSET_METADATA | Cap.MARIADB_CACHE_METADATA
        ):
            metadata = payload[pos] != 0
        self._result = _ResultSet(binary=command.reply is _Reply.BINARY, expected=count)
        self._read(_Pk.COUNT)
        if not metadata:
            statement = self._statements.get(command.statement_id)
            if statement is None or len(statement.columns) != count:
                raise PacketError("result metadata skipped for unknown columns")
            for column in statement.columns:
                self._add_column(column)
            self._read(_Pk.LAST_DEF_NO_EOF)

    def _column_packet(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        result = self._result
        assert result is not None
        if command.reply is _Reply.FIELDS and wire.is_eof(payload):
            self._read(_Pk.EOF)
            return
        self._add_column(wire.parse_column(payload, self._extended_metadata))
        if command.reply is _Reply.FIELDS:
            self._read(_Pk.DEF)
            return
        if len(result.columns) < result.expected:
            self._read(_Pk.DEF)
            return
        if command.reply is _Reply.BINARY:
            statement = self._statements.get(command.statement_id)
            if statement is not None:
                statement.columns = tuple(result.columns)
        if self._deprecate_eof:
            self._read(_Pk.LAST_DEF_NO_EOF)
        else:
            self._read(_Pk.LAST_DEF)

    def _columns_end(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        if len(payload) == 5 and payload[0] == 0xFE:
            self._deprecate_eof = False
            if wire.eof_status(payload) & Status.CURSOR_EXISTS:
                self._read(_Pk.CURSOR)
                return
            self._read(_Pk.EOF)
            return
        if self._deprecate_eof is None:
            # Mid-stream: no EOF after the definitions, so CLIENT_DEPRECATE_EOF is on.
            self._deprecate_eof = True
            self._rs_state = _RS.ROWS
            self._row_packet(payload, ts_ns, events)
            return
        raise PacketError("EOF expected after column definitions")

    def _row_packet(self, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        result = self._result
        assert result is not None
        if wire.is_eof(payload):
            status = wire.eof_status(payload)
            self._flush(ts_ns, events)
            self._read(_Pk.MORE if status & Status.MORE_RESULTS_EXISTS else _Pk.EOF)
            return
        if result.binary:
            values = wire.parse_binary_row(payload, tuple(result.columns))
        else:
            values = wire.parse_text_row(payload, len(result.columns))
        result.rows += 1
        if result.rows > self.limits.max_records:
            if not result.limited:
                result.limited = True
                events.append(Anomaly(kind="records_limit", direction=Direction.RESPONSE))
            return
        for value, (api, name, media, check) in zip(values, result.targets, strict=True):
            if not value:
                continue
            if check and not value.isascii():
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError:
                    media = MediaType.BINARY
            result.parts.setdefault(api, []).append(
                Part(location=Location.COLUMN, name=name, data=value, media_type=media)
            )
            result.held += len(value)
        result.batch += 1
        if result.batch >= ROW_BATCH:
            self._flush(ts_ns, events)

    def _add_column(self, column: Column) -> None:
        result = self._result
        assert result is not None
        table = column.org_table or column.table
        self._learn_schema(column)
        api = self._api(column.schema, table)
        json = column.type == FieldType.JSON or column.format == "json"
        media = MediaType.JSON if json else MediaType.TEXT
        check = column.charset == wire.BINARY_CHARSET and column.type in _STRINGY
        result.columns.append(column)
        result.targets.append((api, column.org_name or column.name, media, check))

    def _learn_schema(self, column: Column) -> None:
        if column.schema and column.org_table and len(self._table_schemas) < MAX_TABLE_SCHEMAS:
            self._table_schemas.setdefault(column.org_table.lower(), column.schema)

    def _begin_fetch(self, command: _Command) -> None:
        statement = self._statements.get(command.statement_id)
        self._result = _ResultSet(binary=True)
        if statement is not None:
            for column in statement.columns:
                self._add_column(column)

    def _flush(self, ts_ns: int, events: list[Event]) -> None:
        result = self._result
        if result is None:
            return
        for api, parts in result.parts.items():
            events.append(self._message(Direction.RESPONSE, api, parts, ts_ns))
        result.parts = {}
        result.batch = 0
        result.held = 0

    def _reply_prepare(self, command: _Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        """COM_STMT_PREPARE_OK, then the parameter and the column definitions, each
        list followed by an EOF unless CLIENT_DEPRECATE_EOF."""
        state = self._rs_state
        if payload[:1] == b"\xff":
            self._read(_Pk.ERR)
            return
        if state is _RS.FIRST:
            self._prepare_ok(command, payload)
            return
        if state in (_RS.PARAMS_END, _RS.PREP_COLUMNS_END):
            if len(payload) == 5 and payload[0] == 0xFE:
                self._deprecate_eof = False
                self._read(_Pk.EOF)
                self._begin_prepare_columns(command)
                return
            if self._deprecate_eof is not None:
                raise PacketError("EOF expected after definitions")
            # Mid-stream: no EOF, so CLIENT_DEPRECATE_EOF is on.
            self._deprecate_eof = True
            if state is _RS.PREP_COLUMNS_END:
                self._rs_state = _RS.DONE
                raise _Redispatch
            self._rs_state = _RS.PREP_COLUMNS
            self._begin_prepare_columns(command)
            if self._rs_state is _RS.DONE:
                raise _Redispatch
            state = _RS.PREP_COLUMNS
        result = self._result
        assert result is not None
        column = wire.parse_column(payload, self._extended_metadata)
        self._learn_schema(column)
        result.columns.append(column)
        if len(result.columns) < result.expected:
            self._read(_Pk.DEF)
            return
        if state is _RS.PREP_COLUMNS:
            statement = self._statements.get(command.statement_id)
            if statement is not None:
                statement.columns = tuple(result.columns)
        self._read(_Pk.LAST_DEF_NO_EOF if self._deprecate_eof else _Pk.LAST_DEF)
        if self._rs_state is _RS.PREP_COLUMNS:
            self._begin_prepare_columns(command)

    def _prepare_ok(self, command: _Command, payload: bytes) -> None:
        ok = wire.parse_prepare_ok(payload)
        if ok.params > MAX_PARAMS or ok.columns > MAX_COLUMNS:
            raise PacketError("prepared statement counts out of range")
        targets = tuple(command.prepare or ())[: ok.params]
        targets += (None,) * (ok.params - len(targets))
        self._statements[ok.statement_id] = _Statement(targets=targets, params=ok.params)
        self._statements.move_to_end(ok.statement_id)
        if len(self._statements) > MAX_STATEMENTS:
            self._statements.popitem(last=False)
        command.statement_id = ok.statement_id
        self._prepare_columns = ok.columns
        self._result = _ResultSet(binary=True, expected=ok.params)
        self._read(_Pk.PREPARE_OK)
        if ok.params == 0:
            self._rs_state = _RS.PREP_COLUMNS
            self._begin_prepare_columns(command)

    def _begin_prepare_columns(self, command: _Command) -> None:
        """Parameter definitions done: the column definitions follow, if any."""
        if self._rs_state is not _RS.PREP_COLUMNS:
            return
        self._result = _ResultSet(binary=True, expected=self._prepare_columns)
        if self._prepare_columns == 0:
            self._rs_state = _RS.DONE

    _REPLY_READERS: ClassVar[dict[_Reply, _ReplyReader]] = {}

    # -- messages ---------------------------------------------------------------------------

    def _api(self, schema: str, table: str) -> str:
        if not table:
            return UNKNOWN_API
        if not schema:
            schema = self._schema or self._table_schemas.get(table.lower(), "")
        return f"{schema}.{table}" if schema else table

    @staticmethod
    def _message(direction: Direction, api: str, parts: list[Part], ts_ns: int) -> Message:
        return Message(
            protocol=PROTOCOL, direction=direction, api=api, host="", ts_ns=ts_ns,
            parts=tuple(parts),
        )


_RequestHandler = Callable[[MysqlDissector, _Command, bytes, int, list[Event]], None]
_ReplyReader = Callable[[MysqlDissector, _Command, bytes, int, list[Event]], None]

MysqlDissector._REQUEST_HANDLERS = {
    COM_QUERY: MysqlDissector._req_query,
    COM_INIT_DB: MysqlDissector._req_init_db,
    COM_STMT_PREPARE: MysqlDissector._req_prepare,
    COM_STMT_EXECUTE: MysqlDissector._req_execute,
    COM_STMT_SEND_LONG_DATA: MysqlDissector._req_long_data,
    COM_STMT_CLOSE: MysqlDissector._req_close,
    COM_STMT_RESET: MysqlDissector._req_reset,
    COM_STMT_FETCH: MysqlDissector._req_fetch,
    COM_CHANGE_USER: MysqlDissector._req_change_user,
}
MysqlDissector._REPLY_READERS = {
    _Reply.NONE: MysqlDissector._reply_none,
    _Reply.SIMPLE: MysqlDissector._reply_simple,
    _Reply.TEXT: MysqlDissector._reply_result,
    _Reply.BINARY: MysqlDissector._reply_result,
    _Reply.FETCH: MysqlDissector._reply_result,
    _Reply.FIELDS: MysqlDissector._reply_result,
    _Reply.PREPARE: MysqlDissector._reply_prepare,
    _Reply.AUTH: MysqlDissector._reply_auth,
    _Reply.STREAM: MysqlDissector._reply_stream,
}
