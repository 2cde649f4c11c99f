"""URL path templating for the inventory's `api` column (spec/inventory.md, "api, per
protocol"): `GET /v1/users/42/cards` -> `GET /v1/users/{id}/cards`.

Identifier segments become placeholders: all digits -> `{id}`, a UUID -> `{uuid}`, other
high-cardinality tokens (long hex, base64-ish, e-mail addresses, mixed letters and
digits) -> `{param}`. The query string is dropped. Values in paths are never fields.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote

_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
# 16+ hex digits with at least one digit: object ids, hashes (a word like `deadbeef`
# stays a word because it is short).
_HEX = re.compile(r"(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{16,}")
# Base64/URL-safe tokens of 20+ characters that mix letters and digits: opaque ids, tokens.
_OPAQUE = re.compile(r"(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-+=~.]{20,}")
_EMAIL = re.compile(r"[^@/\s]+@[^@/\s]+\.[A-Za-z]{2,}")
# Short tokens mixing letters and digits with many digits (`a1b2c3d4`, `ord_83ks92`)
# are identifiers; version segments (`v1`, `v2beta1`) and dotted names stay literal.
_MIXED_ID = re.compile(r"(?=(?:[^0-9]*[0-9]){3})(?=.*[A-Za-z])[A-Za-z0-9_\-]{6,}")
_VERSION = re.compile(r"v\d+([a-z]+\d*)?", re.IGNORECASE)
# ASCII words joined by `-` or `_` (`users`, `shipping-address`): no shape above but a
# UUID (32 to 36 characters, its hex digits all letters) matches one, so a word of
# another length is a literal segment at one match.
_WORD = re.compile(r"[A-Za-z]+(?:[-_][A-Za-z]+)*")

# Paths longer than this are cut before templating: no real API route is that long, and
# the api column must stay small.
MAX_PATH_CHARS = 2048
MAX_SEGMENTS = 32


def template_segment(segment: str) -> str:
    if not segment:
        return segment
    if segment.isdigit():
        return "{id}"
    if not 32 <= len(segment) <= 36 and _WORD.fullmatch(segment) is not None:
        return segment
    decoded = unquote(segment)
    if _UUID.fullmatch(decoded):
        return "{uuid}"
    if _VERSION.fullmatch(decoded):
        return segment
    if _EMAIL.fullmatch(decoded) or _HEX.fullmatch(decoded) or _OPAQUE.fullmatch(decoded):
        return "{param}"
    if _MIXED_ID.fullmatch(decoded):
        return "{param}"
    # Numbers with separators or a sign (`-1`, `12.50`) are values too.
    stripped = decoded.lstrip("+-")
    if stripped and stripped.replace(".", "", 1).replace(",", "").isdigit():
        return "{id}"
    return segment


@lru_cache(maxsize=16384)
def template_path(target: str) -> str:
    """Request target -> templated path (no query string, no fragment)."""
    path = target.split("?", 1)[0].split("#", 1)[0][:MAX_PATH_CHARS]
    if path.startswith(("http://", "https://")):
        # absolute-form (proxies, RFC 9112 section 3.2.2): keep the path only
        after_scheme = path.split("://", 1)[1]
        slash = after_scheme.find("/")
        path = after_scheme[slash:] if slash >= 0 else "/"
    if not path.startswith("/"):
        # authority-form (CONNECT) or asterisk-form (OPTIONS *): keep as is
        return path
    segments = path.split("/")[: MAX_SEGMENTS + 1]
    literal = _LITERAL_SEGMENTS
    return "/".join([s if s in literal else _literal(s) for s in segments])


# Segments that `template_segment` leaves as they are (`v1`, `users`, `orders`): a route's
# words come again in every request, its identifiers seldom, and this path's cache
# (`template_path`) misses for each new identifier. Words only: an identifier is never
# kept. Bounded: started afresh when full.
_LITERAL_SEGMENTS: set[str] = set()
MAX_LITERAL_SEGMENTS = 4096


def _literal(segment: str) -> str:
    """`template_segment(segment)`, a segment it keeps remembered as such."""
    templated = template_segment(segment)
    if templated == segment:
        if len(_LITERAL_SEGMENTS) >= MAX_LITERAL_SEGMENTS:
            _LITERAL_SEGMENTS.clear()
        _LITERAL_SEGMENTS.add(segment)
    return templated


def http_api(method: str, target: str) -> str:
    """`METHOD /path/template`, the spec's http api."""
    return f"{method.upper()} {template_path(target)}"
