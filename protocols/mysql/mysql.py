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
tables and columns by `protocols.mysql._sql_columns` (sqlglot). The dissector is built in
layers, one module per phase, each a subclass of the one before: `_connection` (state and
shared helpers), `_framing` (packets out of bytes, compression, resynchronising),
`_results` (OK/ERR/EOF and result sets), `_queries` (COM_QUERY, COM_INIT_DB),
`_prepared` (COM_STMT_*), `_handshake` (greeting, login, authentication, COM_CHANGE_USER)
and this module (feeding both directions, pairing responses with commands, dispatch);
states and transition tables are in `_phases`.

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

from collections.abc import Callable
from typing import ClassVar

from protocols.base import (
    Anomaly,
    Direction,
    Event,
    Limits,
    Probe,
)
from protocols.mysql import _packets as wire
from protocols.mysql._connection import CAPS_MIDSTREAM, PROTOCOL, Command, Packet, Redispatch, Side
from protocols.mysql._framing import plausible_command
from protocols.mysql._handshake import Handshake
from protocols.mysql._packets import PacketError
from protocols.mysql._phases import (
    COM_CHANGE_USER,
    COM_INIT_DB,
    COM_QUERY,
    COM_QUIT,
    COM_STMT_CLOSE,
    COM_STMT_EXECUTE,
    COM_STMT_FETCH,
    COM_STMT_PREPARE,
    COM_STMT_RESET,
    COM_STMT_SEND_LONG_DATA,
    COMMANDS,
    PLAUSIBLE,
    RS,
    Phase,
    Reply,
    Step,
    Sync,
)

# Commands awaiting a response: clients do not pipeline, so a long queue means the
# responses are lost.
MAX_PENDING = 256


