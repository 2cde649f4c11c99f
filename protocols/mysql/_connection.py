"""The state of one MySQL connection and the helpers every phase calls: phase moves,
losing a side's bytes, batching rows into messages, naming the api (`schema.table`).

`MysqlDissector` is built in layers, one module per phase of the protocol, each a subclass
of the one below: `Connection` (here) -> `_framing.PacketFraming` (packets out of bytes)
-> `_results.ResultSets` (responses) -> `_queries.TextQueries` (COM_QUERY) ->
`_prepared.PreparedStatements` (COM_STMT_*) -> `_handshake.Handshake` (greeting, login,
authentication) -> `mysql.MysqlDissector` (feeding, pairing and dispatch).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from protocols.base import (
    Anomaly,
    Direction,
    Dissector,
    DissectorOptions,
    Event,
    Limits,
    Message,
    Part,
    ProtocolError,
)
from protocols.mysql._packets import Cap, Column, PacketError
from protocols.mysql._phases import PHASES, READS, RS, Phase, Pk, Reply, Step, Sync

if TYPE_CHECKING:
    # sqlglot takes ~170 ms to load: `TextQueries._analysis` imports it when needed.
    from protocols.mysql._sql_columns import Analysis


PROTOCOL = "mysql"
UNKNOWN_API = "(unknown)"
# Columns of one result set (InnoDB's limit is 1017, MySQL's 4096).
MAX_COLUMNS = 4096
# Parameters of one prepared statement (the protocol's 2-byte count).
MAX_PARAMS = 65535

# Capabilities assumed for a connection joined mid-stream (mysql.py's docstring).
CAPS_MIDSTREAM = (
    Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.PLUGIN_AUTH | Cap.MULTI_RESULTS
    | Cap.PS_MULTI_RESULTS | Cap.MULTI_STATEMENTS
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Packet:
    seq: int
    payload: bytes = field(repr=False)
    truncated: bool


@dataclass(slots=True, kw_only=True)
class Statement:
    """One prepared statement: where its parameters go and what its rows hold."""

    # Per `?`: (schema, table, column) or None; an empty schema is resolved when used.
    targets: tuple[tuple[str, str, str] | None, ...]
    params: int
    columns: tuple[Column, ...] = ()
    types: tuple[tuple[int, int], ...] = ()
    long_data: dict[int, bytearray] = field(default_factory=dict)
    long_data_bytes: int = 0


@dataclass(slots=True, kw_only=True)
class Command:
    code: int
    reply: Reply
    analysis: Analysis | None = None
    schema: str = ""  # COM_INIT_DB's schema, applied on OK
    statement_id: int = -1
    prepare: tuple[tuple[str, str, str] | None, ...] | None = None  # targets of a PREPARE


@dataclass(slots=True)
class Side:
    """One direction's bytes: the wire buffer, and the decompressed one when compressed."""

    sync: Sync = Sync.IN_SYNC
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
class ResultSet:
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


class Redispatch(Exception):
    """The packet belongs to the next command's response (learnt mid-stream)."""




class Connection(Dissector):
    """Per-connection state (both directions) and the helpers every phase calls."""

    def __init__(
        self, limits: Limits | None = None, options: DissectorOptions | None = None
    ) -> None:
        super().__init__(limits, options)
        self._sides = {Direction.REQUEST: Side(), Direction.RESPONSE: Side()}
        self._phase = Phase.START
        self._caps = 0  # negotiated: server's and client's flags
        self._server_caps = 0
        self._deprecate_eof: bool | None = None
        self._query_attributes: bool | None = None
        self._compress = ""  # "zlib" or "zstd" once negotiated
        self._auth_plugin = ""
        self._schema = ""
        self._login_api = UNKNOWN_API
        self._midstream_reported = False
        self._pending: deque[Command] = deque()
        self._reply: Command | None = None
        self._rs_state = RS.FIRST
        self._result: ResultSet | None = None
        self._statements: OrderedDict[int, Statement] = OrderedDict()
        self._table_schemas: dict[str, str] = {}
        self._analyses: OrderedDict[str, Analysis] = OrderedDict()
        self._prepare_columns = 0
        self._extended_metadata = False
        self._login_seen = False
        # Capture time of the latest bytes: rows batched before a gap are emitted with it.
        self._last_ts = 0

    def held_bytes(self) -> int:
        request, response = self._sides[Direction.REQUEST], self._sides[Direction.RESPONSE]
        held = (
            len(request.raw) + len(request.inner) + len(request.payload)
            + len(response.raw) + len(response.inner) + len(response.payload)
        )  # fmt: skip
        result = self._result
        return held if result is None else held + result.held

    def _move(self, step: Step) -> None:
        nxt = PHASES.get((self._phase, step))
        if nxt is None:
            raise ProtocolError(f"{step.value} not expected in phase {self._phase.value}")
        self._phase = nxt

    def _note_midstream(self, events: list[Event], direction: Direction) -> None:
        if not self._midstream_reported:
            self._midstream_reported = True
            events.append(Anomaly(kind="midstream", direction=direction))

    @staticmethod
    def _lose(side: Side) -> None:
        side.raw.clear()
        side.inner.clear()
        side.payload.clear()
        side.remaining = 0
        side.more = side.started = side.dropped = False
        side.skip_raw = 0
        side.sync = Sync.HUNTING

    def _drop_replies(self, events: list[Event]) -> None:
        self._pending.clear()
        self._reply = None
        self._end_result(events)
        self._rs_state = RS.FIRST

    def _end_result(self, events: list[Event]) -> None:
        """The result set being read is over, whole or not: emit the rows batched so far."""
        if self._result is not None:
            self._flush(self._last_ts, events)
            self._result = None

    def _flush(self, ts_ns: int, events: list[Event]) -> None:
        result = self._result
        if result is None:
            return
        for api, parts in result.parts.items():
            events.append(self._message(Direction.RESPONSE, api, parts, ts_ns))
        result.parts = {}
        result.batch = 0
        result.held = 0

    def _read(self, kind: Pk) -> None:
        nxt = READS.get((self._rs_state, kind))
        if nxt is None:
            raise PacketError(f"{kind.value} packet in state {self._rs_state.value}")
        self._rs_state = nxt

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
