"""JSON Schema inferred from the values seen in traffic, in bounded memory.

A `Shape` accumulates what one place of a payload held across messages: the JSON types,
the string format when every string had the same one (`email`, `date`, `date-time`,
`uuid`, `ipv4`, `ipv6`, `uri`), object properties and how often each was present
(`required` = present in every object seen there), array items, and maps whose keys are
data (`protocols._json_keys`: the same `{key}` templating as the inventory's field
paths) as `additionalProperties`. Each shape knows its inventory field path (keys joined
by `.`, `[]` for array elements, `{key}` for templated keys), so the writers can join it
with the inventory rows.

No value is kept, with one exception: the enum candidates of a string place, at most
`MAX_ENUM_VALUES` distinct short word-like strings, in memory only, dropped as soon as
a place shows more (see `Shape._enum_candidate`). Whether a candidate set may become an
`enum` is decided at writing time (never for a field the inventory reports, never for
a value a classifier flags).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import date
from typing import Any, Final

from protocols._json_keys import templated_keys
from protocols.base import Limits

# Nesting described: deeper values are left undescribed (`{}`). Real payloads nest
# fewer than 10 levels; beyond 16, a document is unreadable anyway.
MAX_DEPTH: Final = 16
# Properties per object: beyond, new names are not described (the object stays open).
# Real objects have tens of fields; a wider one is a map the key rules did not catch.
MAX_PROPERTIES: Final = 256
# Elements of one array looked at: the elements of an array share their shape, and a
# catalog page of thousands of items says nothing more than its first hundred.
MAX_ITEMS_SAMPLED: Final = 100
# Distinct values kept per string place to decide on an enum, each at most this long.
MAX_ENUM_VALUES: Final = 8
MAX_ENUM_CHARS: Final = 32
# An enum needs this many observations and each value seen twice on average: a field
# with as many values as messages is data, not a closed set.
MIN_ENUM_OBSERVATIONS: Final = 4
# Shapes (described places) per scan, all operations and channels together: with the
# caps above, a few hundred bytes each, so this bounds the inference to ~50 MB.
MAX_SHAPES: Final = 100_000

# Word-like tokens only (`active`, `in_stock`, `visa`, `application/json`): no spaces
# (names, free text), no runs of digits (ids, numbers, codes), no `@` (addresses).
_ENUM_TOKEN: Final = re.compile(r"[A-Za-z](?:[A-Za-z_.:/-]|(?<![0-9])[0-9])*")
_EMAIL: Final = re.compile(r"[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+")
_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2})"
)
_IPV4: Final = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_IPV6_CHARS: Final = re.compile(r"[0-9a-fA-F:.]{2,45}")
_URI: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s]+")
_INTEGER: Final = re.compile(r"-?[0-9]{1,18}")
_NUMBER: Final = re.compile(r"-?[0-9]+\.[0-9]+(?:[eE][-+]?[0-9]+)?")
# Longest string whose format is looked for (a URI can be long; nothing else is).
_MAX_FORMAT_CHARS: Final = 2048
# Order of `type` lists in the output (stable documents).
_TYPE_ORDER: Final = ("object", "array", "string", "integer", "number", "boolean", "null")
_KEYS: Final = Limits()  # the inventory's key and path bounds (max_key_chars, ...)
CUT_MARK: Final = "\u2026"
PLACEHOLDER: Final = "{key}"


def string_format(value: str) -> str:
    """The JSON Schema format of a string, from its shape alone ("" for none)."""
    n = len(value)
    if n < 7 or n > _MAX_FORMAT_CHARS:
        return ""
    if "@" in value:
        return "email" if n <= 254 and _EMAIL.fullmatch(value) else ""
    if n == 36 and _UUID.fullmatch(value):
        return "uuid"
    if n == 10 and _DATE.fullmatch(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            return ""
        return "date"
    if _DATE_TIME.fullmatch(value):
        return "date-time" if _valid_date(value[:10]) else ""
    if n <= 15 and _IPV4.fullmatch(value):
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            return ""
        return "ipv4"
    if ":" in value and value.count(":") >= 2 and _IPV6_CHARS.fullmatch(value):
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            return ""
        return "ipv6"
    if "://" in value and _URI.fullmatch(value):
        return "uri"
    return ""


def _valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def scalar_from_text(text: str) -> object:
    """A decoded protobuf or form value (text) as the JSON scalar it most likely is."""
    if _INTEGER.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        return float(text)
    return text


class Budget:
    """Shapes left for the whole scan (`MAX_SHAPES`); `exhausted` once it ran out."""

    __slots__ = ("exhausted", "left")

    def __init__(self, shapes: int = MAX_SHAPES) -> None:
        self.left = shapes
        self.exhausted = False

    def take(self) -> bool:
        if self.left <= 0:
            self.exhausted = True
            return False
        self.left -= 1
        return True


class Shape:
    """What one place of a payload held across the messages seen (module docstring)."""

    __slots__ = (
        "budget",
        "cut_deep",
        "enum",
        "format",
        "items",
        "map_values",
        "more_properties",
        "objects",
        "path",
        "properties",
        "seen",
        "types",
    )

    def __init__(self, path: str, budget: Budget) -> None:
        self.path = path  # the inventory's field path of this place
        self.seen = 0
        self.types: set[str] = set()
        # None: no string yet; "": strings of different or no formats.
        self.format: str | None = None
        # Enum candidates, value -> None (an ordered set); None once ruled out.
        self.enum: dict[str, None] | None = {}
        self.objects = 0
        self.properties: dict[str, Shape] = {}
        self.more_properties = False
        self.map_values: Shape | None = None
        self.items: Shape | None = None
        self.cut_deep = False
        self.budget = budget

    # -- observing ---------------------------------------------------------------------

    def observe(self, value: object, depth: int = 0, template_keys: bool = True) -> None:
        """One value seen at this place (parsed JSON: dict, list, str, int, float, bool, None)."""
        self.seen += 1
        kind = type(value)
        if kind is str:
            self.types.add("string")
            self._string(value)  # type: ignore[arg-type]
        elif kind is bool:
            self.types.add("boolean")
        elif kind is int:
            self.types.add("integer")
        elif kind is float:
            self.types.add("number")
        elif value is None:
            self.types.add("null")
        elif kind is dict:
            self.types.add("object")
            self.objects += 1
            if depth >= MAX_DEPTH:
                self.cut_deep = True
                return
            self._object(value, depth, template_keys)  # type: ignore[arg-type]
        elif kind is list:
            self.types.add("array")
            if depth >= MAX_DEPTH:
                self.cut_deep = True
                return
            items = self.items
            if items is None:
                if not self.budget.take():
                    return
                items = self.items = Shape(_child_path(self.path, "[]", array=True), self.budget)
            for item in value[:MAX_ITEMS_SAMPLED]:  # type: ignore[index]
                items.observe(item, depth + 1, template_keys)

    def _string(self, value: str) -> None:
        fmt = string_format(value)
        if self.format is None:
            self.format = fmt
        elif self.format != fmt:
            self.format = ""
        self._enum_candidate(value, fmt)

    def _enum_candidate(self, value: str, fmt: str) -> None:
        """Keeps `value` as an enum candidate, or rules enums out for this place for good
        (and forgets the candidates) when it cannot be one."""
        enum = self.enum
        if enum is None or value in enum:
            return
        if (
            fmt
            or len(enum) >= MAX_ENUM_VALUES
            or len(value) > MAX_ENUM_CHARS
            or not _ENUM_TOKEN.fullmatch(value)
        ):
            self.enum = None
            return
        enum[value] = None

    def _object(self, value: dict[str, object], depth: int, template_keys: bool) -> None:
        templated = templated_keys(value) if template_keys else False
        properties = self.properties
        for key, item in value.items():
            if templated is True or (templated and key in templated):
                shape = self.map_values
                if shape is None:
                    if not self.budget.take():
                        continue
                    shape = self.map_values = Shape(_child_path(self.path, PLACEHOLDER), self.budget)
                shape.observe(item, depth + 1, template_keys)
                continue
            if len(key) > _KEYS.max_key_chars:
                key = key[: _KEYS.max_key_chars] + CUT_MARK
            shape = properties.get(key)
            if shape is None:
                if len(properties) >= MAX_PROPERTIES or not self.budget.take():
                    self.more_properties = True
                    continue
                shape = properties[key] = Shape(_child_path(self.path, key), self.budget)
            shape.observe(item, depth + 1, template_keys)

    # -- describing --------------------------------------------------------------------

    def schema(
        self,
        annotate: Callable[[str], dict[str, Any] | None],
        enum_allowed: Callable[[list[str]], bool],
    ) -> dict[str, Any]:
        """The JSON Schema (2020-12 / OpenAPI 3.1, also valid draft-07 for AsyncAPI) of
        this place. `annotate(path)` gives the `x-` keys of a sensitive field path (or
        None); `enum_allowed(values)` vets enum candidates of fields that are not."""
        out: dict[str, Any] = {}
        types = [t for t in _TYPE_ORDER if t in self.types]
        if "integer" in self.types and "number" in self.types:
            types.remove("integer")  # an integer is a number
        if len(types) == 1:
            out["type"] = types[0]
        elif types:
            out["type"] = types
        annotation = annotate(self.path)
        if "string" in self.types:
            if self.format:
                out["format"] = self.format
            values = list(self.enum) if self.enum else []
            if (
                annotation is None
                and values
                and types == ["string"]
                and self.seen >= MIN_ENUM_OBSERVATIONS
                and len(values) * 2 <= self.seen
                and enum_allowed(values)
            ):
                out["enum"] = sorted(values)
        if "object" in self.types and not self.cut_deep:
            if self.properties:
                out["properties"] = {
                    name: shape.schema(annotate, enum_allowed)
                    for name, shape in self.properties.items()
                }
                required = [
                    name for name, shape in self.properties.items() if shape.seen >= self.objects
                ]
                if required and self.objects:
                    out["required"] = required
            if self.map_values is not None:
                out["additionalProperties"] = self.map_values.schema(annotate, enum_allowed)
        if "array" in self.types and self.items is not None and not self.cut_deep:
            out["items"] = self.items.schema(annotate, enum_allowed)
        if self.cut_deep:
            out["description"] = f"nested deeper than {MAX_DEPTH} levels: not described"
        elif self.more_properties:
            out["description"] = "more properties than described (a bound was reached)"
        if annotation:
            out.update(annotation)
        return out


def _child_path(parent: str, key: str, array: bool = False) -> str:
    """The inventory's field path of a member (protocols.payload): `a.b`, `a[]`, `[]`."""
    if array:
        path = parent + "[]"
    else:
        path = f"{parent}.{key}" if parent else key
    if len(path) > _KEYS.max_path_chars:
        path = path[: _KEYS.max_path_chars] + CUT_MARK
    return path


