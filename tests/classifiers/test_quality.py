"""Classifier quality on the labelled corpus (tests/corpus/fields.jsonl), both levels.

Field level: the inventory's decision after all the values of a field (min_share,
settling); value level: one value and its field path through `ClassifierSet`. The
thresholds are the issue's: field-level precision >= 0.98 and recall >= 0.95 (PCI and
SECRET >= 0.99 / 0.98), value-level precision >= 0.95 and recall >= 0.90, at most 1% of
hard-negative fields flagged, and no data type below 0.9 on either level. Throughput is
measured by `bench/classifier_quality.py`, never asserted here (no timed tests).
"""

from __future__ import annotations

from collections import Counter

import pytest

from classifiers.base import Category
from dpi.classify import ClassifierSet
from tests.corpus import generate
from tests.corpus.evaluate import CORPUS, Counts, Report, evaluate, load

TAXONOMY_CATEGORY = {c.data_type: c.category for c in ClassifierSet().classifiers}


@pytest.fixture(scope="module")
def report() -> Report:
    return evaluate(load(), repeat=1)


def _category_counts(per_type: dict[str, Counts], category: Category) -> Counts:
    total = Counts()
    for data_type, counts in per_type.items():
        if TAXONOMY_CATEGORY.get(data_type) == category:
            total.tp += counts.tp
            total.fp += counts.fp
            total.fn += counts.fn
    return total


def test_corpus_is_generated_deterministically() -> None:
    load()  # writes the corpus from the generator when missing
    assert CORPUS.read_text(encoding="utf-8") == generate.dump(generate.generate())


def test_corpus_covers_every_type_protocol_and_domain() -> None:
    cases = load()
    assert len(cases) >= 2000
    per_type = Counter(c.expected for c in cases if c.expected)
    assert set(per_type) == set(TAXONOMY_CATEGORY)
    assert min(per_type.values()) >= 20
    assert sum(c.hard_negative for c in cases) >= 0.3 * len(cases)
    assert {c.protocol for c in cases} == {"http", "grpc", "kafka", "mysql"}
    assert {c.domain for c in cases} >= {"payments", "health", "hr", "ecommerce", "identity",
                                         "logistics"}
    assert all(20 <= len(c.values) <= 30 for c in cases)
    assert all(c.expected is None for c in cases if c.hard_negative)


def test_field_level_precision_and_recall_meet_the_bar(report: Report) -> None:
    overall = report.field.overall
    assert overall.precision >= 0.98
    assert overall.recall >= 0.95


@pytest.mark.parametrize("category", [Category.PCI, Category.SECRET])
def test_field_level_pci_and_secret_meet_the_higher_bar(report: Report, category: Category) -> None:
    counts = _category_counts(report.field.per_type, category)
    assert counts.precision >= 0.99
    assert counts.recall >= 0.98


def test_value_level_precision_and_recall_meet_the_bar(report: Report) -> None:
    overall = report.value.overall
    assert overall.precision >= 0.95
    assert overall.recall >= 0.90


@pytest.mark.parametrize("level", ["field", "value"])
def test_no_data_type_below_point_nine(report: Report, level: str) -> None:
    per_type = report.field.per_type if level == "field" else report.value.per_type
    weak = {t: (round(c.precision, 3), round(c.recall, 3)) for t, c in per_type.items()
            if c.precision < 0.9 or c.recall < 0.9}
    assert weak == {}


def test_hard_negative_fields_stay_quiet(report: Report) -> None:
    assert report.field.hard_negative_share <= 0.01, report.field.flagged_hard_ids


def test_confidence_ranks_true_fields_above_hard_negatives(report: Report) -> None:
    assert report.rank["auc"] >= 0.95
    assert report.rank["mean_true"] > report.rank["mean_hard_negative"] + 0.5


def test_reported_confidence_is_in_range_and_calibration_bounded(report: Report) -> None:
    assert all(0.0 <= row.confidence <= 1.0 for row in report.field.rows)
    assert report.ece <= 0.15
