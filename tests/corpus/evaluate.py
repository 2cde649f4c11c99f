"""Classifier quality on the labelled corpus (`fields.jsonl`), at two levels.

- Value level: every value with its field's context goes through the real engine path,
  `ClassifierSet.context` then `ClassifierSet.score` (same reporting threshold); the
  value's predicted types are the findings' types, its truth is the field's label.
- Field level: every value of a field goes through the inventory exactly as in a scan
  (`Inventory.field`, `should_score`/`repeat`, `Inventory.record`, then `decided`/`rows`),
  so `min_share` and settling decide; a field's predicted types are its rows.

Per data type and overall (micro-averaged): precision, recall, F1. Also the share of
hard-negative fields with any row, the expected calibration error of row confidence (10
equal-width bins: confidence vs. "the row's type is the field's label"), the AUC of field
confidence ranking true fields above hard negatives, and throughput (values per second,
one core, classification only). Used by `bench/classifier_quality.py` and
`tests/classifiers/test_quality.py`.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifiers.base import REPORT_THRESHOLD
from dpi.classify import ClassifierSet, sibling_tokens
from dpi.inventory import Inventory

CORPUS = Path(__file__).resolve().parent / "fields.jsonl"
# Capture time and client of the synthetic messages: fixed, they only feed first/last seen.
_TS_NS = 1_767_225_600 * 10**9
_CLIENT = b"\x0a\x00\x00\x01"


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled field of the corpus."""

    id: str
    protocol: str
    api: str
    location: str
    path: str
    siblings: tuple[str, ...]
    values: tuple[str, ...] = field(repr=False)
    other_values: tuple[str, ...] = field(repr=False)
    expected: str | None
    domain: str
    hard_negative: bool


def ensure_corpus(path: Path = CORPUS) -> Path:
    """The corpus is generated, not committed (2.5 MB of synthetic values; the fixed
    seed makes it identical everywhere): write it when missing or stale."""
    from tests.corpus import generate

    text = generate.dump(generate.generate())
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def load(path: Path = CORPUS) -> list[Case]:
    if path == CORPUS:
        ensure_corpus(path)
    cases = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            cases.append(
                Case(
                    id=row["id"],
                    protocol=row["protocol"],
                    api=row["api"],
                    location=row["location"],
                    path=row["path"],
                    siblings=tuple(row["siblings"]),
                    values=tuple(row["values"]),
                    other_values=tuple(row.get("other_values", ())),
                    expected=row["expected"],
                    domain=row["domain"],
                    hard_negative=row["hard_negative"],
                )
            )
    return cases


def field_values(case: Case) -> list[str]:
    """All values of the field in arrival order: the placeholders spread among the
    typed values (deterministically), as a real field mixes them."""
    values = list(case.values)
    step = len(values) // (len(case.other_values) + 1)
    for i, other in enumerate(case.other_values, 1):
        values.insert(i * step + i - 1, other)
    return values


def part_siblings(case: Case) -> frozenset[str]:
    """The sibling tokens the engine computes for the part holding this field: the names
    of every field of the part, this one included (`dpi.classify.sibling_tokens`)."""
    return sibling_tokens([case.path, *case.siblings])


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn,
                "precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4)}


def _tally(per_type: dict[str, Counts], expected: str | None, predicted: set[str]) -> None:
    if expected is not None:
        counts = per_type[expected]
        if expected in predicted:
            counts.tp += 1
        else:
            counts.fn += 1
    for data_type in predicted:
        if data_type != expected:
            per_type[data_type].fp += 1


def _overall(per_type: dict[str, Counts]) -> Counts:
    total = Counts()
    for c in per_type.values():
        total.tp += c.tp
        total.fp += c.fp
        total.fn += c.fn
    return total


@dataclass(slots=True)
class LevelResult:
    per_type: dict[str, Counts]
    overall: Counts
    seconds: float
    values: int

    @property
    def values_per_second(self) -> float:
        return self.values / self.seconds if self.seconds else 0.0


