"""Key schedules: record keys from the secrets of a key log.

- TLS 1.2: RFC 5246 section 5 (PRF with P_SHA256, or P_SHA384 for suites that name it)
  and 6.3 (key block: client MAC key, server MAC key, client key, server key, client
  IV, server IV). The master secret comes from the key log (`CLIENT_RANDOM`), so RSA,
  DHE, ECDHE and the extended master secret of RFC 7627 need no special case.
- TLS 1.3: RFC 8446 section 7.1 (HKDF-Expand-Label), 7.2 (key update:
  application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length))
  and 7.3 (traffic keys: "key" and "iv"). The traffic secrets come from the key log;
  nothing here derives them from a transcript.

Not supported: the TLS 1.0/1.1 PRF (MD5/SHA-1) and SSL 3.0. No secret is ever logged or
put in an exception.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"sha256": hashes.SHA256, "sha384": hashes.SHA384}


def prf12(secret: bytes, label: bytes, seed: bytes, length: int, hash_name: str) -> bytes:
    """RFC 5246 section 5: PRF(secret, label, seed) = P_<hash>(secret, label + seed)."""
    seed = label + seed
    digest = getattr(hashlib, hash_name)
    out = bytearray()
    a = seed
    while len(out) < length:
        a = hmac.new(secret, a, digest).digest()
        out += hmac.new(secret, a + seed, digest).digest()
    return bytes(out[:length])


def key_block12(
    master_secret: bytes, client_random: bytes, server_random: bytes, length: int, hash_name: str
) -> bytes:
    """RFC 5246 6.3: key_block = PRF(master_secret, "key expansion", server_random + client_random)."""
    return prf12(master_secret, b"key expansion", server_random + client_random, length, hash_name)


def hkdf_expand_label(secret: bytes, label: bytes, context: bytes, length: int, hash_name: str) -> bytes:
    """RFC 8446 7.1: HKDF-Expand(Secret, HkdfLabel, Length), HkdfLabel = length(2) +
    opaque label<7..255> ("tls13 " + Label) + opaque context<0..255>."""
    full = b"tls13 " + label
    info = struct.pack(">HB", length, len(full)) + full + bytes([len(context)]) + context
    return HKDFExpand(algorithm=_HASHES[hash_name](), length=length, info=info).derive(secret)


def traffic_keys13(secret: bytes, key_len: int, hash_name: str) -> tuple[bytes, bytes]:
    """RFC 8446 7.3: (write_key, write_iv) of one traffic secret; the IV is 12 bytes for
    every TLS 1.3 AEAD (RFC 8446 5.3: iv_length = max(8, N_MIN) = 12)."""
    key = hkdf_expand_label(secret, b"key", b"", key_len, hash_name)
    iv = hkdf_expand_label(secret, b"iv", b"", 12, hash_name)
    return key, iv


def next_secret13(secret: bytes, hash_name: str) -> bytes:
    """RFC 8446 7.2: the traffic secret after a KeyUpdate."""
    return hkdf_expand_label(secret, b"traffic upd", b"", len(secret), hash_name)
