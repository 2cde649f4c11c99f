"""Which credentials a request carries, by kind, never by value.

A request counts as credentialed when it carries any of:
- `Authorization` / `Proxy-Authorization` (RFC 9110 section 11.6): kind by scheme
  (`authorization_bearer`, `authorization_basic`, ...);
- an API-key header (`X-API-Key`, `Ocp-Apim-Subscription-Key`, ...);
- a cookie whose name says it is a session (`JSESSIONID`, `connect.sid`, `session`, ...)
  and whose value is long enough to be an identifier;
- a query parameter named like a key or token (`api_key`, `access_token`,
  `X-Amz-Signature` of pre-signed URLs).
gRPC metadata is read like headers. What cannot be seen: mutual TLS (the client
certificate is inside the TLS handshake, encrypted in TLS 1.3), IP allow-lists, and
credentials that the protocol carries at connection level (Kafka SASL, MySQL login):
those protocols get no per-request share.
"""

from __future__ import annotations

import re

from protocols.base import Location, Part

# Authorization schemes with their own kind (IANA HTTP Authentication Scheme Registry);
# any other scheme is `authorization_other`.
_SCHEMES = frozenset({"basic", "bearer", "digest", "negotiate", "ntlm", "aws4-hmac-sha256", "hoba", "mutual"})
_AUTH_HEADERS = frozenset({"authorization", "proxy-authorization"})
# Header names that carry keys/tokens in common API gateways and SDKs.
_KEY_HEADERS = frozenset(
    {
        "x-api-key",
        "api-key",
        "apikey",
        "x-apikey",
        "x-auth-token",
        "x-access-token",
        "x-session-token",
        "x-amz-security-token",
        "x-goog-api-key",
        "x-functions-key",
        "ocp-apim-subscription-key",
        "x-vault-token",
        "private-token",
    }
)
# Other names ending like a key or token header (`x-myapp-api-key`); anchored and short.
_KEY_HEADER_RE = re.compile(r"(?:^|[-_])(?:api[-_]?key|auth[-_]?token|access[-_]?token|session[-_]?token)$")
# Session cookie names of the usual frameworks; anchored alternatives, no nesting.
_SESSION_COOKIE_RE = re.compile(
    r"(?:sess(?:ion)?(?:id)?|sid|jsessionid|phpsessid|asp\.net_sessionid|connect\.sid|"
    r"[\w.-]*_session(?:_id)?|auth[\w.-]*|[\w.-]*token|jwt|remember_\w+)$",
    re.IGNORECASE,
)
# A session identifier is long; shorter values are preferences (`lang=en`, `sid=1`).
MIN_SESSION_VALUE = 16
_KEY_QUERY_RE = re.compile(
    r"(?:api[-_]?key|apikey|access[-_]?token|auth[-_]?token|token|key|x-amz-signature|signature|sig)$",
    re.IGNORECASE,
)
# Query parameters looked at per request: URLs do not carry more credentials than this.
MAX_QUERY_PARAMS = 128
# Characters of a parameter name read (longer names are not credential names).
MAX_NAME_CHARS = 64


def _scheme_kind(value: bytes) -> str:
    scheme = value[:32].split(b" ", 1)[0].decode("latin-1").lower()
    return f"authorization_{scheme}" if scheme in _SCHEMES else "authorization_other"


def _query_kinds(data: bytes) -> list[str]:
    kinds = []
    for pair in data.split(b"&", MAX_QUERY_PARAMS)[:MAX_QUERY_PARAMS]:
        name, sep, value = pair.partition(b"=")
        if sep and value and len(name) <= MAX_NAME_CHARS and _KEY_QUERY_RE.match(
            name.decode("latin-1")
        ):
            kinds.append("query_key")
    return kinds


def credential_kinds(parts: tuple[Part, ...]) -> list[str]:
    """Kinds of credentials in one request's parts (empty: none seen)."""
    kinds: list[str] = []
    for part in parts:
        location = part.location
        if location is Location.HEADER or location is Location.METADATA:
            name = part.name
            if name in _AUTH_HEADERS:
                kinds.append(_scheme_kind(part.data))
            elif name in _KEY_HEADERS or (
                len(name) <= MAX_NAME_CHARS and _KEY_HEADER_RE.search(name)
            ):
                kinds.append("api_key_header")
        elif location is Location.COOKIE:
            if (
                len(part.data) >= MIN_SESSION_VALUE
                and len(part.name) <= MAX_NAME_CHARS
                and _SESSION_COOKIE_RE.match(part.name)
            ):
                kinds.append("session_cookie")
        elif location is Location.QUERY:
            kinds.extend(_query_kinds(part.data))
    return kinds
