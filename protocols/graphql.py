"""GraphQL over HTTP (the GraphQL over HTTP draft, graphql.github.io/graphql-over-http):
HTTP request and response `Message`s rewritten so that each GraphQL operation is an API
(spec/inventory.md, "api, per protocol", GraphQL over HTTP).

`GraphQLTracker`, one per HTTP connection, is called by `protocols.http1` and
`protocols.http2` for every HTTP message they emit:
- a request whose body is a GraphQL request (`{"query": ..., "variables": ...,
  "operationName": ...}` whose query parses as a GraphQL document; a batch, a JSON array
  of them; a persisted query with only `operationName` and/or
  `extensions.persistedQuery`; a GET with `query=` or `extensions=` parameters; an
  `application/graphql` body) becomes one message per operation, api `POST /graphql
  query GetPatient` (an anonymous operation: its type and first root field, `POST
  /graphql mutation createUser`). Its body is replaced by a JSON document holding the
  `variables` and the `arguments` written inline in the query text (`arguments.user.id`:
  the field path, then the argument; object values add their keys, lists `[]`), so that
  fields are `variables.input.email` and `arguments.user.id`, location `body`. Headers,
  cookies and other query parameters stay with the batch's first operation;
- the response paired with it (the HTTP/1 order of requests, the HTTP/2 stream id) gets
  the operation's api; a batch response (a JSON array as long as the batch) is split into
  one message per operation. Bodies are left as they are: fields are the data paths
  (`data.patient.name`), and `errors[].extensions...` stay body fields for the findings.

A persisted query without its document is named from what the connection taught: the
hash and operation names of documents sent earlier on it (Automatic Persisted Queries
send the document once after a miss). Otherwise its type is `query` for a GET (the
GraphQL over HTTP draft forbids mutations over GET) and `(unknown)` for a POST, and
its name the `operationName`, or `(unknown)`.

Documents are parsed by graphql-core with bounded length and tokens; the summary of a
document (operations, inline arguments) is cached, since clients repeat the same few.

Not supported: GraphQL over WebSocket (`graphql-ws`, `subscriptions-transport-ws`: those
messages are read as WebSocket JSON, typed by their `type`), multipart requests (file
uploads), incremental delivery (`@defer`/`@stream` multipart responses), variables in
`application/graphql` requests.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

import orjson

from protocols.base import Direction, Location, MediaType, Message, Part

if TYPE_CHECKING:
    from graphql.language import ast

# Longest query text parsed: real documents are a few KB; generated ones rarely pass 100 KB.
MAX_QUERY_CHARS = 256 * 1024
# Tokens graphql-core may read in one document (its own guard against parser DoS).
MAX_TOKENS = 50_000
# Operations in one batch that are named; the rest of a bigger batch is left as it is.
MAX_BATCH = 100
# Nesting followed in selections, fragments and argument values.
MAX_DEPTH = 64
# Requests awaiting their response per connection (HTTP/1 pipelining, HTTP/2 streams):
# beyond, the oldest is forgotten and its response keeps the plain HTTP api.
MAX_PENDING = 1024
# Persisted-query hashes and operation names remembered per connection.
MAX_LEARNED = 4096
# Documents whose summary is cached (clients send the same few documents again and again).
CACHED_DOCUMENTS = 1024
UNKNOWN = "(unknown)"
# Keys of a GraphQL request (the draft's request parameters) that are not data.
_PROTOCOL_KEYS = frozenset({"query", "operationName", "extensions", "variables", "id"})
_GET_MARKERS = (b"query=", b"extensions=")
# The enum members read for every HTTP message, as module constants: a member read off
# its enum class costs about ten times a global read (`EnumType`'s lookup).
_REQUEST, _AT_BODY, _AT_QUERY, _JSON = Direction.REQUEST, Location.BODY, Location.QUERY, MediaType.JSON


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of a document: `kind` is query, mutation or subscription; `name` its
    name or, anonymous, its first root field; `arguments` the inline argument values as a
    JSON-ready tree (field path, then argument name)."""

    kind: str
    name: str
    arguments: dict[str, object]


@dataclass(frozen=True, slots=True)
class _Pending:
    """A GraphQL request waiting for its response: the plain HTTP api and the api of each
    of its operations (several for a batch)."""

    http_api: str
    apis: tuple[str, ...]
    batch: bool


# -- documents -----------------------------------------------------------------------


