"""BEARER_TOKEN: bearer credentials (RFC 6750 section 2.1), JSON Web Tokens (RFC 7519,
compact JWS RFC 7515 and JWE RFC 7516 serializations) and session tokens.

- `Bearer <token>`: the scheme (case-insensitive) then a token68 of at least
  `MIN_BEARER` characters, in any field or inside text; the span covers the token.
- JWT anywhere: `eyJ` (base64url of `{"`) then three (JWS) or five (JWE) base64url
  parts separated by dots, whose first part decodes to a JSON object with an `alg`
  member. Checked structurally, never verified: the signature key is not ours.
- Session ids and tokens by field name (`session`, `sid`, `JSESSIONID`, `PHPSESSID`,
  `access_token`, `refresh_token`, `x-auth-token`...): one token of URL-safe
  characters that looks random (a digit or mixed case, and Shannon entropy of at least
  `SESSION_ENTROPY` bits per character; see `_entropy.py`). CSRF tokens are excluded:
  they are not credentials on their own.

Not covered: opaque tokens in fields with no token-like name, Macaroons/PASETO by
format, MAC/HOBA/Negotiate authorization, and `api_token` fields (API_KEY's).
"""

from __future__ import annotations

import base64
import binascii
import json
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
from classifiers.secret._entropy import looks_random

# RFC 6750 b64token (token68): the scheme, spaces, then the credentials.
_BEARER = re.compile(r"(?<![A-Za-z0-9])[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)")
MIN_BEARER = 16  # shorter "tokens" are placeholders and test values (`Bearer abc`)
# In an Authorization header the scheme itself says the value is a credential (RFC 6750
# section 2.1): shorter tokens count there (the RFC's own example is 15 characters),
# placeholders excepted.
MIN_BEARER_IN_HEADER = 8
_AUTH_HEADERS = frozenset({"authorization", "proxy-authorization"})
_PLACEHOLDERS = frozenset({"null", "undefined", "none", "token", "<token>", "redacted", "xxxxxxxx"})
# Compact JWS (3 parts) or JWE (5 parts); base64url without padding (RFC 7515 sec. 2).
_PART = r"[A-Za-z0-9_-]"
_JWT = re.compile(
    rf"(?<!{_PART})eyJ{_PART}+\.{_PART}*\.{_PART}*(?:\.{_PART}*\.{_PART}*)?(?![A-Za-z0-9_.-])"
)
# A JOSE header is a small JSON object; a longer first part is not worth decoding.
_MAX_JOSE_HEADER = 2048
# Regex input limit (convention 5): tokens in the first 16 KiB are found.
_MAX_TEXT = 16384

_SESSION_TOKENS = frozenset({"session", "sid", "sessionid", "jsessionid", "phpsessid",
                             "sessid", "token", "aspsessionid", "sessiontoken"})
_NOT_CREDENTIAL = frozenset({"csrf", "xsrf", "type", "expires", "expiry", "in", "at", "ttl",
                             "url", "uri", "endpoint", "name", "count", "length", "hint",
                             "kind", "scope", "format", "locale", "lang", "language",
                             "timeout", "duration", "api", "status", "created", "updated",
                             "date", "time", "timestamp", "secs", "seconds", "max", "age",
                             # Pagination and sync cursors (`next_page_token`, AWS
                             # `NextToken`, `continuation_token`): opaque, random-looking
                             # and named token, yet they grant nothing.
                             "page", "next", "cursor", "continuation", "pagination",
                             "sync", "offset", "resume"})
_SESSION_VALUE = re.compile(r"[A-Za-z0-9\-._~+/=%:]+")
_SESSION_MIN, _SESSION_MAX = 16, 4096
SESSION_ENTROPY = 3.0


class BearerTokenClassifier(Classifier):
    data_type = "BEARER_TOKEN"
    category = Category.SECRET
    hints = frozenset({"token", "session", "sid"})
    min_len = 16
    max_len = 1 << 20
    # A Bearer header or a JWT is unambiguous.
    min_share = 0.05

    BEARER: ClassVar[float] = 0.97
    JWT: ClassVar[float] = 0.95
    JWT_HINTED: ClassVar[float] = 0.99
    SESSION_COOKIE: ClassVar[float] = 0.85
    SESSION: ClassVar[float] = 0.8
    # Outside a session or token field only `Bearer` and JWTs count: both have letters.
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {ANY: lambda n, classes: True,
         "formats": lambda n, classes: not classes.isdisjoint(LETTERS)}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        return ANY if self.hinted(ctx) else "formats"

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if len(value) < self.min_len:
            return None
        text = value[:_MAX_TEXT]
        if "earer" in text or "EARER" in text:
            in_header = ctx.path.lower() in _AUTH_HEADERS and ctx.location in ("header", "metadata")
            shortest = MIN_BEARER_IN_HEADER if in_header else MIN_BEARER
            for m in _BEARER.finditer(text):
                token = m.group(1)
                if len(token) >= shortest and token.lower() not in _PLACEHOLDERS:
                    return self.finding(self.BEARER, "bearer scheme", m.span(1))
        if "eyJ" in text:
            for m in _JWT.finditer(text):
                if _jose_header(m.group(0).split(".", 1)[0]):
                    hinted = not self.hints.isdisjoint(ctx.name_tokens)
                    return self.finding(self.JWT_HINTED if hinted else self.JWT,
                                        "jwt structure, header with alg", m.span(), True)
        return self._session(value, ctx)

    def hinted(self, ctx: FieldContext) -> bool:
        names = ctx.name_tokens
        return not _SESSION_TOKENS.isdisjoint(names) and _NOT_CREDENTIAL.isdisjoint(names)

    def _session(self, value: str, ctx: FieldContext) -> Finding | None:
        names = ctx.name_tokens
        if _SESSION_TOKENS.isdisjoint(names) or not _NOT_CREDENTIAL.isdisjoint(names):
            return None
        text = value.strip()
        if not _SESSION_MIN <= len(text) <= _SESSION_MAX or _SESSION_VALUE.fullmatch(text) is None:
            return None
        if not looks_random(text, SESSION_ENTROPY):
            return None
        if ctx.location == "cookie":
            return self.finding(self.SESSION_COOKIE, "session cookie name, high entropy value")
        return self.finding(self.SESSION, "token field name hint, high entropy value")


def _jose_header(part: str) -> bool:
    """The first part decodes to a JSON object with an `alg` string (RFC 7515 4.1.1)."""
    if len(part) > _MAX_JOSE_HEADER:
        return False
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError):
        return False
    return isinstance(header, dict) and isinstance(header.get("alg"), str)
