"""Scan bounds by name: `[limits]` in dpi.toml and `dpi scan --limit NAME=VALUE`.

Every field of `protocols.base.Limits` (dissectors and payload decoding) and of
`dpi.reassembly.ReassemblyLimits` (TCP reassembly, flow table) can be set by its field
name; `max_flows` is the engine's flow-table bound. Values are positive integers, with
`_` separators and an optional binary suffix (`k`, `m`, `g`: 1024, 1024**2, 1024**3) for
sizes; times (`*_ns`) also take `s` and `ms`.

Which anomaly kinds and reassembly counters are "a limit was hit" (`LIMIT_ANOMALIES`,
`REASSEMBLY_LIMIT_STATS`) lives here too, so the summary's `limits hit:` line and
`--summary-json`'s `limits_hit` read one list. No value here ever comes from a capture.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from typing import Final

from dpi.reassembly import ReassemblyLimits, ReassemblyStats
from protocols.base import Limits

__all__ = [
    "INVENTORY_LIMIT",
    "LIMIT_ANOMALIES",
    "LIMIT_NAMES",
    "REASSEMBLY_LIMIT_STATS",
    "LimitError",
    "apply_limits",
    "parse_limit",
    "reassembly_hits",
]


class LimitError(ValueError):
    """A limit name or value that cannot be used (one line, for a usage error)."""


_DISSECTOR_FIELDS: Final = tuple(f.name for f in fields(Limits))
_REASSEMBLY_FIELDS: Final = tuple(f.name for f in fields(ReassemblyLimits))
LIMIT_NAMES: Final = frozenset(_DISSECTOR_FIELDS) | frozenset(_REASSEMBLY_FIELDS)

# Anomaly kinds that mean "a bound stopped or cut something" (as opposed to damage).
LIMIT_ANOMALIES: Final = frozenset(
    {
        "body_too_large",  # max_body_bytes (HTTP/1, HTTP/2, gRPC messages)
        "decompression_bomb",  # max_decompressed_bytes / max_compression_ratio
        "decompression_limit",  # the same, MySQL compressed protocol
        "header_too_large",  # max_header_bytes (HTTP/2 header blocks, encoded or decoded)
        "too_many_headers",  # HTTP/1 header lines per message, max_header_fields (HTTP/2)
        "message_too_large",  # max_buffer_bytes (Kafka, MySQL), max_body_bytes (long data)
        "stream_limit",  # max_streams (HTTP/2)
        "records_limit",  # max_records (MySQL rows, statement values)
        "max_records",  # max_records (Kafka records per batch)
        "pending_overflow",  # requests awaiting an answer (Kafka, MySQL)
        "nested_wrapper_depth",  # Kafka message-set wrappers nested too deep
        "hpack_table_limit",  # max_hpack_table_bytes
        "fields_limit",  # max_fields_per_part (JSON, forms, protobuf)
        "key_too_long",  # max_key_chars (JSON keys, form names)
        "path_too_long",  # max_path_chars (JSON paths)
    }
)
# ReassemblyStats counters that count limit hits, with the kind they are reported as.
REASSEMBLY_LIMIT_STATS: Final = {
    "evicted_flows": "max_flows",
    "ooo_overflow": "max_ooo_per_flow",
    "ooo_budget_evictions": "max_ooo_bytes_total",
    "hole_timeouts": "max_hole_wait",
    "held_evictions": "max_held_bytes_total",  # flows closed by the engine's held budget
}
# The inventory's field-table bound (`max_fields`, a `Limits` field): the engine counts
# each field evicted or refused under this kind (dpi/inventory.py says which go first).
INVENTORY_LIMIT: Final = "max_fields"

_SIZE_SUFFIX: Final = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_TIME_SUFFIX: Final = {"": 1, "ns": 1, "ms": 1_000_000, "s": 1_000_000_000}
_VALUE: Final = re.compile(r"([0-9][0-9_]*)\s*([a-z]*)")


def _value(name: str, text: str) -> int:
    match = _VALUE.fullmatch(text.strip().lower())
    suffixes = _TIME_SUFFIX if name.endswith("_ns") else _SIZE_SUFFIX
    if match is None or match.group(2) not in suffixes:
        raise LimitError(f"limit {name}: {text!r} is not a positive integer")
    value = int(match.group(1).replace("_", "")) * suffixes[match.group(2)]
    if value <= 0:
        raise LimitError(f"limit {name}: must be positive")
    return value


def _check_name(name: str) -> None:
    if name not in LIMIT_NAMES:
        raise LimitError(
            f"unknown limit {name!r} (known: {', '.join(sorted(LIMIT_NAMES))})"
        )


def parse_limit(text: str) -> tuple[str, int]:
    """`NAME=VALUE` from the command line -> (name, value)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise LimitError(f"--limit expects NAME=VALUE, got {text!r}")
    _check_name(name)
    return name, _value(name, value)


def parse_table(table: Mapping[str, object]) -> dict[str, int]:
    """The `[limits]` table of dpi.toml -> {name: value}."""
    out: dict[str, int] = {}
    for name, raw in table.items():
        _check_name(name)
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise LimitError(f"limit {name}: must be an integer or a string like '8m'")
        out[name] = _value(name, str(raw))
    return out


def apply_limits(
    overrides: Mapping[str, int],
    limits: Limits | None = None,
    reassembly: ReassemblyLimits | None = None,
) -> tuple[Limits, ReassemblyLimits]:
    """Defaults (or the given bounds) with `overrides` applied, by field name."""
    for name in overrides:
        _check_name(name)
    base = limits if limits is not None else Limits()
    rbase = reassembly if reassembly is not None else ReassemblyLimits()
    mine = {k: v for k, v in overrides.items() if k in _DISSECTOR_FIELDS}
    theirs = {k: v for k, v in overrides.items() if k in _REASSEMBLY_FIELDS}
    return replace(base, **mine), replace(rbase, **theirs)


def defaults() -> Iterable[tuple[str, int]]:
    """Every limit and its default, for documentation and `--help` texts."""
    for obj in (Limits(), ReassemblyLimits()):
        for f in fields(obj):
            yield f.name, getattr(obj, f.name)


def reassembly_hits(stats: ReassemblyStats) -> dict[str, int]:
    """Limit hits counted by the reassembler, by reported kind (zeros left out)."""
    out: dict[str, int] = {}
    for attr, kind in REASSEMBLY_LIMIT_STATS.items():
        count = getattr(stats, attr)
        if count:
            out[kind] = count
    return out