@lru_cache(maxsize=CACHED_DOCUMENTS)
def summarize(query: str) -> tuple[Operation, ...] | None:
    """The operations of a GraphQL document, in document order; None when the text is not
    an executable GraphQL document (or is over the bounds)."""
    if not query or len(query) > MAX_QUERY_CHARS:
        return None
    # graphql-core loads in ~100 ms: imported when a body looks like GraphQL, not per scan.
    from graphql import GraphQLError, parse
    from graphql.language import ast

    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except (GraphQLError, RecursionError):
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, ast.FragmentDefinitionNode)
    }
    operations: list[Operation] = []
    for definition in document.definitions:
        if not isinstance(definition, ast.OperationDefinitionNode):
            continue
        kind = definition.operation.value
        arguments: dict[str, object] = {}
        first = _collect(definition.selection_set, fragments, arguments, 0, set())
        name = definition.name.value if definition.name else first or UNKNOWN
        operations.append(Operation(kind=kind, name=name, arguments=arguments))
    return tuple(operations) if operations else None


def _collect(
    selections: ast.SelectionSetNode | None,
    fragments: dict[str, ast.FragmentDefinitionNode],
    into: dict[str, object],
    depth: int,
    seen: set[str],
) -> str:
    """Inline arguments of every field under `selections` into `into` (by field name, not
    alias: an alias is the client's label); returns the first field's name."""
    if selections is None or depth > MAX_DEPTH:
        return ""
    from graphql.language import ast  # loaded by `summarize` already

    first = ""
    for selection in selections.selections:
        if isinstance(selection, ast.FieldNode):
            name = selection.name.value
            first = first or name
            below: dict[str, object] = {}
            for argument in selection.arguments or ():
                value = _value(argument.value, depth + 1)
                if value is not None:
                    _merge(below, argument.name.value, value)
            _collect(selection.selection_set, fragments, below, depth + 1, seen)
            if below:
                _merge(into, name, below)
        elif isinstance(selection, ast.InlineFragmentNode):
            found = _collect(selection.selection_set, fragments, into, depth + 1, seen)
            first = first or found
        elif isinstance(selection, ast.FragmentSpreadNode):
            spread = selection.name.value
            fragment = fragments.get(spread)
            if fragment is not None and spread not in seen:
                found = _collect(
                    fragment.selection_set, fragments, into, depth + 1, seen | {spread}
                )
                first = first or found
    return first


def _value(node: ast.ValueNode, depth: int) -> object | None:
    """A literal argument value as JSON-ready data; variables (their values are in
    `variables`), enums, booleans and null carry no data: None."""
    if depth > MAX_DEPTH:
        return None
    from graphql.language import ast  # loaded by `summarize` already

    if isinstance(node, (ast.StringValueNode, ast.IntValueNode, ast.FloatValueNode)):
        return node.value
    if isinstance(node, ast.ObjectValueNode):
        members: dict[str, object] = {}
        for member in node.fields:
            value = _value(member.value, depth + 1)
            if value is not None:
                _merge(members, member.name.value, value)
        return members or None
    if isinstance(node, ast.ListValueNode):
        items = [v for v in (_value(item, depth + 1) for item in node.values) if v is not None]
        return items or None
    return None


def _merge(into: dict[str, object], key: str, value: object) -> None:
    """Add `key` to `into`; the same field selected twice (aliases) merges its arguments,
    and two scalars under one key become a list."""
    old = into.get(key)
    if old is None:
        into[key] = value
    elif isinstance(old, dict) and isinstance(value, dict):
        for k, v in value.items():
            _merge(old, k, v)
    elif isinstance(old, list):
        old.extend(value if isinstance(value, list) else [value])
    elif not isinstance(old, dict) and not isinstance(value, dict):
        into[key] = [old, *(value if isinstance(value, list) else [value])]


# -- the per-connection tracker ------------------------------------------------------


