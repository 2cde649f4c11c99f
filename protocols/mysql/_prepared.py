"""Prepared statements (PAGE_PROTOCOL_COMMAND_PHASE_PS): COM_STMT_PREPARE and its
PREPARE_OK with parameter and column definitions, COM_STMT_EXECUTE parameters as `param`
parts named by the column each `?` binds to, SEND_LONG_DATA, CLOSE, RESET and FETCH."""

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
from protocols.mysql._connection import (
    MAX_COLUMNS,
    MAX_PARAMS,
    UNKNOWN_API,
    Command,
    Redispatch,
    ResultSet,
    Statement,
)
from protocols.mysql._packets import PacketError
from protocols.mysql._phases import RS, Pk
from protocols.mysql._queries import TextQueries

# Prepared statements remembered per connection (MySQL's max_prepared_stmt_count
# defaults to 16382 server-wide; a connection rarely holds more than a few hundred).
MAX_STATEMENTS = 4096




class PreparedStatements(TextQueries):
    """COM_STMT_* requests and the COM_STMT_PREPARE response."""

    def _req_prepare(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        analysis = self._analysis(payload[1:].decode("utf-8", "replace"))
        command.prepare = tuple(
            None if b is None or not b.table else (b.schema or self._schema, b.table, b.column)
            for b in analysis.params
        )

    def _req_execute(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
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

    def _req_long_data(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
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

    def _req_close(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        if len(payload) >= 5:
            self._statements.pop(int.from_bytes(payload[1:5], "little"), None)

    def _req_reset(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        if len(payload) >= 5:
            statement = self._statements.get(int.from_bytes(payload[1:5], "little"))
            if statement is not None:
                statement.long_data.clear()
                statement.long_data_bytes = 0

    def _req_fetch(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        if len(payload) >= 5:
            command.statement_id = int.from_bytes(payload[1:5], "little")

    def _reply_prepare(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        """COM_STMT_PREPARE_OK, then the parameter and the column definitions, each
        list followed by an EOF unless CLIENT_DEPRECATE_EOF."""
        state = self._rs_state
        if payload[:1] == b"\xff":
            self._read(Pk.ERR)
            return
        if state is RS.FIRST:
            self._prepare_ok(command, payload)
            return
        if state in (RS.PARAMS_END, RS.PREP_COLUMNS_END):
            if len(payload) == 5 and payload[0] == 0xFE:
                self._deprecate_eof = False
                self._read(Pk.EOF)
                self._begin_prepare_columns(command)
                return
            if self._deprecate_eof is not None:
                raise PacketError("EOF expected after definitions")
            # Mid-stream: no EOF, so CLIENT_DEPRECATE_EOF is on.
            self._deprecate_eof = True
            if state is RS.PREP_COLUMNS_END:
                self._rs_state = RS.DONE
                raise Redispatch
            self._rs_state = RS.PREP_COLUMNS
            self._begin_prepare_columns(command)
            if self._rs_state is RS.DONE:
                raise Redispatch
            state = RS.PREP_COLUMNS
        result = self._result
        assert result is not None
        column = wire.parse_column(payload, self._extended_metadata)
        self._learn_schema(column)
        result.columns.append(column)
        if len(result.columns) < result.expected:
            self._read(Pk.DEF)
            return
        if state is RS.PREP_COLUMNS:
            statement = self._statements.get(command.statement_id)
            if statement is not None:
                statement.columns = tuple(result.columns)
        self._read(Pk.LAST_DEF_NO_EOF if self._deprecate_eof else Pk.LAST_DEF)
        if self._rs_state is RS.PREP_COLUMNS:
            self._begin_prepare_columns(command)

    def _prepare_ok(self, command: Command, payload: bytes) -> None:
        ok = wire.parse_prepare_ok(payload)
        if ok.params > MAX_PARAMS or ok.columns > MAX_COLUMNS:
            raise PacketError("prepared statement counts out of range")
        targets = tuple(command.prepare or ())[: ok.params]
        targets += (None,) * (ok.params - len(targets))
        self._statements[ok.statement_id] = Statement(targets=targets, params=ok.params)
        self._statements.move_to_end(ok.statement_id)
        if len(self._statements) > MAX_STATEMENTS:
            self._statements.popitem(last=False)
        command.statement_id = ok.statement_id
        self._prepare_columns = ok.columns
        self._result = ResultSet(binary=True, expected=ok.params)
        self._read(Pk.PREPARE_OK)
        if ok.params == 0:
            self._rs_state = RS.PREP_COLUMNS
            self._begin_prepare_columns(command)

    def _begin_prepare_columns(self, command: Command) -> None:
        """Parameter definitions done: the column definitions follow, if any."""
        if self._rs_state is not RS.PREP_COLUMNS:
            return
        self._result = ResultSet(binary=True, expected=self._prepare_columns)
        if self._prepare_columns == 0:
            self._rs_state = RS.DONE
