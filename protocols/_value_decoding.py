"""Values that arrive encoded, decoded before they are classified: percent-encoding
(RFC 3986 2.1) in cookies and in query and form values, and `\\uXXXX` escapes
(JavaScript and JSON string escapes left in text values).

`john%40example.com` in a cookie is an e-mail address; so is `john\\u0040example.com` in
a header or a column. Query and form values are percent-decoded once by the form parser
(`parse_qsl`); a value still percent-encoded after that was encoded twice and is decoded
once more. Bounded: at most `MAX_ROUNDS` rounds, each over at most the value's own
length (`max_value_chars`), and a value is only replaced when decoding changed it.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote

# Percent-decoding rounds for a cookie (one for the encoding, one for a double encoding).
MAX_ROUNDS: Final = 2

_PERCENT: Final = re.compile(r"%[0-9A-Fa-f]{2}")
_UNICODE_ESCAPE: Final = re.compile(r"\\u[0-9A-Fa-f]{4}(?:\\u[0-9A-Fa-f]{4})*")


def cut_text(data: bytes, max_chars: int) -> str:
    """`data` as text, at most `max_chars` characters: decoding more than max_chars * 4
    bytes (UTF-8's widest) is wasted work."""
    return data[: max_chars * 4].decode("utf-8", "replace")[:max_chars]


def _unicode_run(match: re.Match[str]) -> str:
    run = match.group(0)
    units = [int(run[i + 2 : i + 6], 16) for i in range(0, len(run), 6)]
    raw = b"".join(unit.to_bytes(2, "big") for unit in units)
    # UTF-16 joins surrogate pairs (`\ud83d\ude00`); lone surrogates become U+FFFD.
    return raw.decode("utf-16-be", "replace")


def unicode_escapes(value: str) -> str:
    """`\\u0040` -> `@`; other backslashes stay."""
    if "\\u" not in value:
        return value
    return _UNICODE_ESCAPE.sub(_unicode_run, value)


def percent(value: str, rounds: int = MAX_ROUNDS) -> str:
    """Percent-decoded (not `+` -> space: cookies and base64 keep their `+`)."""
    for _ in range(rounds):
        if "%" not in value or _PERCENT.search(value) is None:
            break
        value = unquote(value, errors="replace")
    return value


def cookie_value(value: str) -> str:
    """A cookie value as its application wrote it: percent- and `\\u`-decoded."""
    return unicode_escapes(percent(value))


def form_value(value: str) -> str:
    """A query or form value after `parse_qsl`: a second encoding and `\\u` escapes."""
    return unicode_escapes(percent(value, 1))


def text_value(value: str) -> str:
    """A header, column or other single text value: `\\u` escapes only (a `%` in free
    text is more often a percentage than an encoding)."""
    return unicode_escapes(value)
