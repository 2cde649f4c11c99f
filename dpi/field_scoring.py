"""The engine's half of the two-stage decision: a message's values, scored into the
inventory's evidence per field (the other half, which data types a field reports, is
made from that evidence by dpi/inventory.py when rows are asked for).

Per message: its api and host are sanitized (dpi/identifiers.py) before anyone sees
them, its parts are decoded into their values by path (protocols/payload.py: a JSON
body in one walk, `json_groups`; other parts as (path, value) pairs), and each
value is scored by the classifiers (dpi/classify.py) in the context of its field and
recorded on that field's evidence; a field settled on a data type only counts its
values. Parts that hold one field each (the columns of a MySQL row) are scored as one
part of their location, so that they are each other's siblings.

The work that depends only on a message's shape is done once: the fields of a part
(its set of paths, per API) map to their inventory keys, contexts (sibling tokens
included) and evidence through one cache lookup (`_shape`); per field, one lookup of
the classifiers' plan for its context (a field where no classifier can report is only
counted); per value, only the scoring and the evidence it adds to. The cache is
bounded (`MAX_SHAPE_*`) and dropped whole when full: it is a cache, rebuilt on the next
misses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import TYPE_CHECKING

from classifiers.base import FieldContext
from dpi.classify import ClassifierSet, object_tokens, sibling_tokens
from dpi.flows import format_endpoint
from dpi.identifiers import (
    HEADER,
    HOST_FIELD,
    REQUEST_NAMED_PROTOCOLS,
    Identifiers,
    Sanitized,
    identifiers_for,
    type_hits,
    unscored_host_hits,
)
from dpi.inventory import (
    FIELD_TABLE_FULL,
    RECHECK_EVERY,
    SETTLE_CLEAN_AFTER,
    SETTLE_HIT_AFTER,
    FieldEvidence,
    FieldKey,
    Inventory,
)
from dpi.limits import INVENTORY_LIMIT
from dpi.map_keys import PATH_LOCATIONS, template
from dpi.printable_scoring import score_runs
from protocols._embedded import CarrierPairs, CarrierValue
from protocols._printable import PrintableText
from protocols.base import (
    MAX_SHARED_VALUE,
    SHAREABLE_HEADERS,
    Direction,
    DissectorOptions,
    Limits,
    Location,
    MediaType,
    Message,
    Part,
    ProtocolError,
)
from protocols.payload import field_pairs, json_groups, plain_text_pair

if TYPE_CHECKING:
    from dpi.classify import ContextPlan
    from dpi.reassembly import Flow
    from dpi.scan_stats import ScanStats

# Message shapes (the paths of a part, per API): parts wider than MAX_SHAPE_WIDTH are
# not cached (a huge JSON array is rarely repeated path for path), and the cache is
# dropped when it would hold more than MAX_SHAPE_PATHS paths in all or MAX_SHAPE_APIS
# APIs (a memory bound: a few MB besides the contexts it keeps alive; the 2,249
# connections of the shared benchmark workload need ~14,000 paths).
MAX_SHAPE_WIDTH = 512
MAX_SHAPE_PATHS = 30_000
MAX_SHAPE_APIS = 10_000
# Server names (`ip:port`) kept formatted, at most.
MAX_SERVER_NAMES = 100_000
# Pairs of descriptive header values kept (`_header_pair`), at most; cleared when full.
MAX_HEADER_PAIRS = 4096
_NO_PAIR = ("", "")  # `_header_pairs`' entry for a value `plain_text_pair` refuses
# Enum members read once per message, as module constants: a member read off its enum
# class costs about five times a global read.
_TEXT, _JSON = MediaType.TEXT, MediaType.JSON
_AT_HEADER = Location.HEADER
# Contexts of the values inside carriers, per (carrier's field context, their paths):
# a few documents per API recur in every message; cleared when they would hold more
# than this many contexts in all (a memory bound, as MAX_SHAPE_PATHS is).
MAX_INSIDE_CONTEXTS = 30_000


class _KnownField:
    """One field as the cached message shapes know it (one object per field, shared by
    every shape that has it): its inventory key, and its evidence once found in the
    table (dropped when the table evicts it; fields leave the table in no other way)."""

    __slots__ = ("evidence", "key")

    def __init__(self, key: FieldKey) -> None:
        self.key = key
        self.evidence: FieldEvidence | None = None


class _ShapeField:
    """One path of one cached message shape: its field's context (contexts differ
    between shapes: the sibling fields are part of them) and the classifiers' plan for
    that context, kept once a value first needed it (one attribute read per field of
    a message instead of `ClassifierSet.plan`'s call and lookup)."""

    __slots__ = ("ctx", "plan")

    def __init__(self, ctx: FieldContext) -> None:
        self.ctx = ctx
        self.plan: ContextPlan | None = None


# A cached message shape: the known field of each path of a part, and its context.
_Shape = tuple[tuple[_KnownField, ...], tuple[_ShapeField, ...]]


class FieldScorer:
    """Scores one scan's messages into an inventory (`admit`, then `score`). Counts go
    to the scan's `stats`: values, damaged parts, and the field table's losses."""

    def __init__(
        self,
        classifiers: ClassifierSet,
        limits: Limits,
        options: DissectorOptions,
        stats: ScanStats,
    ) -> None:
        self.classifiers = classifiers
        self.limits = limits
        self.options = options
        self.stats = stats
        # flow.server -> (its name, the name less the port: `FieldContext.server`).
        self._servers: dict[tuple[bytes, int], tuple[str, str]] = {}
        # (header name, value) -> its `plain_text_pair` (`_NO_PAIR`: None), for
        # descriptive headers only (`SHAREABLE_HEADERS`: never credentials or ids).
        self._header_pairs: dict[tuple[str, bytes], tuple[str, str]] = {}
        self._identifiers: Identifiers | None = None
        # (protocol, server, api, direction) -> (location, paths) -> the known field
        # (inventory key, evidence) and context of each path: see `_shape`.
        self._shapes: dict[
            tuple[str, str, str, str],
            dict[tuple[str, tuple[str, ...]], _Shape],
        ] = {}
        self._known: dict[FieldKey, _KnownField] = {}
        self._shaped_paths = 0
        self._shaped_for: Inventory | None = None  # whose evidence the shapes hold
        self._lost_reported = 0
        self._lost_base = (0, 0)
        self._lost_warning = -1
        self._inside_shapes: dict[tuple[FieldContext, tuple[str, ...]], tuple[FieldContext, ...]] = {}
        self._inside_contexts_held = 0

    def admit(self, inventory: Inventory, message: Message) -> tuple[Message, Sanitized]:
        """The message as it may be stored and shown (identifiers from traffic, its api
        and host, sanitized: observers see what the inventory sees; one dict lookup when
        cached), and what sanitizing found, for `score`."""
        if inventory.owner is not self:
            self._attach_inventory(inventory)
        assert self._identifiers is not None
        names = self._identifiers.message(message.protocol, message.api, message.host)
        if names.changed:
            message = replace(message, api=names.api, host=names.host)
        return message, names

    def _server(self, flow: Flow) -> tuple[str, str]:
        """The flow's server as the inventory names it (`ip:port`, `[v6]:port`), and the
        server's own IP: the name less the port (`[v6]` unbracketed); its address in a
        payload is routing, not data (FieldContext.server)."""
        key = flow.server
        names = self._servers.get(key)
        if names is None:
            name = format_endpoint(key)
            names = (name, name[: name.rfind(":")].strip("[]"))
            if len(self._servers) < MAX_SERVER_NAMES:
                self._servers[key] = names
        return names

    def score(self, inventory: Inventory, flow: Flow, message: Message, names: Sanitized) -> None:
        """Score a message `admit` gave into `inventory` (the one it was admitted to)."""
        server, server_ip = self._server(flow)
        client = flow.client[0]
        number = -2  # the client's number in the inventory (`ClientIndex`), once asked
        classifiers = self.classifiers
        protocol, api, host, ts_ns = message.protocol, message.api, message.host, message.ts_ns
        # The enum's own string (`str()` of a StrEnum copies it, and the copy's hash is
        # computed again in each key it enters).
        direction: str = message.direction._value_
        host_before: dict[str, int] | None = None
        if names.hits and (
            message.direction is Direction.REQUEST or protocol not in REQUEST_NAMED_PROTOCOLS
        ):
            if names.api_hits:
                inventory.identifier_hits((protocol, server, api, direction), names.api_hits, host, ts_ns, client)
            if names.host_hits:  # recorded after the message's own `host` header value
                host_before = type_hits(inventory.fields.get((protocol, server, api, direction, HEADER, HOST_FIELD)))
        # The fields of a part, their inventory keys and contexts: one lookup per part
        # once this API has shown the same set of paths (a message shape) before.
        if inventory is not self._shaped_for:
            self._forget_shapes()  # another inventory: the evidence held is not its own
            self._shaped_for = inventory
        shapes = self._shapes.get((protocol, server, api, direction))
        if shapes is None:
            if len(self._shapes) >= MAX_SHAPE_APIS:
                self._forget_shapes()
            shapes = self._shapes[(protocol, server, api, direction)] = {}
        fields = inventory.fields
        plan_of, memo_get, memoized = classifiers.plan, classifiers.memo_lookup(), classifiers.memoized
        maps = inventory.map_keys.maps
        grouped, carried = self._grouped_parts(message)
        for location, groups in grouped:
            if maps and location in PATH_LOCATIONS:
                parents = maps.get((protocol, server, api, direction, location))
                if parents:
                    groups = _templated(groups, parents)
            shape_key = (location, tuple(groups))
            shape = shapes.get(shape_key)
            if shape is None:
                shape = self._shape(
                    shapes, shape_key, (protocol, server, api, direction), server_ip,
                    inventory,
                )
            for known, slot, values in zip(*shape, groups.values()):
                evidence = known.evidence
                if evidence is None or evidence.evicted:
                    key = known.key
                    evidence = fields.get(key)
                    if evidence is None:
                        # New, evicted or aliased (a sanitized name, whose hits count
                        # on every sight): `field` each time until it is in the table.
                        evidence = inventory.field(key, host, ts_ns, client)
                        if evidence is None:
                            continue
                    else:
                        known.evidence = evidence
                if not evidence.host and host:
                    evidence.host = host
                count = len(values)
                settled_type = evidence.settled_type
                if settled_type:
                    # `inventory.repeat`, inline, the client numbered once per message.
                    evidence.seen += count
                    evidence.scored += count
                    if number == -2:
                        number = inventory.clients.of_address(client)
                    evidence.types[settled_type].repeat(ts_ns, number, count)
                    continue
                seen = evidence.seen
                if evidence.types or seen + count <= SETTLE_CLEAN_AFTER:
                    evidence.seen = seen + count  # `due`'s common case, inline: all of them
                elif (
                    seen >= SETTLE_CLEAN_AFTER
                    and (seen + count) // RECHECK_EVERY == seen // RECHECK_EVERY
                ):
                    # A field settled clean, its values between two multiples of
                    # RECHECK_EVERY: none is due (`due` gives nothing), only counted.
                    evidence.seen = seen + count
                    continue
                else:
                    # No hit yet, values past SETTLE_CLEAN_AFTER: the sample is taken
                    # value by value (`_score_sampled`).
                    self._score_sampled(inventory, evidence, values, slot, carried, ts_ns, client)
                    continue
                if carried and any(type(text) is CarrierValue for text in values):
                    # Values that carry others (rare: a message with one has `carried`).
                    self._score_carriers(inventory, evidence, values, slot.ctx, ts_ns, client)
                    continue
                # The classifiers' plan for the context: made when a value first needs
                # it, right before the scorers it picks are bound to the same context.
                # (A plan the classifiers have since dropped from their bounded table
                # still answers as a new one would: the same gates, its own memo salt.)
                plan = slot.plan
                if plan is None:
                    plan = slot.plan = plan_of(slot.ctx)
                if not plan.mask and not evidence.types:
                    # No classifier can report here: every value a miss, only counted.
                    evidence.scored += count
                    continue
                # The binary fallback's value: its runs scored one by one, one value per
                # payload (dpi/printable_scoring.py).
                if type(values[0]) is PrintableText:
                    ctx = slot.ctx
                    for i, text in enumerate(values, 1):
                        findings = score_runs(classifiers, text, ctx)
                        inventory.record(evidence, findings, text, ts_ns, client)
                        if evidence.settled_type:
                            if i < count:  # settled now: the rest only count
                                inventory.repeat(evidence, ts_ns, client, count - i)
                            break
                    continue
                mask, salt = plan.mask, plan.salt
                # Each value adds one to `evidence.scored`: its growth counts the values
                # done (no `enumerate` per field).
                scored_before = evidence.scored
                for text in values:
                    # `classifiers.findings(text, plan)`, its memo lookup inline: most values
                    # were met before in their context (`ClassifierSet.findings`).
                    if mask:
                        memo_key = hash(text) ^ salt
                        found = memo_get(memo_key)
                        if found is None:
                            found = memoized(text, plan, memo_key)
                    else:
                        found = ()
                    if found:
                        # `inventory.record` of a hit, the client numbered once per message.
                        if number == -2:
                            number = inventory.clients.of_address(client)
                        inventory.hit(evidence, found, text, ts_ns, number)
                    else:
                        # `record` of a miss, inline: counted; it can settle only a field
                        # with evidence, once SETTLE_HIT_AFTER values are scored.
                        evidence.scored = scored_now = evidence.scored + 1
                        if scored_now < SETTLE_HIT_AFTER or not evidence.types:
                            continue
                        evidence.settle()
                    if evidence.settled_type:
                        rest = count - (evidence.scored - scored_before)
                        if rest:  # settled now: the rest only count
                            inventory.repeat(evidence, ts_ns, client, rest)
                        break
        if host_before is not None:  # one value, one hit per type (dpi.identifiers)
            evidence = inventory.fields.get((protocol, server, api, direction, HEADER, HOST_FIELD))
            left = unscored_host_hits(names.host_hits, host_before, evidence)
            inventory.identifier_hits((protocol, server, api, direction), left, host, ts_ns, client)
        if inventory.lost_fields != self._lost_reported:
            self._report_lost_fields(inventory)

    def _score_sampled(
        self,
        inventory: Inventory,
        evidence: FieldEvidence,
        values: list[str],
        slot: _ShapeField,
        carried: bool,
        ts_ns: int,
        client: bytes,
    ) -> None:
        """The values of a field with no hit yet that reach past SETTLE_CLEAN_AFTER:
        those due (`FieldEvidence.due`) scored one by one, each as `score` scores a
        field's values (carriers, the binary fallback's runs, a context where no
        classifier can report, plain values), so that from the first hit on every one
        is; once the field settles on a type, the rest only count."""
        classifiers = self.classifiers
        ctx = slot.ctx
        plan = slot.plan
        if plan is None:
            plan = slot.plan = classifiers.plan(ctx)
        carriers = carried and any(type(text) is CarrierValue for text in values)
        printable = type(values[0]) is PrintableText
        count = len(values)
        for at in evidence.due(count):
            text = values[at]
            if carriers:
                self._score_carriers(inventory, evidence, [text], ctx, ts_ns, client)
            elif not plan.mask:
                evidence.scored += 1  # no classifier can report here: a miss
            elif printable:
                inventory.record(evidence, score_runs(classifiers, text, ctx), text, ts_ns, client)
            else:
                inventory.record(evidence, classifiers.findings(text, plan), text, ts_ns, client)
            if evidence.settled_type:
                if at + 1 < count:  # settled now: the rest only count
                    inventory.repeat(evidence, ts_ns, client, count - at - 1)
                return

    def _score_carriers(
        self,
        inventory: Inventory,
        evidence: FieldEvidence,
        values: list[str],
        ctx: FieldContext,
        ts_ns: int,
        client: bytes,
    ) -> None:
        """Scores a field's values some of which carry others (`CarrierValue`: the
        scalars of an authorization document, a base64 wrapper's text). A carrier is one
        value of the field: a data type found in it or in any value inside it (each
        judged in its own context, `_inside_contexts`) is one hit, with the best such
        finding, whose value gives the sample. A type is thus present in the share of
        the field's values that carry it, however many other values sit beside it.
        Such a field does not settle (`Inventory.record_each`)."""
        classifiers = self.classifiers
        plan = classifiers.plan(ctx)
        for text in values:
            found = [(finding, text) for finding in classifiers.findings(text, plan)]
            if type(text) is CarrierValue:
                inside = text.inside
                contexts = self._inside_contexts(ctx, tuple(path for path, _ in inside))
                for (_, value), inner_ctx in zip(inside, contexts, strict=True):
                    inner_plan = plan if inner_ctx is ctx else classifiers.plan(inner_ctx)
                    found.extend(
                        (finding, value) for finding in classifiers.findings(value, inner_plan)
                    )
            # One hit per type per carrier: `record_each` keeps each type's best finding.
            inventory.record_each(evidence, found, ts_ns, client)

    def _inside_contexts(
        self, ctx: FieldContext, paths: tuple[str, ...]
    ) -> tuple[FieldContext, ...]:
        """The context of each value inside a carrier of field context `ctx`, by its
        path: the field's own for a value at the field (a wrapper's text), else one as a
        body field of that path gets (`authorization.productNo`: named `productNo`, its
        siblings the document's other keys)."""
        key = (ctx, paths)
        contexts = self._inside_shapes.get(key)
        if contexts is None:
            if self._inside_contexts_held + len(paths) > MAX_INSIDE_CONTEXTS:
                self._inside_shapes.clear()
                self._inside_contexts_held = 0
            self._inside_contexts_held += len(paths)
            siblings = sibling_tokens(paths)
            context = self.classifiers.context
            contexts = self._inside_shapes[key] = tuple(
                ctx if path == ctx.path else context(
                    ctx.protocol, ctx.location, path, ctx.api, siblings, ctx.server, keys
                )
                for path, keys in zip(paths, object_tokens(paths), strict=True)
            )
        return contexts

    def _grouped_parts(
        self, message: Message
    ) -> tuple[list[tuple[str, dict[str, list[str]]]], bool]:
        """(location, values by path) per part of `message`, parts with one field of one
        location merged into one: the columns of a MySQL row, each a part of its own,
        are fields of one record, siblings of each other (a `name` column next to a
        `surname` one); so are the headers of a message. Grouped by path, the inventory
        key, the context and the settled state are looked up once per field, not once
        per value. And whether a value carries others (`CarrierValue`)."""
        stats = self.stats
        limits = self.limits
        carried = False
        grouped: list[tuple[str, dict[str, list[str]]]] = []
        single: dict[str, dict[str, list[str]]] = {}
        count = 0  # values, for the scan's counter
        where: Location | None = None  # the location of the last part, and its name
        location = ""
        merged: dict[str, list[str]] | None = None  # single[location], once made
        groups: dict[str, list[str]]
        text_type, json_type = _TEXT, _JSON
        header = _AT_HEADER
        header_pairs = self._header_pairs
        for part in message.parts:
            if part.location is not where:  # a message's parts come in runs of one
                where = part.location
                location = where._value_  # the enum's own string, not a copy (`str()`)
                merged = single.get(location)
            # A header as it is (most parts): its one pair without `field_pairs`' lists.
            if part.media_type is not text_type:
                pair = None
            elif part.name in SHAREABLE_HEADERS and where is header:
                # `_header_pair`'s lookup, inline: a few of these in every message.
                pair = header_pairs.get((part.name, part.data))
                if pair is None:
                    pair = self._header_pair(part)
                elif pair is _NO_PAIR:
                    pair = None
            else:
                pair = plain_text_pair(part, limits)
            if pair is not None:
                path, text = pair
                if not text:
                    continue
                count += 1
                if merged is None:
                    merged = single[location] = {path: [text]}
                    continue
                known = merged.get(path)
                if known is None:
                    merged[path] = [text]
                else:
                    known.append(text)
                continue
            # A JSON body grouped by path as it is walked (`json_groups`: the common
            # case, nothing cut).
            found = (
                json_groups(part, limits, stats.limits_hit)
                if part.media_type is json_type
                else None
            )
            if found is not None:
                groups, pair_count, carries = found
                carried = carried or carries
            else:
                try:
                    pairs = field_pairs(
                        part, limits, self.options.schemas, stats.limits_hit,
                        stats.anomalies,  # damaged JSON recovered, by kind
                    )
                except ProtocolError:
                    stats.anomalies["undecodable_part"] += 1
                    continue
                if not pairs:
                    continue
                if type(pairs) is CarrierPairs:
                    carried = True
                # A path's list made on its first value by the mapping itself: one step
                # per value (the values of a long array share a few paths).
                groups = defaultdict(list)
                for path, text in pairs:
                    if text:  # empty strings carry nothing; whitespace is rare, scored as is
                        groups[path].append(text)
                pair_count = len(pairs)
            if not groups:
                continue
            count += pair_count
            if len(groups) > 1:
                grouped.append((location, groups))
                continue
            if merged is None:
                merged = single[location] = groups
            else:
                for path, values in groups.items():
                    known = merged.get(path)
                    if known is None:
                        merged[path] = values
                    else:
                        known.extend(values)
        stats.values += count
        grouped.extend(single.items())
        return grouped, carried

    def _header_pair(self, part: Part) -> tuple[str, str] | None:
        """`plain_text_pair` of a descriptive header (`SHAREABLE_HEADERS`), worked out
        once per value: the same few values (`Accept: application/json`) come in every
        message, and deciding that one carries nothing costs a decode and the embedded
        value tests each time. (HTTP/1 shares these parts too: the tuple's hash is then
        the cached hashes of its name and bytes.)"""
        data = part.data
        if len(data) > MAX_SHARED_VALUE:
            return plain_text_pair(part, self.limits)
        key = (part.name, data)
        pair = self._header_pairs.get(key)
        if pair is None:
            pair = plain_text_pair(part, self.limits) or _NO_PAIR
            if len(self._header_pairs) >= MAX_HEADER_PAIRS:
                self._header_pairs.clear()
            self._header_pairs[key] = pair
        return None if pair is _NO_PAIR else pair

    def _shape(
        self,
        shapes: dict[tuple[str, tuple[str, ...]], _Shape],
        shape_key: tuple[str, tuple[str, ...]],
        where: tuple[str, str, str, str],
        server_ip: str,
        inventory: Inventory,
    ) -> _Shape:
        """The known field and context of each path of a part whose paths are
        `shape_key[1]`, in order; cached under `where` (protocol, server, api,
        direction) unless the part is too wide to be worth keeping. A new shape is
        counted towards the maps keyed by names (`dpi.map_keys`): a map found drops the
        cache, whose shapes hold its literal keys."""
        location, paths = shape_key
        protocol, _, api, _ = where
        if location in PATH_LOCATIONS and inventory.map_keys.observe(
            (*where, location), paths
        ):
            self._forget_shapes()
            self._shapes[where] = shapes  # emptied, kept for the message at hand
        cache = len(paths) <= MAX_SHAPE_WIDTH
        if cache and self._shaped_paths + len(paths) > MAX_SHAPE_PATHS:
            self._forget_shapes()
            self._shapes[where] = shapes  # emptied, kept for the message at hand
        siblings = sibling_tokens(paths)
        objects = object_tokens(paths)
        context = self.classifiers.context
        # Known fields are shared through `_known` only by cached shapes (bounded with
        # them); a wide part's are its own.
        known = self._known if cache else {}
        fields: list[_KnownField] = []
        for path in paths:
            key: FieldKey = (*where, location, path)
            field_ = known.get(key)
            if field_ is None:
                field_ = known[key] = _KnownField(key)
            fields.append(field_)
        shape = (
            tuple(fields),
            tuple(_ShapeField(context(protocol, location, path, api, siblings, server_ip, keys))
                  for path, keys in zip(paths, objects, strict=True)),
        )
        if cache:
            shapes[shape_key] = shape
            self._shaped_paths += len(paths)
        return shape

    def _forget_shapes(self) -> None:
        """Drops the shape cache (a cache: rebuilt on the next misses)."""
        for shapes in self._shapes.values():
            shapes.clear()
        self._shapes.clear()
        self._known.clear()
        self._shaped_paths = 0

    def _attach_inventory(self, inventory: Inventory) -> None:
        """First message into an inventory (the engine's own, or one a worker or a
        state file gave it): the scan's classifiers and field bound apply to it, and
        its field losses count from here."""
        inventory.owner = self
        inventory.identifiers = self._identifiers = identifiers_for(self.classifiers)
        inventory.max_fields = self.limits.max_fields
        self._lost_reported = inventory.lost_fields
        self._lost_base = (inventory.evicted_fields, inventory.dropped_fields)
        self._lost_warning = -1

    def _report_lost_fields(self, inventory: Inventory) -> None:
        """The field table was full: `max_fields` in limits hit, and one warning (kept up
        to date) that says how many fields went; counts only, never a name."""
        self._lost_reported = inventory.lost_fields
        evicted = inventory.evicted_fields - self._lost_base[0]
        dropped = inventory.dropped_fields - self._lost_base[1]
        self.stats.limits_hit[INVENTORY_LIMIT] = evicted + dropped
        text = (
            f"{FIELD_TABLE_FULL} (max_fields={inventory.max_fields}): {evicted} field(s) "
            f"that never matched were evicted, {dropped} new field(s) refused (fields "
            f"with sensitive data are always kept); raise it with --limit max_fields=N"
        )
        warnings = self.stats.warnings
        at = self._lost_warning
        if 0 <= at < len(warnings) and warnings[at].startswith(FIELD_TABLE_FULL):
            warnings[at] = text
        else:
            self._lost_warning = len(warnings)
            warnings.append(text)


def _templated(groups: dict[str, list[str]], parents: set[str]) -> dict[str, list[str]]:
    """A part's values by path, the keys under the map parents `parents` made `{key}`
    (`dpi.map_keys`), each such key also a value at the map's path."""
    keys: dict[str, set[str]] = {}
    out: dict[str, list[str]] = {}
    for path, values in groups.items():
        path = template(path, parents, keys)
        held = out.get(path)
        if held is None:
            out[path] = values
        else:
            held.extend(values)
    for key_path, names in keys.items():
        held = out.get(key_path)
        if held is None:
            held = out[key_path] = []
        held.extend(sorted(names))
    return out
