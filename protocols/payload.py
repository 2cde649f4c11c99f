"""One `Part` -> the scalar values it carries, each with the spec's field path
(spec/inventory.md, "field").

Formats: JSON (RFC 8259) and its line-delimited forms (NDJSON, JSON Lines, RFC 7464
json-seq), `text/event-stream` (WHATWG HTML "Server-sent events", section 9.2.6: `data:`
lines, an event ends at a blank line), `application/x-www-form-urlencoded` (WHATWG URL,
section 5) for query strings and form bodies, `multipart/form-data` (RFC 7578), protobuf
(delegated to `protocols.protobuf.fields_from_part`), Avro (a datum with its writer's
schema, an object container file with its own: `protocols.avro`) and single text values
(headers, cookies, columns). Binary bytes nothing reads (and a protobuf or Avro part that
does not decode) get the binary fallback of `protocols._printable`: their printable
runs, as one value per payload, named by the part (field empty for a body or a value).

Paths: JSON keys joined by `.`, an array element adds `[]` (a top-level array gives
`[].key`); a bare scalar body has the empty path; form, query, header and cookie values
are named by their name. Numbers become their text (integers as digits, floats as
`repr`), strings stay as they are; booleans and null carry nothing and are skipped.
Object keys that are data (versions, ids, dates, e-mail addresses, maps keyed by ids:
`protocols._json_keys`) become `{key}`, and each such key is also a value at that path
(`emails.{key}`), so that a map keyed by e-mail addresses is reported. Keys longer than
`max_key_chars` and paths longer than `max_path_chars` are cut and end in `…`.

Damage is recovered, not dropped: a JSON body that does not parse (NaN, invalid UTF-8,
content after the document, a cut body, nesting beyond the parser's depth) gives what
`protocols._json_recovery` finds in it, counted by kind; NDJSON sent as
`application/json` is read line by line; an NDJSON line that is no JSON is one text
value. Cookie values are percent-decoded, query and form values once more when still
encoded (a double encoding), and `\\uXXXX` escapes in text, cookie and form values are
decoded (`protocols._value_decoding`).

XML and SOAP bodies and XML parts of multipart bodies go to `protocols._xml`
(`Envelope.Body.order.customer.name`, attributes `@name`); multipart/related parts are
read by their own content types. Every part's values then pass through
`protocols._embedded` (JSON inside strings, signed-URL parameters, base64 wrappers);
cookie, form and query names that embed data are templated (`protocols._templated_names`).

Not supported: HTML bodies (BINARY), nested multipart (`multipart/mixed` inside a
part), `charset` other than UTF-8 (decoded with replacement), SSE `data:` values that
span several events.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable
from threading import get_ident
from urllib.parse import parse_qsl

import orjson

from protocols._embedded import (
    AUTHORIZATION_FIELDS,
    MIN_BASE64_CHARS,
    MIN_CARRIER,
    CarrierValue,
    carries_nothing,
    expand_values,
    expanded_value,
    may_carry,
)
from protocols._json_keys import CACHE_KEY_CHARS, PLAIN_NAMES, templated_keys
from protocols._json_recovery import recover
from protocols._printable import printable_text
from protocols._templated_names import templated_name
from protocols._value_decoding import cookie_value, cut_text, form_value, text_value
from protocols._xml import XML_MEDIA_TYPE, xml_fields
from protocols.avro import AVRO_MEDIA_TYPE, CONTAINER_MAGIC, container_pairs, datum_pairs
from protocols.base import FieldValue, Limits, Location, MediaType, Part

# The location the text paths test, as a module constant: a member read off its enum
# class costs about five times a global read, and these tests run for most parts.
_AT_COOKIE = Location.COOKIE

# Parts of a multipart body looked at: real forms have a few dozen fields.
MAX_MULTIPART_PARTS = 1000
# Header block of one multipart part (Content-Disposition and Content-Type only).
MAX_MULTIPART_HEAD = 8192
# SSE events and NDJSON lines per body: beyond this the stream is cut (each still
# counts towards max_fields_per_part).
MAX_RECORDS_PER_BODY = 100_000
# Tokens the recovery of a damaged JSON body may read per field it may give: enough for
# keys and punctuation, and a body of `[[[[...` costs no more than a wide one.
RECOVERY_TOKENS_PER_FIELD = 10
# Appended to a key or a path cut at max_key_chars / max_path_chars.
CUT_MARK = "\u2026"
# The path segment of an object key that is data (spec/inventory.md, "field").
PLACEHOLDER = "{key}"

# (field path, value): the location is the part's. Plain tuples, not FieldValue objects:
# a JSON body can hold thousands of values and this is the scan's hottest loop.
Pair = tuple[str, str]
# Limit hits of one decoding, by kind (`json_depth_limit`, `fields_limit`, `key_too_long`,
# `path_too_long`), for the scan's counters; and, in the same form, the damage it met
# (`json_syntax_error`, `json_invalid_utf8`, `json_nonstandard`, `json_trailing_data`).
# None when the caller does not count.
Hits = Counter[str] | None
_Decoder = Callable[[Part, Limits, object | None, Hits, Hits], list[Pair]]


def _walk(
    obj: object,
    prefix: str,
    limits: Limits,
    out: list[Pair],
    hits: Hits = None,
    size: int | None = None,
) -> None:
    """Depth-first, document order, bounded by depth, field count, value, key and path
    length; object keys that are data become `{key}` (`protocols._json_keys`), each
    templated key also given as a value at that path, for the classifiers.

    `size`: the length of the JSON text `obj` was parsed from, when the caller has it.
    Every pair takes at least one byte of that text of its own (a value, or a key that
    is data), so a text shorter than the room left under max_fields_per_part cannot
    fill it: the plain loops then skip the per-value count (the usual body).

    Recursive with the leaves handled inline in the container loops: measured 2-3x
    faster than an explicit stack of (value, path, depth) tuples. Objects whose keys are
    all short names under a short path (nearly all) take the plain loop; the others go
    through `member_path`, which cuts keys and paths and shares one path string between
    the members that get the same one.
    """
    max_depth = limits.max_depth
    max_chars = limits.max_value_chars
    max_key = limits.max_key_chars
    max_path = limits.max_path_chars
    # A base path up to this long takes any key up to max_key without passing max_path.
    short_base = max_path - max_key
    room = limits.max_fields_per_part - len(out)
    if room <= 0:
        return
    counted = size is None or size >= room
    append = out.append
    str_, int_, float_, dict_, list_ = str, int, float, dict, list
    plan = templated_keys
    member_paths = _MEMBER_PATHS
    float_texts = _FLOAT_TEXTS
    # Every key a known short name: no templating, no cut (PLAIN_NAMES holds keys up to
    # CACHE_KEY_CHARS long, so it only answers for a max_key_chars at least that long).
    all_plain = PLAIN_NAMES.issuperset if max_key >= CACHE_KEY_CHARS else _never
    deep = False  # a subtree was cut at max_depth
    long_key = False  # a key was cut at max_key
    long_path = False  # a path was cut at max_path

    def leaf(path: str, value: object, kind: type) -> None:
        if kind is str_:
            append((path, value[:max_chars]))  # type: ignore[index]
        elif kind is int_:
            append((path, str(value)))
        elif kind is float_:
            append((path, repr(value)))

    def member_path(base: str, key: str) -> str:
        """`base` (`""` or `"parent."`) + key, both bounds applied."""
        nonlocal long_key, long_path
        if len(key) > max_key:
            key = key[:max_key] + CUT_MARK
            long_key = True
        path = base + key
        if len(path) > max_path:
            path = path[:max_path] + CUT_MARK
            long_path = True
        return path

    def member(path: str, item: object, depth: int) -> bool:
        """One member of a container at `path`; False once the field limit is reached."""
        nonlocal room
        kind = type(item)
        if kind is dict_ or kind is list_:
            walk(item, path, depth + 1)
            return room > 0
        if kind is str_ or kind is int_ or kind is float_:
            leaf(path, item, kind)
            room -= 1
        return room > 0

    def walk_object(
        value: dict[str, object], path: str, depth: int, templated: frozenset[str] | bool
    ) -> None:
        """The slow path: data keys, long keys or a long path."""
        nonlocal room
        if len(path) > max_path:
            base = None  # `path` was cut: every member shares it
        else:
            base = path + "." if path else ""
        key_path = ""
        if templated:
            key_path = path if base is None else member_path(base, PLACEHOLDER)
        for key, item in value.items():
            if templated is True or (templated and key in templated):
                # The key is a value too: a map keyed by e-mail addresses is reported.
                append((key_path, key[:max_chars]))
                room -= 1
                if room <= 0 or not member(key_path, item, depth):
                    return
                continue
            if not member(path if base is None else member_path(base, key), item, depth):
                return

    def walk(value: object, path: str, depth: int) -> None:
        nonlocal room, deep, long_path
        if depth >= max_depth:
            deep = True
            return
        if type(value) is dict_:
            if len(path) > short_base or not all_plain(value):
                templated = plan(value)
                if templated or len(path) > short_base or _has_long_key(value, max_key):
                    walk_object(value, path, depth, templated)
                    return
            paths = member_paths.get(path)
            if paths is None:
                paths = member_paths[path] = {}
            for key, item in value.items():
                kind = type(item)
                if kind is str_:
                    text = item[:max_chars]
                elif kind is int_:
                    text = str(item)
                elif kind is float_:
                    text = float_texts.get(item) or _float_text(item)
                elif kind is dict_ or kind is list_:
                    text = None
                else:  # bool, None: no data
                    continue
                try:
                    member = paths[key]
                except KeyError:  # a new name at this path
                    member = _member_path(paths, path, key)
                if text is None:
                    walk(item, member, depth + 1)
                    if room <= 0:
                        return
                    continue
                append((member, text))
                if counted:
                    room -= 1
                    if room <= 0:
                        return
        else:  # a list: every element shares the path
            if len(path) > max_path:
                elem = path  # already cut
            else:
                elem = path + "[]"
                if len(elem) > max_path:
                    elem = elem[:max_path] + CUT_MARK
                    long_path = True
            for item in value:  # type: ignore[attr-defined]
                kind = type(item)
                if kind is str_:
                    append((elem, item[:max_chars]))
                elif kind is dict_ or kind is list_:
                    walk(item, elem, depth + 1)
                    if room <= 0:
                        return
                    continue
                elif kind is int_:
                    append((elem, str(item)))
                elif kind is float_:
                    append((elem, float_texts.get(item) or _float_text(item)))
                else:
                    continue
                if counted:
                    room -= 1
                    if room <= 0:
                        return

    if prefix:
        prefix = member_path("", prefix)
    kind = type(obj)
    if kind is dict_ or kind is list_:
        walk(obj, prefix, 0)
    elif kind is str_ or kind is int_ or kind is float_:
        leaf(prefix, obj, kind)
    # bool and None carry no data
    if hits is not None:
        if deep:
            hits["json_depth_limit"] += 1
        if long_key:
            hits["key_too_long"] += 1
        if long_path:
            hits["path_too_long"] += 1
    # `walk` calls itself through its own closure cell (and `walk_object` and `member`
    # call each other through `walk`'s): a reference cycle that would keep the nested
    # functions, their cells and `out` (through `append`) alive until the cyclic GC
    # runs. With the cell rebound to a module function, everything is freed by
    # reference counting when `_walk` returns: with a JSON body in most messages, that
    # cycle was most of the garbage the scan's collections found.
    walk = _walked


def _walked(value: object, path: str, depth: int) -> None:
    """What `_walk`'s `walk` is once the walk is done (see the end of `_walk`)."""


