"""Cipher suites and record decryption, with `cryptography`'s AEAD and AES objects.

- TLS 1.3, RFC 8446 5.2-5.4 and B.4: the five suites (AES-128/256-GCM, ChaCha20-Poly1305,
  AES-128-CCM, AES-128-CCM-8). Nonce = write_iv XOR the 64-bit record sequence number,
  additional data = the record header; the inner plaintext ends with the real content
  type followed by zero padding.
- TLS 1.2 AEAD: AES-GCM (RFC 5288: 4-byte implicit salt + 8-byte explicit nonce in the
  record), AES-CCM and CCM_8 (RFC 6655/7251, same nonce layout), ChaCha20-Poly1305
  (RFC 7905: 12-byte IV XOR sequence number, no explicit nonce). Additional data =
  seq_num + type + version + plaintext length (RFC 5246 6.2.3.3).
- TLS 1.2 CBC with HMAC (RFC 5246 6.2.3.2: explicit IV, MAC-then-encrypt) and
  encrypt-then-MAC (RFC 7366) with HMAC-SHA1/SHA256/SHA384.

One AEAD object per direction and key, created when the key is installed; a CBC record
needs its own decryptor (its IV is in the record). Not supported: NULL, RC4, 3DES,
CAMELLIA, ARIA, GOST and export suites; TLS 1.0/1.1 (implicit CBC IV). Errors say what
failed, never with bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    # cryptography (~20 MB, tens of ms) is imported where a key is installed or a record
    # decrypted, below: every scan builds the TLS layer, few scans have keys.
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

    _AeadObject = AESGCM | ChaCha20Poly1305 | AESCCM

Kind = Literal["gcm", "chacha", "ccm", "ccm8", "cbc"]


class DecryptError(Exception):
    """A record that does not authenticate or decode with the installed keys."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Suite:
    code: int
    name: str  # IANA name
    kind: Kind
    key_len: int
    hash: str  # TLS 1.2 PRF hash / TLS 1.3 HKDF hash: "sha256" or "sha384"
    mac: str = ""  # CBC only: HMAC hash ("sha1", "sha256", "sha384")
    tls13: bool = False

    @property
    def mac_len(self) -> int:
        return {"": 0, "sha1": 20, "sha256": 32, "sha384": 48}[self.mac]

    @property
    def fixed_iv_len(self) -> int:
        """TLS 1.2 key block IV length (RFC 5288 3, RFC 7905 2, RFC 5246 6.3)."""
        return {"gcm": 4, "ccm": 4, "ccm8": 4, "chacha": 12, "cbc": 16}[self.kind]


def _suites() -> dict[int, Suite]:
    table: list[Suite] = [
        # TLS 1.3, RFC 8446 B.4
        Suite(code=0x1301, name="TLS_AES_128_GCM_SHA256", kind="gcm", key_len=16, hash="sha256", tls13=True),
        Suite(code=0x1302, name="TLS_AES_256_GCM_SHA384", kind="gcm", key_len=32, hash="sha384", tls13=True),
        Suite(code=0x1303, name="TLS_CHACHA20_POLY1305_SHA256", kind="chacha", key_len=32, hash="sha256", tls13=True),
        Suite(code=0x1304, name="TLS_AES_128_CCM_SHA256", kind="ccm", key_len=16, hash="sha256", tls13=True),
        Suite(code=0x1305, name="TLS_AES_128_CCM_8_SHA256", kind="ccm8", key_len=16, hash="sha256", tls13=True),
    ]
    # TLS 1.2 AEAD: RFC 5288 (GCM), RFC 5289 (ECDHE GCM), RFC 7905 (ChaCha), RFC 7251/6655 (CCM)
    for code, kx, kind, key_len, hash_name in (
        (0x009C, "RSA", "gcm", 16, "sha256"), (0x009D, "RSA", "gcm", 32, "sha384"),
        (0x009E, "DHE_RSA", "gcm", 16, "sha256"), (0x009F, "DHE_RSA", "gcm", 32, "sha384"),
        (0xC02B, "ECDHE_ECDSA", "gcm", 16, "sha256"), (0xC02C, "ECDHE_ECDSA", "gcm", 32, "sha384"),
        (0xC02F, "ECDHE_RSA", "gcm", 16, "sha256"), (0xC030, "ECDHE_RSA", "gcm", 32, "sha384"),
        (0xCCA8, "ECDHE_RSA", "chacha", 32, "sha256"), (0xCCA9, "ECDHE_ECDSA", "chacha", 32, "sha256"),
        (0xCCAA, "DHE_RSA", "chacha", 32, "sha256"),
        (0xC09C, "RSA", "ccm", 16, "sha256"), (0xC09D, "RSA", "ccm", 32, "sha256"),
        (0xC0A0, "RSA", "ccm8", 16, "sha256"), (0xC0A1, "RSA", "ccm8", 32, "sha256"),
        (0xC0AC, "ECDHE_ECDSA", "ccm", 16, "sha256"), (0xC0AD, "ECDHE_ECDSA", "ccm", 32, "sha256"),
        (0xC0AE, "ECDHE_ECDSA", "ccm8", 16, "sha256"), (0xC0AF, "ECDHE_ECDSA", "ccm8", 32, "sha256"),
    ):  # fmt: skip
        bits = key_len * 8
        if kind == "chacha":
            name = f"TLS_{kx}_WITH_CHACHA20_POLY1305_SHA256"
        elif kind == "gcm":
            name = f"TLS_{kx}_WITH_AES_{bits}_GCM_{hash_name.upper()}"
        else:
            name = f"TLS_{kx}_WITH_AES_{bits}_{'CCM_8' if kind == 'ccm8' else 'CCM'}"
        table.append(Suite(code=code, name=name, kind=kind, key_len=key_len, hash=hash_name))  # type: ignore[arg-type]
    # TLS 1.2 CBC: RFC 5246 A.5, RFC 4492/5289 (ECDHE)
    for code, kx, key_len, mac in (
        (0x002F, "RSA", 16, "sha1"), (0x0035, "RSA", 32, "sha1"),
        (0x003C, "RSA", 16, "sha256"), (0x003D, "RSA", 32, "sha256"),
        (0x0033, "DHE_RSA", 16, "sha1"), (0x0039, "DHE_RSA", 32, "sha1"),
        (0x0067, "DHE_RSA", 16, "sha256"), (0x006B, "DHE_RSA", 32, "sha256"),
        (0xC009, "ECDHE_ECDSA", 16, "sha1"), (0xC00A, "ECDHE_ECDSA", 32, "sha1"),
        (0xC013, "ECDHE_RSA", 16, "sha1"), (0xC014, "ECDHE_RSA", 32, "sha1"),
        (0xC023, "ECDHE_ECDSA", 16, "sha256"), (0xC024, "ECDHE_ECDSA", 32, "sha384"),
        (0xC027, "ECDHE_RSA", 16, "sha256"), (0xC028, "ECDHE_RSA", 32, "sha384"),
    ):  # fmt: skip
        mac_name = "SHA" if mac == "sha1" else mac.upper()
        table.append(
            Suite(
                code=code,
                name=f"TLS_{kx}_WITH_AES_{key_len * 8}_CBC_{mac_name}",
                kind="cbc",
                key_len=key_len,
                hash="sha384" if mac == "sha384" else "sha256",
                mac=mac,
            )
        )
    return {s.code: s for s in table}


