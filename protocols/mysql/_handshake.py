"""The connection phase (PAGE_PROTOCOL_CONNECTION_PHASE): the server greeting, the login
(HandshakeResponse41; an SSLRequest hands the connection to TLS), the authentication
exchange (AuthSwitchRequest, AuthMoreData) and COM_CHANGE_USER. The user, and the password
when it travels in clear (mysql_clear_password), become `auth` parts."""

from __future__ import annotations

from protocols.base import (
    Anomaly,
    Direction,
    Event,
    Handoff,
    Location,
    Part,
    Probe,
    ProtocolError,
)
from protocols.mysql import _packets as wire
from protocols.mysql._connection import CAPS_MIDSTREAM, Command, Packet, Side
from protocols.mysql._packets import Cap, PacketError
from protocols.mysql._phases import COM_CHANGE_USER, RS, Step, Sync
from protocols.mysql._prepared import PreparedStatements

# A greeting is about a hundred bytes; a larger first packet is not a greeting.
MAX_GREETING = 1024




class Handshake(PreparedStatements):
    """Greeting, login, authentication exchange and COM_CHANGE_USER."""

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

    def _start_response(self, side: Side, events: list[Event]) -> bool:
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
            self._move(Step.GREETING)
            return True
        self._move(Step.MIDSTREAM)
        self._caps = CAPS_MIDSTREAM
        self._note_midstream(events, Direction.RESPONSE)
        self._lose(side)
        # The client's first bytes may be mid-packet too.
        self._sides[Direction.REQUEST].sync = Sync.HUNTING
        return False

    def _on_login(self, packet: Packet, ts_ns: int, events: list[Event]) -> None:
        try:
            login = wire.parse_login(packet.payload)
        except PacketError as exc:
            raise ProtocolError(f"handshake response: {exc}") from None
        if login.ssl_request:
            self._move(Step.SSL_REQUEST)
            events.append(Anomaly(kind="tls", direction=Direction.REQUEST))
            leftover = {
                d: bytes(s.raw) for d, s in self._sides.items() if s.raw
            }
            for side in self._sides.values():
                # What follows is TLS: the engine puts its TLS layer under this
                # dissector (decrypting when the key log has the session) and feeds
                # us the plaintext, which starts at a packet boundary.
                self._lose(side)
                side.sync = Sync.IN_SYNC
            events.append(Handoff(protocol="tls", leftover=leftover, ts_ns=ts_ns))
            return
        self._move(Step.LOGIN)
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

    def _on_auth_data(self, packet: Packet, ts_ns: int, events: list[Event]) -> None:
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

    def _req_change_user(
        self, command: Command, payload: bytes, ts_ns: int, events: list[Event]
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

    def _on_auth_reply(self, packet: Packet, events: list[Event]) -> None:
        payload = packet.payload
        head = payload[:1]
        if head == b"\x00":
            self._move(Step.AUTH_OK)
            self._caps_after_auth()
            if self._pending and self._pending[0].code == COM_CHANGE_USER:
                command = self._pending.popleft()
                if command.schema:
                    self._schema = command.schema
        elif head == b"\xff":
            self._move(Step.AUTH_ERROR)
            self._drop_replies(events)
        elif head == b"\xfe":
            # AuthSwitchRequest: the plugin the client must answer with.
            try:
                plugin, _ = wire.nul_bytes(payload, 1)
                self._auth_plugin = wire.text(plugin)
            except PacketError:
                self._auth_plugin = ""

    def _reply_auth(self, command: Command, payload: bytes, ts_ns: int, events: list[Event]) -> None:
        # COM_CHANGE_USER answered directly (no AuthSwitch): handled as in the login.
        self._on_auth_reply(Packet(seq=0, payload=payload, truncated=False), events)
        self._rs_state = RS.DONE
