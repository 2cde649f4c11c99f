"""One `Part` -> the scalar values it carries, each with the spec's field path
(spec/inventory.md, "field").

Formats: JSON (RFC 8259) and its line-delimited forms (NDJSON, JSON Lines, RFC 7464
json-seq), `text/event-stream` (WHATWG HTML "Server-sent events", section 9.2.6: `data:`
lines, an event ends at a blank line), `application/x-www-form-urlencoded` (WHATWG URL,
section 5) for query strings and form bodies, `multipart/form-data` (RFC 7578), protobuf
(delegated to `protocols.protobuf.fields_from_part`) and single text values (headers,
cookies, columns).

Paths: JSON keys joined by `.`, an array element adds `[]` (a top-level array gives
`[].key`); a bare scalar body has the empty path; form, query, header and cookie values
are named by their name. Numbers become their text (integers as digits, floats as
`repr`), strings stay as they are; booleans and null carry nothing and are skipped.

Not supported: XML and HTML bodies (BINARY), nested multipart (`multipart/mixed` inside a
part), `charset` other than UTF-8 (decoded with replacement), SSE `data:` values that
span several events.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from urllib.parse import parse_qsl

import orjson

from protocols.base import FieldValue, Limits, Location, MediaType, Part

# Parts of a multipart body looked at: real forms have a few dozen fields.
MAX_MULTIPART_PARTS = 1000
# Header block of one multipart part (Content-Disposition and Content-Type only).
MAX_MULTIPART_HEAD = 8192
# SSE events and NDJSON lines per body: beyond this the stream is cut (each still
# counts towards max_fields_per_part).
MAX_RECORDS_PER_BODY = 100_000

_Decoder = Callable[[Part, Limits, object | None], list[FieldValue]]


def _walk(
    obj: object, prefix: str, location: Location, limits: Limits, out: list[FieldValue]
) -> None:
    """Depth-first, document order, bounded by depth, field count and value length."""
    max_depth = limits.max_depth
    max_fields = limits.max_fields_per_part
    max_chars = limits.max_value_chars
    append = out.append
    stack: list[tuple[object, str, int]] = [(obj, prefix, 0)]
    pop = stack.pop
    push = stack.append
    while stack:
        value, path, depth = pop()
        kind = type(value)
        if kind is str:
            append(FieldValue(location=location, path=path, value=value[:max_chars]))  # type: ignore[index]
        elif kind is dict:
            if depth >= max_depth:
                continue
            base = path + "." if path else ""
            for key, item in reversed(list(value.items())):  # type: ignore[attr-defined]
                push((item, base + key, depth + 1))
            continue
        elif kind is list:
            if depth >= max_depth:
                continue
            elem = path + "[]"
            for item in reversed(value):  # type: ignore[call-overload]
                push((item, elem, depth + 1))
            continue
        elif kind is int:
            append(FieldValue(location=location, path=path, value=str(value)))
        elif kind is float:
            append(FieldValue(location=location, path=path, value=repr(value)))
        else:  # bool, None: no data
            continue
        if len(out) >= max_fields:
            return


def _json_fields(data: bytes, prefix: str, location: Location, limits: Limits) -> list[FieldValue]:
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return []
    out: list[FieldValue] = []
    _walk(obj, prefix, location, limits, out)
    return out


def _json(part: Part, limits: Limits, schemas: object | None) -> list[FieldValue]:
    return _json_fields(part.data, "", part.location, limits)


def _ndjson(part: Part, limits: Limits, schemas: object | None) -> list[FieldValue]:
    out: list[FieldValue] = []
    loads = orjson.loads
    # json-seq (RFC 7464) starts records with RS (0x1E): treat it as a line break.
    lines = part.data.replace(b"\x1e", b"\n").split(b"\n", MAX_RECORDS_PER_BODY)
    for line in lines[:MAX_RECORDS_PER_BODY]:
        if not line.strip():
            continue
        try:
            obj = loads(line)
        except orjson.JSONDecodeError:
            continue
        _walk(obj, "", part.location, limits, out)
        if len(out) >= limits.max_fields_per_part:
            break
    return out


def _text_value(data: bytes, path: str, location: Location, limits: Limits) -> list[FieldValue]:
    if not data:
        return []
    # Decoding more than max_value_chars * 4 bytes (UTF-8's widest) is wasted work.
    text = data[: limits.max_value_chars * 4].decode("utf-8", "replace")
    return [FieldValue(location=location, path=path, value=text[: limits.max_value_chars])]


def _sse(part: Part, limits: Limits, schemas: object | None) -> list[FieldValue]:
    out: list[FieldValue] = []
    location = part.location
    lines = part.data.split(b"\n", MAX_RECORDS_PER_BODY * 4)
    event: list[bytes] = []
    for raw in lines + [b""]:
        line = raw.rstrip(b"\r")
        if line.startswith(b"data:"):
            value = line[5:]
            event.append(value[1:] if value[:1] == b" " else value)
            continue
        if line or not event:
            continue  # other fields (event:, id:, retry:, comments) carry no values
        # A blank line ends the event; its data lines are joined with LF.
        data = b"\n".join(event)
        event = []
        fields = _json_fields(data, "", location, limits) if data[:1] in b"{[" else []
        if not fields:
            fields = _text_value(data, "", location, limits) if data.strip() else []
        out.extend(fields)
        if len(out) >= limits.max_fields_per_part:
            del out[limits.max_fields_per_part :]
            break
    return out


def _form_fields(data: bytes, location: Location, limits: Limits) -> list[FieldValue]:
    if not data:
        return []
    # Cut at the field limit before parsing (parse_qsl's own limit raises instead).
    pairs = data.split(b"&", limits.max_fields_per_part)[: limits.max_fields_per_part]
    text = b"&".join(pairs).decode("utf-8", "replace")
    max_chars = limits.max_value_chars
    return [
        FieldValue(location=location, path=name, value=value[:max_chars])
        for name, value in parse_qsl(text, keep_blank_values=False)
    ]


def _form(part: Part, limits: Limits, schemas: object | None) -> list[FieldValue]:
    return _form_fields(part.data, part.location, limits)


def _text(part: Part, limits: Limits, schemas: object | None) -> list[FieldValue]:
    return _text_value(part.data, part.name, part.location, limits)


def _binary(part: Part, limits: Limits, schemas: object | None) -> list[FieldValue]:
    return []


def _protobuf(part: Part, limits: Limits, schemas: object | None) -> list[FieldValue]:
    try:
        module = importlib.import_module("protocols.protobuf")
    except ImportError:
        return []
    fields_from_part = getattr(module, "fields_from_part", None)
    if fields_from_part is None:
        return []
    result: list[FieldValue] = fields_from_part(part, schemas, limits)
    return result


def _param(params: str, wanted: str) -> str:
    """A parameter of a media type (`boundary`), unquoted."""
    for item in params.split(";"):
        key, sep, value = item.partition("=")
        if sep and key.strip().lower() == wanted:
            return value.strip().strip('"')
    return ""


def _disposition(head: bytes) -> tuple[str, bool, str]:
    """(form field name, has a filename, part content type) from a part's head."""
    name = ""
    has_file = False
    ctype = ""
    for line in head.split(b"\r\n"):
        key, _, value = line.partition(b":")
        key = key.strip().lower()
        text = value.decode("utf-8", "replace")
        if key == b"content-disposition":
            for item in text.split(";")[1:]:
                pname, _, pvalue = item.partition("=")
                pname = pname.strip().lower()
                if pname == "name":
                    name = pvalue.strip().strip('"')
                elif pname in ("filename", "filename*"):
                    has_file = True
        elif key == b"content-type":
            ctype = text.split(";", 1)[0].strip().lower()
    return name, has_file, ctype


