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

- By value and context, not by cookie name alone: session cookies of any framework
  (a name token ending in `sid` or `sess`, ColdFusion `CFID`/`CFTOKEN` whose values are
  numbers, login cookies whose names embed the user or a hash: `jupyterhub-user-<name>`,
  `wordpress_logged_in_<hash>`), whose values look random (`|` and `:` allowed: signed
  cookies join their parts with them).
- A cookie named only for the session (`session`, `sessionid`, `newsession`) holds
  a session credential even when its value is short (test and lab setups: test data
  is data, spec): a token of at least six characters with a digit.
- A scheme-less credential in `Authorization`/`Proxy-Authorization` (a header or gRPC
  metadata; `authorization: <token>` as grpc-go's examples send it): one token68 of at
  least `MIN_BEARER_IN_HEADER` characters that is neither a scheme name nor a placeholder
  word. `Basic` (PASSWORD's), `Digest`, `Negotiate` and NTLM values have a scheme and
  a space and are left alone.
- JSON-RPC `auth` (Zabbix: `{"jsonrpc":"2.0","method":..,"auth":"<32 hex>"}`): a field
  named just `auth` next to `jsonrpc` (or `method` and `params`), random-looking value.
- Signed URLs: a signature parameter (`sig`, `signature`, `X-Amz-Signature`,
  `X-Goog-Signature`, CloudFront's `Signature`) grants access to whoever holds the URL,
  so it is a bearer credential when the value looks random and the name says so: a
  vendor's name (`X-Amz-`, `X-Goog-`), or a `sig`/`signature` next to an expiry or a
  signer's identity (`Expires`, `Policy`, `Key-Pair-Id`, Azure's `se`) in a query
  string, a cookie, or a field holding a URL (`download_url.Signature`, `referer.sig`).
  A signature whose own object (a URL's own parameters, which the payload decoder gives
  as sub-fields beside it) holds a signer that only URL signing schemes write (Azure
  SAS `se` with `sv` or `sp`, CloudFront `Key-Pair-Id`, GCS `GoogleAccessId`) is one
  whatever the carrying field is called (`links.az1.sig`); an expiry alone there is not
  enough (a signed document may carry one). A signature with neither protects a
  parameter (click tracking, image proxies).
- Not credentials: anti-CSRF nonces (`csrf`, `xsrf`, `authenticity_token`,
  `__RequestVerificationToken`, a form's `_token`), and a UUID named session outside a
  cookie (a messaging or analytics session id, such as a WebSocket kernel session).

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

from classifiers._hints import name_tokens
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
_PLACEHOLDERS = frozenset({"null", "undefined", "none", "token", "<token>", "redacted", "xxxxxxxx",
                           "changeme", "password", "disabled", "unauthorized", "required"})
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
                             "sessid", "token", "aspsessionid", "sessiontoken", "sess"})
# Authentication scheme names (IANA HTTP Authentication Scheme registry and common
# vendor ones): a value that is only a scheme name carries no credential.
_AUTH_SCHEMES = frozenset({"basic", "bearer", "digest", "negotiate", "ntlm", "hoba",
                           "mutual", "vapid", "scram-sha-1", "scram-sha-256",
                           "privatetoken", "concealed", "dpop", "gnap", "kerberos", "oauth",
                           "aws4-hmac-sha256", "anonymous"})
# A single token68 (RFC 9110 section 11.2).
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_MASK_CHARS = frozenset("*x#.-_")
# Signature parameters of signed URLs; names that describe a signature rather than hold
# one (`SigAlg`, `signature_method`, `signature_version`) are excluded.
_SIGNATURE_TOKENS = frozenset({"sig", "signature"})
_SIGNATURE_METADATA = frozenset({"alg", "algorithm", "method", "version", "type", "key",
                                 "keyid", "pair", "expires", "date", "format"})
_SIGNING_VENDORS = frozenset({"amz", "goog", "cloudfront"})
_URL_PARENTS = frozenset({"url", "uri", "href", "link", "location", "referer", "referrer",
                          "redirect", "src", "download", "upload", "callback"})
_URL_LOCATIONS = frozenset({"query", "cookie"})
# What makes a signature grant access: the URL also carries an expiry or the signer's
# identity (AWS `X-Amz-Expires`/`X-Amz-Credential`, GCS `GoogleAccessId`/`Expires`,
# CloudFront `Expires`/`Policy`/`Key-Pair-Id`, Azure SAS `se`). A signature alone
# protects a parameter against tampering (click tracking, image proxies): no credential.
_SIGNED_ACCESS = frozenset({"expiry", "expires", "credential", "policy", "pair", "access",
                            "se", "keyid"})
# Signers only URL signing schemes write, as token sets of which one must be among the
# signature's own object's keys: CloudFront `Key-Pair-Id`, GCS V2 `GoogleAccessId`, Azure
# SAS `se` (expiry) with `sv` (version) or `sp` (permissions).
_URL_SIGNERS = (frozenset({"key", "pair", "id"}), frozenset({"google", "access", "id"}),
                frozenset({"se", "sv"}), frozenset({"se", "sp"}))
# JSON-RPC envelope members (JSON-RPC 2.0; 1.0 has no `jsonrpc` but `method` and `params`).
_JSONRPC = frozenset({"jsonrpc"})
_JSONRPC_V1 = frozenset({"method", "params"})
# The sibling and object-key tokens asked about (`Classifier.context_words`): the
# JSON-RPC envelope beside `auth`, a signed URL's expiry or signer beside a signature.
_CONTEXT_WORDS = _JSONRPC | _JSONRPC_V1 | _SIGNED_ACCESS | frozenset().union(*_URL_SIGNERS)
_NOT_CREDENTIAL = frozenset({"csrf", "xsrf", "type", "expires", "expiry", "in", "at", "ttl",
                             "url", "uri", "endpoint", "name", "count", "length", "hint",
                             "kind", "scope", "format", "locale", "lang", "language",
                             "timeout", "duration", "api", "status", "created", "updated",
                             "date", "time", "timestamp", "secs", "seconds", "max", "age",
                             # Pagination and sync cursors (`next_page_token`, AWS
                             # `NextToken`, `continuation_token`): opaque, random-looking
                             # and named token, yet they grant nothing.
                             "page", "next", "cursor", "continuation", "pagination",
                             "sync", "offset", "resume",
                             # Anti-forgery nonces: Rails, ASP.NET, generic.
                             "nonce", "authenticity", "verification", "antiforgery",
                             "request", "pref", "prefs", "theme", "consent"})
# Cookie-name tokens of login cookies whose names embed a user or a hash.
_LOGIN_COOKIE = frozenset({"auth", "login", "logged", "remember", "user", "identity",
                           "sess", "cfid", "cftoken"})
# ColdFusion's session pair: numbers (CFID) or numbers / a UUID (CFTOKEN).
_COLDFUSION = frozenset({"cfid", "cftoken"})
_COLDFUSION_VALUE = re.compile(r"[0-9]{4,20}|[0-9a-f]{16}-[0-9A-F-]{20,40}|[0-9A-Fa-f-]{20,64}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Signed cookie values join their parts with `|` (Tornado, WordPress) or `:`.
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9\-._~+/=%:|!*]+")
COOKIE_ENTROPY = 3.5
_SESSION_VALUE = re.compile(r"[A-Za-z0-9\-._~+/=%:]+")
_SESSION_MIN, _SESSION_MAX = 16, 4096
SESSION_ENTROPY = 3.0
# Cookies named only for the session, whatever the shape of their value (test and lab
# setups use short ones): `session`, `sessionid`, `newsession`, `sid`.
_PLAIN_SESSION_NAMES = frozenset({"session", "sessionid", "sid", "sess", "new", "newsession"})
_SHORT_SESSION_MIN = 6


class BearerTokenClassifier(Classifier):
    data_type = "BEARER_TOKEN"
    category = Category.SECRET
    context_words = _CONTEXT_WORDS
    gate_reads_server = False
    hints = frozenset({"token", "session", "sid"})
    # ColdFusion's CFID is a short number; every other form is 16 characters or more.
    min_len = 4
    max_len = 1 << 20
    # A Bearer header or a JWT is unambiguous.
    min_share = 0.05

    BEARER: ClassVar[float] = 0.97
    SCHEMELESS: ClassVar[float] = 0.85
    JSONRPC_AUTH: ClassVar[float] = 0.85
    URL_SIGNATURE: ClassVar[float] = 0.8
    JWT: ClassVar[float] = 0.95
    JWT_HINTED: ClassVar[float] = 0.99
    SESSION_COOKIE: ClassVar[float] = 0.85
    SESSION: ClassVar[float] = 0.8
    # Outside a session or token field only `Bearer` and JWTs count: both have letters.
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {ANY: lambda n, classes: True,
         "formats": lambda n, classes: n >= MIN_BEARER and not classes.isdisjoint(LETTERS)}
    )
    # Outside one: what `score` looks for before `_BEARER` and `_JWT`.
    value_needs: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"formats": "earer|EARER|eyJ"}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        return ANY if self.hinted(ctx) or _auth_header(ctx) else "formats"

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        in_header = _auth_header(ctx)
        if len(value) < MIN_BEARER:
            if in_header:
                return self._schemeless(value)
            if ctx.location == "cookie" and not _COLDFUSION.isdisjoint(ctx.name_tokens):
                return self._session(value, ctx)
            if ctx.location == "cookie" and _plain_session_cookie(ctx.name_tokens):
                return self._short_session(value)
            return None
        text = value[:_MAX_TEXT]
        if "earer" in text or "EARER" in text:
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
        if in_header:
            return self._schemeless(value)
        return self._session(value, ctx)

    def _short_session(self, value: str) -> Finding | None:
        """A short value in a cookie named just `session`: test data is data (spec), so
        the name decides; the value must still be a token with a digit (not `deleted`)."""
        text = value.strip()
        if (len(text) < _SHORT_SESSION_MIN or _SESSION_VALUE.fullmatch(text) is None
                or not any(ch.isdigit() for ch in text) or len(set(text)) < 3):
            return None
        return self.finding(0.75, "session cookie name, short token value")

    def _schemeless(self, value: str) -> Finding | None:
        """`authorization: <token>` with no scheme: the header says it is a credential."""
        text = value.strip()
        if len(text) < MIN_BEARER_IN_HEADER or len(text) > _SESSION_MAX:
            return None
        lowered = text.lower()
        if (lowered in _PLACEHOLDERS or lowered in _AUTH_SCHEMES
                or set(lowered) <= _MASK_CHARS or _TOKEN68.fullmatch(text) is None):
            return None
        return self.finding(self.SCHEMELESS, "authorization header, token without scheme")

    def hinted(self, ctx: FieldContext) -> bool:
        names = ctx.name_tokens
        if "logged" in names:
            names = names - {"in"}  # `logged_in`: not the `in` of `expires_in`
        if not _NOT_CREDENTIAL.isdisjoint(names) or _csrf_form_field(ctx):
            return False
        return (not _SESSION_TOKENS.isdisjoint(names)
                or (ctx.location == "cookie" and _login_cookie(names))
                or _jsonrpc_auth(ctx) or _url_signature(ctx))

    def _session(self, value: str, ctx: FieldContext) -> Finding | None:
        if not self.hinted(ctx):
            return None
        names = ctx.name_tokens
        text = value.strip()
        if _SESSION_TOKENS.isdisjoint(names) and not (
                ctx.location == "cookie" and _login_cookie(names)):
            return self._named_credential(text, ctx)
        if ctx.location == "cookie":
            # Base64 wrapped in lines (RFC 2045), as Rails' signed cookies are once decoded.
            text = text.replace("\n", "")
            if not _COLDFUSION.isdisjoint(names):
                if _COLDFUSION_VALUE.fullmatch(text) is not None:
                    return self.finding(self.SESSION_COOKIE, "ColdFusion session cookie")
                return None
            if _SESSION_TOKENS.isdisjoint(names):
                # A login cookie named for its user or hash: the value must say token.
                if (_SESSION_MIN <= len(text) <= _SESSION_MAX
                        and _COOKIE_VALUE.fullmatch(text) is not None
                        and looks_random(text, COOKIE_ENTROPY)):
                    return self.finding(0.75, "login cookie name, high entropy value")
                return None
        elif _UUID.fullmatch(text) is not None:
            # A session UUID outside a cookie names a messaging or analytics session.
            return None
        if not _SESSION_MIN <= len(text) <= _SESSION_MAX or _SESSION_VALUE.fullmatch(text) is None:
            return None
        if not looks_random(text, SESSION_ENTROPY):
            return None
        if ctx.location == "cookie":
            return self.finding(self.SESSION_COOKIE, "session cookie name, high entropy value")
        return self.finding(self.SESSION, "token field name hint, high entropy value")


    def _named_credential(self, text: str, ctx: FieldContext) -> Finding | None:
        """A JSON-RPC `auth` member or a signed URL's signature: a random-looking token."""
        if not _SESSION_MIN <= len(text) <= _SESSION_MAX or _SESSION_VALUE.fullmatch(text) is None:
            return None
        if not looks_random(text, SESSION_ENTROPY):
            return None
        if _jsonrpc_auth(ctx):
            return self.finding(self.JSONRPC_AUTH, "json-rpc auth member, high entropy value")
        return self.finding(self.URL_SIGNATURE, "signed url signature, high entropy value")


