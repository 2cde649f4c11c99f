"""Values that carry other values: a JSON document inside a string, a signed URL, a
base64 wrapper. Each is opened (bounded) so that what is inside is classified too, with
field paths below the carrying field (spec/inventory.md, "field": names joined by `.`).

- **JSON inside a string** (a text column, a form value, a header, a cookie, a JSON
  string holding a serialised document): a value that is a whole JSON object or array is
  replaced by its fields, named below the carrying field as the JSON walk names them
  (`payload` holding `{"password": ...}` gives `payload.password`; a header
  `x-user: {"email": ...}` gives `x-user.email`). A value that does not parse stays one
  value.
- **Signed URLs**: a value that is a URL (absolute, scheme-relative or a path) keeps its
  own classification, and each query parameter that is a signature or a token
  (`sig`, `signature`, `X-Amz-Signature`, `X-Goog-Signature`, `X-Amz-Security-Token`,
  `X-Amz-Credential`, `token`, `access_token`...: `SIGNED_URL_PARAMS`) is also a
  sub-field named by the parameter (`location.X-Amz-Signature`, `image_url.sig`). Beside
  a bare `sig`/`signature`, the URL's own expiry and signer parameters (Azure SAS `se`,
  `sv`, `sp`; CloudFront `Expires`, `Key-Pair-Id`: `SIGNATURE_EVIDENCE_PARAMS`) are
  sub-fields too, so that the classifiers see in the signature's own object what makes
  it grant access, whatever the carrying field is called.
  Credentials in the URL's userinfo (`https://user:pass@host`) are left to the
  classifiers, at the carrying field itself.
- **base64 wrappers** (RFC 4648 sections 4 and 5, standard and URL-safe alphabets,
  padded or not): a value that is entirely base64 of printable UTF-8 text keeps its own
  classification, and the decoded text is classified too, at the same field; decoded
  JSON gives its fields below the carrying field, as a JSON string does. In a cookie, a
  decoded `user:password` pair also gives its password as the sub-field `password`
  (`auth.password`), so that the credential is named for what it is. Random tokens, hex
  digests and words are alphabet-valid base64 too: they decode to bytes that are not
  printable text and are left alone.
- **Credentials that are documents**: an `Authorization` or `Proxy-Authorization` value
  (a header or gRPC metadata) whose credentials after the scheme are a JSON document,
  as such or base64-wrapped (`Basic {"sessionKey": ..., "productNo": ...}`, which
  mobile apps send instead of RFC 7617's `user:password`), keeps its own classification
  and each scalar inside it is classified too, at the header field itself
  (`authorization`): HTTP authentication credentials are reported at the field that
  carries them (spec/inventory.md, "When the capture does not tell"), whatever their
  structure.

Values found inside a value that stay at its field (the scalars of an authorization
document, the text a base64 wrapper holds) are not more values of that field: the
carrying value is given as a `CarrierValue` (a `str`, the value as the part has it)
whose `inside` holds them, each with the path that names it for the classifiers (the
document's own key below the field: `authorization.productNo`; the field itself for a
wrapper's text). The field scorer counts the carrier once per data type found in it or
inside it, so that a phone among twenty keys of a header's document is one hit in one
value, not one in twenty (dpi/field_scoring.py). A part that holds a carrier comes back
as a `CarrierPairs` list, so that parts without one cost the scorer nothing more.

Bounds: only values up to `max_value_chars` are looked at (the payload decoder has cut
them already); a wrapper inside a wrapper is opened at most `MAX_NESTING` levels deep;
the pairs of one part stay within `max_fields_per_part`, and so do the values inside
one carrier. Cheap for the values that carry nothing: one look at the first and last
characters, one substring test and, for values of 16 characters or more, up to three
substring tests for characters of text (`.`, ` `, `:`), then the group leads; the
alphabet's regex runs only for the values that pass all of those.

Not opened: JSON fragments inside free text, URLs inside free text, base64 of binary
data (images, protobuf), gzip or other compression inside a value.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from typing import Final
from urllib.parse import parse_qsl

import orjson

from protocols.base import Limits, Location

Pair = tuple[str, str]
# Appended to a path cut at max_path_chars (as protocols.payload does).
CUT_MARK: Final = "\u2026"
# The JSON walk of protocols.payload: (document, path prefix, limits, out, hits).
WalkJson = Callable[..., None]

# Wrappers opened inside wrappers (base64 of a JSON document holding a JSON string).
MAX_NESTING: Final = 2
# Shortest value tried as base64: 16 characters decode to 12 bytes; a shorter string of
# letters is more often a word or an id than a wrapper, and random bytes pass the
# printable test below by chance far less often at this length (about 0.4 ** 12).
MIN_BASE64_CHARS: Final = 16
# Query parameters of signed URLs and tokens in URLs (lower-cased): AWS SigV4 query
# authentication, Google Cloud Storage V4 and V2 signing, Azure SAS (`sig`), CloudFront
# (`Signature`, `Policy`), OAuth 2.0 tokens in query strings (RFC 6750 section 2.3).
SIGNED_URL_PARAMS: Final = frozenset({
    "sig", "signature", "x-amz-signature", "x-amz-security-token", "x-amz-credential",
    "x-goog-signature", "x-goog-credential", "googleaccessid", "policy",
    "token", "access_token", "id_token", "refresh_token", "auth_token", "api_key", "apikey",
})
# A signature parameter that names no vendor, and the parameters of the same URL that say
# whether it grants access (an expiry, a signer's identity: Azure SAS, CloudFront), given
# as sub-fields beside it (lower-cased; GCS's `GoogleAccessId` and CloudFront's `Policy`
# are sub-fields already).
_BARE_SIGNATURES: Final = frozenset({"sig", "signature"})
SIGNATURE_EVIDENCE_PARAMS: Final = frozenset({"se", "sv", "sp", "expires", "key-pair-id"})
# One of those names as a query parameter: the query is parsed only when this matches.
_SIGNED_NAME: Final = re.compile(
    "[?&;](?:" + "|".join(re.escape(name) for name in sorted(SIGNED_URL_PARAMS)) + ")=",
    re.IGNORECASE,
)
# Shortest value that can carry another (`{"a":1}`, `/?sig=1`).
MIN_CARRIER: Final = 7
# Query strings longer than this in one value are not signed URLs worth parsing.
_MAX_QUERY: Final = 8192

_BASE64: Final = re.compile(r"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2}")
# The first character of each 4-character group encodes the top 6 bits of a byte; for
# text (ASCII bytes, below 0x80) that is one of the first 32 letters of the alphabet,
# `A`-`Z` and `a`-`f`. Random tokens and hex digests have half their groups above: a
# value whose group leads are mostly above is no wrapper of text, without decoding it.
_LOW_LEADS: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
# Share of group leads that may be above (UTF-8 text outside ASCII has some): one in four.
_LEADS_PER_HIGH: Final = 4
# A decoded `user:password` pair: a user name (a letter among its characters, no blank
# or colon) and a password (no blank), as HTTP Basic (RFC 7617) and cookie-based
# "remember me" schemes write them.
_CREDENTIAL_PAIR: Final = re.compile(r"([^\s:]{0,63}[A-Za-z][^\s:]{0,63}):(\S{1,128})")
_URL_START: Final = ("http://", "https://", "//", "/", "ws://", "wss://", "ftp://")
# Fields whose value is `<auth-scheme> <credentials>` (RFC 9110 sections 11.6.2, 11.7.2).
AUTHORIZATION_FIELDS: Final = frozenset({"authorization", "proxy-authorization"})
_CREDENTIAL_LOCATIONS: Final = frozenset({Location.HEADER, Location.METADATA})
# An auth-scheme is a token (RFC 9110 section 11.1); registered ones are short.
_AUTH_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,31}")


class CarrierValue(str):
    """A value as its part has it, carrying values found inside it at its own field:
    `inside`, (path that names the value for the classifiers, value) pairs, none of
    them a carrier itself (nested wrappers are flattened)."""

    inside: tuple[Pair, ...] = ()


class CarrierPairs(list[Pair]):
    """The pairs of a part, some of whose values are `CarrierValue`s."""


def with_inside(pairs: list[Pair]) -> list[Pair]:
    """`pairs` with the values inside carriers after each carrier, at their paths: every
    value a part gives, for readers that do not score (tests, bounds checks)."""
    out: list[Pair] = []
    for pair in pairs:
        out.append(pair)
        value = pair[1]
        if type(value) is CarrierValue:
            out.extend(value.inside)
    return out


def _carrier(value: str, inside: list[Pair]) -> CarrierValue:
    """`value` carrying `inside` (a carrier among them gives its own values too)."""
    carrier = CarrierValue(value)
    carrier.inside = tuple(with_inside(inside))
    return carrier


def _carried(out: list[Pair], found: list[Pair]) -> None:
    """Adds what the last pair of `out` holds: the values at its own path inside it
    (it becomes their carrier), those at other paths (sub-fields) after it."""
    path, value = out[-1]
    inside = [pair for pair in found if pair[0] == path]
    if not inside:
        out.extend(found)
        return
    out[-1] = (path, _carrier(value, inside))
    out.extend(pair for pair in found if pair[0] != path)


def expand_values(
    pairs: list[Pair],
    location: str,
    limits: Limits,
    walk_json: WalkJson,
    hits: object = None,
) -> list[Pair]:
    """`pairs` with the values inside their values added (or, for JSON strings, in their
    place). Returns `pairs` itself when no value carries anything (the common case)."""
    if len(pairs) == 1:
        # Most parts are one value (a header, a cookie): a short value costs one
        # length test (credentials inside an authorization value are at least as long
        # too), a longer one `_first_candidate`'s tests for itself alone.
        value = pairs[0][1]
        n = len(value)
        if n < MIN_CARRIER:
            return pairs
        # The field name first: a str set lookup (an enum's hash is Python code).
        if pairs[0][0] in AUTHORIZATION_FIELDS and location in _CREDENTIAL_LOCATIONS:
            inside = _credentials_inside(pairs[0], location, limits, walk_json, hits)
            if inside:
                return CarrierPairs([(pairs[0][0], _carrier(value, inside))])
        if not may_carry(value, n):
            return pairs
        first = 0
    else:
        first = _first_candidate(pairs)
    if first < 0:
        return pairs
    out = pairs[:first]
    carrier_at = _expand_into(pairs[first:], out, location, limits, walk_json, hits, 0)
    del out[limits.max_fields_per_part :]
    # No part's decoder gives a `CarrierValue`: the first one `_expand_into` placed
    # says whether `out` holds any.
    if 0 <= carrier_at < len(out):
        return CarrierPairs(out)
    return out


def expanded_value(
    path: str,
    value: str,
    location: str,
    limits: Limits,
    walk_json: WalkJson,
    hits: object = None,
) -> list[Pair]:
    """What `expand_values` puts in the place of the pair (path, value) of a part, for
    a value that `may_carry` passes (or, once one value of the part did, any value
    `_candidates` with `shortest=1` gives): the value, as a carrier or followed by the
    sub-fields it carries, or a JSON string's fields in its place. `expand_values`
    does each such value on its own but for the part's field limit, which the caller
    keeps (`protocols.payload.json_groups`)."""
    out: list[Pair] = []
    _expand_into([(path, value)], out, location, limits, walk_json, hits, 0)
    return out


def carries_nothing(path: str, value: str) -> bool:
    """True when `expand_values` gives the one pair (path, value) back as it is, in
    any location: a value too short to carry another, or one that shows no sign of a
    carrier, nor at an authorization field of a credentials document (a bearer token
    is none). (False only means "ask `expand_values`".)"""
    n = len(value)
    if n < MIN_CARRIER:
        return True
    if path in AUTHORIZATION_FIELDS and _document_credentials(value) is not None:
        return False
    return not may_carry(value, n)


def may_carry(value: str, n: int) -> bool:
    """`_candidates`' tests for one value of `n` (at least MIN_CARRIER)
    characters: JSON-shaped, base64 of text, or a URL with a signature parameter."""
    last = value[-1]
    if (last == "}" or last == "]") and value[0] in "{[":
        return True
    if n >= MIN_BASE64_CHARS and "." not in value and " " not in value and ":" not in value:
        # `_maybe_base64_text` and `_text_leads`, inline: the JSON walk asks this of
        # every id-like value (hex digests, UUIDs), and their two calls cost more
        # than their tests.
        leads = value[::4].encode("ascii", "replace")
        if (
            len(leads.translate(None, _LOW_LEADS)) * _LEADS_PER_HIGH <= len(leads)
            and _BASE64.fullmatch(value) is not None
        ):
            return True
    return "?" in value and _SIGNED_NAME.search(value) is not None


def _first_candidate(pairs: list[Pair]) -> int:
    """Index of the first value that may carry another, or -1."""
    return next(_candidates(pairs, MIN_CARRIER), -1)


def _candidates(pairs: list[Pair], shortest: int) -> Iterator[int]:
    """Indices, in order, of the values of at least `shortest` characters that
    `may_carry`'s tests pass (the base64 test is `_maybe_base64_text`'s, inline). The
    scan's hot loop: values too short to carry anything cost one length test."""
    signed = _SIGNED_NAME.search
    b64 = _BASE64.fullmatch
    min_b64 = MIN_BASE64_CHARS
    leads = _text_leads
    at = 0
    for pair in pairs:
        value = pair[1]
        n = len(value)
        if n < shortest:
            continue
        last = value[-1]
        if (
            ((last == "}" or last == "]") and value[0] in "{[")
            or (
                n >= min_b64
                and "." not in value
                and " " not in value
                and ":" not in value
                and leads(value)
                and b64(value) is not None
            )
            or ("?" in value and signed(value) is not None)
        ):
            # Counted only here, not per value: the first pair equal to this one from
            # the last index on is this one (an earlier equal pair has the same value,
            # so it would have been given first).
            at = pairs.index(pair, at)
            yield at
            at += 1