def _never(obj: object) -> bool:
    return False


# parent path -> {key: `parent.key`}: the paths of the members of the objects at one
# path. The walk's plain loop (every key a short name, the path short: nothing is cut
# or templated there, so a member's path is `parent.key` whatever the limits) takes its
# members' paths from here: field names repeat in every element of an array and in
# every message of an API, and a shared path string is neither built again nor hashed
# again by the readers that group values by path.
_MEMBER_PATHS: dict[str, dict[str, str]] = {}
# Characters of the paths kept in `_MEMBER_PATHS` (a few MB at most).
MAX_MEMBER_PATH_CHARS = 1 << 21
_member_path_chars = 0


def _member_path(paths: dict[str, str], parent: str, key: str) -> str:
    """`parent.key` (`key` at the top), kept in `paths` for the next object there."""
    global _member_path_chars
    path = parent + "." + key if parent else key
    _member_path_chars += len(path)
    if _member_path_chars > MAX_MEMBER_PATH_CHARS:
        # Bounded: a stream of ever new paths starts the cache afresh (the walks under
        # way keep the member dicts they hold, with the same strings).
        _MEMBER_PATHS.clear()
        _member_path_chars = len(path)
    paths[key] = path
    return path


# repr of the floats met (`repr` is the walk's dearest conversion: prices and amounts
# repeat). Zero is never kept: 0.0 == -0.0, but their texts differ; NaN, equal to
# nothing, never answers. Bounded: started afresh when full.
_FLOAT_TEXTS: dict[float, str] = {}
MAX_FLOAT_TEXTS = 4096


