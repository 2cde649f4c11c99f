"""TLS records and handshake messages: framing and the hello messages.

- Records: RFC 5246 6.2.1 / RFC 8446 5.1 (type, legacy version, length); a record may be
  split across TCP segments and a segment may carry many records (`RecordBuffer`).
- Handshake messages: RFC 8446 4 / RFC 5246 7.4 (type, 24-bit length); a message may span
  records and a record may carry many messages (`HandshakeBuffer`).
- ClientHello (RFC 8446 4.1.2), ServerHello and HelloRetryRequest (4.1.3/4.1.4, the
  special random of 4.1.3), EncryptedExtensions (4.3.1), TLS 1.2 NewSessionTicket
  (RFC 5077 3.3). Extensions read: server_name (RFC 6066 3), ALPN (RFC 7301 3.1),
  supported_versions (RFC 8446 4.2.1), pre_shared_key (4.2.11), early_data (4.2.10),
  session_ticket (RFC 5077), encrypt_then_mac (RFC 7366), extended_master_secret
  (RFC 7627). Everything else is skipped by its length.

Not supported: SSLv2-compatible ClientHellos (RFC 5246 E.2), DTLS. `HandshakeError` says
which message and field is broken, never with bytes.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23
HEARTBEAT = 24
CONTENT_TYPES = frozenset({CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA, HEARTBEAT})

HT_CLIENT_HELLO = 1
HT_SERVER_HELLO = 2
HT_NEW_SESSION_TICKET = 4
HT_END_OF_EARLY_DATA = 5
HT_ENCRYPTED_EXTENSIONS = 8
HT_FINISHED = 20
HT_KEY_UPDATE = 24

HEADER_LEN = 5
# RFC 5246 6.2.3: TLSCiphertext.length <= 2^14 + 2048 (RFC 8446 5.2 allows 2^14 + 256).
MAX_RECORD = 2**14 + 2048
# One handshake message: certificate chains are the largest, rarely above 20 KiB; 256 KiB
# leaves room for odd chains while a hostile length cannot make us buffer megabytes.
MAX_HANDSHAKE_MESSAGE = 256 * 1024
# Extensions echoed in reports: a server name and ALPN ids are short by their RFCs.
MAX_NAME = 255
MAX_ALPN_IDS = 16

HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()  # RFC 8446 4.1.3

EXT_SERVER_NAME = 0
EXT_ALPN = 16
EXT_ENCRYPT_THEN_MAC = 22
EXT_EXTENDED_MASTER_SECRET = 23
EXT_SESSION_TICKET = 35
EXT_PRE_SHARED_KEY = 41
EXT_EARLY_DATA = 42
EXT_SUPPORTED_VERSIONS = 43

VERSION_NAMES = {0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}


class HandshakeError(Exception):
    """A handshake message that does not parse (which message, which field)."""


def version_name(version: int) -> str:
    name = VERSION_NAMES.get(version)
    if name is not None:
        return name
    if version & 0xFF00 == 0x7F00 or version == 0xFB1A:  # TLS 1.3 drafts
        return "TLS 1.3"
    return f"0x{version:04X}"


def plausible_header(data: bytes | bytearray, pos: int = 0) -> bool | None:
    """Is there a record header at `pos`? None when fewer than 5 bytes are there but
    those agree with one."""
    n = len(data) - pos
    if n <= 0:
        return None
    if data[pos] not in CONTENT_TYPES:
        return False
    if n >= 2 and data[pos + 1] != 3:
        return False
    if n >= 3 and data[pos + 2] > 4:
        return False
    if n < HEADER_LEN:
        return None
    return (data[pos + 3] << 8 | data[pos + 4]) <= MAX_RECORD


class RecordBuffer:
    """Bytes of one direction -> complete records (header, payload)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def __repr__(self) -> str:
        return f"RecordBuffer(buffered={len(self._buf)})"

    def clear(self) -> None:
        self._buf.clear()

    @property
    def buffered(self) -> bytearray:
        return self._buf

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        """Raises `HandshakeError` on a header that is not TLS."""
        buf = self._buf
        buf += data
        out: list[tuple[bytes, bytes]] = []
        pos = 0
        end = len(buf)
        while end - pos >= HEADER_LEN:
            ok = plausible_header(buf, pos)
            if not ok:
                del buf[:pos]
                raise HandshakeError(f"invalid record header after {len(out)} records")
            length = buf[pos + 3] << 8 | buf[pos + 4]
            stop = pos + HEADER_LEN + length
            if stop > end:
                break
            out.append((bytes(buf[pos : pos + HEADER_LEN]), bytes(buf[pos + HEADER_LEN : stop])))
            pos = stop
        if pos:
            del buf[:pos]
        return out

    def resync(self) -> bool:
        """After a gap: drop bytes up to the next plausible application-data record header
        that is followed by another header or ends the buffer. False when none yet."""
        buf = self._buf
        pos = 0
        while True:
            pos = buf.find(b"\x17\x03\x03", pos)
            if pos < 0 or len(buf) - pos < HEADER_LEN:
                keep = max(0, len(buf) - HEADER_LEN)
                del buf[:keep]
                return False
            length = buf[pos + 3] << 8 | buf[pos + 4]
            nxt = pos + HEADER_LEN + length
            if length <= MAX_RECORD and (nxt >= len(buf) or plausible_header(buf, nxt) is not False):
                del buf[:pos]
                return True
            pos += 1