def _maybe_base64_text(value: str) -> bool:
    """Cheap necessary conditions for a base64 wrapper of text: the alphabet and the
    group leads. Cheapest first: the characters of text that neither alphabet has
    (`.` in e-mail addresses, dates and numbers, ` ` in names and prose, `:` in
    times) reject most values with one substring test each, then the group leads
    reject ids and hex digests (digits and `g`-`z` lead high) before the alphabet's
    regex runs."""
    return (
        "." not in value
        and " " not in value
        and ":" not in value
        and _text_leads(value)
        and _BASE64.fullmatch(value) is not None
    )


def _text_leads(value: str) -> bool:
    # bytes.translate deletes through a 256-entry table: half the cost of str.translate,
    # which builds its ASCII cache on every call (0.27 vs 0.55 us for a UUID). Each
    # character outside ASCII stays one high lead.
    leads = value[::4].encode("ascii", "replace")
    return len(leads.translate(None, _LOW_LEADS)) * _LEADS_PER_HIGH <= len(leads)


def _expand_into(
    pairs: list[Pair],
    out: list[Pair],
    location: str,
    limits: Limits,
    walk_json: WalkJson,
    hits: object,
    nesting: int,
) -> int:
    """Appends `pairs` to `out`, each value that carries others with what it carries.
    Returns the index in `out` of the first `CarrierValue` it placed, or -1.

    The values between two candidates go in one `extend`: `_candidates` with
    `shortest=1` finds every value the loop below does something with (a JSON-shaped
    value of any length, a `?` with a signature parameter, base64 of text), and for
    the others the loop would only append them, without the field-limit test."""
    max_fields = limits.max_fields_per_part
    signed = _SIGNED_NAME.search
    min_b64 = MIN_BASE64_CHARS
    append = out.append
    carrier_at = -1
    start = 0
    for found in _candidates(pairs, 1):
        out.extend(pairs[start:found])
        start = found + 1
        pair = pairs[found]
        before = len(out)
        value = pair[1]
        last = value[-1:]
        if (last == "}" or last == "]") and value[:1] in ("{", "["):
            inner = _json_inside(value, pair[0], location, limits, walk_json, hits, nesting)
            if inner:
                out.extend(inner)
                if carrier_at < 0:
                    carrier_at = _carrier_index(out, before)
                if len(out) >= max_fields:
                    return carrier_at
                continue
        append(pair)
        if "?" in value and signed(value) is not None:
            if value.lstrip().startswith(_URL_START):
                out.extend(_signed_params(value, pair[0], limits))
        elif len(value) >= min_b64 and _maybe_base64_text(value):
            _carried(
                out, _base64_inside(value, pair[0], location, limits, walk_json, hits, nesting)
            )
            if carrier_at < 0:
                carrier_at = _carrier_index(out, before)
        else:
            continue
        if len(out) >= max_fields:
            return carrier_at
    out.extend(pairs[start:])
    return carrier_at