def _float_text(value: float) -> str:
    text = repr(value)
    if value:
        if len(_FLOAT_TEXTS) >= MAX_FLOAT_TEXTS:
            _FLOAT_TEXTS.clear()
        _FLOAT_TEXTS[value] = text
    return text


def _has_long_key(obj: dict[str, object], max_key: int) -> bool:
    for key in obj:
        if len(key) > max_key:
            return True
    return False


def _json_fields(
    data: bytes,
    prefix: str,
    limits: Limits,
    hits: Hits = None,
    damage: Hits = None,
    *,
    strict: bool = False,
) -> list[Pair]:
    """The pairs of one JSON document; `strict`: nothing when it does not parse (the
    caller has a better fallback), else what `_recovered_json` finds."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if strict:
            return []
        # The message is only matched, never logged or raised: it may quote input.
        return _recovered_json(data, prefix, limits, hits, damage, str(exc))
    out: list[Pair] = []
    _walk(obj, prefix, limits, out, hits, len(data))
    return out


class _NotPlain(Exception):
    """Raised inside `json_groups`' walk: the body needs `field_pairs`' full work."""


def json_groups(
    part: Part, limits: Limits, hits: Hits = None
) -> tuple[dict[str, list[str]], int, bool] | None:
    """What `field_pairs` of a JSON part gives, grouped by path as the field scorer
    groups it, in one walk: the non-empty values of each path in order, the paths in
    the order of their first non-empty value; with the number of pairs (empty values
    included) and whether a value carries others (`CarrierValue`). None when
    `field_pairs` must be asked: a body that does not parse, a bare scalar, or one
    whose walk meets what the plain case does not have (a key that is data or too
    long, a path or key to cut, the depth limit, as many pairs as
    `max_fields_per_part` may allow, a lone value at an authorization field). Else no
    limit was hit in the body itself, and each value that may carry others was
    expanded where it stands, as `expand_values` does it (`expanded_value`); limits
    hit inside those count in `hits` only when the grouping is given.

    The scan's hottest loop: one pass over the values instead of three (`_walk`'s
    list of pairs, `expand_values`' candidate tests, the scorer's grouping), and no
    pair tuples."""
    prefix = part.name
    if len(prefix) > limits.max_key_chars or len(prefix) > limits.max_path_chars:
        return None
    try:
        obj = orjson.loads(part.data)
    except orjson.JSONDecodeError:
        return None
    kind = type(obj)
    if kind is not dict and kind is not list:
        return None
    try:
        groups, pairs, added, carried, inner_hits = _grouped_walk(
            obj, prefix, part.location, limits
        )
    except _NotPlain:
        return None
    if pairs - added == 1 and next(iter(groups), "") in AUTHORIZATION_FIELDS:
        return None  # one value at an authorization field: `expand_values` looks inside
    if hits is not None and inner_hits:
        hits.update(inner_hits)
    return groups, pairs, carried


def _grouped_walk(
    obj: object, prefix: str, location: str, limits: Limits
) -> tuple[dict[str, list[str]], int, int, bool, Counter[str] | None]:
    """`json_groups`' walk of a container: `_walk`'s plain loops, each value added to
    its path's list, each that may carry others expanded in place. Returns the values
    by path, the number of pairs, how many of them expanded values added, whether a
    carrier is among them, and the limits hit inside expanded values. Raises `_NotPlain` where `_walk` would leave its plain
    loops or cut, or where the pairs could reach `max_fields_per_part` (bounded before
    each container by the items of those walked).

    The walk itself is made once per limits and thread (`_grouped_walker`) and kept:
    made per body, its closures and their two dozen cells cost about as much as
    walking a small body."""
    known, thread, walker = _WALKER
    if thread != get_ident() or walker is None or (known is not limits and known != limits):
        walker = _remember_walker(limits)
    return walker(obj, prefix, location)


# Values `_grouped_walker` remembers as carrying nothing, per walker.
MAX_INERT_VALUES = 4096
# `_grouped_walk` for one `Limits`: (container, prefix, location) -> what it returns.
_GroupedWalk = Callable[
    [object, str, str], tuple[dict[str, list[str]], int, int, bool, Counter[str] | None]
]
# (limits, thread, walker) of the last `_grouped_walker` made. One walker per thread: a
# walker keeps the state of the body it walks in its cells, so a walk under way is
# never shared (and nothing it calls walks a body with `_grouped_walk`).
_WALKER: tuple[Limits | None, int, _GroupedWalk | None] = (None, 0, None)


def _remember_walker(limits: Limits) -> _GroupedWalk:
    global _WALKER
    walker = _grouped_walker(limits)
    _WALKER = (limits, get_ident(), walker)
    return walker


def _grouped_walker(limits: Limits) -> _GroupedWalk:
    """`_grouped_walk` for `limits`: the bounds and tables read once, the walk's state
    (`groups`, the counts) set afresh by each call."""
    max_depth = limits.max_depth
    max_chars = limits.max_value_chars
    max_key = limits.max_key_chars
    max_path = limits.max_path_chars
    short_base = max_path - max_key
    room = limits.max_fields_per_part
    str_, int_, float_, dict_, list_ = str, int, float, dict, list
    plan = templated_keys
    member_paths = _MEMBER_PATHS
    float_texts = _FLOAT_TEXTS
    all_plain = PLAIN_NAMES.issuperset if max_key >= CACHE_KEY_CHARS else _never
    carries, min_base64 = may_carry, MIN_BASE64_CHARS
    # The state of one walk, set by `grouped_walk` before each.
    location = ""
    groups: dict[str, list[str]] = {}
    held_at = groups.get
    empty = 0  # empty strings: pairs, not values
    bound = 0  # items of the containers walked, and pairs added: at least the pairs
    added = 0
    carried = False
    hits: Counter[str] | None = None  # made by the first expansion
    # Values this short are left as they are until one was expanded: from there on
    # `expand_values` tests every value (`_expand_into`'s candidates).
    shortest = MIN_CARRIER
    # (path, value, location) of values that may carry others by their looks but that
    # `expanded_value` gave back as they were (hex ids that pass for base64: a shop's
    # product ids, in every listing): one lookup instead of decoding them again.
    # Bounded: started afresh when full.
    inert: set[tuple[str, str, str]] = set()

    def expand(path: str, value: str) -> None:
        """A value that may carry others: what `expand_values` puts in its place."""
        nonlocal empty, bound, added, carried, shortest, hits
        if path in AUTHORIZATION_FIELDS:
            raise _NotPlain  # a lone value there is `expand_values`' own case
        shortest = 1
        seen = (path, value, location)
        if seen in inert:
            # `expanded_value` gave this value back as it was, without a limit hit:
            # it would again (it depends on nothing else), so it is grouped as it is.
            values = held_at(path)
            if values is None:
                groups[path] = [value]
            else:
                values.append(value)
            return
        if hits is None:
            hits = Counter()
        counted = hits.total()
        pairs = expanded_value(path, value, location, limits, _walk, hits)
        if (
            len(pairs) == 1
            and pairs[0] == (path, value)
            and type(pairs[0][1]) is str
            and hits.total() == counted
        ):
            if len(inert) >= MAX_INERT_VALUES:
                inert.clear()
            inert.add(seen)
        added += len(pairs) - 1
        bound += len(pairs) - 1
        for inner_path, text in pairs:
            if not text:
                empty += 1
                continue
            if type(text) is CarrierValue:
                carried = True
            values = held_at(inner_path)
            if values is None:
                groups[inner_path] = [text]
            else:
                values.append(text)

    def walk(value: object, path: str, depth: int) -> None:
        nonlocal empty, bound
        bound += len(value)  # type: ignore[arg-type]
        if depth >= max_depth or bound >= room:
            raise _NotPlain
        if type(value) is dict_:
            if len(path) > short_base or (
                not all_plain(value) and (plan(value) or _has_long_key(value, max_key))
            ):
                raise _NotPlain
            paths = member_paths.get(path)
            if paths is None:
                paths = member_paths[path] = {}
            for key, item in value.items():
                kind = type(item)
                if kind is str_:
                    # `item[:max_chars]`, its length taken once for the tests below.
                    n = len(item)
                    if n > max_chars:
                        text, n = item[:max_chars], max_chars
                    elif n:
                        text = item
                    else:
                        empty += 1
                        continue
                    # `may_carry`'s cheapest necessary conditions first, inline (most
                    # values fail them): a JSON document's last character, a query's
                    # `?`, base64's length and the characters of text it has not.
                    if (
                        n >= shortest
                        and (
                            text[-1] in "}]" or "?" in text or (
                                n >= min_base64 and "." not in text
                                and " " not in text and ":" not in text
                            )
                        )
                        and carries(text, n)
                    ):
                        expand(paths.get(key) or _member_path(paths, path, key), text)
                        continue
                elif kind is int_:
                    text = str(item)
                elif kind is float_:
                    text = float_texts.get(item) or _float_text(item)
                elif kind is dict_ or kind is list_:
                    text = None
                else:  # bool, None: no data
                    continue
                try:
                    member = paths[key]
                except KeyError:  # a new name at this path
                    member = _member_path(paths, path, key)
                if text is None:
                    walk(item, member, depth + 1)
                    continue
                values = held_at(member)
                if values is None:
                    groups[member] = [text]
                else:
                    values.append(text)
        else:  # a list: every element shares the path, hence one list for its values
            elem = path + "[]"
            if len(elem) > max_path:
                raise _NotPlain
            values = None
            for item in value:  # type: ignore[attr-defined]
                kind = type(item)
                if kind is str_:
                    text = item[:max_chars]
                    if not text:
                        empty += 1
                        continue
                    if len(text) >= shortest and carries(text, len(text)):
                        expand(elem, text)
                        values = None  # the expansion may have made the path's list
                        continue
                elif kind is dict_ or kind is list_:
                    walk(item, elem, depth + 1)
                    continue
                elif kind is int_:
                    text = str(item)
                elif kind is float_:
                    text = float_texts.get(item) or _float_text(item)
                else:
                    continue
                if values is None:
                    values = held_at(elem)
                    if values is None:
                        values = groups[elem] = []
                values.append(text)

    def grouped_walk(
        obj: object, prefix: str, at: str
    ) -> tuple[dict[str, list[str]], int, int, bool, Counter[str] | None]:
        nonlocal location, groups, held_at, empty, bound, added, carried, hits, shortest
        location = at
        groups = {}
        held_at = groups.get
        empty = bound = added = 0
        carried = False
        hits = None
        shortest = MIN_CARRIER
        try:
            walk(obj, prefix, 0)
            found = groups
        finally:
            groups = {}  # the walker keeps no values of a body between walks
            held_at = groups.get
        if bound >= room:
            raise _NotPlain
        return found, sum(map(len, found.values())) + empty, added, carried, hits

    return grouped_walk


def _recovered_json(
    data: bytes, prefix: str, limits: Limits, hits: Hits, damage: Hits, error: str
) -> list[Pair]:
    """What a body that orjson refused still holds (`protocols._json_recovery`), each
    kind of damage counted once per part in `damage`."""
    out: list[Pair] = []
    if not data.strip():
        return out  # an empty body (HEAD, 204 with a Content-Type) is not damage
    max_fields = limits.max_fields_per_part
    if "after document" in error and b"\n" in data:
        # NDJSON sent as application/json (Elasticsearch `_bulk`): each line a body.
        lines = bytes(data).split(b"\n", MAX_RECORDS_PER_BODY)[:MAX_RECORDS_PER_BODY]
        first = next((line for line in lines if line.strip()), b"")
        try:
            orjson.loads(first)
        except orjson.JSONDecodeError:
            pass
        else:
            _json_lines(lines, prefix, limits, out, hits, damage)
            return out
    kinds: list[str] = []
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        text = bytes(data).decode("utf-8", "replace")
        kinds.append("json_invalid_utf8")
    found = recover(
        text,
        max_depth=limits.max_depth,
        max_chars=limits.max_value_chars,
        max_documents=MAX_RECORDS_PER_BODY,
        tokens_budget=RECOVERY_TOKENS_PER_FIELD * max_fields,
    )
    for document in found.documents:
        _walk(document, prefix, limits, out, hits)
        if len(out) >= max_fields:
            break
    if found.text and len(out) < max_fields:
        out.append((prefix, found.text))
    if _replace_surrogates(out) or found.nonstandard:
        kinds.append("json_nonstandard")  # NaN, Infinity, lone surrogates
    if found.trailing:
        kinds.append("json_trailing_data")
    too_deep = "depth limit" in error or found.too_deep
    if found.broken and not too_deep:
        kinds.append("json_syntax_error")  # a cut body, garbage, not JSON at all
    if not kinds and not too_deep:
        kinds.append("json_nonstandard")  # what only orjson refuses (a number like 1e400)
    for kind in kinds:
        _count(damage, kind)
    if too_deep:
        _count(hits, "json_depth_limit")  # a bound, not damage
    if found.budget_spent and len(out) < max_fields:
        _count(hits, "fields_limit")
    return out


def _json_lines(
    lines: list[bytes], prefix: str, limits: Limits, out: list[Pair], hits: Hits, damage: Hits
) -> None:
    """JSON bodies one per line; a line that does not parse is recovered on its own."""
    loads = orjson.loads
    for line in lines:
        if not line.strip():
            continue
        try:
            obj = loads(line)
        except orjson.JSONDecodeError as exc:
            room = limits.max_fields_per_part - len(out)
            out.extend(_recovered_json(line, prefix, limits, hits, damage, str(exc))[:room])
        else:
            _walk(obj, prefix, limits, out, hits)
        if len(out) >= limits.max_fields_per_part:
            break


def _replace_surrogates(pairs: list[Pair]) -> bool:
    """Lone surrogates (`\\ud800` accepted by the stdlib parser) replaced in place: no
    output can encode them. True when there were any."""
    found = False
    for i, (path, value) in enumerate(pairs):
        if path.isascii() and value.isascii():
            continue
        try:
            path.encode("utf-8")
            value.encode("utf-8")
        except UnicodeEncodeError:
            found = True
            pairs[i] = (_clean(path), _clean(value))
    return found


def _clean(text: str) -> str:
    """Lone surrogates -> U+FFFD (pairs, if any, join)."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _count(counter: Hits, kind: str) -> None:
    if counter is not None:
        counter[kind] += 1