class HandshakeBuffer:
    """Handshake bytes of one direction (one epoch) -> complete messages (type, body)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def __repr__(self) -> str:
        return f"HandshakeBuffer(buffered={len(self._buf)})"

    def clear(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self._buf
        buf += data
        out: list[tuple[int, bytes]] = []
        pos = 0
        while len(buf) - pos >= 4:
            length = int.from_bytes(buf[pos + 1 : pos + 4], "big")
            if length > MAX_HANDSHAKE_MESSAGE:
                buf.clear()
                raise HandshakeError(f"handshake message of {length} bytes exceeds {MAX_HANDSHAKE_MESSAGE}")
            if len(buf) - pos - 4 < length:
                break
            out.append((buf[pos], bytes(buf[pos + 4 : pos + 4 + length])))
            pos += 4 + length
        if pos:
            del buf[:pos]
        return out


class _Reader:
    """Bounds-checked reads of one message; errors name the message and field."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def take(self, n: int, field_name: str) -> bytes:
        if self.pos + n > len(self.data):
            raise HandshakeError(f"{self.what}: {field_name} runs past the message")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self, field_name: str) -> int:
        return self.take(1, field_name)[0]

    def u16(self, field_name: str) -> int:
        value: int = struct.unpack(">H", self.take(2, field_name))[0]
        return value

    def vec(self, size_len: int, field_name: str) -> bytes:
        n = int.from_bytes(self.take(size_len, field_name), "big")
        return self.take(n, field_name)

    def remaining(self) -> int:
        return len(self.data) - self.pos


def _extensions(r: _Reader) -> list[tuple[int, bytes]]:
    if r.remaining() == 0:
        return []
    block = _Reader(r.vec(2, "extensions"), r.what)
    out: list[tuple[int, bytes]] = []
    while block.remaining():
        ext_type = block.u16("extension type")
        out.append((ext_type, block.vec(2, f"extension {ext_type}")))
    return out


def _text(raw: bytes) -> str:
    """A name from the handshake, printable ASCII only (it ends up in reports)."""
    text = raw[:MAX_NAME].decode("ascii", "replace")
    return "".join(c if c.isprintable() and c.isascii() else "?" for c in text)


def parse_alpn(data: bytes, what: str) -> list[str]:
    r = _Reader(data, what)
    ids = _Reader(r.vec(2, "ALPN list"), what)
    out: list[str] = []
    while ids.remaining() and len(out) < MAX_ALPN_IDS:
        out.append(_text(ids.vec(1, "ALPN id")))
    return out


