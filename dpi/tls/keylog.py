"""NSS key log files (SSLKEYLOGFILE), as written by OpenSSL, BoringSSL, NSS, Go's
crypto/tls, Java agents, curl and browsers; and the same text from pcapng Decryption
Secrets Blocks (draft-ietf-opsawg-pcapng, secrets type 0x544c534b "TLSK").

Format (NSS "Key Log Format", also draft-ietf-tls-keylogfile): one entry per line,
`<label> <client_random> <secret>`, hex, separated by one or more spaces; `#` starts a
comment line; blank lines are ignored. Labels:
- `CLIENT_RANDOM`: TLS 1.2 (and earlier) master secret, 48 bytes (RFC 5246 8.1).
- `CLIENT_EARLY_TRAFFIC_SECRET`, `CLIENT_HANDSHAKE_TRAFFIC_SECRET`,
  `SERVER_HANDSHAKE_TRAFFIC_SECRET`, `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`,
  `EARLY_EXPORTER_SECRET`, `EXPORTER_SECRET`: TLS 1.3 secrets (RFC 8446 7.1), as long
  as the suite's hash (32 or 48 bytes).
- `RSA`: first 8 bytes of an RSA-encrypted premaster secret and the 48-byte premaster
  secret. Accepted and validated, not used (a `CLIENT_RANDOM` line covers the same
  connection and every stack that writes `RSA` lines also writes those).
- `CLIENT_TRAFFIC_SECRET_N`, `SERVER_TRAFFIC_SECRET_N` (and numbered `_1`, `_2`...):
  the secrets after a TLS 1.3 KeyUpdate, which OpenSSL 3 logs. Validated, not needed:
  the layer derives them (RFC 8446 7.2).
- `ECH_SECRET`, `ECH_CONFIG`: Encrypted Client Hello material, accepted and ignored.

Validation is strict, because a wrong file is a configuration error: an unknown label,
bad hex or a wrong length raises `KeyLogError` naming the line number, never the
secret or the line text. The parsed secrets live in `KeyLog` only, whose repr shows
counts, never bytes.
"""

from __future__ import annotations

import binascii
import os
from dataclasses import dataclass, field
from pathlib import Path

# A key log of a busy service over a day: ~100 bytes a line, a few lines per connection.
# Beyond this a file is not a key log (or must be split): refuse it rather than swap.
MAX_KEYLOG_BYTES = 512 * 1024 * 1024
# Entries kept per scan (one per label and connection): bounds memory for hostile DSBs.
MAX_ENTRIES = 5_000_000
# Longest line looked at: the longest valid line is ~230 characters (ECH configs aside).
MAX_LINE = 8192

CLIENT_RANDOM = "CLIENT_RANDOM"
TLS13_LABELS = frozenset(
    {
        "CLIENT_EARLY_TRAFFIC_SECRET",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EARLY_EXPORTER_SECRET",
        "EXPORTER_SECRET",
    }
)
_IGNORED_LABELS = frozenset({"ECH_SECRET", "ECH_CONFIG"})
# label -> accepted secret lengths in bytes (first field: 32-byte client random, except RSA)
_SECRET_LENGTHS: dict[str, frozenset[int]] = {
    CLIENT_RANDOM: frozenset({48}),
    "RSA": frozenset({48}),
    **{label: frozenset({32, 48}) for label in TLS13_LABELS},
}
_RANDOM_LEN = 32
_RSA_PREFIX_LEN = 8


class KeyLogError(Exception):
    """A key log that cannot be used: names the source and line, never a secret."""


