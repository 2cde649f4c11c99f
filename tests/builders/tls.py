"""Byte factories for TLS conversations (RFC 8446, RFC 5246): hello messages with the
extensions dpi reads, and protected records made with `cryptography` under secrets the
test chooses, plus the NSS key log lines that unlock them.

The handshake messages that carry no information for a passive reader (certificates,
key shares, Finished verify data) are filler of the right type: dpi never checks them.
`Tls13Session` / `Tls12Session` return, per call, the bytes one side sends, so a test
composes the dialogue with `tests.builders.conversation.Conversation`.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from dpi.tls.ciphers import SUITES, Suite
from dpi.tls.schedule import key_block12, next_secret13, traffic_keys13

HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()


def record(ctype: int, body: bytes, version: int = 0x0303) -> bytes:
    return struct.pack(">BHH", ctype, version, len(body)) + body


def handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def _vec(size_len: int, data: bytes) -> bytes:
    return len(data).to_bytes(size_len, "big") + data


def ext(ext_type: int, data: bytes) -> bytes:
    return struct.pack(">H", ext_type) + _vec(2, data)


def alpn_ext(ids: list[str]) -> bytes:
    return ext(16, _vec(2, b"".join(_vec(1, i.encode()) for i in ids)))


def sni_ext(name: str) -> bytes:
    return ext(0, _vec(2, b"\x00" + _vec(2, name.encode())))


def client_hello(
    random: bytes,
    *,
    suites: list[int],
    sni: str = "api.shop.example",
    alpn: list[str] | None = None,
    tls13: bool = True,
    session_id: bytes = b"",
    ticket: bytes | None = None,
    psk: bool = False,
    early_data: bool = False,
    encrypt_then_mac: bool = False,
) -> bytes:
    exts = sni_ext(sni) if sni else b""
    if alpn:
        exts += alpn_ext(alpn)
    if tls13:
        exts += ext(43, _vec(1, b"\x03\x04\x03\x03"))
        exts += ext(51, _vec(2, struct.pack(">H", 29) + _vec(2, os.urandom(32))))
    if ticket is not None:
        exts += ext(35, ticket)
    if encrypt_then_mac:
        exts += ext(22, b"")
    if early_data:
        exts += ext(42, b"")
    if psk:  # must be last (RFC 8446 4.2.11); identities and binders are filler
        exts += ext(41, _vec(2, _vec(2, b"id") + b"\0\0\0\0") + _vec(2, _vec(1, bytes(32))))
    body = (
        b"\x03\x03" + random + _vec(1, session_id)
        + _vec(2, b"".join(struct.pack(">H", s) for s in suites)) + b"\x01\x00" + _vec(2, exts)
    )  # fmt: skip
    return handshake(1, body)


def server_hello(
    random: bytes,
    *,
    suite: int,
    tls13: bool = True,
    session_id: bytes = b"",
    alpn: str = "",
    psk: bool = False,
    encrypt_then_mac: bool = False,
) -> bytes:
    exts = b""
    if tls13:
        exts += ext(43, b"\x03\x04")
        if random != HRR_RANDOM:
            exts += ext(51, struct.pack(">H", 29) + _vec(2, os.urandom(32)))
        else:
            exts += ext(51, struct.pack(">H", 23))
        if psk:
            exts += ext(41, b"\x00\x00")
    if alpn:
        exts += alpn_ext([alpn])
    if encrypt_then_mac:
        exts += ext(22, b"")
    body = b"\x03\x03" + random + _vec(1, session_id) + struct.pack(">HB", suite, 0) + _vec(2, exts)
    return handshake(2, body)


def keylog_line(label: str, client_random: bytes, secret: bytes) -> str:
    return f"{label} {client_random.hex()} {secret.hex()}\n"


class Tls13Writer:
    """Protects records of one direction under one traffic secret (RFC 8446 5.2)."""

    def __init__(self, suite: Suite, secret: bytes) -> None:
        self.suite = suite
        self.secret = secret
        key, iv = traffic_keys13(secret, suite.key_len, suite.hash)
        self.aead = _aead(suite, key)
        self.iv = int.from_bytes(iv, "big")
        self.seq = 0

    def protect(self, inner_type: int, data: bytes, pad: int = 0) -> bytes:
        inner = data + bytes([inner_type]) + bytes(pad)
        tag = 8 if self.suite.kind == "ccm8" else 16
        header = struct.pack(">BHH", 23, 0x0303, len(inner) + tag)
        nonce = (self.iv ^ self.seq).to_bytes(12, "big")
        self.seq += 1
        return header + self.aead.encrypt(nonce, inner, header)

    def update(self) -> None:
        self.__init__(self.suite, next_secret13(self.secret, self.suite.hash))  # type: ignore[misc]


def _aead(suite: Suite, key: bytes) -> AESGCM | ChaCha20Poly1305 | AESCCM:
    if suite.kind == "gcm":
        return AESGCM(key)
    if suite.kind == "chacha":
        return ChaCha20Poly1305(key)
    return AESCCM(key, tag_length=8 if suite.kind == "ccm8" else 16)


@dataclass
class Tls13Session:
    """A TLS 1.3 connection: each method returns the bytes one side sends."""

    suite_code: int = 0x1301
    alpn: str = ""
    offered: list[str] = field(default_factory=list)
    sni: str = "api.shop.example"
    client_random: bytes = field(default_factory=lambda: os.urandom(32))
    psk: bool = False
    early_data: bool = False

    def __post_init__(self) -> None:
        self.suite = SUITES[self.suite_code]
        n = 48 if self.suite.hash == "sha384" else 32
        self.secrets = {
            label: os.urandom(n)
            for label in (
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET",
                "CLIENT_EARLY_TRAFFIC_SECRET",
            )
        }  # fmt: skip
        s = self.secrets
        self.c_hs = Tls13Writer(self.suite, s["CLIENT_HANDSHAKE_TRAFFIC_SECRET"])
        self.s_hs = Tls13Writer(self.suite, s["SERVER_HANDSHAKE_TRAFFIC_SECRET"])
        self.c_app = Tls13Writer(self.suite, s["CLIENT_TRAFFIC_SECRET_0"])
        self.s_app = Tls13Writer(self.suite, s["SERVER_TRAFFIC_SECRET_0"])
        self.c_early = Tls13Writer(self.suite, s["CLIENT_EARLY_TRAFFIC_SECRET"])

    def keylog(self, labels: tuple[str, ...] | None = None) -> str:
        return "".join(
            keylog_line(label, self.client_random, secret)
            for label, secret in self.secrets.items()
            if labels is None or label in labels
        )

    def client_hello(self) -> bytes:
        offered = self.offered or ([self.alpn] if self.alpn else [])
        return record(22, client_hello(
            self.client_random, suites=[0x1301, 0x1302, 0x1303, 0x1304, 0x1305], sni=self.sni,
            alpn=offered, psk=self.psk, early_data=self.early_data,
        ), version=0x0301)  # fmt: skip

    def hello_retry(self) -> bytes:
        return record(22, server_hello(HRR_RANDOM, suite=self.suite_code))

    def server_flight(self) -> bytes:
        """ServerHello, compatibility CCS, then EE/Certificate/CV/Finished protected."""
        sh = record(22, server_hello(os.urandom(32), suite=self.suite_code, psk=self.psk))
        ee_exts = alpn_ext([self.alpn]) if self.alpn else b""
        if self.early_data:
            ee_exts += ext(42, b"")
        msgs = handshake(8, _vec(2, ee_exts))
        if not self.psk:
            msgs += handshake(11, b"\x00" + _vec(3, _vec(3, os.urandom(600)) + b"\x00\x00"))
            msgs += handshake(15, b"\x08\x04" + _vec(2, os.urandom(256)))
        msgs += handshake(20, os.urandom(len(self.secrets["SERVER_TRAFFIC_SECRET_0"])))
        return sh + record(20, b"\x01") + self.s_hs.protect(22, msgs)

    def client_finished(self, end_of_early_data: bool = False) -> bytes:
        out = b""
        if end_of_early_data:
            out += self.c_early.protect(22, handshake(5, b""))
        return out + record(20, b"\x01") + self.c_hs.protect(22, handshake(20, os.urandom(32)))

    def early(self, data: bytes) -> bytes:
        return self.c_early.protect(23, data)

    def client_data(self, data: bytes, size: int = 16384) -> bytes:
        return b"".join(self.c_app.protect(23, data[i : i + size]) for i in range(0, len(data), size))

    def server_data(self, data: bytes, size: int = 16384) -> bytes:
        out = b"".join(self.s_app.protect(23, data[i : i + size]) for i in range(0, len(data), size))
        return out

    def new_session_ticket(self) -> bytes:
        body = struct.pack(">II", 7200, 1) + _vec(1, b"\x00") + _vec(2, os.urandom(64)) + _vec(2, b"")
        return self.s_app.protect(22, handshake(4, body))

    def client_key_update(self, request: bool = False) -> bytes:
        out = self.c_app.protect(22, handshake(24, bytes([int(request)])))
        self.c_app.update()
        return out

    def server_key_update(self) -> bytes:
        out = self.s_app.protect(22, handshake(24, b"\x00"))
        self.s_app.update()
        return out


class Tls12Writer:
    """Protects TLS 1.2 records of one direction (RFC 5246 6.2.3, 5288, 7905, 7366)."""

    def __init__(self, suite: Suite, key: bytes, iv: bytes, mac_key: bytes, etm: bool) -> None:
        self.suite, self.key, self.iv, self.mac_key, self.etm = suite, key, iv, mac_key, etm
        self.aead = None if suite.kind == "cbc" else _aead(suite, key)
        self.seq = 0

    def _mac(self, ctype: int, data: bytes) -> bytes:
        algo = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384}[self.suite.mac]()
        h = hmac.HMAC(self.mac_key, algo)
        h.update(struct.pack(">QBHH", self.seq, ctype, 0x0303, len(data)) + data)
        return h.finalize()

    def protect(self, ctype: int, data: bytes) -> bytes:
        seq = self.seq
        if self.aead is not None:
            tag = 8 if self.suite.kind == "ccm8" else 16
            aad = struct.pack(">QBHH", seq, ctype, 0x0303, len(data))
            if self.suite.kind == "chacha":
                nonce = (int.from_bytes(self.iv, "big") ^ seq).to_bytes(12, "big")
                body = self.aead.encrypt(nonce, data, aad)
            else:
                explicit = struct.pack(">Q", seq ^ 0x5A5A)
                body = explicit + self.aead.encrypt(self.iv + explicit, data, aad)
            assert len(body) >= tag
        else:
            iv = os.urandom(16)
            if self.etm:
                padded = _pad(data)
                enc = Cipher(algorithms.AES(self.key), modes.CBC(iv)).encryptor()
                ct = iv + enc.update(padded) + enc.finalize()
                body = ct + self._mac(ctype, ct)
            else:
                padded = _pad(data + self._mac(ctype, data))
                enc = Cipher(algorithms.AES(self.key), modes.CBC(iv)).encryptor()
                body = iv + enc.update(padded) + enc.finalize()
        self.seq += 1
        return record(ctype, body)


def _pad(data: bytes) -> bytes:
    n = 16 - (len(data) + 1) % 16
    return data + bytes([n]) * (n + 1)


@dataclass
class Tls12Session:
    """A TLS 1.2 connection (full or abbreviated handshake)."""

    suite_code: int = 0xC02F
    alpn: str = ""
    sni: str = "api.shop.example"
    encrypt_then_mac: bool = False
    session_id: bytes = b""
    resume: bool = False
    ticket: bytes | None = None
    client_random: bytes = field(default_factory=lambda: os.urandom(32))
    server_random: bytes = field(default_factory=lambda: os.urandom(32))
    master_secret: bytes = field(default_factory=lambda: os.urandom(48))

    def __post_init__(self) -> None:
        suite = self.suite = SUITES[self.suite_code]
        mac, key, iv = suite.mac_len, suite.key_len, suite.fixed_iv_len
        block = key_block12(self.master_secret, self.client_random, self.server_random,
                            2 * (mac + key + iv), suite.hash)  # fmt: skip
        parts, pos = [], 0
        for size in (mac, mac, key, key, iv, iv):
            parts.append(block[pos : pos + size])
            pos += size
        c_mac, s_mac, c_key, s_key, c_iv, s_iv = parts
        etm = self.encrypt_then_mac and suite.kind == "cbc"
        self.client = Tls12Writer(suite, c_key, c_iv, c_mac, etm)
        self.server = Tls12Writer(suite, s_key, s_iv, s_mac, etm)

    def keylog(self) -> str:
        return keylog_line("CLIENT_RANDOM", self.client_random, self.master_secret)

    def client_hello(self) -> bytes:
        return record(22, client_hello(
            self.client_random, suites=[self.suite_code, 0xC02F, 0x009C], sni=self.sni,
            alpn=[self.alpn, "http/1.1"] if self.alpn else None, tls13=False,
            session_id=self.session_id, ticket=self.ticket,
            encrypt_then_mac=self.encrypt_then_mac,
        ), version=0x0301)  # fmt: skip

    def server_flight(self, new_ticket: bytes | None = None) -> bytes:
        sh = server_hello(self.server_random, suite=self.suite_code, tls13=False,
                          session_id=self.session_id, alpn=self.alpn,
                          encrypt_then_mac=self.encrypt_then_mac)  # fmt: skip
        if self.resume:
            msgs = sh
            if new_ticket is not None:
                msgs += handshake(4, struct.pack(">I", 300) + _vec(2, new_ticket))
            return record(22, msgs) + record(20, b"\x01") + self.server.protect(22, handshake(20, os.urandom(12)))
        msgs = sh + handshake(11, _vec(3, _vec(3, os.urandom(700)))) + handshake(12, os.urandom(300))
        msgs += handshake(14, b"")
        return record(22, msgs)

    def client_finished(self) -> bytes:
        out = b""
        if not self.resume:
            out += record(22, handshake(16, _vec(1, os.urandom(65))))
        return out + record(20, b"\x01") + self.client.protect(22, handshake(20, os.urandom(12)))

    def server_finished(self, new_ticket: bytes | None = None) -> bytes:
        out = b""
        if new_ticket is not None:
            out += record(22, handshake(4, struct.pack(">I", 300) + _vec(2, new_ticket)))
        return out + record(20, b"\x01") + self.server.protect(22, handshake(20, os.urandom(12)))

    def client_data(self, data: bytes, size: int = 16384) -> bytes:
        return b"".join(self.client.protect(23, data[i : i + size]) for i in range(0, len(data), size))

    def server_data(self, data: bytes, size: int = 16384) -> bytes:
        return b"".join(self.server.protect(23, data[i : i + size]) for i in range(0, len(data), size))