def value_level(cases: list[Case], classifiers: ClassifierSet) -> LevelResult:
    """Each value alone with its field path and context, as `score` sees it in a scan."""
    per_type: dict[str, Counts] = defaultdict(Counts)
    predictions: list[tuple[str | None, set[str]]] = []
    n = 0
    start = time.process_time()
    for case in cases:
        ctx = classifiers.context(case.protocol, case.location, case.path, case.api,
                                  part_siblings(case))
        for value in case.values:
            findings = classifiers.score(value, ctx)
            predictions.append((case.expected, {f.data_type for f in findings}))
            n += 1
        for value in case.other_values:
            findings = classifiers.score(value, ctx)
            predictions.append((None, {f.data_type for f in findings}))
            n += 1
    seconds = time.process_time() - start
    for expected, predicted in predictions:
        _tally(per_type, expected, predicted)
    return LevelResult(dict(per_type), _overall(per_type), seconds, n)


@dataclass(slots=True)
class FieldRow:
    """One reported row of one corpus field."""

    case: Case
    data_type: str
    confidence: float


@dataclass(slots=True)
class FieldResult(LevelResult):
    rows: list[FieldRow]
    hard_negatives: int
    hard_negatives_flagged: int
    flagged_hard_ids: list[str]
    missed_ids: dict[str, list[str]]
    false_ids: dict[str, list[str]]

    @property
    def hard_negative_share(self) -> float:
        return self.hard_negatives_flagged / self.hard_negatives if self.hard_negatives else 0.0


def field_level(cases: list[Case], classifiers: ClassifierSet, repeat: int = 1) -> FieldResult:
    """Every value of each field through the inventory's evidence and decision code.

    `repeat` replays each field's values that many times (as further messages of the
    same API would), which exercises settling: a field settled after SETTLE_HIT_AFTER
    values is counted without re-scoring, a clean one is only rechecked now and then.
    """
    inventory = Inventory({c.data_type: c.min_share for c in classifiers.classifiers})
    by_server: dict[str, Case] = {}
    n = 0
    start = time.process_time()
    for case in cases:
        # One server per field keeps every field's key distinct, as in a real scan.
        server = f"corpus:{case.id}"
        by_server[server] = case
        key = (case.protocol, server, case.api, "request", case.location, case.path)
        siblings = part_siblings(case)
        for _ in range(repeat):
            # Each value arrives in its own message, the way the engine's loop sees it
            # (`FieldScorer.score`): settled fields are only counted, the rest go through
            # `due` (which thins out fields settled clean) and `record`.
            for text in field_values(case):
                if not text or text.isspace():
                    continue
                n += 1
                evidence = inventory.field(key, "")
                if evidence is None:
                    continue
                if evidence.settled_type:
                    evidence.seen += 1
                    inventory.repeat(evidence, _TS_NS, _CLIENT, 1)
                    continue
                ctx = classifiers.context(case.protocol, case.location, case.path, case.api,
                                          siblings)
                for _ in evidence.due(1):
                    inventory.record(evidence, classifiers.score(text, ctx), text, _TS_NS,
                                     _CLIENT)
    rows = [FieldRow(by_server[r.server], r.data_type, r.confidence) for r in inventory.rows()]
    seconds = time.process_time() - start

    predicted: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        predicted[row.case.id].add(row.data_type)
    per_type: dict[str, Counts] = defaultdict(Counts)
    missed: dict[str, list[str]] = defaultdict(list)
    false: dict[str, list[str]] = defaultdict(list)
    hard = flagged = 0
    flagged_ids = []
    for case in cases:
        got = predicted.get(case.id, set())
        _tally(per_type, case.expected, got)
        if case.expected is not None and case.expected not in got:
            missed[case.expected].append(case.id)
        for data_type in got - {case.expected}:
            false[data_type].append(case.id)
        if case.hard_negative:
            hard += 1
            if got:
                flagged += 1
                flagged_ids.append(case.id)
    return FieldResult(dict(per_type), _overall(per_type), seconds, n, rows, hard, flagged,
                       flagged_ids, dict(missed), dict(false))