@dataclass(slots=True, eq=False)
class KeyLog:
    """Secrets by (label, client random). Merged from every file and DSB of a scan."""

    _secrets: dict[tuple[str, bytes], bytes] = field(default_factory=dict, repr=False)
    files: int = 0
    lines: int = 0

    def __repr__(self) -> str:
        return f"KeyLog(entries={len(self._secrets)}, sources={self.files})"

    def __len__(self) -> int:
        return len(self._secrets)

    def get(self, label: str, client_random: bytes) -> bytes | None:
        return self._secrets.get((label, client_random))

    def has_random(self, client_random: bytes) -> bool:
        return any((label, client_random) in self._secrets for label in (CLIENT_RANDOM, *TLS13_LABELS))

    def add_text(self, text: bytes, source: str) -> None:
        """Parse and merge key log text; `source` names it in errors (a file name or
        `capture <name> secrets block <n>`). All-or-nothing: on error nothing is added."""
        parsed = parse(text, source)
        if len(self._secrets) + len(parsed) > MAX_ENTRIES:
            raise KeyLogError(f"{source}: more than {MAX_ENTRIES} key log entries in this scan")
        self._secrets.update(parsed)
        self.files += 1
        self.lines += len(parsed)

    def add_file(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_KEYLOG_BYTES:
                raise KeyLogError(f"{path}: key log larger than {MAX_KEYLOG_BYTES} bytes")
            text = path.read_bytes()
        except OSError as exc:
            raise KeyLogError(f"{path}: cannot read key log ({exc.strerror or type(exc).__name__})") from None
        self.add_text(text, str(path))


def parse(text: bytes, source: str) -> dict[tuple[str, bytes], bytes]:
    """Key log text -> {(label, client random): secret}. Raises `KeyLogError`."""
    out: dict[tuple[str, bytes], bytes] = {}
    if text.startswith(b"\xef\xbb\xbf"):  # a UTF-8 BOM from editors on Windows
        text = text[3:]
    for number, raw in enumerate(text.splitlines(), 1):
        if len(raw) > MAX_LINE:
            raise KeyLogError(f"{source}: line {number}: longer than {MAX_LINE} characters")
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        fields = line.split()
        label = fields[0].decode("ascii", "replace")
        if label in _IGNORED_LABELS:
            continue
        lengths = _SECRET_LENGTHS.get(label)
        if lengths is None and _updated_secret(label):
            lengths = _SECRET_LENGTHS["CLIENT_TRAFFIC_SECRET_0"]
        if lengths is None:
            shown = label if label.isascii() and label.replace("_", "").isalnum() and len(label) <= 40 else "?"
            raise KeyLogError(f"{source}: line {number}: unknown label {shown!r}")
        if len(fields) != 3:
            raise KeyLogError(
                f"{source}: line {number}: {label} needs 3 fields, found {len(fields)}"
            )
        first = _hex(fields[1], source, number, "client random" if label != "RSA" else "RSA prefix")
        secret = _hex(fields[2], source, number, "secret")
        want_first = _RSA_PREFIX_LEN if label == "RSA" else _RANDOM_LEN
        if len(first) != want_first:
            raise KeyLogError(
                f"{source}: line {number}: {label} needs a {want_first}-byte "
                f"{'RSA prefix' if label == 'RSA' else 'client random'}, found {len(first)} bytes"
            )
        if len(secret) not in lengths:
            want = " or ".join(str(n) for n in sorted(lengths))
            raise KeyLogError(
                f"{source}: line {number}: {label} secret must be {want} bytes, found {len(secret)}"
            )
        out[(label, first)] = secret
    return out


def _updated_secret(label: str) -> bool:
    """`CLIENT_TRAFFIC_SECRET_N` / `SERVER_TRAFFIC_SECRET_3`: after a KeyUpdate."""
    for prefix in ("CLIENT_TRAFFIC_SECRET_", "SERVER_TRAFFIC_SECRET_"):
        if label.startswith(prefix):
            rest = label[len(prefix) :]
            return rest == "N" or (rest.isdigit() and len(rest) <= 9)
    return False


def _hex(text: bytes, source: str, number: int, what: str) -> bytes:
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        raise KeyLogError(f"{source}: line {number}: {what} is not valid hex") from None
