"""The OpenAPI 3.1 document of the HTTP and gRPC operations a scan saw.

One document for every server: `servers` lists them all (as URLs, `https` for TLS
flows) and each operation lists the servers that answered it when there are several.
Paths are the inventory's templates, placeholders renamed per position so that one path
never holds the same name twice and two operations of one path agree (`{id}` and
`{uuid}` at one position become `{param}`). gRPC methods are `post` operations on their
`/package.Service/Method` path with `application/grpc` bodies; the GraphQL operations
of one endpoint are `anyOf` alternatives titled with their operation (`query
GetPatient`). WebSocket messages are not operations (counted as skipped).

Sensitive places get `x-data-type`, `x-category` and `x-confidence`
(`dpi.outputs.apispec.annotations`): body properties on their schema, parameters, response
headers and cookies on their object, credentials on their security scheme. No example
values; enums only as `dpi.outputs.apispec.shapes` and `dpi.outputs.apispec.enums` allow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from dpi.outputs.apispec.annotations import Annotations, Types, describe, union
from dpi.outputs.apispec.enums import EnumVetter
from dpi.outputs.apispec.observer import (
    MAX_BODY_SAMPLES,
    METHODS,
    Body,
    Operation,
    Params,
    SpecObserver,
    Variant,
)

OPENAPI_VERSION: Final = "3.1.0"
_OPERATION_ID_CHARS: Final = re.compile(r"[^A-Za-z0-9]+")
# Path parameter schemas by the inventory's placeholder names (spec/inventory.md).
_PLACEHOLDER_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "id": {"type": "string", "pattern": "^[0-9]+$"},
    "uuid": {"type": "string", "format": "uuid"},
}

Annotate = Callable[[str], dict[str, Any] | None]


def openapi_document(
    observer: SpecObserver, annotations: Annotations, vetter: EnumVetter | None = None
) -> dict[str, Any]:
    """The document as plain data (dicts, lists, strings, numbers), ready for YAML/JSON."""
    vetter = vetter or EnumVetter()
    operations = sorted(
        observer.operations.values(), key=lambda op: (op.path, METHODS.index(op.method))
    )
    servers = sorted({url for op in operations for url in op.servers})
    doc: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "APIs observed in traffic",
            "version": "observed",
            "description": (
                f"Written by `dpi spec` from captured traffic: operations: {len(operations)}, "
                f"servers: {len(servers)}. Shapes are inferred from the messages seen; "
                f"`required` means present in every message seen (the first "
                f"{MAX_BODY_SAMPLES:,} of each body). Places that carry sensitive data have "
                "`x-data-type`, `x-category` and `x-confidence` from the inventory. No value "
                "from the traffic is included, except `enum` lists of short word values "
                "that the inventory does not report and no classifier flags."
            ),
        },
    }
    if servers:
        doc["servers"] = [{"url": url} for url in servers]
    names = _placeholder_names(operations)
    paths: dict[str, Any] = {}
    scheme_types: dict[str, Types] = {}
    operation_ids: set[str] = set()
    for op in operations:
        display, path_parameters = _display_path(op.path, names[op.path])
        item = paths.setdefault(display, {})
        if path_parameters:
            item["parameters"] = path_parameters
        writer = _OperationWriter(op, annotations, vetter)
        out = writer.operation(_operation_id(op, operation_ids))
        if len(servers) > 1:
            out["servers"] = [{"url": url} for url in sorted(op.servers)]
        if op.security:
            out["security"] = [{scheme: []} for scheme in sorted(op.security)]
            if op.anonymous:
                out["security"].append({})  # some requests carried no credential
            for scheme, used in op.security.items():
                union(
                    scheme_types.setdefault(scheme, {}),
                    annotations.types(op.protocol, writer.api(""), ["request"], used.location, used.field),
                )
        item[op.method] = out
    doc["paths"] = paths
    if observer.schemes:
        schemes: dict[str, Any] = {}
        for scheme_id in sorted(observer.schemes):
            definition = dict(observer.schemes[scheme_id])
            if observer.bearer_formats.get(scheme_id) == {"jwt"}:
                definition["bearerFormat"] = "JWT"
            definition.update(describe(scheme_types.get(scheme_id, {})) or {})
            schemes[scheme_id] = definition
        doc["components"] = {"securitySchemes": schemes}
    return doc


def _placeholder_names(operations: list[Operation]) -> dict[str, list[str]]:
    """One name per placeholder position of each path, shared by its operations."""
    seen: dict[str, list[set[str]]] = {}
    for op in operations:
        positions = seen.setdefault(op.path, [set() for _ in op.names])
        for position, found in zip(positions, op.names, strict=True):
            position |= found
    out: dict[str, list[str]] = {}
    for path, positions in seen.items():
        names: list[str] = []
        for position in positions:
            name = next(iter(position)) if len(position) == 1 else "param"
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,30}", name):
                name = "param"
            base, n = name, 2
            while name in names:
                name = f"{base}{n}"
                n += 1
            names.append(name)
        out[path] = names
    return out


def _display_path(path: str, names: list[str]) -> tuple[str, list[dict[str, Any]]]:
    pieces = path.split("{}")
    display = pieces[0]
    parameters: list[dict[str, Any]] = []
    for name, piece in zip(names, pieces[1:], strict=True):
        display += "{" + name + "}" + piece
        base = name.rstrip("0123456789")
        parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": dict(_PLACEHOLDER_SCHEMAS.get(base, {"type": "string"})),
            }
        )
    return display, parameters


def _operation_id(op: Operation, taken: set[str]) -> str:
    words = _OPERATION_ID_CHARS.sub("_", op.path.replace("{}", "by")).strip("_")
    base = f"{op.method}_{words}" if words else op.method
    name, n = base, 2
    while name in taken:
        name = f"{base}_{n}"
        n += 1
    taken.add(name)
    return name


class _OperationWriter:
    """One operation: parameters, request body, responses."""

    def __init__(self, op: Operation, annotations: Annotations, vetter: EnumVetter) -> None:
        self.op = op
        self.annotations = annotations
        self.vetter = vetter
        self.header_location = "metadata" if op.protocol == "grpc" else "header"

    def api(self, variant: str) -> str:
        """The inventory's api of this operation (placeholders compared by position)."""
        if self.op.protocol == "grpc":
            return self.op.path
        api = f"{self.op.method.upper()} {self.op.path}"
        return f"{api} {variant}" if variant else api

    def _annotate(self, variant: str, direction: str, location: str) -> Callable[[str], dict[str, Any] | None]:
        protocol, api = self.op.protocol, self.api(variant)

        def annotate(path: str) -> dict[str, Any] | None:
            return self.annotations.lookup(protocol, api, [direction], location, path)

        return annotate

    def operation(self, operation_id: str) -> dict[str, Any]:
        op = self.op
        out: dict[str, Any] = {"operationId": operation_id}
        variants = sorted(op.variants)
        if variants != [""]:
            out["summary"] = ", ".join(v or "(no operation name)" for v in variants)
        parameters: list[dict[str, Any]] = []
        for location, params in (("query", op.query), ("header", op.header), ("cookie", op.cookie)):
            parameters += self._parameters(location, params)
        if parameters:
            out["parameters"] = parameters
        body = self._request_body()
        if body:
            out["requestBody"] = body
        responses = self._responses()
        if responses:
            out["responses"] = responses
        out["x-observed-requests"] = op.requests
        return out

    def _parameters(self, location: str, params: Params) -> list[dict[str, Any]]:
        inventory_location = self.header_location if location == "header" else location
        out = []
        for name, shape in params.shapes.items():
            annotation = self._param_annotation(inventory_location, name, "request")
            parameter: dict[str, Any] = {
                "name": name,
                "in": location,
                "required": shape.seen >= params.messages > 0,
                "schema": shape.schema(_none, self.vetter if annotation is None else _never),
            }
            if annotation:
                parameter.update(annotation)
            out.append(parameter)
        return out

    def _param_annotation(self, location: str, name: str, direction: str) -> dict[str, Any] | None:
        types: Types = {}
        for variant in self.op.variants:
            union(
                types,
                self.annotations.types(self.op.protocol, self.api(variant), [direction], location, name),
            )
        return describe(types)

    def _content(self, bodies: dict[str, dict[str, Body]], direction: str) -> dict[str, Any]:
        """Media type -> schema, for one body over the variants (variant -> bodies)."""
        media_types: list[str] = []
        for per_variant in bodies.values():
            for media in per_variant:
                if media not in media_types:
                    media_types.append(media)
        content: dict[str, Any] = {}
        for media in sorted(media_types):
            schemas: list[dict[str, Any]] = []
            for variant, per_variant in sorted(bodies.items()):
                body = per_variant.get(media)
                if body is None or body.shape.seen == 0:
                    continue
                schema = body.shape.schema(self._annotate(variant, direction, "body"), self.vetter)
                if variant:
                    schema = {"title": variant} | schema
                schemas.append(schema)
            if not schemas:
                content[media] = {}  # seen, but binary, too large or not decodable
            else:
                content[media] = {"schema": schemas[0] if len(schemas) == 1 else {"anyOf": schemas}}
        return content

    def _request_body(self) -> dict[str, Any] | None:
        variants = self.op.variants
        bodies = {name: v.bodies for name, v in variants.items() if v.bodies}
        if not bodies:
            return None
        messages = sum(body.messages for v in variants.values() for body in v.bodies.values())
        return {
            "required": messages >= self.op.requests > 0,
            "content": self._content(bodies, "request"),
        }

    def _responses(self) -> dict[str, Any]:
        statuses: dict[str, dict[str, Variant]] = {}
        for name, variant in self.op.variants.items():
            for status in variant.responses:
                statuses.setdefault(status, {})[name] = variant
        out: dict[str, Any] = {}
        for status in sorted(statuses, key=lambda s: (s == "default", s)):
            per_variant = statuses[status]
            responses = [v.responses[status] for v in per_variant.values()]
            count = sum(r.count for r in responses)
            response: dict[str, Any] = {
                "description": f"{count} response{'s' if count != 1 else ''} observed"
            }
            headers = self._response_headers(responses)
            if headers:
                response["headers"] = headers
            bodies = {
                name: v.responses[status].bodies
                for name, v in per_variant.items()
                if v.responses[status].bodies
            }
            if bodies:
                response["content"] = self._content(bodies, "response")
            out[status] = response
        return out

    def _response_headers(self, responses: list[Any]) -> dict[str, Any]:
        headers: dict[str, Any] = {}
        for response in responses:
            for name, shape in response.headers.shapes.items():
                if name in headers:
                    continue
                annotation = self._param_annotation(self.header_location, name, "response")
                header: dict[str, Any] = {
                    "schema": shape.schema(_none, self.vetter if annotation is None else _never)
                }
                if annotation:
                    header.update(annotation)
                headers[name] = header
        cookies: dict[str, Any] = {}
        for response in responses:
            for name in response.set_cookies.shapes:
                annotation = self._param_annotation("cookie", name, "response")
                cookies.setdefault(name, annotation or {})
        if cookies:
            headers["set-cookie"] = {
                "description": "cookies set: " + ", ".join(cookies),
                "schema": {"type": "string"},
                "x-cookies": cookies,
            }
        return headers


def _none(path: str) -> dict[str, Any] | None:
    return None


def _never(values: list[str]) -> bool:
    return False
