"""Logging for the command line: what reaches stderr, at which verbosity, and the value
filter every log record passes before it is written.

- `-v`/`-vv` turn on INFO/DEBUG for dpi's own loggers only (`OWN_LOGGERS`); every other
  library stays at WARNING. Third-party debug logs quote what they handle: `hpack` logs
  each header-table entry it evicts (`Evicting b'authorization': b'Bearer ...'`), with
  the value.
- Every record, whoever emits it, goes through `RedactValues` on the handler: the
  formatted message is rewritten so that nothing that looks like a value survives
  (quoted strings and bytes, credentials after an auth scheme, `name=value` and
  `name: value` pairs whose name is a sensitive one, e-mail addresses, runs of six or
  more digits, long tokens). dpi's own messages name files, offsets and counts, never
  content; the filter is the net under them and the wall in front of everyone else's.
  It errs towards redacting too much: a redacted log line costs nothing.
- Exception text never reaches the log: a record's traceback is replaced by its type.

`configure` may run more than once in one process (tests call `dpi.cli.main` in-process):
it replaces its own handler and leaves other handlers (pytest's) alone.
"""

from __future__ import annotations

import logging
import re
import sys
from functools import cache
from typing import Final, TextIO

__all__ = ["OWN_LOGGERS", "RedactValues", "configure", "redact"]

# Top-level packages of this project: their loggers follow -v/-vv.
OWN_LOGGERS: Final = ("dpi", "protocols", "classifiers")
# Level of every other logger, whatever the verbosity.
THIRD_PARTY_LEVEL: Final = logging.WARNING
FORMAT: Final = "dpi: %(levelname)s: %(message)s"
REDACTED: Final = "<redacted>"

# The patterns' sources; `_compiled` compiles them when the first record is written, not
# at import: most runs log nothing, and compiling costs ~5 M instructions of start-up.
# Applied in the order of `redact`: sensitive `name: value` pairs first (the name may be
# quoted, the value not), then quoted literals (they may hold anything, `:` and `=`
# included), then the shapes that carry values inside unquoted text.
_QUOTED: Final = (
    r"""(?:\b[bBrRuU]{1,2})?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
    # an unterminated quote (a message cut at a length limit): to the end of the line
    r"""|['"][^\n]*"""
)
_AUTH_SCHEME: Final = (
    r"(?i)\b(bearer|basic|digest|negotiate|token|apikey|api-key|hoba|mutual|aws4-hmac-sha256)"
    r"(\s+)\S+"
)
# `name=value` anywhere (query strings, cookies, form bodies, key=value log styles).
_ASSIGNMENT: Final = r"=\s*[^\s&;,]+"
# `name: value` where the name says the value is sensitive (header lines, dict reprs).
_SENSITIVE_NAME_VALUE: Final = (
    r"(?i)\b([\w.-]*(?:auth|token|secret|passw|pwd|cookie|session|key|ssn|card|cvv|"
    r"account|iban|credential|signature|phone|mail|birth|dob)[\w.-]*['\"]?)(\s*:\s*)\S[^\n,;}\]]*"
)
_EMAIL: Final = r"[^\s@'\"<>(),;:]+@[^\s@'\"<>(),;:]+"
# Six or more digits, possibly grouped by spaces, dashes, dots or slashes: card, account
# and phone numbers, SSNs, dates of birth. Offsets that long are redacted too.
_DIGITS: Final = r"\d(?:[ ./-]?\d){5,}"
# Token-like runs: 16+ characters of a base64/hex/url-safe alphabet with both a letter
# and a digit (API keys, session ids, JWT segments, hashes).
# `/` is left out so that file paths stay readable: a base64 token split at its slashes
# still leaves pieces this long.
_TOKEN: Final = r"[A-Za-z0-9+_-]{16,}={0,2}"


@cache
def _compiled() -> tuple[re.Pattern[str], ...]:
    """The patterns above, compiled once, in the order `redact` applies them."""
    return tuple(
        re.compile(source)
        for source in (
            _SENSITIVE_NAME_VALUE, _QUOTED, _AUTH_SCHEME, _ASSIGNMENT, _EMAIL, _TOKEN, _DIGITS
        )
    )


def _token(match: re.Match[str]) -> str:
    text = match.group(0)
    has_digit = any(ch.isdigit() for ch in text)
    has_letter = any(ch.isalpha() for ch in text)
    return REDACTED if has_digit and has_letter else text


def redact(message: str) -> str:
    """`message` with everything that looks like a value replaced by `<redacted>`."""
    sensitive_name_value, quoted, auth_scheme, assignment, email, token, digits = _compiled()
    text = sensitive_name_value.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", message)
    text = quoted.sub(REDACTED, text)
    text = auth_scheme.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = assignment.sub(f"={REDACTED}", text)
    text = email.sub(REDACTED, text)
    text = token.sub(_token, text)
    return digits.sub(REDACTED, text)


class RedactValues(logging.Filter):
    """Rewrites each record to its redacted message; drops third-party records below
    `THIRD_PARTY_LEVEL` (a library that set its own logger to DEBUG still says nothing)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < THIRD_PARTY_LEVEL and not _is_own(record.name):
            return False
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (a bad format string must not lose the record)
            message = str(record.msg)
        if record.exc_info and record.exc_info[0] is not None:
            # The traceback's last line is the exception message, which quotes input.
            message = f"{message} [{record.exc_info[0].__name__}]"
        record.msg = redact(message)
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


def _is_own(name: str) -> bool:
    return any(name == own or name.startswith(own + ".") for own in OWN_LOGGERS)


class _Handler(logging.StreamHandler[TextIO]):
    """Marks the handler `configure` installed, so a second call replaces it."""


def configure(verbose: int = 0, quiet: bool = False, stream: TextIO | None = None) -> None:
    """stderr logging for one command: dpi's loggers at WARNING, INFO (`-v`) or DEBUG
    (`-vv`), ERROR when `quiet`; every other logger at WARNING (ERROR when quiet)."""
    own_level = logging.ERROR if quiet else logging.WARNING - 10 * max(0, min(verbose, 2))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()
    handler = _Handler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactValues())
    root.addHandler(handler)
    root.setLevel(max(own_level, THIRD_PARTY_LEVEL))
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own_level)
