"""Explicit serialization of inventory evidence and scan statistics to JSON-safe objects.

Used for the scan state on disk (`dpi/runs/state.py`) and for partial results coming back
from worker processes or Dask workers (`dpi/runs/parallel.py`). Never pickle: what is read
back from disk is validated field by field and a malformed object raises `CodecError`
with a one-line reason (no value quoted).

What is stored per field is exactly what `Inventory.merge` combines: counters, times,
the masked sample, client hashes (never addresses), classifier reasons (which never
quote values), the confidence sample (scan-order keys and confidences in millionths,
never a value). Not stored: nothing else exists (per-flow state lives only in engines).

Client hashes take one of two forms. A state file stores each row's hashes (sorted, at
most MAX_CLIENTS_PER_ROW). A worker result is `numbered`: the inventory's hashes once, in
its `ClientIndex`'s number order, and each row as a bitmap of those numbers. Decoding
that form numbers each client once and copies each row's bitmap, where the per-row form
numbered every (row, client) pair through the index: that decoding is on the critical
path of a parallel scan (the parent decodes the shards once the workers are done). A row
keeps all its clients there (no MAX_CLIENTS_PER_ROW cut): the count reported is the same,
min(union, MAX_CLIENTS_PER_ROW) of the cut sets being that of the whole ones.

A state file stores each confidence sample's order, not its keys (`ranked`): the keys
-n..-1, because everything in a state came before whatever a later run scans (whose
keys are never negative); worker results keep the keys, which merge across files and
shards. Format 1 (no samples) is read as a sample of the first hits at the row's mean
confidence (`_upgraded_sample`), so a state from before keeps its confidences.
"""

from __future__ import annotations

import base64
import binascii
from array import array
from collections import Counter
from itertools import pairwise
from typing import Any

from dpi.client_sets import CLIENT_HASH_BYTES, MAX_CLIENTS_PER_ROW, ClientIndex, ClientSet
from dpi.engine import ScanStats
from dpi.inventory import (
    CONF_UNIT,
    CONFIDENCE_SAMPLE,
    KEY_BYTES,
    FieldEvidence,
    FieldKey,
    Inventory,
    TypeEvidence,
    key_bytes,
    key_chunks,
)
from dpi.map_keys import MapKeys

# Bumped when the layout changes; older layouts are refused, not guessed, except format 1,
# which is read (see the module docstring).
# 2: each type's confidence sample (TypeEvidence.conf_keys, confs).
FORMAT_VERSION = 2
OLDEST_VERSION = 1


class CodecError(Exception):
    """A stored or transmitted object does not have the expected shape."""


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise CodecError(f"malformed {what}")


def _int(value: Any, what: str) -> int:
    _check(isinstance(value, int) and not isinstance(value, bool) and value >= 0, what)
    return int(value)


def _str(value: Any, what: str) -> str:
    _check(isinstance(value, str), what)
    return str(value)


def _float(value: Any, what: str) -> float:
    _check(isinstance(value, (int, float)) and not isinstance(value, bool), what)
    return float(value)


def _counter(value: Any, what: str) -> Counter[str]:
    _check(isinstance(value, dict), what)
    return Counter({_str(k, what): _int(v, what) for k, v in value.items()})


# -- inventory ----------------------------------------------------------------------


def _type_to_obj(typed: TypeEvidence, index: ClientIndex, ranked: bool, numbered: bool) -> list[Any]:
    if numbered:
        clients = base64.b64encode(typed.clients.bitmap()).decode("ascii")
    else:
        # Sorted hashes: the same clients give the same bytes whatever order they came
        # in; a row stores at most the MAX_CLIENTS_PER_ROW it can report.
        hashes = sorted(map(index.hash_of, typed.clients))[:MAX_CLIENTS_PER_ROW]
        clients = base64.b64encode(b"".join(hashes)).decode("ascii")
    count = len(typed.confs)
    return [
        typed.category,
        typed.hits,
        typed.validated,
        typed.conf_sum,  # an integer (millionths): exact
        typed.first_ns,
        typed.last_ns,
        typed.sample,
        typed.sample_ns,
        clients,
        dict(typed.reasons),
        _packed_keys(_ranks(count) if ranked else typed.conf_keys),
        list(typed.confs),
    ]


def _ranks(count: int) -> bytes:
    """The keys -count..-1 (a sample's order without its scan positions)."""
    return b"".join(key_bytes(rank) for rank in range(-count, 0))


def _packed_keys(keys: bytes | bytearray) -> str:
    """Scan-order keys (KEY_BYTES each, beyond JSON's 64-bit ints) as base64."""
    return base64.b64encode(keys).decode("ascii")


