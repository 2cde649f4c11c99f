"""PASSWORD: passwords and passphrases in fields named for them, and HTTP Basic
credentials (RFC 7617: `Authorization: Basic base64(user ":" password)`).

Any non-empty value of a password field is reported: passwords have no shape. What is
excluded is metadata about passwords, recognised by the field name (`password_policy`,
`password_changed_at`, `has_password`, `password_min_length`) and by the value
(booleans, null words, timestamps, values already redacted as `****`).

Basic credentials are decoded and must contain the `:` separating user and password;
the finding's span covers the base64 credentials after the scheme. Per the spec they are
a row with location `header`, field `authorization`.

Credentials in URLs, in any field (`classifiers/_userinfo.py`): the password of
`scheme://user:pass@host` inside a value, and a whole-value authority
`user:pass@host[:port]` (the HTTP/2 `:authority` with userinfo, a proxy setting); the
span covers `user:pass`. Templated and masked passwords (`{password}`, `***`) are not.

Not covered: Digest and NTLM authorization (no password on the wire), password hashes recognised by format (a
`password` field holding a bcrypt hash is still reported, by its name), and protocol
logins (MySQL handshake, Kafka SASL) which their dissectors hand over as `password`
fields.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._userinfo import url_credentials, whole_authority
from classifiers.base import (
    ANY,
    LETTERS,
    Category,
    Classifier,
    FieldContext,
    Finding,
    ValueGate,
)

_PASSWORD_TOKENS = frozenset({"password", "passphrase", "passcode"})
_SECRET_TOKENS = frozenset({"secret"})
# `secret_key`, `secret_token`, `access_secret`: API_KEY's and BEARER_TOKEN's fields.
_KEY_TOKENS = frozenset({"key", "token", "access", "apikey"})
# Names of fields about a password rather than holding one.
_METADATA_TOKENS = frozenset({
    "policy", "changed", "updated", "created", "modified", "expires", "expiry", "expired",
    "at", "date", "time", "timestamp", "length", "len", "min", "max", "strength",
    "required", "enabled", "has", "is", "count", "attempts", "rules", "complexity", "age",
    "history", "last", "set", "hint", "type", "mode", "field", "label", "placeholder",
    "rotation", "status", "valid", "validity", "score", "ttl",
})
# Also redaction and placeholder words left where a value was removed.
_EMPTY_WORDS = frozenset({"true", "false", "null", "none", "undefined", "nil", "yes", "no",
                          "n/a", "redacted", "unknown", "-", "tbd"})
# ISO 8601 dates and date-times: a timestamp in a password field is metadata.
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}.*)?")
# Redaction masks: three or more of only mask characters (`***`, `xxxxxxxx`).
_MASK_CHARS = frozenset("*•x#")
_MIN_MASK = 3

_BASIC = re.compile(r"[Bb][Aa][Ss][Ii][Cc] +([A-Za-z0-9+/]+={0,2})\s*")
# Longer Basic credentials than this are not user:password pairs (RFC 7617 sets no
# limit; servers cap the header at 8 KiB).
_MAX_BASIC = 8192


class PasswordClassifier(Classifier):
    data_type = "PASSWORD"
    category = Category.SECRET
    # Reads no sibling or object-key tokens.
    context_words = frozenset()
    gate_reads_server = False
    hints = _PASSWORD_TOKENS | _SECRET_TOKENS
    min_len = 1
    max_len = 8192
    # Every value of a password field is one; a single Basic header is enough.
    min_share = 0.1

    PASSWORD_FIELD: ClassVar[float] = 0.9
    SECRET_FIELD: ClassVar[float] = 0.8
    BASIC: ClassVar[float] = 0.99
    URL_USERINFO: ClassVar[float] = 0.95
    AUTHORITY_USERINFO: ClassVar[float] = 0.9
    # `Basic <credentials>`: letters and a space; userinfo: `:` and `@`, in any field.
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {ANY: lambda n, classes: True,
         "basic": lambda n, classes: (" " in classes and not classes.isdisjoint(LETTERS))
         or _userinfo_gate(n, classes),
         "userinfo": lambda n, classes: _userinfo_gate(n, classes)}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        names = ctx.name_tokens
        if "authorization" in names:
            return "basic"
        if _PASSWORD_TOKENS.isdisjoint(names) and (
            _SECRET_TOKENS.isdisjoint(names) or not _KEY_TOKENS.isdisjoint(names)
        ):
            return "userinfo"
        return ANY if _METADATA_TOKENS.isdisjoint(names) else "userinfo"

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if not value or len(value) > self.max_len:
            return None
        if "@" in value and ":" in value:
            found = self._userinfo(value, ctx)
            if found is not None:
                return found
        names = ctx.name_tokens
        if "authorization" in names:
            return self._basic(value)
        if not _PASSWORD_TOKENS.isdisjoint(names):
            confidence, reason = self.PASSWORD_FIELD, "field name hint: password"
        elif not _SECRET_TOKENS.isdisjoint(names) and _KEY_TOKENS.isdisjoint(names):
            confidence, reason = self.SECRET_FIELD, "field name hint: secret"
        else:
            return None
        if not _METADATA_TOKENS.isdisjoint(names):
            return None
        text = value.strip()
        if not text or text.lower() in _EMPTY_WORDS or (
            len(text) >= _MIN_MASK and set(text) <= _MASK_CHARS
        ):
            return None
        if text[0].isdigit() and _TIMESTAMP.fullmatch(text):
            return None
        return self.finding(confidence, reason)

    def hinted(self, ctx: FieldContext) -> bool:
        names = ctx.name_tokens
        return not self.hints.isdisjoint(names) and _METADATA_TOKENS.isdisjoint(names)

    def _userinfo(self, value: str, ctx: FieldContext) -> Finding | None:
        span = url_credentials(value)
        if span is not None:
            return self.finding(self.URL_USERINFO, "url userinfo with password", span, True)
        span = whole_authority(value, ctx)
        if span is not None:
            return self.finding(self.AUTHORITY_USERINFO, "authority userinfo with password",
                                span, True)
        return None

    def _basic(self, value: str) -> Finding | None:
        if len(value) > _MAX_BASIC or value[:6].lower() != "basic ":
            return None
        m = _BASIC.fullmatch(value)
        if m is None:
            return None
        try:
            decoded = base64.b64decode(m.group(1), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, _ = decoded.partition(":")
        if not sep or not user.isprintable():
            return None
        return self.finding(
            self.BASIC, "http basic credentials, decoded user:password", m.span(1), True
        )


def _userinfo_gate(n: int, classes: frozenset[str]) -> bool:
    """`user:pass@host`: the shortest is `a:b@c`."""
    return n >= 5 and "@" in classes and ":" in classes