def _auth_header(ctx: FieldContext) -> bool:
    """`Authorization` or `Proxy-Authorization`, as an HTTP header or gRPC metadata."""
    return ctx.location in ("header", "metadata") and ctx.path.lower() in _AUTH_HEADERS


def _jsonrpc_auth(ctx: FieldContext) -> bool:
    """`auth` in a JSON-RPC request (Zabbix API): the member carries the session."""
    siblings = ctx.sibling_tokens
    return ctx.name_tokens == {"auth"} and (
        not _JSONRPC.isdisjoint(siblings) or _JSONRPC_V1 <= siblings)


def _url_signature(ctx: FieldContext) -> bool:
    """A signed URL's signature parameter (see the module docstring)."""
    names = ctx.name_tokens
    if _SIGNATURE_TOKENS.isdisjoint(names) or not _SIGNATURE_METADATA.isdisjoint(names):
        return False
    if not _SIGNING_VENDORS.isdisjoint(names):
        return True
    if any(signer <= ctx.object_tokens for signer in _URL_SIGNERS):
        return True
    if _SIGNED_ACCESS.isdisjoint(ctx.sibling_tokens):
        return False
    if ctx.location in _URL_LOCATIONS:
        return True
    parent = ctx.path.rsplit(".", 2)
    return len(parent) > 1 and not _URL_PARENTS.isdisjoint(name_tokens(parent[-2]))


def _login_cookie(names: frozenset[str]) -> bool:
    """Session and login cookies by their name: a token ending in `sid` or `sess`
    (`hsid`, `_app_sess`), or a login word (`wordpress_logged_in_<hash>`, a `user`
    cookie signed by the application)."""
    if "id" in names:
        return False  # `cUserId`, `login_id`: an identifier of the user, not a login
    if not _LOGIN_COOKIE.isdisjoint(names):
        return True
    return any(t.endswith(("sid", "sess", "session")) and len(t) <= 16 for t in names)


def _plain_session_cookie(names: frozenset[str]) -> bool:
    """A cookie named only for the session (`session`, `sessionid`, `newsession`)."""
    return bool(names) and names <= _PLAIN_SESSION_NAMES and not names <= {"new"}


def _csrf_form_field(ctx: FieldContext) -> bool:
    """`_token` in a body: Laravel's and Symfony's anti-forgery form field."""
    return ctx.location == "body" and ctx.path.lstrip("_") in ("token", "csrf_token") and (
        ctx.path.startswith("_"))


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
