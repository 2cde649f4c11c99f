"""PRIVATE_KEY: PEM-armored private keys (RFC 7468 textual encodings; PKCS #1, SEC 1,
PKCS #8 and encrypted PKCS #8, OpenSSH, DSA labels) and OpenPGP private key blocks
(RFC 4880 section 6.2 ASCII armor).

The BEGIN line must be followed by a base64 body of at least `MIN_BODY` characters
(after optional RFC 1421 / OpenPGP armor headers such as `Proc-Type`, `DEK-Info`,
`Version`). The END line is optional so that a truncated capture still counts, at a
lower confidence. Lines may be separated by real newlines or by the literal `\\n` left
when a key is pasted into a JSON string or an environment variable. The span covers
BEGIN to END (or to the end of the body).

Not covered: keys in DER, PKCS #12 (.p12/.pfx) blobs, JWK private keys (`"d":` members),
PuTTY .ppk files, and keys whose base64 body was reflowed with other characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers.base import (
    ANY,
    LETTERS,
    Category,
    Classifier,
    FieldContext,
    Finding,
    ValueGate,
)

_LABEL = r"((?:RSA |EC |OPENSSH |ENCRYPTED |DSA )?PRIVATE KEY|PGP PRIVATE KEY BLOCK)"
# Line separators: whitespace or the escaped `\n`, `\r` of a JSON/env string.
_SEP = r"(?:\s|\\[rn])"
_PEM = re.compile(
    rf"-----BEGIN {_LABEL}-----{_SEP}+"
    # Armor headers: `Name: value` lines (a value stops at a line end or an escape).
    rf"(?:[A-Za-z][A-Za-z0-9-]*: ?[^\r\n\\]*{_SEP}+)*"
    # The body: base64 characters and whitespace in runs, or escaped line ends. Nothing
    # after it can fail (the END line is optional), so the engine never backtracks into
    # it; the runs make it one tight loop per run instead of one group per character.
    r"((?:[A-Za-z0-9+/=\s]+|\\[rn])+)"
    r"(-----END \1-----)?"
)
_NOT_BASE64 = re.compile(r"\s|\\[rn]")
MIN_BODY = 64  # shortest real key body (EC P-256 SEC 1) is about 160 characters
# Regex input limit (convention 5): an RSA 8192 key is under 7 KiB; PGP blocks with
# subkeys stay under 64 KiB.
_MAX_TEXT = 65536


class PrivateKeyClassifier(Classifier):
    data_type = "PRIVATE_KEY"
    category = Category.SECRET
    # Reads no sibling or object-key tokens.
    context_words = frozenset()
    gate_reads_server = False
    hints = frozenset({"private", "key", "pem"})
    min_len = 40
    max_len = 1 << 20
    # Armored private keys are unambiguous: one value is enough.
    min_share = 0.01

    COMPLETE: ClassVar[float] = 0.99
    TRUNCATED: ClassVar[float] = 0.92
    # `-----BEGIN ... PRIVATE KEY`: dashes, a space, letters.
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {ANY: lambda n, classes: "-" in classes and " " in classes
         and not classes.isdisjoint(LETTERS)}
    )

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if len(value) < self.min_len or "PRIVATE KEY" not in value:
            return None
        text = value[:_MAX_TEXT]
        for m in _PEM.finditer(text):
            body = m.group(2)
            if len(_NOT_BASE64.sub("", body)) < MIN_BODY:
                continue
            label = "pgp private key block" if m.group(1).startswith("PGP") else "pem private key"
            if m.group(3):
                return self.finding(self.COMPLETE, f"{label} armor with base64 body", m.span())
            end = m.start(2) + len(body.rstrip())
            while text[m.start(2):end].endswith(("\\n", "\\r")):
                end -= 2
            return self.finding(self.TRUNCATED, f"{label} armor, body without end line",
                                (m.start(), end))
        return None