def calibration_error(rows: list[FieldRow], bins: int = 10) -> float:
    """Expected calibration error: per equal-width confidence bin, |accuracy - mean
    confidence|, weighted by the bin's share of rows."""
    if not rows:
        return 0.0
    buckets: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for row in rows:
        index = min(int(row.confidence * bins), bins - 1)
        buckets[index].append((row.confidence, row.data_type == row.case.expected))
    total = 0.0
    for bucket in buckets:
        if bucket:
            accuracy = sum(ok for _, ok in bucket) / len(bucket)
            confidence = sum(c for c, _ in bucket) / len(bucket)
            total += len(bucket) / len(rows) * abs(accuracy - confidence)
    return total


def ranking(cases: list[Case], rows: list[FieldRow]) -> dict[str, float]:
    """How field confidence ranks true fields above hard negatives.

    A true field scores the confidence of its row of the expected type (0 if missed); a
    hard negative the highest confidence of any of its rows (0 if quiet). AUC is the
    probability that a random true field outscores a random hard negative (ties half).
    """
    best: dict[tuple[str, str], float] = {}
    top: dict[str, float] = defaultdict(float)
    for row in rows:
        best[(row.case.id, row.data_type)] = row.confidence
        top[row.case.id] = max(top[row.case.id], row.confidence)
    positives = sorted(best.get((c.id, c.expected), 0.0) for c in cases if c.expected)
    negatives = sorted(top.get(c.id, 0.0) for c in cases if c.hard_negative)
    if not positives or not negatives:
        return {"auc": 1.0, "mean_true": 0.0, "mean_hard_negative": 0.0}
    # Count pairs by merging the two sorted lists: O(n log n), no n*m loop.
    wins = 0.0
    j = 0
    for p in positives:
        while j < len(negatives) and negatives[j] < p:
            j += 1
        ties = 0
        k = j
        while k < len(negatives) and negatives[k] == p:
            ties += 1
            k += 1
        wins += j + 0.5 * ties
    return {
        "auc": wins / (len(positives) * len(negatives)),
        "mean_true": sum(positives) / len(positives),
        "mean_hard_negative": sum(negatives) / len(negatives),
    }


@dataclass(slots=True)
class Report:
    cases: list[Case]
    value: LevelResult
    field: FieldResult
    ece: float
    rank: dict[str, float]
    settled_values_per_second: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        types = sorted(set(self.value.per_type) | set(self.field.per_type))
        return {
            "corpus": {
                "fields": len(self.cases),
                "values": sum(len(c.values) + len(c.other_values) for c in self.cases),
                "hard_negative_fields": self.field.hard_negatives,
                "report_threshold": REPORT_THRESHOLD,
            },
            "field_level": {
                "overall": self.field.overall.as_dict(),
                "per_type": {t: self.field.per_type.get(t, Counts()).as_dict() for t in types},
                "hard_negatives_flagged": self.field.hard_negatives_flagged,
                "hard_negative_share_flagged": round(self.field.hard_negative_share, 4),
                "calibration_error": round(self.ece, 4),
                "ranking": {k: round(v, 4) for k, v in self.rank.items()},
                "missed": self.field.missed_ids,
                "false": self.field.false_ids,
                "flagged_hard_negatives": self.field.flagged_hard_ids,
            },
            "value_level": {
                "overall": self.value.overall.as_dict(),
                "per_type": {t: self.value.per_type.get(t, Counts()).as_dict() for t in types},
            },
            "throughput": {
                "value_level_values_per_second": round(self.value.values_per_second),
                "field_level_values_per_second": round(self.field.values_per_second),
                "settled_values_per_second": round(self.settled_values_per_second),
            },
            **self.extra,
        }


def evaluate(cases: list[Case] | None = None, classifiers: ClassifierSet | None = None,
             repeat: int = 1) -> Report:
    """Both levels on the corpus; `repeat` > 1 also measures throughput with settling."""
    cases = load() if cases is None else cases
    classifiers = classifiers or ClassifierSet()
    value = value_level(cases, classifiers)
    fields = field_level(cases, classifiers)
    report = Report(cases, value, fields, calibration_error(fields.rows),
                    ranking(cases, fields.rows))
    if repeat > 1:
        settled = field_level(cases, classifiers, repeat=repeat)
        report.settled_values_per_second = settled.values_per_second
    return report