class MysqlDissector(Handshake):
    """One MySQL/MariaDB connection, both directions (see the module docstring)."""

    name: ClassVar[str] = PROTOCOL
    ports: ClassVar[frozenset[int]] = frozenset({3306, 3307, 33060})

    @classmethod
    def probe(cls, direction: Direction, data: bytes) -> Probe:
        if direction is Direction.RESPONSE:
            return cls._probe_greeting(data)
        verdict = plausible_command(data, 0, Limits().max_buffer_bytes)
        if verdict is None:
            if len(data) >= 4 and data[3] != 0:
                return Probe.NO
            if len(data) >= 5 and data[4] not in PLAUSIBLE:
                return Probe.NO
            return Probe.NEED_MORE
        return Probe.YES if verdict else Probe.NO

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
        side = self._sides[direction]
        if side.sync is Sync.STOPPED or not data:
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
        if side.sync is Sync.STOPPED or size <= 0:
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
        if side.sync is Sync.STOPPED:
            return events
        if side.sync is Sync.IN_SYNC and (side.raw or side.inner or side.started):
            events.append(Anomaly(kind="truncated_message", direction=direction))
        self._lose(side)
        side.sync = Sync.STOPPED
        return events

    def _drain_requests(self, side: Side, ts_ns: int, events: list[Event]) -> None:
        while side.sync is not Sync.STOPPED:
            if self._phase is Phase.START:
                self._move(Step.MIDSTREAM)
                self._caps = CAPS_MIDSTREAM
                self._note_midstream(events, Direction.REQUEST)
                side.sync = Sync.HUNTING
            if side.sync is Sync.HUNTING and not self._hunt_request(side, events):
                return
            if (
                self._phase is Phase.AUTH
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

    def _on_request(self, packet: Packet, ts_ns: int, events: list[Event]) -> None:
        phase = self._phase
        if phase is Phase.GREETED:
            self._on_login(packet, ts_ns, events)
            return
        if phase is Phase.AUTH and packet.seq != 0:
            self._on_auth_data(packet, ts_ns, events)
            return
        if phase is Phase.ENDED or phase is Phase.ENCRYPTED:
            return
        if phase is Phase.AUTH:
            self._move(Step.COMMAND)
            self._caps_after_auth()
        self._on_command(packet, ts_ns, events)

    def _on_command(self, packet: Packet, ts_ns: int, events: list[Event]) -> None:
        payload = packet.payload
        if not payload:
            events.append(Anomaly(kind="unexpected_packet", direction=Direction.REQUEST))
            return
        code = payload[0]
        reply = COMMANDS.get(code)
        if reply is None:
            events.append(Anomaly(kind="unknown_command", direction=Direction.REQUEST))
            self._lose(self._sides[Direction.REQUEST])
            return
        if packet.seq != 0:
            events.append(Anomaly(kind="sequence", direction=Direction.REQUEST))
        command = Command(code=code, reply=reply)
        handler = self._REQUEST_HANDLERS.get(code)
        if handler is not None and not packet.truncated:
            try:
                handler(self, command, payload, ts_ns, events)
            except PacketError:
                events.append(Anomaly(kind="malformed_request", direction=Direction.REQUEST))
        if code == COM_QUIT:
            self._move(Step.QUIT)
            return
        if reply is Reply.NONE:
            return
        if code == COM_CHANGE_USER:
            self._move(Step.CHANGE_USER)
        response = self._sides[Direction.RESPONSE]
        if response.sync is Sync.HUNTING:
            # Bytes before this command answered earlier, unseen commands.
            self._lose(response)
            response.sync = Sync.IN_SYNC
        if len(self._pending) >= MAX_PENDING:
            self._pending.popleft()
            events.append(Anomaly(kind="pending_overflow", direction=Direction.REQUEST))
        self._pending.append(command)

    _REQUEST_HANDLERS: ClassVar[dict[int, _RequestHandler]] = {}

    def _drain_responses(self, side: Side, ts_ns: int, events: list[Event]) -> None:
        while side.sync is not Sync.STOPPED and (side.raw or side.inner or side.started):
            if self._phase is Phase.START:
                if not self._start_response(side, events):
                    return
                continue
            if side.sync is Sync.HUNTING or self._phase is Phase.ENDED:
                # Nothing to pair these bytes with: wait for the next command.
                side.raw.clear()
                return
            if self._phase is Phase.COMMAND and self._reply is None and not self._pending:
                events.append(Anomaly(kind="unpaired_response", direction=Direction.RESPONSE))
                self._lose(side)
                return
            packet = self._next_packet(side, Direction.RESPONSE, events)
            if packet is None:
                return
            if self._phase is Phase.GREETED:
                events.append(Anomaly(kind="unexpected_packet", direction=Direction.RESPONSE))
            elif self._phase is Phase.AUTH:
                self._on_auth_reply(packet, events)
            else:
                self._on_reply(packet, ts_ns, events)

    def _on_reply(self, packet: Packet, ts_ns: int, events: list[Event]) -> None:
        if self._reply is None:
            self._reply = self._pending.popleft()
            self._rs_state = RS.FIRST
            self._end_result(events)
            if self._reply.reply is Reply.FETCH:
                self._begin_fetch(self._reply)
        command = self._reply
        if packet.truncated:
            # Only a row can be this large: skip it, the result set goes on.
            if self._rs_state is RS.ROWS:
                return
            self._abandon(events)
            return
        reader = self._REPLY_READERS[command.reply]
        try:
            reader(self, command, packet.payload, ts_ns, events)
        except Redispatch:
            self._reply = None
            self._end_result(events)
            if self._pending:
                self._on_reply(packet, ts_ns, events)
            return
        except PacketError:
            events.append(Anomaly(kind="malformed_response", direction=Direction.RESPONSE))
            self._abandon(events)
            return
        if self._rs_state is RS.DONE:
            self._reply = None
            self._end_result(events)

    def _abandon(self, events: list[Event]) -> None:
        """The response no longer makes sense: wait for the next command."""
        events.append(Anomaly(kind="unexpected_packet", direction=Direction.RESPONSE))
        self._drop_replies(events)
        side = self._sides[Direction.RESPONSE]
        self._lose(side)

    _REPLY_READERS: ClassVar[dict[Reply, _ReplyReader]] = {}


_RequestHandler = Callable[[MysqlDissector, Command, bytes, int, list[Event]], None]
_ReplyReader = Callable[[MysqlDissector, Command, bytes, int, list[Event]], None]

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
    Reply.NONE: MysqlDissector._reply_none,
    Reply.SIMPLE: MysqlDissector._reply_simple,
    Reply.TEXT: MysqlDissector._reply_result,
    Reply.BINARY: MysqlDissector._reply_result,
    Reply.FETCH: MysqlDissector._reply_result,
    Reply.FIELDS: MysqlDissector._reply_result,
    Reply.PREPARE: MysqlDissector._reply_prepare,
    Reply.AUTH: MysqlDissector._reply_auth,
    Reply.STREAM: MysqlDissector._reply_stream,
}