def object_from_pairs(pairs: list[tuple[str, str]], split: bool) -> dict[str, object]:
    """Decoded (path, text) pairs (protobuf, forms) as one JSON-like object, so that they
    are described like JSON. With `split`, paths are nested (`a.b`, `a[].b`: protobuf);
    without, each name is one property (form fields named `user.email`)."""
    root: dict[str, object] = {}
    for path, text in pairs:
        value = scalar_from_text(text) if split else text
        if not split:
            if path not in root:
                root[path] = value
            continue
        _insert(root, path.split("."), value)
    return root


def _insert(root: dict[str, object], segments: list[str], value: object) -> None:
    node: dict[str, object] = root
    last = len(segments) - 1
    for i, segment in enumerate(segments):
        array = segment.endswith("[]")
        name = segment[:-2] if array else segment
        if i == last:
            if array:
                existing = node.setdefault(name, [])
                if isinstance(existing, list):
                    existing.append(value)
            else:
                node.setdefault(name, value)
            return
        if array:
            existing = node.setdefault(name, [])
            if not isinstance(existing, list):
                return
            nxt = segments[i + 1].removesuffix("[]")
            # A new element when the last one already has this member.
            if not existing or not isinstance(existing[-1], dict) or nxt in existing[-1]:
                existing.append({})
            child = existing[-1]
        else:
            child = node.setdefault(name, {})
        if not isinstance(child, dict):
            return
        node = child