class GraphQLTracker:
    """Rewrites the GraphQL messages of one HTTP connection (see the module docstring).
    `key` pairs a response with its request: the HTTP/2 stream id, or None for HTTP/1,
    where responses come in request order."""

    __slots__ = ("_by_key", "_hashes", "_kinds", "_queue")

    def __init__(self) -> None:
        self._queue: deque[_Pending] | None = None
        self._by_key: dict[int, _Pending] | None = None
        self._hashes: dict[str, tuple[str, str]] | None = None  # sha256 -> (kind, name)
        self._kinds: dict[str, str] | None = None  # operation name -> kind

    def rewrite(self, message: Message, key: int | None = None) -> list[Message]:
        """The message as the inventory should see it: one per GraphQL operation, or the
        message itself when it is not GraphQL."""
        if message.protocol != "http":
            return [message]
        if message.direction is _REQUEST:
            return self._request(message, key)
        if key is None and not self._queue:
            return [message]  # no GraphQL request awaits an answer (`_response`'s test)
        return self._response(message, key)

    # -- requests --------------------------------------------------------------------

    def _request(self, message: Message, key: int | None) -> list[Message]:
        requests, carrier = _graphql_requests(message)
        if requests is None:
            return [message]
        method = message.api.split(" ", 1)[0]
        named: list[tuple[str, bytes]] = []
        for request in requests[:MAX_BATCH]:
            operation = self._operation(request, method)
            if operation is None:
                return [message]
            api = f"{message.api} {operation.kind} {operation.name}"
            named.append((api, _body(request, operation)))
        batch = (
            carrier is not None
            and carrier.location is Location.BODY
            and carrier.data.lstrip()[:1] == b"["
        )
        self._remember(_Pending(message.api, tuple(api for api, _ in named), batch), key)
        others = [p for p in message.parts if p is not carrier]
        if carrier is not None and carrier.location is Location.QUERY:
            rest = _rest_of_query(carrier.data)
            if rest is not None:
                others.append(rest)
        out: list[Message] = []
        for index, (api, body) in enumerate(named):
            parts = list(others) if index == 0 else []
            if body:
                parts.append(
                    Part(location=Location.BODY, name="", data=body, media_type=MediaType.JSON)
                )
            out.append(replace(message, api=api, parts=tuple(parts)))
        return out

    def _operation(self, request: dict[str, object], method: str) -> Operation | None:
        query = request.get("query")
        wanted = request.get("operationName")
        wanted = wanted if isinstance(wanted, str) and wanted else ""
        digest = _persisted_hash(request)
        if isinstance(query, str):
            operations = summarize(query)
            if operations is None:
                return None
            chosen = operations[0]
            if wanted:
                chosen = next((o for o in operations if o.name == wanted), chosen)
            self._learn(digest, chosen)
            return chosen
        if query is not None:
            return None
        # A persisted query: the document was sent earlier on this connection, or not seen.
        if digest and self._hashes and digest in self._hashes:
            kind, name = self._hashes[digest]
            return Operation(kind=kind, name=wanted or name, arguments={})
        if not digest and not wanted:
            return None
        kind = (self._kinds or {}).get(wanted) or ("query" if method == "GET" else UNKNOWN)
        return Operation(kind=kind, name=wanted or UNKNOWN, arguments={})

    def _learn(self, digest: str, operation: Operation) -> None:
        if self._kinds is None:
            self._kinds = {}
            self._hashes = {}
        assert self._hashes is not None
        if len(self._kinds) < MAX_LEARNED:
            self._kinds.setdefault(operation.name, operation.kind)
        if digest and len(self._hashes) < MAX_LEARNED:
            self._hashes[digest] = (operation.kind, operation.name)

    def _remember(self, pending: _Pending, key: int | None) -> None:
        if key is None:
            if self._queue is None:
                self._queue = deque()
            if len(self._queue) >= MAX_PENDING:
                self._queue.popleft()
            self._queue.append(pending)
            return
        if self._by_key is None:
            self._by_key = {}
        if len(self._by_key) >= MAX_PENDING:
            del self._by_key[next(iter(self._by_key))]
        self._by_key[key] = pending

    # -- responses -------------------------------------------------------------------

    def _response(self, message: Message, key: int | None) -> list[Message]:
        pending: _Pending | None = None
        if key is None:
            queue = self._queue
            if queue and queue[0].http_api == message.api:
                pending = queue.popleft()
        elif self._by_key:
            pending = self._by_key.pop(key, None)
        if pending is None:
            return [message]
        apis = pending.apis
        if pending.batch and len(apis) > 1:
            split = _split_batch(message, apis)
            if split is not None:
                return split
        return [replace(message, api=apis[0])]


# -- helpers -------------------------------------------------------------------------