def _multipart(part: Part, limits: Limits, schemas: object | None) -> list[FieldValue]:
    boundary = _param(part.media_type.partition(";")[2], "boundary")
    if not boundary:
        return []
    delimiter = b"--" + boundary.encode("latin-1")
    out: list[FieldValue] = []
    location = part.location
    sections = part.data.split(delimiter, MAX_MULTIPART_PARTS + 1)[1 : MAX_MULTIPART_PARTS + 1]
    for section in sections:
        if section.startswith(b"--"):
            break  # close delimiter
        head, sep, body = section.partition(b"\r\n\r\n")
        if not sep or len(head) > MAX_MULTIPART_HEAD:
            continue
        name, has_file, ctype = _disposition(head)
        if has_file or not name:
            continue
        # The CRLF before the next delimiter belongs to the delimiter (RFC 2046 5.1.1).
        if body.endswith(b"\r\n"):
            body = body[:-2]
        if ctype == "application/json" or ctype.endswith("+json"):
            out.extend(_json_fields(body, name, location, limits))
        else:
            out.extend(_text_value(body, name, location, limits))
        if len(out) >= limits.max_fields_per_part:
            del out[limits.max_fields_per_part :]
            break
    return out


_DECODERS: dict[str, _Decoder] = {
    MediaType.JSON: _json,
    MediaType.NDJSON: _ndjson,
    MediaType.FORM: _form,
    MediaType.SSE: _sse,
    MediaType.TEXT: _text,
    MediaType.BINARY: _binary,
    MediaType.PROTOBUF: _protobuf,
}


def decode_part(part: Part, limits: Limits, schemas: object | None = None) -> list[FieldValue]:
    """The field values of one part (empty when it holds none or cannot be parsed)."""
    decoder = _DECODERS.get(part.media_type)
    if decoder is None:
        media = part.media_type.lower()
        if media.startswith("application/grpc"):
            decoder = _protobuf
        elif media.startswith("multipart/form-data"):
            decoder = _multipart
        else:
            decoder = _binary
    return decoder(part, limits, schemas)
