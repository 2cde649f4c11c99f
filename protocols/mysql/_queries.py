"""COM_QUERY and COM_INIT_DB (PAGE_PROTOCOL_COMMAND_PHASE, CLIENT_QUERY_ATTRIBUTES): the
statement text, and its literal values mapped to tables and columns by `_sql_columns`
(sqlglot, loaded only when a statement is mapped)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocols.base import (
    Anomaly,
    Direction,
    Event,
    Location,
    Part,
)
from protocols.mysql import _packets as wire
from protocols.mysql._connection import MAX_PARAMS, Command
from protocols.mysql._packets import PacketError
from protocols.mysql._results import ResultSets

if TYPE_CHECKING:
    # sqlglot takes ~170 ms to load: `TextQueries._analysis` imports it when needed.
    from protocols.mysql._sql_columns import Analysis


# Statement analyses cached per connection (pooled connections repeat a few statements).
MAX_ANALYSES = 256




class TextQueries(ResultSets):
    """COM_QUERY literal values and COM_INIT_DB (request handlers)."""

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

    def _req_query(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
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

    def _req_init_db(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        command.schema = wire.text(payload[1:])
