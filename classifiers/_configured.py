"""Classifiers defined by users in a config file (`[[classifiers]]` in `dpi.toml`).

A configured classifier is a `PatternClassifier` built at run time from a table of
regexes, hint tokens, an optional named checksum and thresholds; nothing in the package
is edited. Private module (leading `_`): the registry never instantiates it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from classifiers._checksums import (
    aba_routing_valid,
    dea_valid,
    digits_only,
    iban_valid,
    luhn_valid,
    npi_valid,
)
from classifiers.base import Category, Pattern, PatternClassifier

VALIDATORS: dict[str, Callable[[str], bool]] = {
    "luhn": lambda v: luhn_valid(digits_only(v)),
    "iban": iban_valid,
    "aba": lambda v: aba_routing_valid(digits_only(v)),
    "npi": lambda v: npi_valid(digits_only(v)),
    "dea": dea_valid,
}
# A user regex runs on every value within max_len: bound the pattern size so a typo
# cannot turn into a pathological automaton.
MAX_PATTERN_CHARS = 512
_NAME = re.compile(r"[A-Z][A-Z0-9_]{1,63}")
_KEYS = frozenset(
    {"data_type", "category", "patterns", "hints", "validator", "confidence",
     "hint_boost", "min_share", "search_inside", "max_len", "min_len"}
)


class ConfigError(Exception):
    """A classifier table that cannot be used; the message names the key, not values."""


def _number(spec: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = spec.get(key, default)
    if not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(f"classifier key {key!r} must be a number in [{low}, {high}]")
    return float(value)


def build_classifier(spec: Mapping[str, Any]) -> PatternClassifier:
    unknown = set(spec) - _KEYS
    if unknown:
        raise ConfigError(f"unknown classifier keys: {', '.join(sorted(unknown))}")
    data_type = spec.get("data_type")
    if not isinstance(data_type, str) or not _NAME.fullmatch(data_type):
        raise ConfigError("classifier data_type must be UPPER_SNAKE_CASE")
    try:
        category = Category(spec.get("category", ""))
    except ValueError:
        raise ConfigError(f"{data_type}: category must be one of PII, PHI, PCI, SECRET") from None
    raw_patterns = spec.get("patterns")
    if not isinstance(raw_patterns, list) or not raw_patterns:
        raise ConfigError(f"{data_type}: patterns must be a non-empty list of regexes")
    confidence = _number(spec, "confidence", 0.8, 0.0, 1.0)
    patterns = []
    for i, raw in enumerate(raw_patterns):
        if not isinstance(raw, str) or len(raw) > MAX_PATTERN_CHARS:
            raise ConfigError(f"{data_type}: pattern {i + 1} must be a string of at most {MAX_PATTERN_CHARS} characters")
        try:
            patterns.append(Pattern(f"config_{i + 1}", re.compile(raw), confidence))
        except re.error as exc:
            raise ConfigError(f"{data_type}: pattern {i + 1} is not a valid regex ({exc.msg})") from None
    validator_name = spec.get("validator")
    validator = None
    if validator_name is not None:
        validator = VALIDATORS.get(str(validator_name))
        if validator is None:
            raise ConfigError(f"{data_type}: validator must be one of {', '.join(sorted(VALIDATORS))}")
    hints = spec.get("hints", [])
    if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
        raise ConfigError(f"{data_type}: hints must be a list of words")

    attributes: dict[str, Any] = {
        "data_type": data_type,
        "category": category,
        "hints": frozenset(h.lower() for h in hints),
        "patterns": tuple(patterns),
        "hint_boost": _number(spec, "hint_boost", 0.15, 0.0, 1.0),
        "min_share": _number(spec, "min_share", 0.5, 0.0, 1.0),
        "max_len": int(_number(spec, "max_len", 256, 1, 65536)),
        "min_len": int(_number(spec, "min_len", 1, 1, 65536)),
        "search_inside": bool(spec.get("search_inside", False)),
        # `PatternClassifier.score` reads the field's own name only.
        "context_words": frozenset(),
    }
    if validator is not None:
        check = validator
        attributes["validate"] = lambda self, candidate: check(candidate)
    cls = type(f"Configured{data_type.title().replace('_', '')}Classifier", (PatternClassifier,), attributes)
    instance: PatternClassifier = cls()
    return instance