def _json(
    part: Part, limits: Limits, schemas: object | None, hits: Hits = None, damage: Hits = None
) -> list[Pair]:
    # A named part (a JSON column, a JSON header) prefixes its paths: `profile.phone`.
    return _json_fields(part.data, part.name, limits, hits, damage)


def _ndjson(
    part: Part, limits: Limits, schemas: object | None, hits: Hits = None, damage: Hits = None
) -> list[Pair]:
    out: list[Pair] = []
    # json-seq (RFC 7464) starts records with RS (0x1E): treat it as a line break.
    lines = part.data.replace(b"\x1e", b"\n").split(b"\n", MAX_RECORDS_PER_BODY)
    _json_lines(lines[:MAX_RECORDS_PER_BODY], part.name, limits, out, hits, damage)
    return out


def _text_value(data: bytes, path: str, limits: Limits) -> list[Pair]:
    if not data:
        return []
    return [(path, cut_text(data, limits.max_value_chars))]


def _sse(
    part: Part, limits: Limits, schemas: object | None, hits: Hits = None, damage: Hits = None
) -> list[Pair]:
    out: list[Pair] = []
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
        # SSE data is text that is often JSON (`[DONE]` ends OpenAI streams): what does
        # not parse is one text value, not damage.
        fields = _json_fields(data, "", limits, hits, None, strict=True) if data[:1] in b"{[" else []
        if not fields:
            fields = _text_value(data, "", limits) if data.strip() else []
        out.extend(fields)
        if len(out) >= limits.max_fields_per_part:
            del out[limits.max_fields_per_part :]
            break
    return out