def _carrier_index(out: list[Pair], start: int) -> int:
    """Index of the first `CarrierValue` in `out[start:]`, or -1."""
    for i in range(start, len(out)):
        if type(out[i][1]) is CarrierValue:
            return i
    return -1


def _json_inside(
    value: str,
    path: str,
    location: str,
    limits: Limits,
    walk_json: WalkJson,
    hits: object,
    nesting: int,
) -> list[Pair]:
    """The fields of a JSON object or array held in a string, below `path`."""
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(document, (dict, list)) or not document:
        return []
    inner: list[Pair] = []
    walk_json(document, path, limits, inner, hits)
    if nesting + 1 < MAX_NESTING and _first_candidate(inner) >= 0:
        nested: list[Pair] = []
        _expand_into(inner, nested, location, limits, walk_json, hits, nesting + 1)
        return nested
    return inner


def _credentials_inside(
    pair: Pair, location: str, limits: Limits, walk_json: WalkJson, hits: object
) -> list[Pair]:
    """The scalars of a JSON document that an authorization value's credentials are (as
    such or base64 of it), each named below the carrying field for the classifiers
    (they are values of the field itself: `CarrierValue`); [] for any other credentials."""
    path, value = pair
    credentials = _document_credentials(value)
    if credentials is None:
        return []
    if not _json_shaped(credentials):
        decoded = decoded_base64_text(credentials)
        if decoded is None or not _json_shaped(decoded.strip()):
            return []
        credentials = decoded.strip()
    return _json_inside(credentials, path, location, limits, walk_json, hits, 0)


