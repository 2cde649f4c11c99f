"""The spec observer: the request and response shapes of every HTTP and gRPC operation
and every Kafka topic of a scan, for `dpi spec` (OpenAPI and AsyncAPI documents).

It sees each `Message` before classification (dpi/observer.py), with the api already
templated and cleaned of sensitive identifiers by the engine. Per operation (method and
path template, placeholders compared by position; GraphQL operations of one endpoint as
variants) it keeps: the servers that answered (as URLs: `https` when the flow was TLS),
query, header and cookie parameter names with the shape of their values, security
schemes by kind (`Authorization` scheme, API-key header or query parameter, session
cookie), request bodies and, per status code, response bodies and headers, each body a
`dpi.outputs.apispec.shapes.Shape` per media type. Per Kafka topic: the brokers, whether records
were produced and fetched, and the shapes of record keys, values and headers.

No value is kept (`shapes` keeps bounded enum candidates only). Every map is bounded by
the named limits below; what is beyond a limit is counted in `skipped`, never silently
dropped. An observer runs on the engine's path without a guard: every error is caught
here, counted as `internal_error` (re-raised with `strict`), and costs one message.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

import orjson

from dpi.engine import format_endpoint
from dpi.findings.credentials import (
    _KEY_HEADER_RE,
    _KEY_HEADERS,
    _KEY_QUERY_RE,
    _SESSION_COOKIE_RE,
    MIN_SESSION_VALUE,
)
from dpi.observer import Observer
from dpi.outputs.apispec.shapes import Budget, Shape, object_from_pairs, scalar_from_text
from protocols._json_keys import DATA, key_class
from protocols.base import Direction, Limits, Location, MediaType
from protocols.payload import field_pairs

if TYPE_CHECKING:
    from dpi.reassembly import Flow
    from protocols.base import Message, Part

# Operations (method + path template) and Kafka topics described: a real service has
# hundreds; beyond, new ones are counted in `skipped` and left out.
MAX_OPERATIONS: Final = 5_000
MAX_CHANNELS: Final = 5_000
# Servers listed per operation or topic (a cluster behind a load balancer shows a few).
MAX_SERVERS: Final = 32
# Parameters per location (query, header, cookie) of one operation, and response
# headers per status: real requests carry tens.
MAX_PARAMETERS: Final = 64
# Status codes per operation, media types per body, GraphQL operations per endpoint.
MAX_STATUSES: Final = 32
MAX_MEDIA_TYPES: Final = 4
MAX_VARIANTS: Final = 256
# Security schemes in one document (kinds x names of key headers, cookies, parameters).
MAX_SCHEMES: Final = 64
# Bodies (or Kafka records) whose shape is inferred per body: shapes settle after a few
# messages, and parsing every body of a hot API twice (the engine parses it too) would
# double the scan's cost. Counts go on past it; `required` reflects the first ones.
MAX_BODY_SAMPLES: Final = 10_000
# Larger bodies are listed by media type but not parsed for their shape (the engine's
# own bound, max_body_bytes, is 8 MiB; shapes of bigger documents are rarely useful).
MAX_PARSE_BYTES: Final = 1 << 20
# Records of one Kafka batch looked at (a batch's records share their shape).
MAX_RECORDS_PER_BATCH: Final = 256
# Flows remembered as TLS (for the `https` scheme of server URLs), oldest forgotten.
MAX_TLS_FLOWS: Final = 65_536

METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Headers that describe the transport, not the API (and those OpenAPI says not to
# list as parameters: Accept, Content-Type, Authorization).
TRANSPORT_HEADERS: Final = frozenset(
    {
        "host", "content-length", "content-type", "content-encoding", "transfer-encoding",
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
        "accept", "accept-encoding", "authorization", "proxy-authorization", "cookie",
        "set-cookie", "user-agent", "date", "grpc-encoding", "grpc-accept-encoding",
    }
)
_AUTH_SCHEMES: Final = frozenset(
    {"basic", "bearer", "digest", "negotiate", "ntlm", "aws4-hmac-sha256", "hoba", "mutual"}
)
_MEDIA_TYPE: Final = re.compile(r"[a-z0-9!#$&^_.+-]{1,64}/[a-z0-9!#$&^_.+-]{1,64}")
_SCHEME_ID_CHARS: Final = re.compile(r"[^A-Za-z0-9._-]")
_JWT: Final = re.compile(rb"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_LIMITS: Final = Limits()


@dataclass(slots=True)
class Body:
    """One media type of one request or response body."""

    shape: Shape
    messages: int = 0
    undescribed: int = 0  # too large, not decodable, or binary
    schema_names: set[str] = field(default_factory=set)  # protobuf message types


@dataclass(slots=True)
class Params:
    """Named values of one location (query, header, cookie) across messages."""

    shapes: dict[str, Shape] = field(default_factory=dict)
    messages: int = 0
    more: bool = False


@dataclass(slots=True)
class Response:
    count: int = 0
    bodies: dict[str, Body] = field(default_factory=dict)
    headers: Params = field(default_factory=Params)
    set_cookies: Params = field(default_factory=Params)


@dataclass(slots=True)
class Variant:
    """The plain operation (`""`) or one GraphQL operation of an endpoint."""

    requests: int = 0
    bodies: dict[str, Body] = field(default_factory=dict)
    responses: dict[str, Response] = field(default_factory=dict)


@dataclass(slots=True)
class Credential:
    """One security scheme as used by one operation, with where the inventory puts it."""

    count: int
    location: str
    field: str


@dataclass(slots=True)
class Operation:
    protocol: str
    method: str
    path: str  # placeholders as `{}`
    names: list[set[str]]  # placeholder names seen, per position
    servers: dict[str, None] = field(default_factory=dict)
    requests: int = 0
    anonymous: int = 0  # requests without any credential
    query: Params = field(default_factory=Params)
    header: Params = field(default_factory=Params)
    cookie: Params = field(default_factory=Params)
    security: dict[str, Credential] = field(default_factory=dict)
    variants: dict[str, Variant] = field(default_factory=dict)


@dataclass(slots=True)
class Channel:
    """One Kafka topic."""

    topic: str
    key: Shape
    value: Shape
    headers: Shape
    servers: dict[str, None] = field(default_factory=dict)
    produced: int = 0  # records seen in Produce requests
    fetched: int = 0  # records seen in Fetch responses
    sampled: int = 0
    media: Counter[str] = field(default_factory=Counter)
    schema_names: set[str] = field(default_factory=set)
    undescribed: int = 0


class SpecObserver(Observer):
    """Gathers the shapes that `dpi.outputs.apispec.openapi` and `dpi.outputs.apispec.asyncapi` write."""

    def __init__(self, schemas: object | None = None, *, strict: bool = False) -> None:
        self.schemas = schemas  # protobuf registry: field names when a schema is known
        self.strict = strict
        self.budget = Budget()
        self.operations: dict[tuple[str, str], Operation] = {}
        self.channels: dict[str, Channel] = {}
        # scheme id -> OpenAPI Security Scheme Object (without annotations)
        self.schemes: dict[str, dict[str, Any]] = {}
        self.bearer_formats: dict[str, set[str]] = {}
        self.skipped: Counter[str] = Counter()
        self._tls: OrderedDict[int, None] = OrderedDict()

    # -- observer methods -------------------------------------------------------------

    def flow_layer(self, flow: Flow, layer: str, info: dict[str, object]) -> None:
        if layer == "tls" and flow.id not in self._tls:
            self._tls[flow.id] = None
            if len(self._tls) > MAX_TLS_FLOWS:
                self._tls.popitem(last=False)

    def message(self, flow: Flow, message: Message) -> None:
        try:
            if message.protocol in ("http", "grpc"):
                self._http(flow, message)
            elif message.protocol == "kafka":
                self._kafka(flow, message)
        except Exception:
            # Counted by kind only: an exception message may quote input.
            self.skipped["internal_error"] += 1
            if self.strict:
                raise

    # -- HTTP and gRPC ----------------------------------------------------------------

    def _http(self, flow: Flow, message: Message) -> None:
        parsed = _split_api(message.protocol, message.api)
        if parsed is None:
            self.skipped["websocket" if message.api.startswith("WS ") else "not_an_operation"] += 1
            return
        method, path, names, variant_name = parsed
        key = (method, path)
        op = self.operations.get(key)
        if op is None:
            if len(self.operations) >= MAX_OPERATIONS:
                self.skipped["operations_limit"] += 1
                return
            op = self.operations[key] = Operation(
                message.protocol, method, path, [set() for _ in names]
            )
        for seen, name in zip(op.names, names, strict=True):
            if len(seen) < 4:
                seen.add(name)
        url = self._server_url(flow, message.host)
        if url not in op.servers and len(op.servers) < MAX_SERVERS:
            op.servers[url] = None
        variant = op.variants.get(variant_name)
        if variant is None:
            if len(op.variants) >= MAX_VARIANTS:
                self.skipped["variants_limit"] += 1
                return
            variant = op.variants[variant_name] = Variant()
        if message.direction is Direction.REQUEST:
            self._request(op, variant, message)
        else:
            self._response(op, variant, message)

    def _server_url(self, flow: Flow, host: str) -> str:
        scheme = "https" if flow.id in self._tls else "http"
        address = format_endpoint(flow.server)
        port = flow.server[1]
        if not host:
            return f"{scheme}://{address}"
        has_port = host.rsplit(":", 1)[-1].isdigit() and not host.endswith("]")
        if not has_port and port != (443 if scheme == "https" else 80):
            host = f"{host}:{port}"
        return f"{scheme}://{host}"

    def _request(self, op: Operation, variant: Variant, message: Message) -> None:
        op.requests += 1
        variant.requests += 1
        credentials = self._credentials(op, message.parts)
        if not credentials:
            op.anonymous += 1
        secret_names = {(loc, name) for loc, name in credentials}
        op.query.messages += 1
        op.header.messages += 1
        op.cookie.messages += 1
        content_type = ""
        for part in message.parts:
            location = part.location
            if location is Location.QUERY:
                for name, value in _query_pairs(part.data):
                    if (Location.QUERY, name) not in secret_names:
                        self._param(op.query, name, scalar_from_text(value))
            elif location is Location.HEADER or location is Location.METADATA:
                if part.name == "content-type":
                    content_type = _media_type(part.data)
                elif _is_parameter_header(part.name) and (location, part.name) not in secret_names:
                    self._param(op.header, part.name, _text(part.data))
            elif location is Location.COOKIE and (Location.COOKIE, part.name) not in secret_names:
                self._param(op.cookie, part.name, _text(part.data))
        for part in message.parts:
            if part.location is Location.BODY:
                self._body(variant.bodies, part, content_type, message.protocol)

    def _response(self, op: Operation, variant: Variant, message: Message) -> None:
        status = str(message.status) if 100 <= message.status <= 599 else "default"
        response = variant.responses.get(status)
        if response is None:
            if len(variant.responses) >= MAX_STATUSES:
                self.skipped["statuses_limit"] += 1
                return
            response = variant.responses[status] = Response()
        response.count += 1
        response.headers.messages += 1
        response.set_cookies.messages += 1
        content_type = ""
        for part in message.parts:
            location = part.location
            if location is Location.HEADER or location is Location.METADATA:
                if part.name == "content-type":
                    content_type = _media_type(part.data)
                elif _is_parameter_header(part.name):
                    self._param(response.headers, part.name, _text(part.data))
            elif location is Location.COOKIE:
                self._param(response.set_cookies, part.name, _text(part.data))
        for part in message.parts:
            if part.location is Location.BODY:
                self._body(response.bodies, part, content_type, message.protocol)

    def _param(self, params: Params, name: str, value: object) -> None:
        if not name or len(name) > _LIMITS.max_key_chars or key_class(name) == DATA:
            self.skipped["parameter_name_is_data"] += bool(name)
            return
        shape = params.shapes.get(name)
        if shape is None:
            if len(params.shapes) >= MAX_PARAMETERS or not self.budget.take():
                params.more = True
                return
            shape = params.shapes[name] = Shape(name, self.budget)
        if shape.seen < MAX_BODY_SAMPLES:
            shape.observe(value)
        else:
            shape.seen += 1

    def _credentials(self, op: Operation, parts: tuple[Part, ...]) -> list[tuple[Location, str]]:
        """Security schemes of one request, registered on the operation; returns the
        (location, name) of the parts that carried them (not listed as parameters)."""
        found: list[tuple[Location, str]] = []
        for part in parts:
            location, name = part.location, part.name
            scheme_id = ""
            if location is Location.HEADER or location is Location.METADATA:
                if name == "authorization":
                    kind = part.data[:32].split(b" ", 1)[0].decode("latin-1").lower()
                    if kind not in _AUTH_SCHEMES:
                        continue
                    scheme_id = kind
                    definition: dict[str, Any] = {"type": "http", "scheme": kind}
                    if kind == "bearer":
                        token = part.data[7:].strip()
                        fmt = "jwt" if _JWT.fullmatch(token[:8192]) else "opaque"
                        formats = self.bearer_formats.setdefault(scheme_id, set())
                        formats.add(fmt)
                elif name in _KEY_HEADERS or (
                    len(name) <= 64 and _KEY_HEADER_RE.search(name)
                ):
                    scheme_id = "header." + name
                    definition = {"type": "apiKey", "in": "header", "name": name}
            elif location is Location.COOKIE:
                if (
                    len(part.data) >= MIN_SESSION_VALUE
                    and len(name) <= 64
                    and _SESSION_COOKIE_RE.match(name)
                ):
                    scheme_id = "cookie." + name
                    definition = {"type": "apiKey", "in": "cookie", "name": name}
            elif location is Location.QUERY:
                for qname, value in _query_pairs(part.data):
                    if value and len(qname) <= 64 and _KEY_QUERY_RE.match(qname):
                        self._use_scheme(
                            op,
                            "query." + qname,
                            {"type": "apiKey", "in": "query", "name": qname},
                            location,
                            qname,
                        )
                        found.append((location, qname))
                continue
            if scheme_id:
                self._use_scheme(op, scheme_id, definition, location, name)
                found.append((location, name))
        return found

    def _use_scheme(
        self, op: Operation, scheme_id: str, definition: dict[str, Any], location: Location, name: str
    ) -> None:
        scheme_id = _SCHEME_ID_CHARS.sub("_", scheme_id)
        if scheme_id not in self.schemes:
            if len(self.schemes) >= MAX_SCHEMES:
                self.skipped["schemes_limit"] += 1
                return
            self.schemes[scheme_id] = definition
        used = op.security.get(scheme_id)
        if used is None:
            op.security[scheme_id] = Credential(1, str(location), name)
        else:
            used.count += 1

    def _body(self, bodies: dict[str, Body], part: Part, content_type: str, protocol: str) -> None:
        media = content_type or str(part.media_type)
        if protocol == "grpc" and not content_type:
            media = "application/grpc"
        body = bodies.get(media)
        if body is None:
            if len(bodies) >= MAX_MEDIA_TYPES or not self.budget.take():
                self.skipped["media_types_limit"] += 1
                return
            body = bodies[media] = Body(Shape("", self.budget))
        body.messages += 1
        if part.schema and len(body.schema_names) < 4:
            body.schema_names.add(part.schema)
        if body.shape.seen >= MAX_BODY_SAMPLES:
            return
        values = self._decode(part)
        if values is None:
            body.undescribed += 1
            return
        for value, template in values:
            body.shape.observe(value, template_keys=template)

    def _decode(self, part: Part) -> list[tuple[object, bool]] | None:
        """A part's value(s) as JSON-like objects, each with whether its object keys are
        still to be templated (JSON) or already are (decoded pairs); None when the part
        cannot be described (binary, too large, not decodable)."""
        data = part.data
        if len(data) > MAX_PARSE_BYTES:
            self.skipped["body_too_large"] += 1
            return None
        media = str(part.media_type)
        if media == MediaType.JSON:
            try:
                return [(orjson.loads(data), True)]
            except orjson.JSONDecodeError:
                self.skipped["undecodable_body"] += 1
                return None
        if media == MediaType.NDJSON:
            lines: list[tuple[object, bool]] = []
            for line in data.splitlines()[:MAX_ITEMS_SAMPLED_LINES]:
                if line.strip():
                    try:
                        lines.append((orjson.loads(line), True))
                    except orjson.JSONDecodeError:
                        lines.append((_text(line), True))
            return lines
        if media == MediaType.TEXT:
            return [(_text(data), True)]
        if media == MediaType.FORM or media.startswith("multipart/form-data"):
            pairs = field_pairs(part, _LIMITS, self.schemas)
            return [(object_from_pairs(pairs, split=False), False)]
        if media == MediaType.PROTOBUF or media.startswith("application/grpc"):
            pairs = field_pairs(part, _LIMITS, self.schemas)
            return [(object_from_pairs(pairs, split=True), False)]
        return None

    # -- Kafka ------------------------------------------------------------------------

    def _kafka(self, flow: Flow, message: Message) -> None:
        topic = message.api
        if not topic or topic == "(unknown)":
            self.skipped["unknown_topic"] += 1
            return
        channel = self.channels.get(topic)
        if channel is None:
            if len(self.channels) >= MAX_CHANNELS or not self.budget.take():
                self.skipped["channels_limit"] += 1
                return
            channel = self.channels[topic] = Channel(
                topic, Shape("", self.budget), Shape("", self.budget), Shape("", self.budget)
            )
            channel.key.enum = None  # keys are partitioning ids, never a closed set
        server = format_endpoint(flow.server)
        if server not in channel.servers and len(channel.servers) < MAX_SERVERS:
            channel.servers[server] = None
        records = _records(message.parts)
        if message.direction is Direction.REQUEST:
            channel.produced += len(records)
        else:
            channel.fetched += len(records)
        for record in records[:MAX_RECORDS_PER_BATCH]:
            if channel.sampled >= MAX_BODY_SAMPLES:
                return
            channel.sampled += 1
            self._record(channel, record)

    def _record(self, channel: Channel, record: _Record) -> None:
        if record.key is not None:
            for value, template in self._decode(record.key) or [(None, True)]:
                if value is not None:
                    channel.key.observe(value, template_keys=template)
        if record.value is not None:
            part = record.value
            channel.media[str(part.media_type)] += 1
            if part.schema and len(channel.schema_names) < 4:
                channel.schema_names.add(part.schema)
            values = self._decode(part)
            if values is None:
                channel.undescribed += 1
            else:
                for value, template in values:
                    channel.value.observe(value, template_keys=template)
        headers = {part.name: _text(part.data) for part in record.headers if part.name}
        channel.headers.observe(headers, template_keys=False)


# Query parameters read per request (more than the parameters described, so that a
# credential parameter late in a long query string is still seen).
MAX_QUERY_PAIRS: Final = 256
# NDJSON lines looked at per body (lines of one body share their shape).
MAX_ITEMS_SAMPLED_LINES: Final = 100


@dataclass(slots=True)
class _Record:
    key: Part | None = None
    value: Part | None = None
    headers: list[Part] = field(default_factory=list)


def _records(parts: tuple[Part, ...]) -> list[_Record]:
    """A Kafka batch's parts (key, value, headers of each record, in order; a record
    without key or value has no part for it) split back into records."""
    records: list[_Record] = []
    current: _Record | None = None
    for part in parts:
        location = part.location
        if location is Location.KEY:
            current = _Record(key=part)
            records.append(current)
        elif location is Location.VALUE:
            if current is None or current.value is not None or current.headers:
                current = _Record()
                records.append(current)
            current.value = part
        elif location is Location.HEADER:
            if current is None:
                current = _Record()
                records.append(current)
            current.headers.append(part)
    return records


def _split_api(protocol: str, api: str) -> tuple[str, str, list[str], str] | None:
    """(method, path with `{}` placeholders, placeholder names, GraphQL operation) of an
    api, or None when it is no OpenAPI operation (WebSocket, unknown, odd method)."""
    if protocol == "grpc":
        if not api.startswith("/") or " " in api:
            return None
        return "post", api, [], ""
    method, _, rest = api.partition(" ")
    method = method.lower()
    if method not in METHODS or not rest.startswith("/"):
        return None
    path, _, variant = rest.partition(" ")
    names: list[str] = []
    segments = []
    for segment in path.split("/"):
        if len(segment) > 2 and segment[0] == "{" and segment[-1] == "}" and "{" not in segment[1:-1]:
            names.append(segment[1:-1])
            segments.append("{}")
        else:
            # A brace in a literal segment would read as a template: percent-encode it.
            segments.append(segment.replace("{", "%7B").replace("}", "%7D"))
    return method, "/".join(segments), names, variant


def _query_pairs(data: bytes) -> list[tuple[str, str]]:
    """Names and values of a query string, at most `MAX_QUERY_PAIRS` of them."""
    text = data[: 64 * 1024].decode("utf-8", "replace")
    pieces = text.split("&", MAX_QUERY_PAIRS)[:MAX_QUERY_PAIRS]
    return parse_qsl("&".join(pieces), keep_blank_values=True)


def _media_type(data: bytes) -> str:
    media = data[:200].split(b";", 1)[0].strip().decode("latin-1").lower()
    return media if _MEDIA_TYPE.fullmatch(media) else ""


def _is_parameter_header(name: str) -> bool:
    return bool(name) and not name.startswith(":") and name not in TRANSPORT_HEADERS and not (
        name in _KEY_HEADERS or (len(name) <= 64 and _KEY_HEADER_RE.search(name))
    )


def _text(data: bytes) -> str:
    return data[: _LIMITS.max_value_chars].decode("utf-8", "replace")
