"""TLS under the dissectors: record and handshake parsing, NSS key logs, the TLS 1.2 and
TLS 1.3 key schedules and record decryption (RFC 5246, RFC 8446), as one stream layer.

`TlsLayerFactory` (in `layer.py`) is configured on every scan: without keys it still
recognises TLS flows and reports their handshake (server name, ALPN, version, cipher
suite); with an SSLKEYLOGFILE (or pcapng Decryption Secrets Blocks) it decrypts them and
hands the plaintext to the ordinary dissectors. `cryptography` is the only crypto
library, imported by `ciphers.py` and `schedule.py` only.
"""

from __future__ import annotations

from dpi.tls.keylog import KeyLog, KeyLogError
from dpi.tls.layer import TlsLayer, TlsLayerFactory

__all__ = ["KeyLog", "KeyLogError", "TlsLayer", "TlsLayerFactory"]