def _form_fields(data: bytes, limits: Limits, hits: Hits = None) -> list[Pair]:
    if not data:
        return []
    # Cut at the field limit before parsing (parse_qsl's own limit raises instead).
    pairs = data.split(b"&", limits.max_fields_per_part)[: limits.max_fields_per_part]
    text = b"&".join(pairs).decode("utf-8", "replace")
    max_chars = limits.max_value_chars
    max_key = limits.max_key_chars
    out: list[Pair] = []
    long_key = False
    for name, value in _query_pairs(text):
        if len(name) > max_key:
            name = name[:max_key] + CUT_MARK
            long_key = True
        # A value still encoded after parse_qsl's decoding was encoded twice.
        # Names that embed data (`wordpress_logged_in_<hash>`) are templated to `{key}`.
        out.append((templated_name(name), form_value(value[:max_chars])))
    if long_key:
        _count(hits, "key_too_long")
    return out


def _query_pairs(text: str) -> list[tuple[str, str]] | list[list[str]]:
    """`parse_qsl(text, keep_blank_values=False)`. Without `%` and `+` it unquotes
    nothing: then its split alone (`&`, then the first `=`; items without a value
    dropped), without its per-item calls (most query strings: `page=2&limit=20`)."""
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=False)
    return [nv for nv in (item.split("=", 1) for item in text.split("&")) if len(nv) == 2 and nv[1]]


