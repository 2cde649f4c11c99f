"""The classifier contract (docs/architecture.md, "Adding a unit"; spec/inventory.md, taxonomy).

Every classifier the registry finds names a taxonomy type with its category, lives in a
module named after the type, has a test module, and never quotes a value in a reason.
Every taxonomy type has exactly one classifier. PII, PHI, PCI and SECRET are written by
different people; this test passes only when all of them are done.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifiers._hints import name_tokens, path_tokens
from classifiers.base import Category, Classifier, FieldContext
from dpi.registry import classifier_classes
from tests.conftest import ROOT, SPEC

# A taxonomy row: `| PII | EMAIL_ADDRESS | e-mail address |`.
_ROW = re.compile(r"^\|\s*(PII|PHI|PCI|SECRET)\s*\|\s*([A-Z][A-Z0-9_]*)\s*\|")


def _taxonomy() -> dict[str, str]:
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is not there")
    table: dict[str, str] = {}
    in_section = False
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_section = line.strip() == "## Taxonomy of data types"
            continue
        m = _ROW.match(line) if in_section else None
        if m:
            assert m.group(2) not in table, f"{m.group(2)} listed twice in the taxonomy"
            table[m.group(2)] = m.group(1)
    return table


CLASSES = classifier_classes()
IDS = [cls.__name__ for cls in CLASSES]


def _camel(data_type: str) -> str:
    return "".join(part.capitalize() for part in data_type.split("_")) + "Classifier"


def test_taxonomy_parses() -> None:
    table = _taxonomy()
    assert len(table) >= 29
    assert table["EMAIL_ADDRESS"] == "PII"


def test_every_taxonomy_type_has_exactly_one_classifier() -> None:
    table = _taxonomy()
    by_type: dict[str, list[str]] = {}
    for cls in CLASSES:
        by_type.setdefault(cls.data_type, []).append(cls.__module__)
    missing = sorted(set(table) - set(by_type))
    doubled = {t: mods for t, mods in by_type.items() if len(mods) > 1}
    assert not missing, f"taxonomy types without a classifier: {missing}"
    assert not doubled, f"types with more than one classifier: {doubled}"


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_classifier_type_is_in_taxonomy_with_its_category(cls: type[Classifier]) -> None:
    table = _taxonomy()
    assert cls.data_type in table, f"{cls.data_type} is not in the taxonomy"
    assert isinstance(cls.category, Category)
    assert cls.category.value == table[cls.data_type]


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_classifier_module_and_class_are_named_after_type(cls: type[Classifier]) -> None:
    parts = cls.__module__.split(".")
    assert parts[0] == "classifiers"
    assert parts[1] == cls.category.value.lower()
    assert parts[-1] == cls.data_type.lower()
    assert cls.__name__ == _camel(cls.data_type)


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_classifier_has_test_module(cls: type[Classifier]) -> None:
    leaf = cls.__module__.rsplit(".", 1)[-1]
    path = ROOT / "tests" / "classifiers" / cls.category.value.lower() / f"test_{leaf}.py"
    assert path.is_file(), f"missing {path.relative_to(ROOT)}"


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_classifier_limits_are_sane(cls: type[Classifier]) -> None:
    assert 1 <= cls.min_len <= cls.max_len
    assert 0.0 < cls.min_share <= 1.0
    assert all(h == h.lower() and h for h in cls.hints)


# Synthetic values of many kinds, each tried under a field named for every hint.
_PROBES = [
    "jane.doe@shop-mail.io",
    "+12015550123",
    "Jane Doe",
    "742 Evergreen Terrace",
    "SW1A 1AA",
    "1985-04-12",
    "234-56-7891",
    "AB123456C",
    "X1234567",
    "10.20.30.40",
    "DE89370400440532013000",
    "011000015",
    "4111111111111111",
    "12/29",
    "123",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "AKIAIOSFODNN7EXAMPLE",
    "E11.9",
    "Type 2 diabetes mellitus",
    "correct horse battery staple",
]


def _contexts(cls: type[Classifier]) -> list[FieldContext]:
    names = [""] + sorted(cls.hints)
    return [
        FieldContext(path=n, name_tokens=name_tokens(n), path_tokens=path_tokens(n)) for n in names
    ]


_LOWER, _UPPER, _DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits
_SHIFT = str.maketrans(
    _LOWER + _UPPER + _DIGITS, _LOWER[1:] + _LOWER[0] + _UPPER[1:] + _UPPER[0] + _DIGITS[1:] + "0"
)


def _check(
    cls: type[Classifier], clf: Classifier, value: str, ctx: FieldContext, leak_len: int = 4
) -> None:
    """`leak_len`: values at least this long must not appear in the reason (shorter ones
    can be ordinary words of any reason, like `hint`)."""
    found = clf.score(value, ctx)
    if found is None:
        return
    assert found.data_type == cls.data_type and found.category == cls.category
    assert 0.0 <= found.confidence <= 1.0
    assert found.reason
    stripped = value.strip()
    if len(stripped) >= leak_len and stripped in found.reason:
        # The value may happen to spell part of the reason's fixed wording (`field na` in
        # "field name hint"). The same value with every letter and digit shifted must then
        # give a reason that still holds that text: a reason that quoted the value would
        # quote the shifted one instead.
        shifted = value.translate(_SHIFT)
        again = clf.score(shifted, ctx)
        assert again is not None and stripped in again.reason and shifted.strip() not in again.reason
    if found.span is not None:
        start, end = found.span
        assert 0 <= start < end <= len(value)


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_findings_are_well_formed_and_never_quote_value(cls: type[Classifier]) -> None:
    clf = cls()
    for ctx in _contexts(cls):
        for value in _PROBES:
            if cls.min_len <= len(value) <= cls.max_len:
                _check(cls, clf, value, ctx)


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=st.text(max_size=80))
def test_arbitrary_text_never_raises(cls: type[Classifier], value: str) -> None:
    clf = cls()
    for ctx in _contexts(cls)[:3]:
        _check(cls, clf, value, ctx, leak_len=8)


def test_test_modules_are_not_orphans() -> None:
    """Each classifier test module belongs to a classifier module of the same name."""
    modules = {cls.__module__ for cls in CLASSES}
    here = Path(__file__).parent
    for category in ("pii", "phi", "pci", "secret"):
        for test in sorted((here / category).glob("test_*.py")):
            module = f"classifiers.{category}.{test.stem.removeprefix('test_')}"
            assert module in modules, f"{test.name} tests no classifier"