def _document_credentials(value: str) -> str | None:
    """The credentials of an authorization value (`<auth-scheme> <credentials>`) when
    they may be a document: JSON-shaped, or alphabet-valid base64 of text (decoded by
    the caller). None for any other value, without decoding anything."""
    scheme, sep, credentials = value.partition(" ")
    credentials = credentials.strip()
    if not sep or len(credentials) < MIN_CARRIER or _AUTH_SCHEME.fullmatch(scheme) is None:
        return None
    if _json_shaped(credentials) or (
        len(credentials) >= MIN_BASE64_CHARS and _maybe_base64_text(credentials)
    ):
        return credentials
    return None


def _json_shaped(text: str) -> bool:
    """An object or an array by its first and last characters."""
    return text[:1] in ("{", "[") and text[-1:] in ("}", "]")


def _signed_params(value: str, path: str, limits: Limits) -> list[Pair]:
    """Signature and token parameters of a URL, as sub-fields of `path`."""
    query = value.split("#", 1)[0].partition("?")[2][:_MAX_QUERY]
    found: list[Pair] = []
    base = f"{path}." if path else ""
    params = parse_qsl(query, keep_blank_values=False)
    wanted = SIGNED_URL_PARAMS
    if any(name.lower() in _BARE_SIGNATURES for name, _ in params):
        wanted = SIGNED_URL_PARAMS | SIGNATURE_EVIDENCE_PARAMS
    for name, param in params:
        if name.lower() in wanted and len(name) <= limits.max_key_chars:
            found.append((_sub_field(base + name, limits), param[: limits.max_value_chars]))
    return found


