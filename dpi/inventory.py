"""The data inventory: evidence per field, then one row per sensitive field (spec/inventory.md).

Evidence is gathered per field `(protocol, server, api, direction, location, field)`: how
many values were seen, and per data type how many values were hits, their confidence,
first and last time, distinct clients and one masked sample. The per-field decision is
made only when rows are asked for: a data type is reported for a field when the share of
its values that hit reaches the classifier's `min_share` (one lucky checksum in a
thousand values does not flag a field).

Everything kept is mergeable (sums, minima, maxima, set unions, the first hits), so
partial inventories of separate files or workers merge exactly, in any order. That
includes the confidence: a row's is the mean over the first CONFIDENCE_SAMPLE hits in
scan order (`Inventory.order`, a key the engine gives each message that is the same in a
one-process scan and in every worker of a split one), not over whatever a field scored
before it settled, so a scan split over workers reports what one process does.

Client addresses are never kept: each is replaced by a keyed BLAKE2b hash under the
inventory's `salt` before it is stored (spec: state between scans holds salted hashes
only). Inventories merge only when they share a salt; by default every inventory of one
process shares a random per-process salt, and batch scans pass theirs to the workers.

Field names from traffic (headers, cookies, query parameters, MySQL columns) go through
`dpi.identifiers` the first time a key is seen: a name that holds a value is stored as
`{param}` and counted as a row (location `path`, field = the name's kind). The raw key
is then an alias of the stored one, so two raw names that read the same once sanitized
share a row, and the hot path stays one dict lookup per field.

The field table is bounded (`max_fields`, a scan limit): when it is full, fields that
never matched anything are evicted (least seen, then oldest, first) to make room, and a
new field is refused only when every field in the table holds sensitive evidence. Both
are counted (`evicted_fields`, `dropped_fields`); a field with evidence is never dropped
to keep one without.

Maps keyed by names (`dpi.map_keys`) are found while scanning; the fields recorded under
their literal keys before that are folded into the `{key}` fields (`fold_maps`) whenever
the inventory is read (rows, explain) or stored, with their evidence merged exactly.
"""

from __future__ import annotations

import math
import os
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from classifiers.base import Finding
from dpi.client_sets import ClientIndex, ClientSet
from dpi.identifiers import PATH, Hit, Identifiers, default_identifiers
from dpi.map_keys import MapKeys, template
from dpi.masking import mask

COLUMNS = (
    "protocol",
    "server",
    "host",
    "api",
    "direction",
    "location",
    "field",
    "data_type",
    "category",
    "count",
    "first_seen",
    "last_seen",
    "clients",
    "sample",
    "confidence",
)

# (protocol, server, api, direction, location, field)
FieldKey = tuple[str, str, str, str, str, str]

# Distinct fields tracked by default (the scan limit `max_fields` sets it); a hostile
# capture could invent endless JSON keys, a real npm registry capture makes ~74,000.
MAX_FIELDS = 500_000
# Share of the table freed at once when it is full: one sort of the clean fields per
# that many new ones keeps eviction cheap per field.
EVICT_SHARE = 8
# The start of the warning a scan gives when the table was full (the engine writes it).
FIELD_TABLE_FULL = "inventory field table full"
# A field whose values matched nothing after this many is "settled clean": from then on
# only a sample of its values is scored, one in RECHECK_EVERY, sparser as the evidence
# grows (keeps scans of repetitive traffic fast while a rare sensitive value in a busy
# field is still likely to be found; a field that ever hits is scored in full again).
SETTLE_CLEAN_AFTER = 256
RECHECK_EVERY = 16
# (values seen, one value in N scored beyond that): the sparser sampling of long-clean fields.
# Every N is a multiple of RECHECK_EVERY: values between two multiples of it are never
# due, whatever the field's interval (the field scorer skips them without `due`).
RECHECK_BACKOFF = ((65_536, 256), (4_096, 64))
# Weak evidence needs repeating: a field whose hits are all weak (a bare checksum with no
# name or context: one random number in ten passes Luhn) is reported only after this
# many hits, so that one or two lucky values never make a row (3 chance passes in a row
# are 1 in 1,000 for a mod-10 check).
WEAK_CONFIDENCE = 0.6
MIN_WEAK_HITS = 3
# A field whose values all hit one type after this many is "settled" for it: further
# values count as hits without being scored again.
SETTLE_HIT_AFTER = 64
SETTLE_HIT_SHARE = 0.97
CONF_UNIT = 1_000_000
# A row's confidence is the mean over its first CONFIDENCE_SAMPLE hits in scan order
# (every hit of a row with fewer). As many as a field must have scored for its type
# before it settles (64 values, 97% of them hits: 63), so every part of a split scan
# has scored its own first ones, and the first of the whole scan are among them.
CONFIDENCE_SAMPLE = math.ceil(SETTLE_HIT_SHARE * SETTLE_HIT_AFTER)
# Bytes of one scan-order key as the sample keeps it (`key_bytes`; dpi/engine.py's keys
# take ~170 bits): 28 bytes a sampled hit with its confidence, not ~90 as ints.
KEY_BYTES = 24
NO_KEY = -(1 << (8 * KEY_BYTES - 1))  # below every key
SALT_BYTES = 16
# One random salt per process, so that inventories made in one process merge; a stored
# state or a distributed scan brings its own.
_PROCESS_SALT = os.urandom(SALT_BYTES)


