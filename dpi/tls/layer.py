"""The TLS stream layer: encrypted flow in, plaintext chunks out (dpi/layers.py seam).

What it follows, per flow:
- TLS 1.2 (RFC 5246 7.3/7.4): ClientHello, ServerHello, the server's plaintext
  NewSessionTicket (RFC 5077), ChangeCipherSpec turning on each direction's keys (from
  the key log's master secret, RFC 5246 6.3; RFC 7627 changes nothing for us), the
  encrypted Finished, then application data. Abbreviated handshakes (session id or
  ticket resumption) use the key log line of the resumed connection, or else the master
  secret of the session seen earlier in the same scan (by session id or ticket).
- TLS 1.3 (RFC 8446 2, 4): ClientHello, HelloRetryRequest and the second ClientHello
  (4.1.4; the client random stays the same), ServerHello, then each direction under its
  handshake traffic secret until its Finished, then its application traffic secret;
  KeyUpdate (4.6.3) moves that direction to the next secret (7.2); 0-RTT early data
  (4.2.10) under CLIENT_EARLY_TRAFFIC_SECRET until EndOfEarlyData, or skipped when the
  server rejected it. Middlebox-compatibility ChangeCipherSpec records are ignored (D.4).
- A gap: that direction resyncs on the next record header and finds the record
  sequence number by trial decryption within a bound; else it stops.

Without keys the layer keeps reading record headers (bytes per direction) and the
plaintext handshake, so the coverage report says who talked TLS to whom and why it was
not decrypted (`reason`). The info never holds key material, randoms or session ids.

Not supported: SSL 3.0, TLS 1.0/1.1 decryption (reported `unsupported_version`), DTLS,
renegotiation (records after a second handshake are reported, not decrypted: the
new keys are not in the key log by client random), compression (RFC 3749), ECH
(the outer SNI is reported), TLS 1.3 without the handshake traffic secrets.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum

from dpi.layers import Chunk, LayerFactory, StreamLayer
from dpi.reassembly import Side
from dpi.tls import records as rec
from dpi.tls.ciphers import (
    SUITES,
    DecryptError,
    RecordCipher,
    Tls13Cipher,
    suite_name,
    tls12_ciphers,
)
from dpi.tls.keylog import CLIENT_RANDOM, KeyLog, KeyLogError
from dpi.tls.library import crypto_available, warn_no_crypto_library
from protocols.base import Probe

# Secrets types of pcapng Decryption Secrets Blocks we read (draft-ietf-opsawg-pcapng 4.7).
SECRETS_TYPE_TLS_KEYLOG = 0x544C534B  # "TLSK": NSS key log text
# TLS 1.2 sessions remembered per scan (session id or ticket -> master secret) for
# resumptions whose own key log line is missing: one busy service's session cache.
MAX_SESSIONS = 65_536
# Records of 0-RTT early data held until the ServerHello names their cipher suite:
# RFC 8446 4.2.10 bounds early data by the server's max_early_data_size (16 KiB is usual).
MAX_HELD_EARLY_BYTES = 64 * 1024
# Sequence numbers tried after a gap: a gap of n bytes hides at most n // 22 records
# (the smallest protected record is 5 + 1 + 16 bytes); bounded so a hostile capture
# cannot make us decrypt thousands of times per record.
MAX_RESYNC_TRIALS = 1024
_MIN_RECORD = 22
# Candidate record headers tried after a gap before the direction gives up.
MAX_RESYNC_CANDIDATES = 8

TLS12 = 0x0303
TLS13 = 0x0304


class Reason(StrEnum):
    """Why a TLS flow was not decrypted (the coverage report's `reason`)."""

    NO_KEY = "no_key"
    UNSUPPORTED_SUITE = "unsupported_suite"
    UNSUPPORTED_VERSION = "unsupported_version"
    MISSING_HANDSHAKE = "missing_handshake"
    RESUMED_WITHOUT_KEY = "resumed_without_key"
    DECRYPT_FAILED = "decrypt_failed"
    MALFORMED = "malformed_record"
    # A key was there, but the cryptography library (the `[tls]` extra) is not installed.
    NO_CRYPTO_LIBRARY = "cryptography_not_installed"


def _probe_side(data: bytes, hello_type: int) -> Probe:
    ok = rec.plausible_header(data)
    if ok is False:
        return Probe.NO
    if ok is None:
        return Probe.NEED_MORE
    ctype = data[0]
    if ctype == rec.HANDSHAKE:
        if len(data) < 6:
            return Probe.NEED_MORE
        return Probe.YES if data[5] == hello_type else Probe.NO
    if ctype == rec.APPLICATION_DATA and data[1:3] == b"\x03\x03":
        return Probe.YES  # joined mid-stream: reported as missing_handshake
    return Probe.NO


class TlsLayerFactory(LayerFactory):
    """Scan-wide TLS state: the key log (files and capture secrets) and the TLS 1.2
    session cache. Configured on every scan, with or without keys."""

    name = "tls"

    def __init__(self, keylog: KeyLog | None = None) -> None:
        self.keylog = keylog if keylog is not None else KeyLog()
        self._sessions: OrderedDict[bytes, bytes] = OrderedDict()

    def __repr__(self) -> str:
        return f"TlsLayerFactory({self.keylog!r}, sessions={len(self._sessions)})"

    def probe(self, client_data: bytes, server_data: bytes) -> Probe:
        # The client speaks first in TLS: its bytes decide when there are any.
        if client_data:
            return _probe_side(client_data, rec.HT_CLIENT_HELLO)
        if server_data:
            return _probe_side(server_data, rec.HT_SERVER_HELLO)
        return Probe.NEED_MORE

    def create(self) -> TlsLayer:
        return TlsLayer(self)

    def add_secrets(self, kind: int, data: bytes, source: str) -> list[str]:
        """Key log text from a pcapng Decryption Secrets Block, for the flows that
        follow. A bad block is a warning (the capture is scanned anyway)."""
        if kind != SECRETS_TYPE_TLS_KEYLOG:
            return []
        try:
            self.keylog.add_text(data, source)
        except KeyLogError as exc:
            return [f"{exc}; secrets block ignored"]
        return []

    def remember(self, key: bytes, master_secret: bytes) -> None:
        if not key:
            return
        self._sessions[key] = master_secret
        self._sessions.move_to_end(key)
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)

    def recall(self, key: bytes) -> bytes | None:
        return self._sessions.get(key) if key else None


