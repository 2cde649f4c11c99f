"""HTTP field helpers shared by the HTTP dissectors: methods (the IANA HTTP Method
Registry and QUERY), Content-Type -> `MediaType` (RFC 9110 section 8.3), cookies
(RFC 6265 section 4.1 `Set-Cookie`, section 4.2 `Cookie`) and Content-Encoding lists
(RFC 9110 section 8.4).

Not supported: quoted-string parameters with escaped quotes in Content-Type (the
parameters are kept verbatim for multipart only), RFC 2965 `Cookie2`.
"""

from __future__ import annotations

from protocols._xml import XML_MEDIA_TYPE
from protocols.base import Location, MediaType, Part

# Methods a probe accepts: every method of the IANA HTTP Method Registry (RFC 9110
# section 9, PATCH RFC 5789, WebDAV RFC 4918, DeltaV RFC 3253, CalDAV, binding, ordering
# and redirect references, SEARCH RFC 5323, LINK/UNLINK RFC 2068) and QUERY (the IETF
# httpbis safe-method-with-body draft, a GET with a body), plus PURGE, which real caches
# send. Not PRI: it only opens the HTTP/2 connection preface (`PRI * HTTP/2.0`).
KNOWN_METHODS: frozenset[bytes] = frozenset(
    b"GET HEAD POST PUT DELETE CONNECT OPTIONS TRACE PATCH QUERY PROPFIND PROPPATCH MKCOL "
    b"COPY MOVE LOCK UNLOCK REPORT MKCALENDAR SEARCH PURGE LINK UNLINK MERGE CHECKOUT "
    b"CHECKIN UNCHECKOUT MKACTIVITY MKWORKSPACE BASELINE-CONTROL VERSION-CONTROL LABEL "
    b"UPDATE BIND UNBIND REBIND ACL ORDERPATCH MKREDIRECTREF UPDATEREDIRECTREF".split()
)
MAX_METHOD_LEN = max(len(m) for m in KNOWN_METHODS)

# Cookies per header kept as parts: a Cookie header longer than this is abuse, not state.
MAX_COOKIES_PER_HEADER = 256

_JSON_TYPES = frozenset(
    {"application/json", "text/json", "application/x-json", "application/javascript+json",
     "application/json-rpc", "application/jsonrequest"}  # JSON-RPC over HTTP
)
_NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/json-seq",
    }
)
_PROTOBUF_TYPES = frozenset(
    {"application/x-protobuf", "application/protobuf", "application/vnd.google.protobuf"}
)
# XML bodies (SOAP 1.1 is text/xml, SOAP 1.2 application/soap+xml: every `+xml` type).
_XML_TYPES = frozenset({"application/xml", "text/xml"})
# XML that is a page or a picture, not data: left undecoded like HTML.
_MARKUP_XML = frozenset({"application/xhtml+xml", "image/svg+xml"})
# text/* subtypes that are markup or code, not values: kept out of the classifiers.
_BINARY_TEXT = frozenset({"text/html", "text/css", "text/javascript"})


def bare_type(content_type: str) -> str:
    """`Application/JSON; charset=utf-8` -> `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


def is_grpc(content_type: str) -> bool:
    """gRPC and gRPC-Web content types (gRPC over HTTP/2 spec, gRPC-Web protocol doc)."""
    return bare_type(content_type).startswith("application/grpc")


def sniff_json(body: bytes) -> bool:
    """Cheap test: an object or array by its first and last non-blank bytes."""
    head = body[:64].lstrip()
    tail = body[-64:].rstrip()
    return bool(head) and (
        (head[:1] == b"{" and tail[-1:] == b"}") or (head[:1] == b"[" and tail[-1:] == b"]")
    )


def media_type_of(content_type: str) -> str | None:
    """The media type a body gets from its Content-Type, or None when only the body
    itself can tell (missing type, text/plain: JSON is sniffed)."""
    bare = bare_type(content_type)
    if not bare or bare == "text/plain":
        return None
    if bare in _JSON_TYPES or bare.endswith("+json"):
        return MediaType.JSON
    if bare in _NDJSON_TYPES:
        return MediaType.NDJSON
    if bare == "application/x-www-form-urlencoded":
        return MediaType.FORM
    if bare == "text/event-stream":
        return MediaType.SSE
    if bare in _XML_TYPES or (bare.endswith("+xml") and bare not in _MARKUP_XML):
        return XML_MEDIA_TYPE  # SOAP and other XML (protocols._xml)
    if bare in ("multipart/form-data", "multipart/related"):
        # payload needs the boundary parameter: the full value, as sent
        return content_type.strip()
    if bare in _PROTOBUF_TYPES:
        return MediaType.PROTOBUF
    if bare.startswith("application/grpc"):
        return bare
    if bare.startswith("text/") and bare not in _BINARY_TEXT:
        return MediaType.TEXT
    return MediaType.BINARY


def media_type_for_body(content_type: str, body: bytes) -> str:
    """Final media type once the (decoded) body is known."""
    media = media_type_of(content_type)
    if media is not None:
        return media
    if sniff_json(body):
        return MediaType.JSON
    return MediaType.TEXT if bare_type(content_type) == "text/plain" else MediaType.BINARY


def content_codings(value: str) -> list[str]:
    """`gzip, br` -> ["gzip", "br"] in the order applied; `identity` dropped."""
    if "," not in value:  # one coding or none (nearly every message)
        coding = value.strip().lower()
        return [coding] if coding and coding != "identity" else []
    return [c for c in (p.strip().lower() for p in value.split(",")) if c and c != "identity"]


def cookie_parts(value: bytes) -> list[Part]:
    """`Cookie: a=1; b=2` -> one part per cookie, named by the cookie name."""
    parts: list[Part] = []
    for pair in value.split(b";")[:MAX_COOKIES_PER_HEADER]:
        name, sep, val = pair.partition(b"=")
        name = name.strip()
        if not sep or not name:
            continue
        parts.append(Part(location=Location.COOKIE, name=name.decode("latin-1"), data=val.strip()))
    return parts


def set_cookie_part(value: bytes) -> Part | None:
    """`Set-Cookie: sid=abc; Path=/; HttpOnly` -> the `sid` cookie, attributes dropped."""
    pair = value.split(b";", 1)[0]
    name, sep, val = pair.partition(b"=")
    name = name.strip()
    if not sep or not name:
        return None
    return Part(location=Location.COOKIE, name=name.decode("latin-1"), data=val.strip())