SUITES: dict[int, Suite] = _suites()


def suite_name(code: int) -> str:
    suite = SUITES.get(code)
    return suite.name if suite is not None else f"0x{code:04X}"


def _aead(kind: Kind, key: bytes) -> _AeadObject:
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

    if kind == "gcm":
        return AESGCM(key)
    if kind == "chacha":
        return ChaCha20Poly1305(key)
    if kind == "ccm":
        return AESCCM(key, tag_length=16)
    if kind == "ccm8":
        return AESCCM(key, tag_length=8)
    raise ValueError(f"not an AEAD kind: {kind}")


def _tag_len(kind: Kind) -> int:
    return 8 if kind == "ccm8" else 16


class RecordCipher:
    """Decrypts the records of one direction under one key; `seq` counts records."""

    __slots__ = ("seq",)

    def __init__(self) -> None:
        self.seq = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seq={self.seq})"

    def decrypt(self, header: bytes, payload: bytes) -> tuple[int, bytes]:
        """(content type, plaintext) of one record; advances `seq` on success."""
        raise NotImplementedError


class Tls13Cipher(RecordCipher):
    """RFC 8446 5.2/5.3 record protection under one traffic secret."""

    __slots__ = ("_aead", "_iv", "secret", "suite")

    def __init__(self, suite: Suite, secret: bytes) -> None:
        from dpi.tls.schedule import traffic_keys13

        super().__init__()
        self.suite = suite
        self.secret = secret
        key, iv = traffic_keys13(secret, suite.key_len, suite.hash)
        self._aead = _aead(suite.kind, key)
        self._iv = int.from_bytes(iv, "big")

    def updated(self) -> Tls13Cipher:
        """RFC 8446 4.6.3 / 7.2: the cipher after a KeyUpdate of this direction."""
        from dpi.tls.schedule import next_secret13

        return Tls13Cipher(self.suite, next_secret13(self.secret, self.suite.hash))

    def decrypt(self, header: bytes, payload: bytes) -> tuple[int, bytes]:
        from cryptography.exceptions import InvalidTag  # loaded with the key (`_aead`)

        nonce = (self._iv ^ self.seq).to_bytes(12, "big")
        try:
            inner = self._aead.decrypt(nonce, payload, header)
        except InvalidTag:
            raise DecryptError("record authentication failed") from None
        self.seq += 1
        # RFC 8446 5.4: strip the zero padding; the last non-zero byte is the type.
        end = len(inner.rstrip(b"\x00"))
        if end == 0:
            raise DecryptError("record without a content type")
        return inner[end - 1], inner[: end - 1]