def _graphql_requests(message: Message) -> tuple[list[dict[str, object]] | None, Part | None]:
    """The GraphQL request objects a message carries and the part that carried them, or
    (None, None). Cheap byte checks first: nearly every HTTP message is not GraphQL."""
    body: Part | None = None
    query: Part | None = None
    # The last body, else the last query string: looked for from the end, where a
    # body is, so that a request with a body costs one step, not one per header.
    body_location, query_location = _AT_BODY, _AT_QUERY
    for part in reversed(message.parts):
        location = part.location
        if location is body_location:
            body = part
            break
        if location is query_location and query is None:
            query = part
    if body is not None:
        data = body.data
        if body.media_type != _JSON:
            # The Content-Type header matters only here: looked up for a body that is
            # not JSON, not for every request's headers.
            if _graphql_type(message.parts):
                text = data.decode("utf-8", "replace")
                return ([{"query": text}], body) if summarize(text) else (None, None)
            return None, None
        # A request key among the bytes, else no GraphQL request: three `in` tests
        # (a map over a tuple of markers costs more than the tests, for every JSON body).
        if (
            b'"query"' not in data
            and b'"persistedQuery"' not in data
            and b'"operationName"' not in data
        ):
            return None, None
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None, None
        items = document if isinstance(document, list) else [document]
        if items and all(isinstance(i, dict) and _is_request(i) for i in items):
            return items, body
        return None, None
    if query is not None and any(map(query.data.__contains__, _GET_MARKERS)):
        params = dict(parse_qsl(query.data.decode("utf-8", "replace"), keep_blank_values=True))
        request: dict[str, object] = {}
        for name in ("query", "operationName"):
            if name in params:
                request[name] = params[name]
        for name in ("variables", "extensions"):
            if params.get(name):
                try:
                    request[name] = orjson.loads(params[name])
                except orjson.JSONDecodeError:
                    return None, None
        if _is_request(request):
            return [request], query
    return None, None



def _graphql_type(parts: tuple[Part, ...]) -> bool:
    """The message's (last) Content-Type header says `application/graphql`."""
    graphql_type = False
    for part in parts:
        if part.location is Location.HEADER and part.name == "content-type":
            graphql_type = part.data.lower().startswith(b"application/graphql")
    return graphql_type


def _is_request(item: dict[str, object]) -> bool:
    """Shape of a GraphQL request (the document itself is checked when it is parsed)."""
    if isinstance(item.get("query"), str):
        return True
    if "query" in item:
        return False
    if _persisted_hash(item):
        return True
    # A persisted query named only by its operation (`{"operationName", "variables"}`).
    return isinstance(item.get("operationName"), str) and isinstance(item.get("variables"), dict)


def _persisted_hash(item: dict[str, object]) -> str:
    extensions = item.get("extensions")
    if isinstance(extensions, dict):
        persisted = extensions.get("persistedQuery")
        if isinstance(persisted, dict):
            digest = persisted.get("sha256Hash")
            if isinstance(digest, str):
                return digest[:128]
    return ""


def _body(request: dict[str, object], operation: Operation) -> bytes:
    """The request's data: variables, inline arguments, extensions other than the
    persisted-query hash, and any non-protocol member a client added."""
    out: dict[str, object] = {}
    variables = request.get("variables")
    if isinstance(variables, (dict, list)) and variables:
        out["variables"] = variables
    if operation.arguments:
        out["arguments"] = operation.arguments
    extensions = request.get("extensions")
    if isinstance(extensions, dict):
        kept = {k: v for k, v in extensions.items() if k != "persistedQuery"}
        if kept:
            out["extensions"] = kept
    for name, value in request.items():
        if name not in _PROTOCOL_KEYS and name not in out:
            out[name] = value
    return orjson.dumps(out) if out else b""


def _rest_of_query(data: bytes) -> Part | None:
    """The query parameters of a GraphQL GET that are not GraphQL's own, as a query part."""
    pairs = parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True)
    rest = [(k, v) for k, v in pairs if k not in _PROTOCOL_KEYS]
    if not rest:
        return None
    return Part(
        location=Location.QUERY,
        name="",
        data=urlencode(rest).encode("utf-8"),
        media_type=MediaType.FORM,
    )


def _split_batch(message: Message, apis: tuple[str, ...]) -> list[Message] | None:
    """A batch response -> one message per operation; None when its body is not an array
    as long as the batch (an error for the whole batch stays one message)."""
    body = next((p for p in message.parts if p.location is Location.BODY), None)
    if body is None or body.media_type != MediaType.JSON:
        return None
    try:
        document = orjson.loads(body.data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, list) or len(document) != len(apis):
        return None
    others = [p for p in message.parts if p is not body]
    out: list[Message] = []
    for index, (api, item) in enumerate(zip(apis, document, strict=True)):
        parts = list(others) if index == 0 else []
        parts.append(
            Part(
                location=Location.BODY, name="", data=orjson.dumps(item), media_type=MediaType.JSON
            )
        )
        out.append(replace(message, api=api, parts=tuple(parts)))
    return out
