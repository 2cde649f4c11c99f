"""`DeclarativeClassifier`: a data type as a table of value shapes and confidence ladders.

A made-up type (an employee badge: `EMP-` and six digits whose last is a mod-10 check)
is declared the way docs/architecture.md says a new type is added, and judged through
`score`, `gate` and the classifier set; the registered declarative classifiers are then
held to the contract the set relies on (a closed gate means no reportable finding).
"""

from __future__ import annotations

import re
from typing import ClassVar

import pytest

from classifiers.base import (
    REPORT_THRESHOLD,
    Category,
    DeclarativeClassifier,
    FieldContext,
    Rung,
    Shape,
    names,
    nearby,
)
from dpi.classify import ClassifierSet, sibling_tokens
from tests.classifiers.test_gating import TRAFFIC_FIELDS, TRAFFIC_VALUES
from tests.corpus.evaluate import load, part_siblings

_BADGE = re.compile(r"EMP-([0-9]{6})")


def _badge(value: str) -> bool:
    m = _BADGE.fullmatch(value)
    return m is not None and sum(int(d) for d in m.group(1)[:5]) % 10 == int(m.group(1)[5])


class BadgeClassifier(DeclarativeClassifier):
    data_type: ClassVar[str] = "EMPLOYEE_BADGE"
    category: ClassVar[Category] = Category.PII
    hints: ClassVar[frozenset[str]] = frozenset({"badge"})
    min_len: ClassVar[int] = 10
    max_len: ClassVar[int] = 12
    shapes = (
        Shape("check digit valid", _badge, validated=True, ladder=(
            Rung(0.95, "field name hint", names(hints)),
            Rung(None, when=names(frozenset({"order"}))),
            Rung(0.7, "staff context", nearby(frozenset({"employee", "staff"}))),
            Rung(0.4),
        )),
    )

    def prepare(self, value: str) -> str | None:
        return value.strip().upper()


def ctx(path: str, *siblings: str) -> FieldContext:
    return ClassifierSet([]).context("http", "body", path, "POST /v1/people",
                                     sibling_tokens([path, *siblings]))


VALID = "EMP-123455"  # 1+2+3+4+5 = 15: check digit 5


def test_the_ladder_prices_a_valid_value_by_its_field() -> None:
    badge = BadgeClassifier()
    hinted = badge.score(VALID, ctx("badge_id"))
    assert hinted is not None and hinted.confidence == 0.95 and hinted.validated
    assert hinted.reason == "check digit valid, field name hint"
    assert VALID not in hinted.reason
    staff = badge.score(f" {VALID.lower()} ", ctx("id", "employee_name"))
    assert staff is not None and (staff.confidence, staff.reason) == (
        0.7, "check digit valid, staff context")
    bare = badge.score(VALID, ctx("code"))
    assert bare is not None and bare.confidence == 0.4 < REPORT_THRESHOLD
    # A closed rung: an order field never holds a badge, even next to staff fields.
    assert badge.score(VALID, ctx("order_ref", "employee_name")) is None


def test_shapes_reject_near_misses() -> None:
    badge = BadgeClassifier()
    for value in ("EMP-123456", "EMP-12345", "EMP123455", "XMP-123455", "", "   "):
        assert badge.score(value, ctx("badge_id")) is None


def test_the_gate_follows_the_ladder() -> None:
    badge = BadgeClassifier()
    assert badge.gate(ctx("badge_id")) == "any"
    assert badge.gate(ctx("id", "staff_id")) == "any"
    # Only the 0.4 rung is open (or none): nothing reportable, no call.
    assert badge.gate(ctx("code")) is None
    assert badge.gate(ctx("order_ref", "employee_name")) is None


def test_the_classifier_set_reports_the_new_type() -> None:
    classifiers = ClassifierSet.with_extra([BadgeClassifier()])
    context = classifiers.context("http", "body", "badge", "POST /v1/people",
                                  sibling_tokens(["badge", "name"]))
    assert [f.data_type for f in classifiers.score(VALID, context)] == ["EMPLOYEE_BADGE"]
    assert classifiers.score("EMP-123456", context) == []
    elsewhere = classifiers.context("http", "body", "code", "POST /v1/items",
                                    sibling_tokens(["code"]))
    assert classifiers.score(VALID, elsewhere) == []


def test_scorer_and_score_agree_and_the_climb_is_per_context() -> None:
    badge = BadgeClassifier()
    first, second = ctx("badge"), ctx("id", "staff")
    assert badge.scorer(first)(VALID, first) == badge.score(VALID, first)
    assert badge.scorer(second)(VALID, second) == badge.score(VALID, second)
    assert badge.scorer(first)(VALID, first) != badge.scorer(second)(VALID, second)


@pytest.fixture(scope="module")
def declarative() -> list[DeclarativeClassifier]:
    found = [c for c in ClassifierSet().classifiers if isinstance(c, DeclarativeClassifier)]
    assert {c.data_type for c in found} >= {
        "NPI", "DEA_NUMBER", "CARD_CVV", "CARD_EXPIRY", "PASSPORT_NUMBER", "DRIVER_LICENSE",
        "MEDICAL_RECORD_NUMBER", "DRUG_CODE", "HEALTH_PLAN_ID", "POSTAL_CODE",
        "DATE_OF_BIRTH", "BANK_ACCOUNT", "STREET_ADDRESS", "DIAGNOSIS_CODE"}
    return found


def test_registered_shapes_name_declared_gates(declarative: list[DeclarativeClassifier]) -> None:
    for classifier in declarative:
        assert classifier.shapes
        for shape in classifier.shapes:
            assert shape.gate in classifier.value_gates, classifier.data_type


def test_a_closed_gate_reports_nothing(declarative: list[DeclarativeClassifier]) -> None:
    """Corpus and traffic values in closed contexts stay under the threshold."""
    classifiers = ClassifierSet()
    contexts = [classifiers.context(c.protocol, c.location, c.path, c.api, part_siblings(c))
                for c in load()[::7]]
    contexts += [classifiers.context(p, loc, path, api, sibling_tokens([path, *sib]))
                 for p, loc, path, api, sib in TRAFFIC_FIELDS]
    values = list(TRAFFIC_VALUES) + [v for c in load()[::5] for v in c.values[:2]]
    closed = 0
    for classifier in declarative:
        for context in contexts:
            if classifier.gate(context) is not None:
                continue
            closed += 1
            for value in values:
                found = classifier.score(value, context)
                assert found is None or found.confidence < REPORT_THRESHOLD, (
                    classifier.data_type, context.path)
    assert closed > 1000
