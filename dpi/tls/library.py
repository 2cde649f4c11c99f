"""Whether TLS decryption can run: the cryptography library is the optional `[tls]` extra.

TLS is recognised, counted and reported without it (dpi/tls/layer.py); only decrypting
with keys needs it. Keys a user names (`--keylog`, `keylogs=`) are refused up front with
one line naming the extra; keys found inside a capture (pcapng Decryption Secrets Blocks)
leave their flows undecrypted, with the coverage reason `cryptography_not_installed` and
one warning per process.
"""

from __future__ import annotations

import functools
import logging

from dpi.extras import install_hint, installed

log = logging.getLogger(__name__)

NO_LIBRARY = f"TLS decryption needs cryptography: {install_hint('cryptography')}"
# A constant without quotes: the log filter (dpi/logsetup.py) redacts quoted text.
_WARNING = (
    "TLS keys found, flows left encrypted: decrypting needs cryptography, "
    "the tls extra (pip install dpi-inventory[tls])"
)


@functools.cache
def crypto_available() -> bool:
    return installed("cryptography")


@functools.cache
def warn_no_crypto_library() -> None:
    log.warning(_WARNING)
