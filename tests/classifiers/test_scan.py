"""The required-pattern scan (`Classifier.value_needs`, classifiers/_scan.py) rules out
only values that could not be reported.

Each classifier's pattern must occur in every ASCII value it reports under the gate the
pattern belongs to; the classifier set then scans once and calls only the classifiers
whose pattern is there. The values below are built from the pieces the patterns look
for (prefixes, separators, digit groups, whitespace `strip` removes) so that near
misses on both sides are common; the classifier set is compared with calling every
classifier (`tests/classifiers/test_gating.py`'s reference). The two engines, `re` and
Hyperscan, must find the same patterns in the same values.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifiers._scan import ENGINE_VARIABLE, scanner
from classifiers.base import REPORT_THRESHOLD, FieldContext
from dpi.classify import ClassifierSet, sibling_tokens
from dpi.registry import classifier_classes
from tests.classifiers.test_gating import TRAFFIC_FIELDS, TRAFFIC_VALUES, reference
from tests.corpus.evaluate import load

# Pieces of the formats the patterns name, and of their near misses.
PIECES = [
    "0", "1", "4", "7", "9", "12", "201", "555", "0123", "4111", "1111", "37", "99",
    " ", "-", ".", ":", "::", "/", "+", "(", ")", "00", "\t", "\n", "\x1c", "x",
    "Bearer ", "bearer  ", "BEARER ", "earer ", "eyJ", "eyJhbGciOiJIUzI1NiJ9", "abc_-",
    "AKIA", "IOSFODNN7EXAMPLE", "sk_live_", "sk-", "ghp_", "xoxb-", "AIza", "SG.", "SK",
    "DE", "89", "3704", "0044", "GB", "de", "ffff", "fe80", "192.168.", "8.8", "%eth0",
    "536-90-4399", "078-05-1120", "13812345678", "07400123456", "(201) 555-0123",
    "+1 201-555-0123", "a", "Z", "@", "=", "^", ";", "?", "é", "٣",
]


@pytest.fixture(scope="module")
def classifiers() -> ClassifierSet:
    return ClassifierSet()


@pytest.fixture(scope="module")
def contexts(classifiers: ClassifierSet) -> list[FieldContext]:
    return [classifiers.context(protocol, location, path, api,
                                sibling_tokens([path, *siblings]))
            for protocol, location, path, api, siblings in TRAFFIC_FIELDS]


def _needs() -> list[tuple[str, str, re.Pattern[str]]]:
    return [(cls.data_type, gate, re.compile(source))
            for cls in classifier_classes() for gate, source in cls.value_needs.items()]


def test_the_patterns_are_ascii_and_in_both_engines_subset() -> None:
    needs = _needs()
    assert {data_type for data_type, _, _ in needs} >= {
        "CARD_NUMBER", "CARD_TRACK_DATA", "PHONE_NUMBER", "US_SSN", "API_KEY", "BEARER_TOKEN",
        "IP_ADDRESS"}
    for cls in classifier_classes():
        assert set(cls.value_needs) <= set(cls.value_gates), cls.data_type
    for _, _, regex in needs:
        assert regex.pattern.isascii()
        assert not re.search(r"\(\?<?[=!]|\\[1-9]", regex.pattern), regex.pattern


@settings(max_examples=2000, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=12), which=st.integers(0, 10_000))
def test_a_reported_value_holds_the_pattern(classifiers: ClassifierSet,
                                            contexts: list[FieldContext],
                                            pieces: list[str], which: int) -> None:
    value = "".join(pieces)
    ctx = contexts[which % len(contexts)]
    for classifier in classifiers.classifiers:
        gate = classifier.gate(ctx)
        need = classifier.value_needs.get(gate or "")
        if need is None or not value.isascii():
            continue
        if not classifier.min_len <= len(value) <= classifier.max_len:
            continue
        found = classifier.score(value, ctx)
        if found is not None and found.confidence >= REPORT_THRESHOLD:
            assert re.search(need, value), (classifier.data_type, gate)
    assert classifiers.score(value, ctx) == reference(classifiers, value, ctx)


def test_known_formats_pass_their_patterns(classifiers: ClassifierSet,
                                           contexts: list[FieldContext]) -> None:
    """Every traffic value in every traffic field: what the reference reports, the set
    reports, and the scan did rule values out (it is not a no-op)."""
    ruled_out = 0
    for ctx in contexts:
        for value in TRAFFIC_VALUES:
            assert classifiers.score(value, ctx) == reference(classifiers, value, ctx)
            for classifier in classifiers.classifiers:
                need = classifier.value_needs.get(classifier.gate(ctx) or "")
                ruled_out += bool(need and value.isascii() and not re.search(need, value))
    assert ruled_out > 1000


def test_the_engines_agree_on_the_corpus(classifiers: ClassifierSet) -> None:
    pytest.importorskip("hyperscan")
    patterns = {1 << i: regex.pattern for i, (_, _, regex) in enumerate(_needs())}
    plain, fast = scanner(patterns, "re"), scanner(patterns, "hyperscan")
    assert (plain.engine, fast.engine) == ("re", "hyperscan")
    everything = (1 << len(patterns)) - 1
    seen = hits = 0
    for case in load():
        for value in (*case.values, *case.other_values):
            if value.isascii():
                found = plain.hits(value, everything)
                assert fast.hits(value, everything) == found
                seen += 1
                hits += bool(found)
    assert seen > 50_000 and hits > 10_000


def test_re_is_the_default_and_hyperscan_is_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENGINE_VARIABLE, raising=False)
    assert ClassifierSet()._scanner.engine == "re"  # even with the [fast] extra installed
    monkeypatch.setenv(ENGINE_VARIABLE, "re")
    assert ClassifierSet()._scanner.engine == "re"
    pytest.importorskip("hyperscan")
    monkeypatch.setenv(ENGINE_VARIABLE, "hyperscan")
    assert ClassifierSet()._scanner.engine == "hyperscan"
