"""The response to a command (PAGE_PROTOCOL_COMMAND_PHASE): OK, ERR and EOF packets,
text and binary result sets (column count, column definitions, rows; CLIENT_DEPRECATE_EOF,
MARIADB_CLIENT_CACHE_METADATA), COM_FIELD_LIST and cursor fetches. Rows become `column`
parts, batched per table into messages of up to `ROW_BATCH` rows."""

from __future__ import annotations

from protocols.base import (
    Anomaly,
    Direction,
    Event,
    Location,
    MediaType,
    Part,
)
from protocols.mysql import _packets as wire
from protocols.mysql._connection import MAX_COLUMNS, Command, ResultSet
from protocols.mysql._framing import PacketFraming
from protocols.mysql._packets import Cap, Column, FieldType, PacketError, Status
from protocols.mysql._phases import RS, Pk, Reply, Sync

# Rows gathered before their values are emitted: bounds the parts held per message
# while keeping messages few for long result sets.
ROW_BATCH = 256
# Table -> schema entries learnt from column definitions.
MAX_TABLE_SCHEMAS = 10_000

_STRINGY = frozenset({
    FieldType.VARCHAR, FieldType.VAR_STRING, FieldType.STRING, FieldType.TINY_BLOB,
    FieldType.MEDIUM_BLOB, FieldType.LONG_BLOB, FieldType.BLOB, FieldType.GEOMETRY,
    FieldType.BIT,
})




class ResultSets(PacketFraming):
    """Reply readers for OK/ERR/EOF answers and result sets (dispatch by reply kind)."""

    def _reply_simple(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        if payload[:1] == b"\x00" and command.schema:
            self._schema = command.schema
        self._rs_state = RS.DONE

    def _reply_none(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        self._rs_state = RS.DONE  # never queued; kept so that every kind has a reader

    def _reply_stream(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        events.append(Anomaly(kind="unsupported_command", direction=Direction.RESPONSE))
        for side in self._sides.values():
            self._lose(side)
            side.sync = Sync.STOPPED

    def _reply_result(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        """TEXT, BINARY, FETCH and FIELDS responses: result sets."""
        state = self._rs_state
        head = payload[0] if payload else -1
        if head == 0xFF:
            self._flush(ts_ns, events)
            self._read(Pk.ERR)
            return
        if state is RS.FIRST:
            self._first_packet(command, payload, ts_ns, events)
        elif state is RS.COLUMNS:
            self._column_packet(command, payload, ts_ns, events)
        elif state is RS.COLUMNS_END:
            self._columns_end(command, payload, ts_ns, events)
        elif state is RS.ROWS:
            self._row_packet(payload, ts_ns, events)
        else:
            raise PacketError(f"result packet in state {state.value}")

    def _first_packet(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        head = payload[0] if payload else -1
        if command.reply is Reply.FIELDS:
            self._result = ResultSet(binary=False, expected=MAX_COLUMNS)
            self._rs_state = RS.COLUMNS
            self._column_packet(command, payload, ts_ns, events)
            return
        if command.reply is Reply.FETCH:
            self._read(Pk.ROW)
            self._row_packet(payload, ts_ns, events)
            return
        if head == 0x00 or (head == 0xFE and len(payload) < 9):
            status = wire.parse_ok(payload).status if head == 0x00 else wire.eof_status(payload)
            if head == 0x00 and command.schema:
                self._schema = command.schema
            if head == 0x00 and command.analysis is not None and command.analysis.use_schema:
                self._schema = command.analysis.use_schema
            self._read(Pk.MORE if status & Status.MORE_RESULTS_EXISTS else Pk.OK)
            return
        if head == 0xFB:
            # LOCAL INFILE request: the file's contents are not dissected.
            events.append(Anomaly(kind="unsupported_command", direction=Direction.RESPONSE))
            self._read(Pk.OK)
            return
        count, pos = wire.lenenc_int(payload, 0)
        if not 0 < count <= MAX_COLUMNS:
            raise PacketError(f"column count {count} out of range")
        metadata = True
        if pos < len(payload) and self._caps & (
            Cap.OPTIONAL_RESULTSET_METADATA | Cap.MARIADB_CACHE_METADATA
        ):
            metadata = payload[pos] != 0
        self._result = ResultSet(binary=command.reply is Reply.BINARY, expected=count)
        self._read(Pk.COUNT)
        if not metadata:
            statement = self._statements.get(command.statement_id)
            if statement is None or len(statement.columns) != count:
                raise PacketError("result metadata skipped for unknown columns")
            for column in statement.columns:
                self._add_column(column)
            self._read(Pk.LAST_DEF_NO_EOF)

    def _column_packet(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        result = self._result
        assert result is not None
        if command.reply is Reply.FIELDS and wire.is_eof(payload):
            self._read(Pk.EOF)
            return
        self._add_column(wire.parse_column(payload, self._extended_metadata))
        if command.reply is Reply.FIELDS:
            self._read(Pk.DEF)
            return
        if len(result.columns) < result.expected:
            self._read(Pk.DEF)
            return
        if command.reply is Reply.BINARY:
            statement = self._statements.get(command.statement_id)
            if statement is not None:
                statement.columns = tuple(result.columns)
        if self._deprecate_eof:
            self._read(Pk.LAST_DEF_NO_EOF)
        else:
            self._read(Pk.LAST_DEF)

    def _columns_end(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        if len(payload) == 5 and payload[0] == 0xFE:
            self._deprecate_eof = False
            if wire.eof_status(payload) & Status.CURSOR_EXISTS:
                self._read(Pk.CURSOR)
                return
            self._read(Pk.EOF)
            return
        if self._deprecate_eof is None:
            # Mid-stream: no EOF after the definitions, so CLIENT_DEPRECATE_EOF is on.
            self._deprecate_eof = True
            self._rs_state = RS.ROWS
            self._row_packet(payload, ts_ns, events)
            return
        raise PacketError("EOF expected after column definitions")

    def _row_packet(self, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        result = self._result
        assert result is not None
        if wire.is_eof(payload):
            status = wire.eof_status(payload)
            self._flush(ts_ns, events)
            self._read(Pk.MORE if status & Status.MORE_RESULTS_EXISTS else Pk.EOF)
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

    def _begin_fetch(self, command: Command) -> None:
        statement = self._statements.get(command.statement_id)
        self._result = ResultSet(binary=True)
        if statement is not None:
            for column in statement.columns:
                self._add_column(column)