def _form(
    part: Part, limits: Limits, schemas: object | None, hits: Hits = None, damage: Hits = None
) -> list[Pair]:
    return _form_fields(part.data, limits, hits)


def _text(
    part: Part, limits: Limits, schemas: object | None, hits: Hits = None, damage: Hits = None
) -> list[Pair]:
    pairs = _text_value(part.data, part.name, limits)
    if pairs:
        # Cookie values are percent-encoded by many frameworks (`john%40example.com`);
        # `\uXXXX` escapes turn up in any text value.
        if part.location == _AT_COOKIE:
            # Cookie names that embed a user or a hash (`jupyterhub-user-<name>`): `{key}`.
            pairs = [(templated_name(path), cookie_value(value)) for path, value in pairs]
        else:
            pairs = [(path, text_value(value)) for path, value in pairs]
    return pairs


def _binary(
    part: Part, limits: Limits, schemas: object | None, hits: Hits = None, damage: Hits = None
) -> list[Pair]:
    """Bytes no decoder reads: an Avro container file by its embedded schema, else the
    binary fallback (`protocols._printable`): the printable runs as one value named by
    the part (a body's field is empty). Text (markup, code: HTTP gives those as binary
    on purpose) is left alone."""
    data = part.data
    if data.startswith(CONTAINER_MAGIC):
        pairs = container_pairs(data, part.name, limits)
        if pairs is not None:
            return pairs
    if _is_text(data):
        return []
    text = printable_text(data, limits)
    return [(part.name, text)] if text is not None else []