class Tls12AeadCipher(RecordCipher):
    """RFC 5288 / RFC 6655 / RFC 7905 record protection."""

    __slots__ = ("_aead", "_explicit", "_iv", "_iv_int", "_tag")

    def __init__(self, suite: Suite, key: bytes, iv: bytes) -> None:
        super().__init__()
        self._aead = _aead(suite.kind, key)
        self._explicit = suite.kind != "chacha"
        self._iv = iv
        self._iv_int = int.from_bytes(iv, "big")
        self._tag = _tag_len(suite.kind)

    def decrypt(self, header: bytes, payload: bytes) -> tuple[int, bytes]:
        if self._explicit:
            if len(payload) < 8 + self._tag:
                raise DecryptError("record shorter than its nonce and tag")
            nonce = self._iv + payload[:8]
            body = payload[8:]
        else:
            if len(payload) < self._tag:
                raise DecryptError("record shorter than its tag")
            nonce = (self._iv_int ^ self.seq).to_bytes(12, "big")
            body = payload
        aad = struct.pack(">QB2sH", self.seq, header[0], header[1:3], len(body) - self._tag)
        from cryptography.exceptions import InvalidTag  # loaded with the key (`_aead`)

        try:
            plain = self._aead.decrypt(nonce, body, aad)
        except InvalidTag:
            raise DecryptError("record authentication failed") from None
        self.seq += 1
        return header[0], plain


class Tls12CbcCipher(RecordCipher):
    """RFC 5246 6.2.3.2 (MAC-then-encrypt) and RFC 7366 (encrypt-then-MAC), AES-CBC."""

    __slots__ = ("_algorithm", "_digest", "_etm", "_mac_key", "_mac_len")

    def __init__(self, suite: Suite, key: bytes, mac_key: bytes, encrypt_then_mac: bool) -> None:
        from cryptography.hazmat.primitives.ciphers import algorithms  # only with a key

        super().__init__()
        self._algorithm = algorithms.AES(key)
        self._mac_key = mac_key
        self._digest = getattr(hashlib, suite.mac)
        self._mac_len = suite.mac_len
        self._etm = encrypt_then_mac

    def _mac(self, header: bytes, data: bytes) -> bytes:
        head = struct.pack(">QB2sH", self.seq, header[0], header[1:3], len(data))
        return hmac.new(self._mac_key, head + data, self._digest).digest()

    def decrypt(self, header: bytes, payload: bytes) -> tuple[int, bytes]:
        mac_len = self._mac_len
        if self._etm:
            body, tag = payload[:-mac_len], payload[-mac_len:]
            if len(body) < 32 or len(body) % 16:
                raise DecryptError("CBC record of a bad length")
            if not hmac.compare_digest(self._mac(header, body), tag):
                raise DecryptError("record MAC check failed")
            plain = self._cbc(body)
            pad = plain[-1]
            if pad + 1 > len(plain):
                raise DecryptError("bad CBC padding")
            self.seq += 1
            return header[0], plain[: len(plain) - pad - 1]
        if len(payload) < 32 or len(payload) % 16:
            raise DecryptError("CBC record of a bad length")
        plain = self._cbc(payload)
        pad = plain[-1]
        end = len(plain) - pad - 1 - mac_len
        if end < 0 or plain[end + mac_len : len(plain) - 1] != bytes([pad]) * pad:
            raise DecryptError("bad CBC padding")
        data, tag = plain[:end], plain[end : end + mac_len]
        if not hmac.compare_digest(self._mac(header, data), tag):
            raise DecryptError("record MAC check failed")
        self.seq += 1
        return header[0], data

    def _cbc(self, body: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers import Cipher, modes  # loaded by __init__

        decryptor = Cipher(self._algorithm, modes.CBC(body[:16])).decryptor()
        return decryptor.update(body[16:]) + decryptor.finalize()


def tls12_ciphers(
    suite: Suite,
    master_secret: bytes,
    client_random: bytes,
    server_random: bytes,
    encrypt_then_mac: bool,
) -> tuple[RecordCipher, RecordCipher]:
    """(client write, server write) ciphers from a TLS 1.2 master secret (RFC 5246 6.3)."""
    from dpi.tls.schedule import key_block12

    mac_len = suite.mac_len
    iv_len = suite.fixed_iv_len
    block = key_block12(
        master_secret, client_random, server_random, 2 * (mac_len + suite.key_len + iv_len), suite.hash
    )
    parts: list[bytes] = []
    pos = 0
    for size in (mac_len, mac_len, suite.key_len, suite.key_len, iv_len, iv_len):
        parts.append(block[pos : pos + size])
        pos += size
    c_mac, s_mac, c_key, s_key, c_iv, s_iv = parts
    if suite.kind == "cbc":
        return (
            Tls12CbcCipher(suite, c_key, c_mac, encrypt_then_mac),
            Tls12CbcCipher(suite, s_key, s_mac, encrypt_then_mac),
        )
    return Tls12AeadCipher(suite, c_key, c_iv), Tls12AeadCipher(suite, s_key, s_iv)