def _sample_from_obj(packed: Any, confs: Any, conf_sum: int) -> tuple[bytearray, array[int]]:
    """A stored confidence sample: keys ascending, as many confidences in millionths."""
    what = "confidence sample"
    try:
        keys = bytearray(base64.b64decode(_str(packed, what), validate=True))
    except binascii.Error:
        raise CodecError(f"malformed {what}") from None
    _check(isinstance(confs, list) and len(keys) == KEY_BYTES * len(confs), what)
    _check(len(confs) <= CONFIDENCE_SAMPLE, what)
    _check(all(a < b for a, b in pairwise(key_chunks(keys))), what)  # as bytes: key_bytes
    # `_int` of each, in bulk: ints only (no bool), then none negative or above
    # CONF_UNIT (the array refuses negatives).
    _check(set(map(type, confs)) <= {int}, what)
    try:
        values = array("I", confs)
    except OverflowError:
        raise CodecError(f"malformed {what}") from None
    _check((not values or max(values) <= CONF_UNIT) and sum(values) == conf_sum, what)
    return keys, values


def _upgraded_sample(hits: int, conf_sum: int) -> tuple[bytearray, array[int]]:
    """Format 1 kept the sum of the confidences only: a sample of min(hits,
    CONFIDENCE_SAMPLE) hits at the mean (remainders spread, so the mean is kept to the
    millionth), ranked before anything a new run adds."""
    count = min(hits, CONFIDENCE_SAMPLE)
    if count == 0:
        return bytearray(), array("I")
    mean, extra = divmod(conf_sum * count // hits, count)
    return bytearray(_ranks(count)), array("I", [mean + (i < extra) for i in range(count)])


def _base64(value: Any, what: str) -> bytes:
    try:
        return base64.b64decode(_str(value, what), validate=True)
    except binascii.Error:
        raise CodecError(f"malformed {what}") from None


def _type_from_obj(obj: Any, index: ClientIndex, version: int, numbered: bool) -> TypeEvidence:
    size = 10 if version == 1 else 12
    _check(isinstance(obj, list) and len(obj) == size, "type evidence")
    raw = _base64(obj[8], "clients")
    if numbered:
        # Numbers of `index`, which holds the inventory's clients (all numbered: checked).
        _check(int.from_bytes(raw, "little").bit_length() <= len(index), "clients")
        clients = ClientSet.from_bitmap(raw)
    else:
        _check(len(raw) % CLIENT_HASH_BYTES == 0, "clients")
        clients = ClientSet()
        clients.update(
            index.of_hash(raw[i : i + CLIENT_HASH_BYTES]) for i in range(0, len(raw), CLIENT_HASH_BYTES)
        )
    hits = _int(obj[1], "hits")
    conf_sum = _int(obj[3], "confidence")
    if version == 1:
        # Checked before the sample is built: its array holds 32-bit millionths.
        _check(0 <= conf_sum <= hits * CONF_UNIT, "confidence")
        keys, confs = _upgraded_sample(hits, conf_sum)
        conf_sum = sum(confs)
        _check(all(conf <= CONF_UNIT for conf in confs), "confidence")
    else:
        keys, confs = _sample_from_obj(obj[10], obj[11], conf_sum)
        # Every hit is offered to the sample before a field can settle: it holds the
        # first CONFIDENCE_SAMPLE, or all when there are fewer.
        _check(len(confs) == min(hits, CONFIDENCE_SAMPLE), "confidence sample")
    return TypeEvidence(
        category=_str(obj[0], "category"),
        hits=hits,
        validated=_int(obj[2], "validated"),
        conf_sum=conf_sum,
        first_ns=_int(obj[4], "first_seen"),
        last_ns=_int(obj[5], "last_seen"),
        sample=_str(obj[6], "sample"),
        sample_ns=_int(obj[7], "sample time"),
        clients=clients,
        reasons=_counter(obj[9], "reasons"),
        conf_keys=keys,
        confs=confs,
    )


def inventory_to_obj(
    inventory: Inventory, *, ranked: bool = False, numbered: bool = False
) -> dict[str, Any]:
    """Everything `Inventory.merge` needs, in field insertion order, fields under maps
    keyed by names folded first (`Inventory.fold_maps`: their literal keys are not
    stored). The salt is not included: the caller stores it once (state) or checks it
    (workers). `ranked`: the confidence samples' order instead of their keys (a state
    file); `numbered`: the clients in the numbered form (worker results): module
    docstring."""
    inventory.fold_maps()
    fields = [
        [
            list(key),
            evidence.host,
            evidence.seen,
            evidence.scored,
            evidence.settled_type,
            {
                data_type: _type_to_obj(typed, inventory.clients, ranked, numbered)
                for data_type, typed in evidence.types.items()
            },
        ]
        for key, evidence in inventory.fields.items()
    ]
    obj = {
        "min_share": dict(inventory.min_share),
        "dropped_fields": inventory.dropped_fields,
        "fields": fields,
        "map_keys": inventory.map_keys.to_obj(),
    }
    if numbered:
        obj["clients"] = base64.b64encode(inventory.clients.packed()).decode("ascii")
    return obj


def inventory_from_obj(obj: Any, salt: bytes, version: int = FORMAT_VERSION) -> Inventory:
    """The inventory `inventory_to_obj` gave, of layout `version` (OLDEST_VERSION up)."""
    _check(isinstance(obj, dict), "inventory")
    share = obj.get("min_share")
    _check(isinstance(share, dict), "min_share")
    inventory = Inventory(
        {_str(k, "min_share"): _float(v, "min_share") for k, v in share.items()}, salt=salt
    )
    inventory.dropped_fields = _int(obj.get("dropped_fields"), "dropped_fields")
    numbered = "clients" in obj
    if numbered:
        _index_from_obj(obj["clients"], inventory.clients)
    fields = obj.get("fields")
    _check(isinstance(fields, list), "fields")
    for entry in fields:
        _check(isinstance(entry, list) and len(entry) == 6, "field")
        raw_key, host, seen, scored, settled, types = entry
        _check(isinstance(raw_key, list) and len(raw_key) == 6, "field key")
        key: FieldKey = tuple(_str(part, "field key") for part in raw_key)  # type: ignore[assignment]
        _check(isinstance(types, dict), "field types")
        inventory.fields[key] = FieldEvidence(
            host=_str(host, "host"),
            seen=_int(seen, "seen"),
            scored=_int(scored, "scored"),
            settled_type=_str(settled, "settled type"),
            types={
                _str(dt, "data type"): _type_from_obj(t, inventory.clients, version, numbered)
                for dt, t in types.items()
            },
        )
    if "map_keys" in obj:  # absent from states written before maps keyed by names
        _map_keys_from_obj(obj["map_keys"], inventory.map_keys)
    return inventory


def _index_from_obj(obj: Any, into: ClientIndex) -> None:
    """The numbered form's hashes into `into` (empty): each keeps its number."""
    raw = _base64(obj, "clients")
    _check(len(raw) % CLIENT_HASH_BYTES == 0, "clients")
    for number, start in enumerate(range(0, len(raw), CLIENT_HASH_BYTES)):
        # A repeated hash, or more than the index holds, would shift the numbers.
        _check(into.of_hash(raw[start : start + CLIENT_HASH_BYTES]) == number, "clients")


# Digits of a map-count hash (64-bit): longer is damage, not a hash.
_MAX_HASH_DIGITS = 20


def _map_keys_from_obj(obj: Any, into: MapKeys) -> None:
    """`MapKeys.to_obj`'s form, checked, added to `into` (an empty one)."""
    _check(isinstance(obj, dict), "map keys")
    maps, pending = obj.get("maps"), obj.get("pending")
    _check(isinstance(maps, list) and isinstance(pending, list), "map keys")
    found: list[tuple[Any, str]] = []
    for entry in maps:
        _check(isinstance(entry, list) and len(entry) == 6, "map parent")
        *where, parent = (_str(part, "map parent") for part in entry)
        found.append((tuple(where), parent))
    for entry in pending:
        _check(isinstance(entry, list) and len(entry) == 7 and isinstance(entry[6], dict),
               "map counts")
        where_parent = tuple(_str(part, "map counts") for part in entry[:6])
        shapes = {}
        for shape, keys in entry[6].items():
            # ASCII digits only: str.isdigit() also accepts `²`, which int() refuses.
            _check(isinstance(shape, str) and shape.isascii() and shape.isdigit()
                   and len(shape) <= _MAX_HASH_DIGITS and isinstance(keys, list),
                   "map counts")
            shapes[int(shape)] = {_int(key, "map counts") for key in keys}
        into.load(where_parent[:5], where_parent[5], shapes)  # type: ignore[arg-type]
    # Maps through the same path as found ones, a parent before the paths under it, so
    # that none keeps a literal key of a map found later (MapKeys._found).
    for where, parent in sorted(found):
        into.found(where, parent)


# -- scan statistics ----------------------------------------------------------------


def stats_to_obj(stats: ScanStats) -> dict[str, Any]:
    return stats.as_dict()


def stats_from_obj(obj: Any) -> ScanStats:
    _check(isinstance(obj, dict), "stats")
    stats = ScanStats()
    for name in ScanStats.__dataclass_fields__:
        if name not in obj:
            continue  # a newer ScanStats field: zero
        current = getattr(stats, name)
        if isinstance(current, Counter):
            setattr(stats, name, _counter(obj[name], name))
        elif isinstance(current, list):
            value = obj[name]
            _check(isinstance(value, list), name)
            setattr(stats, name, [_str(v, name) for v in value])
        else:
            setattr(stats, name, _int(obj[name], name))
    return stats


def merge_stats(into: ScanStats, other: ScanStats) -> None:
    """Sums counters, concatenates warnings (in order)."""
    for name in ScanStats.__dataclass_fields__:
        mine, theirs = getattr(into, name), getattr(other, name)
        if isinstance(mine, Counter):
            mine.update(theirs)
        elif isinstance(mine, list):
            mine.extend(theirs)
        else:
            setattr(into, name, mine + theirs)
