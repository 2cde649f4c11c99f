"""The overhead between a message and the classifiers (issue #14): the memo answers a
value the gates turned away as it answers a scored one, and a field where no classifier
can report is counted without asking the classifiers per value. Both give the counts
and rows that scoring every value gives."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from classifiers.pci.card_cvv import CardCvvClassifier
from classifiers.pci.card_number import CardNumberClassifier
from dpi.classify import ClassifierSet, ContextPlan
from dpi.field_scoring import FieldScorer
from dpi.inventory import Inventory
from dpi.scan_stats import ScanStats
from protocols.base import Direction, DissectorOptions, Limits, Location, MediaType, Message, Part


@dataclass
class _Flow:
    server: tuple[bytes, int] = (bytes([10, 0, 0, 5]), 8080)
    client: tuple[bytes, int] = (bytes([10, 0, 0, 1]), 40000)


def _orders(count: int) -> list[Message]:
    """POST bodies with a note (no CVV classifier opens there) and a card's CVV."""
    return [
        Message(
            protocol="http", direction=Direction.REQUEST, api="POST /v1/orders",
            host="api.shop.example", ts_ns=i,
            parts=(
                Part(location=Location.BODY, name="", media_type=MediaType.JSON,
                     data=json.dumps({"note": f"{i:03d}", "cvv": f"{100 + i}",
                                      "card": "4111111111111111"}).encode()),
            ),
        )
        for i in range(count)
    ]


def _scan(classifiers: ClassifierSet, messages: list[Message]) -> Inventory:
    inventory = Inventory({c.data_type: c.min_share for c in classifiers.classifiers})
    scorer = FieldScorer(classifiers, Limits(), DissectorOptions(), ScanStats())
    for message in messages:
        message, names = scorer.admit(inventory, message)
        scorer.score(inventory, _Flow(), message, names)  # type: ignore[arg-type]
    return inventory


def test_a_field_no_classifier_can_report_is_counted_without_scoring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    classifiers = ClassifierSet([CardCvvClassifier()])
    asked: list[str] = []
    # The classifiers are asked on a miss of their memo (`ClassifierSet.memoized`: the
    # field scorer looks the memo up itself, `findings`' first step).
    memoized = ClassifierSet.memoized

    def counted(
        self: ClassifierSet, value: str, plan: ContextPlan, key: int
    ) -> tuple[object, ...]:
        asked.append(plan.ctx.path)
        return memoized(self, value, plan, key)

    monkeypatch.setattr(ClassifierSet, "memoized", counted)
    inventory = _scan(classifiers, _orders(6))
    by_path = {key[-1]: evidence for key, evidence in inventory.fields.items()}
    note_plan = classifiers.plan(next(iter(
        ctx for ctx in classifiers._ctx_cache.values() if ctx.path == "note")))
    assert note_plan.mask == 0
    assert "note" not in asked and "card" not in asked and "cvv" in asked
    # Counted as six misses, exactly as `record` counts a miss.
    assert (by_path["note"].seen, by_path["note"].scored, by_path["note"].types) == (6, 6, {})
    assert "CARD_CVV" in by_path["cvv"].types
    assert {row.field for row in inventory.rows()} == {"cvv"}


def test_a_value_the_gates_turn_away_is_answered_by_the_memo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    classifiers = ClassifierSet([CardNumberClassifier()])
    ctx = classifiers.context("http", "body", "card", "POST /v1/orders", frozenset({"card"}))
    plan = classifiers.plan(ctx)
    assert plan.mask  # card numbers can be reported in a `card` field
    computed: list[int] = []
    scored = ClassifierSet._scored

    def counted(self: ClassifierSet, value: str, plan: ContextPlan, mask: int) -> object:
        computed.append(len(value))
        return scored(self, value, plan, mask)

    monkeypatch.setattr(ClassifierSet, "_scored", counted)
    for _ in range(3):
        assert classifiers.score("visa", ctx) == []  # letters: no card-number gate admits
        found = classifiers.score("4111111111111111", ctx)
        assert [f.data_type for f in found] == ["CARD_NUMBER"]
    assert computed == [4, 16]  # once each: the rejection is memoized too
    memo = classifiers._memo
    assert len(memo) == 2 and all(isinstance(key, int) for key in memo)
    assert sorted(len(v) for v in memo.values()) == [0, 1]  # findings, never values