def _base64_inside(
    value: str,
    path: str,
    location: str,
    limits: Limits,
    walk_json: WalkJson,
    hits: object,
    nesting: int,
) -> list[Pair]:
    """What a base64 wrapper holds: its text at `path`, or its JSON fields below it."""
    text = decoded_base64_text(value)
    if text is None:
        return []
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
        inner = _json_inside(stripped, path, location, limits, walk_json, hits, nesting)
        if inner:
            return inner
    found = [(path, text[: limits.max_value_chars])]
    if location == Location.COOKIE:
        pair = _CREDENTIAL_PAIR.fullmatch(stripped)
        if pair is not None and not pair.group(2).isdigit():
            sub = _sub_field(f"{path}.password" if path else "password", limits)
            found.append((sub, pair.group(2)[: limits.max_value_chars]))
    if nesting + 1 < MAX_NESTING and len(stripped) >= MIN_BASE64_CHARS:
        deeper: list[Pair] = []
        _expand_into(found[:1], deeper, location, limits, walk_json, hits, nesting + 1)
        found[:1] = deeper or found[:1]
    return found


def _sub_field(path: str, limits: Limits) -> str:
    """A sub-field's path, cut at max_path_chars as the JSON walk cuts paths."""
    if len(path) > limits.max_path_chars:
        return path[: limits.max_path_chars] + CUT_MARK
    return path


def decoded_base64_text(value: str) -> str | None:
    """The printable UTF-8 text a base64 value (either alphabet, padded or not) holds,
    or None when it holds anything else (binary, random bytes) or is no base64."""
    data = value.rstrip("=")
    if len(data) % 4 == 1:
        return None  # no base64 string has this length
    alphabet_url = "-" in data or "_" in data
    padded = data + "=" * (-len(data) % 4)
    try:
        raw = (
            base64.urlsafe_b64decode(padded) if alphabet_url else base64.b64decode(padded)
        )
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if not text or not _printable(text):
        return None
    return text


def _printable(text: str) -> bool:
    """Text a person or a program wrote: printable characters and line breaks only, and
    at least one letter (`\\x00`-ridden or symbol-only bytes are no text)."""
    if not any(ch.isalpha() for ch in text):
        return False
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text)
