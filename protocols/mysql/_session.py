"""The MySQL dissector's work on one connection (`protocols.mysql.mysql` is the
protocol's documentation and its registry face): feeding both directions, pairing
responses with commands, dispatch, on the layers `_connection` ... `_handshake`.

Imported when the first connection of a scan is MySQL (`MysqlDissector.__init__`): the
registry imports `mysql.py` and runs its probe on every connection of every scan, and
these layers (packet layouts, phases, result sets) are most of the protocol's import.
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


class MysqlSession(Handshake):
    """One MySQL/MariaDB connection, both directions (see `protocols.mysql.mysql`)."""

    name: ClassVar[str] = PROTOCOL

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


_RequestHandler = Callable[[MysqlSession, Command, bytes, int, list[Event]], None]
_ReplyReader = Callable[[MysqlSession, Command, bytes, int, list[Event]], None]

MysqlSession._REQUEST_HANDLERS = {
    COM_QUERY: MysqlSession._req_query,
    COM_INIT_DB: MysqlSession._req_init_db,
    COM_STMT_PREPARE: MysqlSession._req_prepare,
    COM_STMT_EXECUTE: MysqlSession._req_execute,
    COM_STMT_SEND_LONG_DATA: MysqlSession._req_long_data,
    COM_STMT_CLOSE: MysqlSession._req_close,
    COM_STMT_RESET: MysqlSession._req_reset,
    COM_STMT_FETCH: MysqlSession._req_fetch,
    COM_CHANGE_USER: MysqlSession._req_change_user,
}
MysqlSession._REPLY_READERS = {
    Reply.NONE: MysqlSession._reply_none,
    Reply.SIMPLE: MysqlSession._reply_simple,
    Reply.TEXT: MysqlSession._reply_result,
    Reply.BINARY: MysqlSession._reply_result,
    Reply.FETCH: MysqlSession._reply_result,
    Reply.FIELDS: MysqlSession._reply_result,
    Reply.PREPARE: MysqlSession._reply_prepare,
    Reply.AUTH: MysqlSession._reply_auth,
    Reply.STREAM: MysqlSession._reply_stream,
}