def _is_text(data: bytes) -> bool:
    """Valid UTF-8 without control characters (other than whitespace) in its start."""
    head = data[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(data) <= len(head) or exc.start < len(head) - 3:  # not a character cut here
            return False
        text = head[: exc.start].decode("utf-8")
    return text.isprintable() or all(ch.isprintable() or ch in "\t\r\n\f" for ch in text)


def _avro(
    part: Part, limits: Limits, schemas: object | None, hits: Hits = None, damage: Hits = None
) -> list[Pair]:
    """An Avro datum with its writer's schema in `part.schema` (the Kafka dissector
    resolves it); one that does not decode gets the binary fallback."""
    pairs = datum_pairs(part.data, part.schema, part.name, limits)
    if pairs is None:
        _count(damage, "avro_undecodable")
        text = printable_text(part.data, limits)
        return [(part.name, text)] if text is not None else []
    return pairs


def _protobuf(
    part: Part, limits: Limits, schemas: object | None, hits: Hits = None, damage: Hits = None
) -> list[Pair]:
    try:
        module = importlib.import_module("protocols.protobuf")
    except ImportError:
        return []
    fields_from_part = getattr(module, "fields_from_part", None)
    if fields_from_part is None:
        return []
    # JSON messages inside (gRPC-Web) walked like a JSON body, their limit hits counted.
    def walk_json(obj: object, prefix: str, limits: Limits, out: list[Pair]) -> None:
        _walk(obj, prefix, limits, out, hits)

    result: list[FieldValue] = fields_from_part(part, schemas, limits, walk_json)
    if not result and part.data:
        # Not protobuf after all (or nothing it could read): the binary fallback.
        return _binary(part, limits, schemas, hits, damage)
    return [(f.path, f.value) for f in result]


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


_XML_TYPES = frozenset({"application/xml", "text/xml"})


def _related(media_type: str) -> bool:
    """multipart/related (RFC 2387): parts have no form name; the root part and its
    companions are read by their own content types, their fields unprefixed."""
    return media_type[:17].lower() == "multipart/related"


def _xml_fields(data: bytes, prefix: str, limits: Limits, hits: Hits, damage: Hits) -> list[Pair]:
    return xml_fields(
        data, prefix, max_fields=limits.max_fields_per_part, max_depth=limits.max_depth,
        max_chars=limits.max_value_chars, max_path=limits.max_path_chars, hits=hits,
        damage=damage,
    )


def _xml(
    part: Part, limits: Limits, schemas: object | None, hits: Hits = None, damage: Hits = None
) -> list[Pair]:
    """XML and SOAP bodies (`protocols._xml`): element paths, `@name` attributes."""
    return _xml_fields(part.data, part.name, limits, hits, damage)


def _multipart(
    part: Part, limits: Limits, schemas: object | None, hits: Hits = None, damage: Hits = None
) -> list[Pair]:
    boundary = _param(part.media_type.partition(";")[2], "boundary")
    if not boundary:
        return []
    delimiter = b"--" + boundary.encode("latin-1")
    out: list[Pair] = []
    sections = part.data.split(delimiter, MAX_MULTIPART_PARTS + 1)[1 : MAX_MULTIPART_PARTS + 1]
    for section in sections:
        if section.startswith(b"--"):
            break  # close delimiter
        head, sep, body = section.partition(b"\r\n\r\n")
        if not sep or len(head) > MAX_MULTIPART_HEAD:
            continue
        name, has_file, ctype = _disposition(head)
        if has_file or not (name or _related(part.media_type)):
            continue
        # The CRLF before the next delimiter belongs to the delimiter (RFC 2046 5.1.1).
        if body.endswith(b"\r\n"):
            body = body[:-2]
        if ctype == "application/json" or ctype.endswith("+json"):
            out.extend(_json_fields(body, name, limits, hits, damage))
        elif ctype in _XML_TYPES or ctype.endswith("+xml"):
            out.extend(_xml_fields(body, name, limits, hits, damage))
        elif not name and ctype and not ctype.startswith("text/"):
            continue  # a related part that is an attachment (an image, a file)
        else:
            out.extend(_text_value(body, name, limits))
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
    AVRO_MEDIA_TYPE: _avro,
    XML_MEDIA_TYPE: _xml,
    MediaType.PROTOBUF: _protobuf,
}