@dataclass(slots=True, eq=False)
class _Direction:
    """One direction's framing and keys."""

    records: rec.RecordBuffer = field(default_factory=rec.RecordBuffer)
    handshake: rec.HandshakeBuffer = field(default_factory=rec.HandshakeBuffer)
    wire_bytes: int = 0
    encrypted: bool = False  # records from here on are protected
    cipher: RecordCipher | None = None  # what decrypts them (None: no key)
    pending: RecordCipher | None = None  # TLS 1.2: installed at ChangeCipherSpec
    app: RecordCipher | None = None  # TLS 1.3: installed after this side's Finished
    early: RecordCipher | None = None  # TLS 1.3 client: 0-RTT
    held: list[tuple[bytes, bytes]] = field(default_factory=list, repr=False)
    held_bytes: int = 0
    stopped: bool = False
    resync: bool = False
    lost: int = 0
    candidates: int = 0

    def __repr__(self) -> str:
        return f"_Direction(wire_bytes={self.wire_bytes}, encrypted={self.encrypted}, stopped={self.stopped})"


class TlsLayer(StreamLayer):
    """One TLS connection, both directions."""

    name = "tls"

    def __init__(self, factory: TlsLayerFactory) -> None:
        self._factory = factory
        self._keylog = factory.keylog
        self._dirs = {Side.CLIENT: _Direction(), Side.SERVER: _Direction()}
        self._client_hello: rec.ClientHello | None = None
        self._server_hello: rec.ServerHello | None = None
        self._version = 0
        self._suite = -1
        self._alpn = ""
        self._alpn_offered: list[str] = []
        self._sni = ""
        self._resumed = False
        self._hello_retry = False
        self._key_updates = 0
        self._why: Reason | None = None
        self._keys = False  # application keys installed for at least one direction
        self._failed = False
        self._master: bytes | None = None

    def __repr__(self) -> str:
        return (
            f"TlsLayer(version={self._version:#06x}, suite={self._suite:#06x}, "
            f"decrypting={self.decrypting})"
        )

    # -- the seam ------------------------------------------------------------------------

    @property
    def decrypting(self) -> bool:
        return self._keys and not self._failed

    def info(self) -> dict[str, object]:
        info: dict[str, object] = {
            "sni": self._sni,
            "alpn": self._alpn if self._alpn else list(self._alpn_offered),
            "version": rec.version_name(self._version) if self._version else "",
            "cipher": suite_name(self._suite) if self._suite >= 0 else "",
            "bytes_client": self._dirs[Side.CLIENT].wire_bytes,
            "bytes_server": self._dirs[Side.SERVER].wire_bytes,
            "decrypted": self.decrypting,
        }
        if not self.decrypting:
            info["reason"] = str(self._reason())
        info["resumed"] = self._resumed
        info["hello_retry"] = self._hello_retry
        info["key_updates"] = self._key_updates
        return info

    def feed(self, side: Side, data: bytes, ts_ns: int) -> list[Chunk]:
        d = self._dirs[side]
        d.wire_bytes += len(data)
        if d.stopped:
            return []
        out: list[tuple[Side, bytes]] = []
        records = d.records
        if d.resync:
            records.buffered.extend(data)
            if not records.resync():
                return []
            if d.cipher is None and d.early is None:
                d.resync = False  # observing only: a header is all it takes
            data = b""
        try:
            complete = records.feed(data)
        except rec.HandshakeError:
            self._stop(d, Reason.MALFORMED)
            complete = []
        for header, payload in complete:
            if d.stopped:
                break
            self._record(side, d, header, payload, out)
        return _chunks(out, ts_ns)

    def gap(self, side: Side, size: int) -> list[Chunk]:
        d = self._dirs[side]
        if d.stopped:
            return []
        d.records.clear()
        d.handshake.clear()
        d.resync = True
        d.lost += size
        d.candidates = 0
        return []

    # -- records -------------------------------------------------------------------------

    def _stop(self, d: _Direction, why: Reason) -> None:
        d.stopped = True
        d.records.clear()
        d.handshake.clear()
        if why in (Reason.DECRYPT_FAILED, Reason.MALFORMED) and self._keys:
            self._failed = True
        if self._why is None or why in (Reason.DECRYPT_FAILED, Reason.MALFORMED):
            self._why = why

    def _record(
        self, side: Side, d: _Direction, header: bytes, payload: bytes, out: list[tuple[Side, bytes]]
    ) -> None:
        ctype = header[0]
        if ctype == rec.CHANGE_CIPHER_SPEC:
            # TLS 1.2 and earlier: this side's next records use the new keys (RFC 5246
            # 7.1). TLS 1.3 and before any ServerHello: middlebox compatibility (D.4).
            if self._server_hello is not None and self._version != TLS13:
                d.encrypted = True
                d.cipher, d.pending = d.pending, None
            return
        if d.encrypted:
            if d.cipher is None and d.early is None:
                return  # no key for this direction: observe only
            try:
                ctype, plain = self._decrypt(d, header, payload)
            except DecryptError:
                if d.resync:
                    d.candidates += 1
                    if d.candidates < MAX_RESYNC_CANDIDATES:
                        return
                self._stop(d, Reason.DECRYPT_FAILED)
                return
        else:
            plain = payload
            if ctype == rec.APPLICATION_DATA:
                hello = self._client_hello
                if side is Side.CLIENT and hello is not None and hello.early_data:
                    self._hold_early(d, header, payload)  # 0-RTT: the suite comes later
                elif self._server_hello is None and self._why is None:
                    # Protected data before any handshake we saw: joined mid-connection.
                    self._why = Reason.MISSING_HANDSHAKE
                return
        if ctype == rec.HANDSHAKE:
            try:
                for msg_type, body in d.handshake.feed(plain):
                    self._handshake(side, d, msg_type, body, out)
            except rec.HandshakeError:
                self._stop(d, Reason.MALFORMED)
        elif ctype == rec.APPLICATION_DATA and plain:
            out.append((side, plain))

    def _decrypt(self, d: _Direction, header: bytes, payload: bytes) -> tuple[int, bytes]:
        if d.early is not None:
            try:
                return d.early.decrypt(header, payload)
            except DecryptError:
                # Early data is over without an EndOfEarlyData we could read.
                d.early = None
        cipher = d.cipher
        if cipher is None:
            raise DecryptError("no key for this record")
        if not d.resync:
            return cipher.decrypt(header, payload)
        # After a gap: find the sequence number of this record by trial (bounded).
        start = cipher.seq
        for seq in range(start, start + min(MAX_RESYNC_TRIALS, d.lost // _MIN_RECORD + 2)):
            cipher.seq = seq
            try:
                result = cipher.decrypt(header, payload)
            except DecryptError:
                continue
            d.resync = False
            d.lost = 0
            return result
        cipher.seq = start
        raise DecryptError("no sequence number fits after the gap")

    def _hold_early(self, d: _Direction, header: bytes, payload: bytes) -> None:
        if d.held_bytes + len(payload) <= MAX_HELD_EARLY_BYTES:
            d.held.append((header, payload))
            d.held_bytes += len(payload)

    # -- handshake -----------------------------------------------------------------------

    def _handshake(
        self, side: Side, d: _Direction, msg_type: int, body: bytes, out: list[tuple[Side, bytes]]
    ) -> None:
        tls13 = self._version == TLS13
        if side is Side.CLIENT:
            if msg_type == rec.HT_CLIENT_HELLO:
                self._on_client_hello(rec.parse_client_hello(body))
            elif msg_type == rec.HT_FINISHED and tls13:
                d.cipher = d.app
            elif msg_type == rec.HT_END_OF_EARLY_DATA:
                d.early = None
            elif msg_type == rec.HT_KEY_UPDATE and tls13:
                self._key_update(d)
            return
        if msg_type == rec.HT_SERVER_HELLO:
            self._on_server_hello(rec.parse_server_hello(body), out)
        elif msg_type == rec.HT_ENCRYPTED_EXTENSIONS:
            self._alpn = rec.parse_encrypted_extensions(body) or self._alpn
        elif msg_type == rec.HT_FINISHED and tls13:
            d.cipher = d.app
        elif msg_type == rec.HT_KEY_UPDATE and tls13:
            self._key_update(d)
        elif msg_type == rec.HT_NEW_SESSION_TICKET and self._version == TLS12 and self._master:
            self._factory.remember(b"t" + rec.parse_new_session_ticket12(body), self._master)

    def _key_update(self, d: _Direction) -> None:
        if isinstance(d.cipher, Tls13Cipher):
            d.cipher = d.cipher.updated()
            self._key_updates += 1

    def _on_client_hello(self, hello: rec.ClientHello) -> None:
        first = self._client_hello
        if first is not None and not self._hello_retry:
            return  # renegotiation: new keys not findable by the first random; keep it
        if first is not None:
            hello.random = first.random  # RFC 8446 4.1.2: unchanged after a retry
        self._client_hello = hello
        self._sni = hello.sni
        self._alpn_offered = hello.alpn

    def _on_server_hello(self, hello: rec.ServerHello, out: list[tuple[Side, bytes]]) -> None:
        if self._server_hello is not None:
            return  # renegotiation: reported, the first session's keys stay
        client = self._client_hello
        self._suite = hello.suite
        self._version = hello.version
        if hello.hrr:
            self._hello_retry = True
            return  # the server stays in plaintext; a second ClientHello follows
        self._server_hello = hello
        if hello.alpn:
            self._alpn = hello.alpn
        if client is None:
            self._why = Reason.MISSING_HANDSHAKE
            if hello.version == TLS13:
                self._dirs[Side.CLIENT].encrypted = self._dirs[Side.SERVER].encrypted = True
            return
        self._why = None  # the hello pair was seen: earlier guesses are void
        if hello.version == TLS13:
            self._install13(client, hello, out)
        elif hello.version == TLS12:
            self._install12(client, hello)
        else:
            self._why = Reason.UNSUPPORTED_VERSION

    def _install13(
        self, client: rec.ClientHello, hello: rec.ServerHello, out: list[tuple[Side, bytes]]
    ) -> None:
        c, s = self._dirs[Side.CLIENT], self._dirs[Side.SERVER]
        c.encrypted = s.encrypted = True
        self._resumed = client.psk and hello.psk
        if self._no_library(client):
            return
        held, c.held, c.held_bytes = c.held, [], 0
        suite = SUITES.get(hello.suite)
        if suite is None or not suite.tls13:
            self._why = Reason.UNSUPPORTED_SUITE
            return
        get = self._keylog.get
        cr = client.random
        hash_len = 48 if suite.hash == "sha384" else 32

        def cipher(label: str) -> Tls13Cipher | None:
            secret = get(label, cr)
            return Tls13Cipher(suite, secret) if secret is not None and len(secret) == hash_len else None

        # A direction's application keys are usable only if its handshake keys are: the
        # switch happens after its Finished, which is encrypted.
        s.cipher = cipher("SERVER_HANDSHAKE_TRAFFIC_SECRET")
        s.app = cipher("SERVER_TRAFFIC_SECRET_0") if s.cipher is not None else None
        c.cipher = cipher("CLIENT_HANDSHAKE_TRAFFIC_SECRET")
        c.app = cipher("CLIENT_TRAFFIC_SECRET_0") if c.cipher is not None else None
        self._keys = s.app is not None or c.app is not None
        if not self._keys:
            self._why = Reason.RESUMED_WITHOUT_KEY if self._resumed else Reason.NO_KEY
        if not held:
            return
        early = cipher("CLIENT_EARLY_TRAFFIC_SECRET")
        if early is None:
            return
        try:
            early.decrypt(*held[0])
        except DecryptError:
            return  # not early data under this suite (rejected): skipped, as the server did
        early.seq = 0
        c.early = early
        for header, payload in held:
            self._record(Side.CLIENT, c, header, payload, out)

    def _install12(self, client: rec.ClientHello, hello: rec.ServerHello) -> None:
        self._resumed = bool(client.session_id) and hello.session_id == client.session_id
        if self._no_library(client):
            return
        suite = SUITES.get(hello.suite)
        if suite is None or suite.tls13:
            self._why = Reason.UNSUPPORTED_SUITE
            return
        factory = self._factory
        master = self._keylog.get(CLIENT_RANDOM, client.random)
        if master is None and self._resumed:
            master = factory.recall(b"s" + hello.session_id)
            if master is None and client.ticket:
                master = factory.recall(b"t" + client.ticket)
        if master is None:
            self._why = Reason.RESUMED_WITHOUT_KEY if self._resumed else Reason.NO_KEY
            return
        self._master = master
        if hello.session_id:
            factory.remember(b"s" + hello.session_id, master)
        etm = suite.kind == "cbc" and client.encrypt_then_mac and hello.encrypt_then_mac
        c_cipher, s_cipher = tls12_ciphers(suite, master, client.random, hello.random, etm)
        self._dirs[Side.CLIENT].pending = c_cipher
        self._dirs[Side.SERVER].pending = s_cipher
        self._keys = True

    def _no_library(self, client: rec.ClientHello) -> bool:
        """Whether this flow has a key but cannot be decrypted for want of cryptography
        (an optional extra): then the reason says so, and the scan warns once."""
        if not self._keylog.has_random(client.random) or crypto_available():
            return False
        self._why = Reason.NO_CRYPTO_LIBRARY
        warn_no_crypto_library()
        return True

    def _reason(self) -> Reason:
        if self._why is not None:
            return self._why
        if self._client_hello is None or self._server_hello is None:
            return Reason.MISSING_HANDSHAKE
        return Reason.NO_KEY


def _chunks(out: list[tuple[Side, bytes]], ts_ns: int) -> list[Chunk]:
    """Consecutive plaintext of one side as one chunk (fewer, larger dissector feeds)."""
    chunks: list[Chunk] = []
    i = 0
    while i < len(out):
        side = out[i][0]
        j = i
        while j < len(out) and out[j][0] is side:
            j += 1
        data = out[i][1] if j == i + 1 else b"".join(p for _, p in out[i:j])
        chunks.append((side, data, ts_ns))
        i = j
    return chunks
