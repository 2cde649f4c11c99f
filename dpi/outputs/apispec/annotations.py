"""The join of inferred shapes with the inventory: which places carry sensitive data.

Rows are indexed by protocol, api, direction, location and field, compared the way the
spec tells readers to (spec/inventory.md): placeholders in the api by position only
(`{id}` equals `{uuid}`), field paths case-insensitively and without `[]`. Servers are
not part of the key: an operation or a channel seen on several servers carries the
union of their rows.

What a sensitive place gets: `x-data-type`, `x-category` and `x-confidence` of its most
certain row (highest confidence, then most values), and `x-data-types` listing every
type when rows disagree. Only names, categories and scores: never a sample.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from dpi.inventory import Row

_PLACEHOLDER: Final = re.compile(r"\{[^{}/]*\}")

Key = tuple[str, str, str, str, str]  # protocol, api, direction, location, field
Types = dict[str, tuple[str, float, int]]  # data_type -> (category, confidence, count)


def api_key(api: str) -> str:
    """An api compared by placeholder position only."""
    return _PLACEHOLDER.sub("{}", api)


def field_key(path: str) -> str:
    return path.replace("[]", "").lower()


class Annotations:
    """Inventory rows by (protocol, api, direction, location, field)."""

    def __init__(self, rows: Iterable[Row]) -> None:
        # key -> data_type -> (category, confidence, count)
        self._index: dict[Key, Types] = {}
        for row in rows:
            key = (row.protocol, api_key(row.api), row.direction, row.location, field_key(row.field))
            union(
                self._index.setdefault(key, {}),
                {row.data_type: (row.category, float(row.confidence), int(row.count))},
            )

    def lookup(
        self,
        protocol: str,
        api: str,
        directions: Iterable[str],
        location: str,
        path: str,
    ) -> dict[str, Any] | None:
        """The `x-` keys of one place (None: nothing sensitive reported there)."""
        return describe(self.types(protocol, api, directions, location, path))

    def types(
        self,
        protocol: str,
        api: str,
        directions: Iterable[str],
        location: str,
        path: str,
    ) -> Types:
        """data_type -> (category, confidence, count) of one place, all directions given."""
        merged: Types = {}
        api_norm, field_norm = api_key(api), field_key(path)
        for direction in directions:
            found = self._index.get((protocol, api_norm, direction, location, field_norm))
            union(merged, found or {})
        return merged


def union(into: Types, types: Types) -> None:
    """Adds the data types of one more place or row (security schemes shared by
    several operations, one place seen in both directions)."""
    for data_type, (category, confidence, count) in types.items():
        old = into.get(data_type)
        if old is None:
            into[data_type] = (category, confidence, count)
        else:
            into[data_type] = (category, max(old[1], confidence), old[2] + count)


def describe(types: Types) -> dict[str, Any] | None:
    """`x-` keys for the data types found at one place."""
    if not types:
        return None
    ranked = sorted(types.items(), key=lambda kv: (-kv[1][1], -kv[1][2], kv[0]))
    data_type, (category, confidence, _) = ranked[0]
    out: dict[str, Any] = {
        "x-data-type": data_type,
        "x-category": category,
        "x-confidence": round(confidence, 2),
    }
    if len(ranked) > 1:
        out["x-data-types"] = sorted(types)
    return out
