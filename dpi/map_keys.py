"""Maps keyed by names, found across messages (spec/inventory.md, "field": "any key of an
object whose keys keep changing under the same parent (a map keyed by ids) becomes
`{key}`").

`protocols._json_keys` templates the keys that look like data, and the objects whose own
keys mostly do, one object at a time. A map keyed by words (`{"members": {"alice":
{"email": ...}}}`, user logins, package names) looks like a record in any one message;
what gives it away is that its keys keep changing. Per parent (protocol, server, api,
direction, location, parent path) this module counts the distinct child keys that carry
an object, by the shape of that object (the set of its keys that had data), over the
parts that carry at most `MAX_CHILDREN_PER_PART` children of that parent. Once one
shape has shown `MAP_MIN_CHILDREN` distinct keys, the parent is a map: from then on its
keys become `{key}` in the messages of that API (`template`, each key also a value at
the map's path, as for the keys `_json_keys` templates), and the fields already
recorded under the literal keys are folded into the `{key}` ones when the inventory is
read or stored (`Inventory.fold_maps`).

Why these bounds: the object-valued children of one same shape that real records have
come in small fixed sets (`billing`/`shipping` addresses, `created`/`updated` stamps, a
`links` object of `self`/`next`/`prev`), and they come together: a record is sent whole
or nearly so, a map of users one or two entries at a time. Nine distinct keys of one
shape, never more than three in one part, is more than such a record shows. Children
that are scalars are not counted: a sparse record (a PATCH body that sets one field at a
time) looks exactly like a map of scalars, and folding `user.email`, `user.phone` into
`user.{key}` would mix their values and lose rows. One shape, because the results of
different queries under one GraphQL endpoint (`data.viewer`, `data.order`, ...) come one
or two per response too, each with its own keys.

Measured on the real captures (tests/captures, tests/heldout/captures, the shared
captures, samples/, the two 20 MB benchmark workloads): no parent is a map under these
bounds, nor at 3 keys instead of 9; at 2, only an npm package's `exports` keys (`./app`,
whose dots split them into path segments). Without the bound per part, records sent
whole would be folded: RabbitMQ's `/api/nodes` (a dozen `*_details` objects of one
shape), NuGet's OData `properties`, JSON-LD `@context`, Elasticsearch's `thread_pool`.

Stored: keyed hashes (BLAKE2b under the inventory's salt) of the child keys and shapes,
never the keys themselves, at most `MAP_MIN_CHILDREN - 1` per shape, `MAX_SHAPES` shapes
per parent, `MAX_PARENTS` parents (`MAX_PARENTS_PER_WHERE` per API), `MAX_HASHES` hashes
and `MAX_MAPS` maps; a parent found to be a map
keeps only its path, and what was counted under its literal keys (`alice.devices`)
counts for the templated parent (`{key}.devices`).
Everything merges (set unions, capped), so shards and resumed scans agree: a parent is
a map in a merged inventory when it is one in any part of it or when the union of what
the parts saw makes it one. The order of messages matters only past the caps.

Not caught: maps of scalars keyed by words (`{"emails": {"alice": "a@x"}}`, see above),
and maps whose entries all come in parts of more than `MAX_CHILDREN_PER_PART` of them.
The first parts of a map, before it is known, are read with their literal keys; their
keys are not classified as values (their fields are folded all the same).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, insort
from collections.abc import Iterable
from typing import Any, Final

# Distinct object-valued child keys of one shape after which a parent is a map.
MAP_MIN_CHILDREN: Final = 9
# A part carrying more children of a parent than this does not count for it (a record
# sent whole); it does not count against it either.
MAX_CHILDREN_PER_PART: Final = 3
# Shapes tracked per parent, parents and key hashes tracked in all (memory bounds: at
# worst, every parent with five shapes of one key each, 36 MB measured; the 20 MB
# benchmark captures hold 31 parents and 6). Past them, no new parent, shape or key is
# counted.
MAX_SHAPES: Final = 8
MAX_PARENTS: Final = 20_000
MAX_HASHES: Final = 100_000
# Parents counted per API (protocol, server, api, direction, location), and maps found in
# all: finding a map looks through that API's counted parents (its `{key}` moves what was
# counted under the literal keys), so a crafted capture of endless nested maps costs at
# most MAX_MAPS * MAX_PARENTS_PER_WHERE prefix tests (~2e7), and the maps kept (written to
# states and worker results) stay bounded. Past them, no new parent or map is counted.
MAX_PARENTS_PER_WHERE: Final = 2_000
MAX_MAPS: Final = 10_000
# The locations whose field paths are object paths (JSON, XML, Avro, protobuf numbers).
PATH_LOCATIONS: Final = frozenset({"body", "key", "value"})
# The path segment of a templated key (protocols.payload.PLACEHOLDER).
PLACEHOLDER: Final = "{key}"
_CUT_MARK: Final = "\u2026"
_NO_MAPS: Final[frozenset[str]] = frozenset()
_HASH_BYTES: Final = 8

# (protocol, server, api, direction, location): where a parent path is one.
Where = tuple[str, str, str, str, str]
# A parent not yet known to be a map: shape hash -> hashes of its child keys.
_Pending = dict[int, set[int]]


class MapKeys:
    """The parents of one inventory found to be maps, and what is counted towards the
    others. `salt` keys the hashes (the inventory's own, so that merged ones agree)."""

    def __init__(self, salt: bytes) -> None:
        self.salt = salt
        self.maps: dict[Where, set[str]] = {}
        self.pending: dict[tuple[Where, str], _Pending] = {}
        self.held = 0  # key hashes in `pending`
        self.found_maps = 0  # parents in `maps`
        # The parents of `pending` and of `maps` per API, sorted: finding a map looks up
        # the paths under it by bisection, not by a walk over everything counted.
        self._pending_parents: dict[Where, list[str]] = {}
        self._sorted_maps: dict[Where, list[str]] = {}

    def _hash(self, text: str) -> int:
        digest = hashlib.blake2b(
            text.encode("utf-8", "surrogatepass"), digest_size=_HASH_BYTES, key=self.salt
        ).digest()
        return int.from_bytes(digest, "big")

    def observe(self, where: Where, paths: Iterable[str]) -> bool:
        """Counts the children of every parent in the paths of one part (`where` holds
        its location); True when a parent became a map."""
        children = _children(paths)
        found = False
        known = self.maps.get(where, _NO_MAPS)
        for parent, kids in children.items():
            if found:  # a map found in this part: the parents under it are templated
                parent = template(parent, known, {})
            if len(kids) > MAX_CHILDREN_PER_PART or parent in known:
                continue
            for child, subs in kids.items():
                shape = self._hash("\0".join(sorted(subs)))
                if self._count(where, parent, shape, self._hash(child)):
                    found = True
                    known = self.maps[where]
                    break
        return found

    def _count(self, where: Where, parent: str, shape: int, child: int) -> bool:
        if self.held >= MAX_HASHES:
            return False
        pending = self.pending.get((where, parent))
        if pending is None:
            parents = self._pending_parents.setdefault(where, [])
            if len(self.pending) >= MAX_PARENTS or len(parents) >= MAX_PARENTS_PER_WHERE:
                return False
            pending = self.pending[(where, parent)] = {}
            insort(parents, parent)
        keys = pending.get(shape)
        if keys is None:
            if len(pending) >= MAX_SHAPES:
                return False
            keys = pending[shape] = set()
        if child not in keys:
            keys.add(child)
            self.held += 1
        if len(keys) < MAP_MIN_CHILDREN or self.found_maps >= MAX_MAPS:
            return False
        self._found(where, parent)
        return True

    def _found(self, where: Where, parent: str) -> None:
        """`parent` is a map. What was counted for it is dropped; what was counted for
        the parents under its literal keys (`alice.devices`) now counts for the
        templated parent (`{key}.devices`), which may be a map in turn; and maps found
        under its literal keys before it (`alice.devices`, found first) become maps under
        `{key}` (`{key}.devices`): no literal key stays in `maps`."""
        parents = self.maps.setdefault(where, set())
        ordered = self._sorted_maps.setdefault(where, [])
        for older in _take_under(ordered, parent, keep_self=True):
            parents.discard(older)
            self.found_maps -= 1
            templated = template(older, {parent}, {})
            if templated not in parents:
                parents.add(templated)
                insort(ordered, templated)
                self.found_maps += 1
        if parent not in parents:
            parents.add(parent)
            insort(ordered, parent)
            self.found_maps += 1
        counted = self._pending_parents.get(where, [])
        below: list[tuple[str, _Pending]] = []
        for name in _take_under(counted, parent, keep_self=False):
            shapes = self.pending.pop((where, name))
            self.held -= sum(map(len, shapes.values()))
            if name != parent:
                below.append((template(name, {parent}, {}), shapes))
        for templated, shapes in below:
            self.load(where, templated, shapes)

    def found(self, where: Where, parent: str) -> None:
        """Records `parent` as a map (read back from a state or worker result), as if
        found here: under the maps already known it is templated first."""
        known = self.maps.get(where)
        templated = template(parent, known, {}) if known else parent
        if known is None or templated not in known:
            self._found(where, templated)

    def merge(self, other: MapKeys) -> None:
        """Adds `other`'s maps and counts (same salt: the hashes compare)."""
        for where, parents in other.maps.items():
            for parent in sorted(parents):  # a parent sorts before the paths under it
                self.found(where, parent)
        for (where, parent), theirs in other.pending.items():
            mine = self.maps.get(where)
            if mine:  # counted under a literal key of a map found here
                parent = template(parent, mine, {})
            self.load(where, parent, theirs)

    def load(self, where: Where, parent: str, shapes: _Pending) -> None:
        """Adds counts for `parent` (read back from `to_obj`'s form, merged, moved)."""
        for shape, keys in shapes.items():
            if _is_map(self.maps.get(where), parent) or any(
                    self._count(where, parent, shape, child) for child in keys):
                break

    def to_obj(self) -> dict[str, Any]:
        return {
            "maps": [[*where, parent] for where, parents in self.maps.items()
                     for parent in sorted(parents)],
            "pending": [
                [*where, parent, {str(shape): sorted(keys) for shape, keys in shapes.items()}]
                for (where, parent), shapes in self.pending.items()
            ],
        }


def _take_under(ordered: list[str], parent: str, *, keep_self: bool) -> list[str]:
    """Removes from the sorted list `ordered` the paths under `parent` (`parent.x...`;
    every path for the root `""`), and `parent` itself unless `keep_self`; returns them.
    A path and the paths under it are adjacent in sorted order after `parent + "."`."""
    taken: list[str] = []
    if not keep_self:
        at = bisect_left(ordered, parent)
        if at < len(ordered) and ordered[at] == parent:
            taken.append(ordered.pop(at))
    inside = parent + "." if parent else ""
    start = bisect_left(ordered, inside)
    if not parent and start < len(ordered) and ordered[start] == "":
        start += 1  # the root is not under itself (it sorts first)
    end = start
    while end < len(ordered) and ordered[end].startswith(inside):
        end += 1
    taken.extend(ordered[start:end])
    del ordered[start:end]
    return taken


def _is_map(parents: set[str] | None, parent: str) -> bool:
    return parents is not None and parent in parents


def _children(paths: Iterable[str]) -> dict[str, dict[str, set[str]]]:
    """parent path -> child key -> the keys under that child (its shape), for every
    child that holds an object. Keys already templated, numbers (protobuf field
    numbers) and cut paths are left out."""
    out: dict[str, dict[str, set[str]]] = {}
    for path in paths:
        if "." not in path or _CUT_MARK in path:
            continue
        segments = path.split(".")
        parent = ""
        for i in range(len(segments) - 1):
            child = segments[i]
            if child != PLACEHOLDER and not child.isdigit() and not child.endswith("]"):
                kids = out.get(parent)
                if kids is None:
                    kids = out[parent] = {}
                subs = kids.get(child)
                if subs is None:
                    subs = kids[child] = set()
                subs.add(segments[i + 1])
            parent = f"{parent}.{child}" if i else child
    return out


def template(path: str, parents: set[str] | frozenset[str], keys: dict[str, set[str]]) -> str:
    """`path` with the key after each map parent of `parents` made `{key}`; the keys so
    replaced are added to `keys` (map path -> keys), to be classified as values."""
    segments = path.split(".")
    parent = ""
    changed = False
    for i, segment in enumerate(segments):
        if parent in parents and segment != PLACEHOLDER:
            key_path = f"{parent}.{PLACEHOLDER}" if i else PLACEHOLDER
            keys.setdefault(key_path, set()).add(segment.removesuffix("[]"))
            segments[i] = PLACEHOLDER + segment[len(segment.removesuffix("[]")):]
            segment = segments[i]
            changed = True
        parent = f"{parent}.{segment}" if i else segment
    return ".".join(segments) if changed else path