def decode_part(part: Part, limits: Limits, schemas: object | None = None) -> list[FieldValue]:
    """The field values of one part (empty when it holds none or cannot be parsed)."""
    location = part.location
    return [
        FieldValue(location=location, path=path, value=value)
        for path, value in field_pairs(part, limits, schemas)
    ]


def plain_text_pair(part: Part, limits: Limits) -> Pair | None:
    """`field_pairs` of a text part (`MediaType.TEXT`: a header, a column) when that is
    one pair as the part has it: a value without escapes that carries no other value.
    None when `field_pairs` must be asked (a cookie, an empty value, a `\\u` escape, a
    value that may carry another, a part limit of one field, which counts as hit).
    The engine's hot path: most parts of a message are headers like that."""
    data = part.data
    if not data or part.location == _AT_COOKIE or limits.max_fields_per_part <= 1:
        return None
    text = cut_text(data, limits.max_value_chars)
    name = part.name
    if "\\u" in text or not carries_nothing(name, text):
        return None
    return (name, text)


def field_pairs(
    part: Part,
    limits: Limits,
    schemas: object | None = None,
    hits: Hits = None,
    damage: Hits = None,
) -> list[Pair]:
    """`decode_part` without the objects: (path, value) pairs, all in `part.location`.
    The engine's hot path. `hits`, when given, counts the limits that cut the part;
    `damage` the damage that decoding worked around (a JSON body that does not parse is
    recovered as far as it goes, never dropped silently)."""
    decoder = _DECODERS.get(part.media_type)
    if decoder is _text:
        # The hot case (a header, a cookie, a column): `_text` inline, one pair.
        data = part.data
        text = cut_text(data, limits.max_value_chars)
        if not data:
            pairs = []
        elif part.location == _AT_COOKIE:
            pairs = [(templated_name(part.name), cookie_value(text))]
        else:
            # `text_value`'s own test, inline: most values hold no `\u` escape.
            pairs = [(part.name, text_value(text) if "\\u" in text else text)]
    elif decoder is None:
        media = part.media_type.lower()
        if media.startswith("application/grpc"):
            decoder = _protobuf
        elif media.startswith(("multipart/form-data", "multipart/related")):
            decoder = _multipart
        else:
            decoder = _binary
        pairs = decoder(part, limits, schemas, hits, damage)
    else:
        pairs = decoder(part, limits, schemas, hits, damage)
    # JSON inside strings, signed URLs and base64 wrappers (`protocols._embedded`).
    pairs = expand_values(pairs, part.location, limits, _walk, hits)
    if hits is not None and len(pairs) >= limits.max_fields_per_part:
        hits["fields_limit"] += 1
    return pairs