def key_bytes(key: int) -> bytes:
    """A scan-order key as the sample stores it: offset to unsigned, big-endian, so that
    stored keys compare as bytes in the order of the keys (merges sort them unread)."""
    return (key - NO_KEY).to_bytes(KEY_BYTES, "big")


def key_of(stored: bytes | bytearray) -> int:
    """The scan-order key `key_bytes` stored."""
    return int.from_bytes(stored, "big") + NO_KEY


def key_chunks(keys: bytes | bytearray) -> list[bytes]:
    """The stored keys of a sample, one by one."""
    return [bytes(keys[at : at + KEY_BYTES]) for at in range(0, len(keys), KEY_BYTES)]


def iso_time(ts_ns: int) -> str:
    dt = datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=UTC)
    millis = (ts_ns // 1_000_000) % 1000
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


@dataclass(slots=True)
class TypeEvidence:
    """What one field showed for one data type."""

    category: str
    hits: int = 0
    validated: int = 0
    # The sum of `confs`, in millionths (CONF_UNIT): integers add exactly, so partial
    # inventories merged in any grouping (workers, trees, resumed runs) agree to the bit.
    conf_sum: int = 0
    first_ns: int = 0
    last_ns: int = 0
    sample: str = ""
    sample_ns: int = 0
    clients: ClientSet = field(default_factory=ClientSet)  # numbers of the inventory's ClientIndex
    reasons: Counter[str] = field(default_factory=Counter)
    # The confidence sample: the scan-order keys of the first CONFIDENCE_SAMPLE hits,
    # ascending (KEY_BYTES each), and beside each its confidence in millionths (keys
    # and numbers only, never a value).
    conf_keys: bytearray = field(default_factory=bytearray)
    confs: array[int] = field(default_factory=lambda: array("I"))
    # The last key of the sample (NO_KEY when empty), as an int: one compare per hit.
    conf_last: int = field(init=False)

    def __post_init__(self) -> None:
        keys = self.conf_keys
        self.conf_last = key_of(keys[-KEY_BYTES:]) if keys else NO_KEY

    def add(self, finding: Finding, value: str, ts_ns: int, client: int, order: int) -> None:
        """One scored hit in `value`; `order` is its key in scan order (`Inventory.order`).
        The sample it offers is the finding's span of `value` (all of it without one),
        cut and masked only when it becomes the kept sample (the earliest)."""
        self.hits = hits = self.hits + 1
        self.validated += finding.validated
        if order > self.conf_last:  # hits come in scan order: the common case
            confs = self.confs
            if len(confs) < CONFIDENCE_SAMPLE:
                conf = round(finding.confidence * CONF_UNIT)
                self.conf_keys += (order - NO_KEY).to_bytes(KEY_BYTES, "big")  # key_bytes
                confs.append(conf)
                self.conf_sum += conf
                self.conf_last = order
        else:  # an earlier hit after later ones (flows closed for a limit)
            self.sampled(order, round(finding.confidence * CONF_UNIT))
        if hits == 1 or ts_ns < self.first_ns:
            self.first_ns = ts_ns
        if ts_ns > self.last_ns:  # noqa: PLR1730 - cheaper than max() once per value
            self.last_ns = ts_ns
        if not self.sample or ts_ns < self.sample_ns:
            span = finding.span
            self.sample = mask(value[span[0] : span[1]] if span else value, self.category,
                               finding.data_type)
            self.sample_ns = ts_ns
        self.clients.add(client)
        if len(self.reasons) < 32:
            self.reasons[finding.reason] += 1

    def sample_keys(self) -> list[int]:
        """The sample's scan-order keys, ascending."""
        return [key_of(stored) for stored in key_chunks(self.conf_keys)]

    def sample_pairs(self) -> list[tuple[bytes, int]]:
        """(stored key, confidence) of each sampled hit."""
        return list(zip(key_chunks(self.conf_keys), self.confs, strict=True))

    def set_sample(self, pairs: list[tuple[bytes, int]]) -> None:
        """The sample: (stored key, confidence) pairs, the first CONFIDENCE_SAMPLE."""
        pairs = sorted(pairs)[:CONFIDENCE_SAMPLE]
        self.conf_keys = bytearray(b"".join(stored for stored, _ in pairs))
        self.confs = array("I", [conf for _, conf in pairs])
        self.conf_sum = sum(self.confs)
        self.conf_last = key_of(pairs[-1][0]) if pairs else NO_KEY

    def sampled(self, order: int, conf: int) -> None:
        """A hit's confidence (millionths) offered to the sample under its key."""
        self.set_sample([*self.sample_pairs(), (key_bytes(order), conf)])

    def confidence(self) -> float:
        """The reported confidence: the mean over the sample (the first hits)."""
        return round(self.conf_sum / CONF_UNIT / max(len(self.confs), 1), 2)

    def repeat(self, ts_ns: int, client: int, times: int = 1) -> None:
        """More hits of a settled field: counted, not re-scored. They come after the
        CONFIDENCE_SAMPLE hits scored before it settled: the sample is complete."""
        self.hits += times
        # Files need not come in time order (several sensors): first seen is a minimum.
        if ts_ns < self.first_ns:  # noqa: PLR1730 - cheaper than min() per message
            self.first_ns = ts_ns
        if ts_ns > self.last_ns:  # noqa: PLR1730 - cheaper than max() per message
            self.last_ns = ts_ns
        self.clients.add(client)

    def merge(self, other: TypeEvidence, numbers: Callable[[int], int]) -> None:
        """Adds `other`'s evidence; `numbers` maps its client numbers to this side's."""
        if other.hits == 0:
            return
        if self.hits == 0 or other.first_ns < self.first_ns:
            self.first_ns = other.first_ns
        self.last_ns = max(self.last_ns, other.last_ns)
        self.hits += other.hits
        self.validated += other.validated
        if other.conf_keys:
            # The first hits of both: the union's first CONFIDENCE_SAMPLE (keys of two
            # parts never tie: a message is scanned by one part).
            self.set_sample([*self.sample_pairs(), *other.sample_pairs()])
        if not self.sample or (other.sample and other.sample_ns < self.sample_ns):
            self.sample, self.sample_ns = other.sample, other.sample_ns
        self.clients.update(map(numbers, other.clients))
        self.reasons.update(other.reasons)


@dataclass(slots=True)
class FieldEvidence:
    host: str = ""
    seen: int = 0
    scored: int = 0
    types: dict[str, TypeEvidence] = field(default_factory=dict)
    settled_type: str = ""
    # Set when the field table evicts it: holders of a reference (the engine's message
    # shapes) look the key up again instead of adding to a field no longer reported.
    evicted: bool = False

    def due(self, count: int) -> Iterator[int]:
        """Counts `count` more values as seen and gives the positions among them of
        those that must be scored, each decided when it is asked for: all of them while
        the field has a hit or is within its first SETTLE_CLEAN_AFTER values, else one
        in `recheck_interval` (see SETTLE_* above). The caller records each value before
        asking for the next, so a clean field is scored in full from its first hit on,
        within one message's array too (a sample fixed before any value was scored
        counted one npm registry answer's 715 e-mail addresses as 284). A field that
        settles on a type meanwhile is the caller's to count on."""
        start = self.seen
        self.seen = start + count
        return self._due(start, count, recheck_interval(start))

    def _due(self, start: int, count: int, every: int) -> Iterator[int]:
        at = 0
        while at < count:
            place = start + 1 + at  # the field's value number
            if self.types or place <= SETTLE_CLEAN_AFTER or place % every == 0:
                yield at
                at += 1
            else:
                # Clean and past SETTLE_CLEAN_AFTER: nothing is due before the next
                # multiple of `every` (only a recorded hit changes that, and the caller
                # records only what is yielded), so the values between are stepped over
                # at once, not one by one (a long array's field has hundreds).
                at += every - place % every

    def settle(self) -> None:
        if self.settled_type or self.scored < SETTLE_HIT_AFTER or len(self.types) != 1:
            return
        (data_type, evidence), = self.types.items()
        if evidence.hits >= SETTLE_HIT_SHARE * self.scored:
            self.settled_type = data_type


def recheck_interval(seen: int) -> int:
    """One value in how many a clean field that has seen `seen` values scores (beyond
    its first SETTLE_CLEAN_AFTER)."""
    for threshold, interval in RECHECK_BACKOFF:
        if seen >= threshold:
            return interval
    return RECHECK_EVERY


def best_per_type(found: Sequence[tuple[Finding, str]]) -> list[tuple[Finding, str]]:
    """The most confident finding of each data type, with the value it was made in (the
    first of equals): one value is one hit per type, whether two user classifiers of one
    type in `dpi.toml` both find it or a carrier and a value inside it do, and its one
    scan-order key enters a type's sample once."""
    best: dict[str, tuple[Finding, str]] = {}
    for item in found:
        held = best.get(item[0].data_type)
        if held is None or item[0].confidence > held[0].confidence:
            best[item[0].data_type] = item
    return list(best.values())


def _add(
    evidence: FieldEvidence, finding: Finding, value: str, ts_ns: int, number: int, order: int
) -> None:
    """One finding on a field's evidence; its span of `value` (all of it without one)
    is the sample it offers."""
    typed = evidence.types.get(finding.data_type)
    if typed is None:
        typed = evidence.types[finding.data_type] = TypeEvidence(category=str(finding.category))
    typed.add(finding, value, ts_ns, number, order)


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    protocol: str
    server: str
    host: str
    api: str
    direction: str
    location: str
    field: str
    data_type: str
    category: str
    count: int
    first_seen: str
    last_seen: str
    clients: int
    sample: str
    confidence: float

    def as_list(self) -> list[Any]:
        return [getattr(self, name) for name in COLUMNS]


class Inventory:
    """Evidence per field; rows on demand. `min_share` maps data types to the share of
    a field's values that must hit (from the classifiers)."""

    def __init__(
        self,
        min_share: dict[str, float] | None = None,
        salt: bytes | None = None,
        max_fields: int = MAX_FIELDS,
    ) -> None:
        self.fields: dict[FieldKey, FieldEvidence] = {}
        self.min_share = dict(min_share or {})
        self.dropped_fields = 0
        self.evicted_fields = 0
        # Both together: what the engine compares once per message.
        self.lost_fields = 0
        self.max_fields = max_fields
        self.salt = salt or _PROCESS_SALT
        self.clients = ClientIndex(self.salt)
        # Parents whose keys keep changing (maps keyed by names), and the counts towards them.
        self.map_keys = MapKeys(self.salt)
        # Set by the engine that feeds this inventory: its identifier sanitizer (its
        # classifiers, user ones too) and itself (so that it attaches once).
        self._identifiers: Identifiers | None = None
        self.owner: object = None
        # Raw key -> (stored key, hits of its name), for keys whose names were sanitized.
        self._aliases: dict[FieldKey, tuple[FieldKey, tuple[Hit, ...]]] = {}
        # Fields that may be evicted, oldest first (checked lazily when taken; a deque
        # of references costs 8 bytes a field).
        self._candidates: deque[FieldKey] = deque()
        self._refill_wait = 0
        # The scan-order key of the next hit (the confidence sample's, see TypeEvidence):
        # the engine sets it per message (dpi/engine.py `message_order`); each value with
        # hits takes one and counts on, so the values of a message keep their order.
        self.order = 0

    @property
    def identifiers(self) -> Identifiers:
        """The sanitizer for names: the engine's, or one over the registered classifiers
        (built on first use: loading a state file needs none)."""
        if self._identifiers is None:
            self._identifiers = default_identifiers()
        return self._identifiers

    @identifiers.setter
    def identifiers(self, identifiers: Identifiers) -> None:
        self._identifiers = identifiers

    def field(
        self, key: FieldKey, host: str, ts_ns: int = 0, client: bytes = b""
    ) -> FieldEvidence | None:
        """The evidence of a field, made on first sight; None when the table is full of
        fields with evidence (counted in `dropped_fields`). `ts_ns` and `client` date a
        name that holds a value (its row)."""
        evidence = self.fields.get(key)
        if evidence is None:
            return self._first(key, host, ts_ns, client)
        if not evidence.host and host:
            evidence.host = host
        return evidence

    def _first(self, key: FieldKey, host: str, ts_ns: int, client: bytes) -> FieldEvidence | None:
        """A key not in the table: its name is sanitized (once per raw key), the hits of
        the name are counted, and the stored key's evidence is found or made."""
        alias = self._aliases.get(key)
        if alias is None:
            protocol, server, api, direction, location, name = key
            clean, hits = self.identifiers.field_name(location, name)
            if clean == name and not hits:
                return self._new(key, host)
            alias = ((protocol, server, api, direction, location, clean), hits)
            if len(self._aliases) >= self.max_fields:
                self._aliases.clear()  # a cache: re-derived on the next miss
            self._aliases[key] = alias
        stored, hits = alias
        if hits:
            self.identifier_hits(stored[:4], hits, host, ts_ns, client)
        evidence = self.fields.get(stored)
        if evidence is None:
            return self._new(stored, host)
        if not evidence.host and host:
            evidence.host = host
        return evidence

    def _new(self, key: FieldKey, host: str) -> FieldEvidence | None:
        if len(self.fields) >= self.max_fields and not self._make_room():
            self.dropped_fields += 1
            self.lost_fields += 1
            return None
        evidence = self.fields[key] = FieldEvidence(host=host)
        self._candidates.append(key)
        return evidence

    def _make_room(self) -> bool:
        """Evicts up to 1/EVICT_SHARE of the table among fields that never matched;
        False if there are none. Candidates are taken oldest first, twice as many as
        needed, and the least seen half goes (the other half gets a second chance at
        the back of the queue), so a busy clean field outlives one-off keys."""
        want = max(1, self.max_fields // EVICT_SHARE)
        taken = self._take_candidates(2 * want)
        if not taken and self._refill_candidates():
            taken = self._take_candidates(2 * want)
        if not taken:
            return False
        taken.sort(key=lambda key: self.fields[key].seen)  # stable: age breaks ties
        for key in taken[:want]:
            self.fields.pop(key).evicted = True
            self.evicted_fields += 1
            self.lost_fields += 1
        self._candidates.extend(taken[want:])
        return True

    def _take_candidates(self, count: int) -> list[FieldKey]:
        """Up to `count` clean fields from the front of the queue; entries that have
        gained evidence (never clean again) or left the table are discarded."""
        taken: list[FieldKey] = []
        candidates = self._candidates
        while candidates and len(taken) < count:
            key = candidates.popleft()
            evidence = self.fields.get(key)
            if evidence is not None and not evidence.types:
                taken.append(key)
        return taken

    def _refill_candidates(self) -> bool:
        """Queues the clean fields the queue does not know (loaded from state, merged).
        A refill that finds none is not retried for a while: a table full of evidence
        stays so (fields only gain evidence), and each retry scans the whole table."""
        if self._refill_wait > 0:
            self._refill_wait -= 1
            return False
        self._candidates.extend(key for key, evidence in self.fields.items() if not evidence.types)
        if not self._candidates:
            self._refill_wait = max(1, self.max_fields // EVICT_SHARE)
            return False
        return True

    def identifier_hits(
        self,
        where: tuple[str, str, str, str],
        hits: tuple[Hit, ...],
        host: str,
        ts_ns: int,
        client: bytes,
    ) -> None:
        """One occurrence of sensitive identifier parts (`dpi.identifiers`) of the API
        `where` = (protocol, server, api, direction): each part's row is scored once."""
        by_field: dict[tuple[str, str], list[Hit]] = {}
        for hit in hits:
            by_field.setdefault((hit.location, hit.field), []).append(hit)
        number: int | None = None  # the client's number, looked up on the first row
        order = self.order
        self.order = order + len(hits)
        for (location, field_name), found in by_field.items():
            evidence = self.field((*where, location, field_name), host)
            if evidence is None:
                continue
            if number is None:
                number = self.clients.of_address(client)
            if location == PATH:
                evidence.seen += 1
                evidence.scored += 1
            # else: the Host header, whose value the engine counts as a header field
            for hit in found:
                _add(evidence, hit.finding, hit.value, ts_ns, number, order)
                order += 1

    def record(
        self,
        evidence: FieldEvidence,
        findings: Sequence[Finding],
        value: str,
        ts_ns: int,
        client: bytes,
    ) -> None:
        """One scored value of a field and what the classifiers found in it. `client` is
        the packed address; only its number in `self.clients` is kept."""
        if findings:
            self.hit(evidence, findings, value, ts_ns, self.clients.of_address(client))
        else:
            evidence.scored += 1
            evidence.settle()

    def hit(
        self,
        evidence: FieldEvidence,
        findings: Sequence[Finding],
        value: str,
        ts_ns: int,
        number: int,
    ) -> None:
        """`record` of a value with findings (not empty) whose client is already numbered
        (`number`, of `self.clients`): the field scorer numbers a message's client once."""
        evidence.scored = scored = evidence.scored + 1
        order = self.order
        self.order = order + 1
        if len(findings) > 1:
            findings = [finding for finding, _ in best_per_type([(f, value) for f in findings])]
        types = evidence.types
        for finding in findings:
            typed = types.get(finding.data_type)  # `_add`, inline: once per value
            if typed is None:
                typed = types[finding.data_type] = TypeEvidence(category=str(finding.category))
            typed.add(finding, value, ts_ns, number, order)
        if scored >= SETTLE_HIT_AFTER:  # `settle` does nothing below
            evidence.settle()

    def record_each(
        self,
        evidence: FieldEvidence,
        found: Sequence[tuple[Finding, str]],
        ts_ns: int,
        client: bytes,
    ) -> None:
        """`record` of one value whose findings were made in several values (a value and
        the values it carries, `protocols._embedded.CarrierValue`): each finding with
        the value it was found in, whose part is its sample. One scored value still.
        The field is not settled by it: a type that every carrier shows (a session key)
        must not stop the values inside from being looked at (a phone that comes later)."""
        evidence.scored += 1
        if found:
            number = self.clients.of_address(client)
            order = self.order  # one value: one scan-order key (see `record`)
            self.order = order + 1
            for finding, value in best_per_type(found) if len(found) > 1 else found:
                _add(evidence, finding, value, ts_ns, number, order)

    def repeat(self, evidence: FieldEvidence, ts_ns: int, client: bytes, times: int = 1) -> None:
        typed = evidence.types[evidence.settled_type]
        evidence.scored += times
        typed.repeat(ts_ns, self.clients.of_address(client), times)

    def merge(self, other: Inventory) -> None:
        """Adds `other` (same salt) into this one. Associative; ties (equal sample times,
        differing hosts) keep this side's, so merging in file order is deterministic."""
        if other.fields and other.salt != self.salt:
            # Hashes under different salts cannot be compared: client counts would be wrong.
            raise ValueError("cannot merge inventories whose client hashes use different salts")
        theirs_index = other.clients
        numbers: dict[int, int] = {}

        def number_here(number: int) -> int:
            here = numbers.get(number)
            if here is None:
                here = numbers[number] = self.clients.of_hash(theirs_index.hash_of(number))
            return here

        for key, theirs in other.fields.items():
            mine = self.fields.get(key)
            if mine is None:
                self.fields[key] = mine = FieldEvidence(host=theirs.host)
            _add_evidence(mine, theirs, number_here)
        self.map_keys.merge(other.map_keys)
        self.min_share.update(other.min_share)
        self.dropped_fields += other.dropped_fields
        self.evicted_fields += other.evicted_fields
        self.lost_fields += other.lost_fields

    def fold_maps(self) -> None:
        """The fields recorded under the literal keys of parents since found to be maps
        (`dpi.map_keys`) moved into their `{key}` fields, evidence merged: one pass over
        the table, none when no map was found."""
        maps = self.map_keys.maps
        if not maps:
            return
        unused: dict[str, set[str]] = {}
        moves: list[tuple[FieldKey, FieldKey]] = []
        for key in self.fields:
            parents = maps.get(key[:5])
            if parents:
                path = template(key[5], parents, unused)
                if path != key[5]:
                    moves.append((key, (*key[:5], path)))
        for old, new in moves:
            theirs = self.fields.pop(old)
            theirs.evicted = True  # holders look the field up again
            mine = self.fields.get(new)
            if mine is None:
                mine = self.fields[new] = FieldEvidence(host=theirs.host)
                self._candidates.append(new)
            _add_evidence(mine, theirs, _same_number)
            # Settled only if both were, on one type; `record` settles it again if so.
            if mine.settled_type != theirs.settled_type:
                mine.settled_type = ""

    def decided(self) -> list[tuple[FieldKey, FieldEvidence, str, TypeEvidence]]:
        """(field, evidence, data type, type evidence) for every reported row, sorted."""
        self.fold_maps()
        out = []
        for key, evidence in self.fields.items():
            for data_type, typed in evidence.types.items():
                if typed.hits == 0:
                    continue
                share = typed.hits / max(evidence.scored, 1)
                if share + 1e-9 < self.min_share.get(data_type, 0.5):
                    continue
                if (
                    typed.hits < MIN_WEAK_HITS
                    and typed.conf_sum < WEAK_CONFIDENCE * CONF_UNIT * typed.hits
                ):
                    continue
                out.append((key, evidence, data_type, typed))
        out.sort(key=lambda item: (*item[0], item[2]))
        return out

    def rows(self) -> list[Row]:
        rows = []
        for key, evidence, data_type, typed in self.decided():
            protocol, server, api, direction, location, field_path = key
            rows.append(
                Row(
                    protocol=protocol,
                    server=server,
                    host=evidence.host,
                    api=api,
                    direction=direction,
                    location=location,
                    field=field_path,
                    data_type=data_type,
                    category=typed.category,
                    count=typed.hits,
                    first_seen=iso_time(typed.first_ns),
                    last_seen=iso_time(typed.last_ns),
                    clients=len(typed.clients),
                    sample=typed.sample,
                    confidence=typed.confidence(),
                )
            )
        return rows

    def explain(self) -> list[dict[str, Any]]:
        """Why each row is there: pass rates and reasons, never a value."""
        out = []
        for key, evidence, data_type, typed in self.decided():
            protocol, server, api, direction, location, field_path = key
            out.append(
                {
                    "protocol": protocol,
                    "server": server,
                    "api": api,
                    "direction": direction,
                    "location": location,
                    "field": field_path,
                    "data_type": data_type,
                    "values_seen": evidence.seen,
                    "values_scored": evidence.scored,
                    "hits": typed.hits,
                    "hit_share": round(typed.hits / max(evidence.scored, 1), 3),
                    "validated_share": round(typed.validated / typed.hits, 3),
                    "min_share": self.min_share.get(data_type, 0.5),
                    "reasons": dict(typed.reasons.most_common()),
                    "settled": evidence.settled_type == data_type,
                }
            )
        return out


def _add_evidence(
    mine: FieldEvidence, theirs: FieldEvidence, numbers: Callable[[int], int]
) -> None:
    """Adds the evidence of one field to another's (`numbers`: their client numbers to
    this inventory's)."""
    if not mine.host:
        mine.host = theirs.host
    mine.seen += theirs.seen
    mine.scored += theirs.scored
    for data_type, evidence in theirs.types.items():
        typed = mine.types.get(data_type)
        if typed is None:
            typed = mine.types[data_type] = TypeEvidence(category=evidence.category)
        typed.merge(evidence, numbers)


def _same_number(number: int) -> int:
    return number