def _server_name(data: bytes, what: str) -> str:
    r = _Reader(data, what)
    names = _Reader(r.vec(2, "server name list"), what)
    while names.remaining():
        kind = names.u8("server name type")
        name = names.vec(2, "server name")
        if kind == 0:  # host_name
            return _text(name)
    return ""


@dataclass(slots=True, kw_only=True)
class ClientHello:
    random: bytes = field(repr=False)
    session_id: bytes = field(repr=False)
    suites: list[int]
    sni: str = ""
    alpn: list[str] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    ticket: bytes = field(default=b"", repr=False)
    psk: bool = False
    early_data: bool = False
    encrypt_then_mac: bool = False
    legacy_version: int = 0x0303


@dataclass(slots=True, kw_only=True)
class ServerHello:
    random: bytes = field(repr=False)
    session_id: bytes = field(repr=False)
    suite: int
    version: int
    alpn: str = ""
    psk: bool = False
    encrypt_then_mac: bool = False
    hrr: bool = False


def parse_client_hello(body: bytes) -> ClientHello:
    what = "ClientHello"
    r = _Reader(body, what)
    legacy = r.u16("legacy_version")
    random = r.take(32, "random")
    session_id = r.vec(1, "legacy_session_id")
    raw_suites = r.vec(2, "cipher_suites")
    suites = [int.from_bytes(raw_suites[i : i + 2], "big") for i in range(0, len(raw_suites) - 1, 2)]
    r.vec(1, "legacy_compression_methods")
    hello = ClientHello(random=random, session_id=session_id, suites=suites, legacy_version=legacy)
    for ext_type, data in _extensions(r):
        if ext_type == EXT_SERVER_NAME:
            hello.sni = _server_name(data, what)
        elif ext_type == EXT_ALPN:
            hello.alpn = parse_alpn(data, what)
        elif ext_type == EXT_SUPPORTED_VERSIONS:
            versions = _Reader(data, what).vec(1, "supported_versions")
            hello.versions = [int.from_bytes(versions[i : i + 2], "big") for i in range(0, len(versions) - 1, 2)]
        elif ext_type == EXT_SESSION_TICKET:
            hello.ticket = data
        elif ext_type == EXT_PRE_SHARED_KEY:
            hello.psk = True
        elif ext_type == EXT_EARLY_DATA:
            hello.early_data = True
        elif ext_type == EXT_ENCRYPT_THEN_MAC:
            hello.encrypt_then_mac = True
    return hello


def parse_server_hello(body: bytes) -> ServerHello:
    what = "ServerHello"
    r = _Reader(body, what)
    legacy = r.u16("legacy_version")
    random = r.take(32, "random")
    session_id = r.vec(1, "legacy_session_id_echo")
    suite = r.u16("cipher_suite")
    r.u8("legacy_compression_method")
    hello = ServerHello(
        random=random, session_id=session_id, suite=suite, version=legacy, hrr=random == HRR_RANDOM
    )
    for ext_type, data in _extensions(r):
        if ext_type == EXT_SUPPORTED_VERSIONS and len(data) >= 2:
            hello.version = int.from_bytes(data[:2], "big")
        elif ext_type == EXT_ALPN:
            ids = parse_alpn(data, what)
            hello.alpn = ids[0] if ids else ""
        elif ext_type == EXT_PRE_SHARED_KEY:
            hello.psk = True
        elif ext_type == EXT_ENCRYPT_THEN_MAC:
            hello.encrypt_then_mac = True
    return hello


def parse_encrypted_extensions(body: bytes) -> str:
    """RFC 8446 4.3.1: the negotiated ALPN protocol, or ''."""
    r = _Reader(body, "EncryptedExtensions")
    for ext_type, data in _extensions(r):
        if ext_type == EXT_ALPN:
            ids = parse_alpn(data, "EncryptedExtensions")
            return ids[0] if ids else ""
    return ""


def parse_new_session_ticket12(body: bytes) -> bytes:
    """RFC 5077 3.3: lifetime hint (4 bytes) + ticket<0..2^16-1>."""
    r = _Reader(body, "NewSessionTicket")
    r.take(4, "ticket_lifetime_hint")
    return r.vec(2, "ticket")
