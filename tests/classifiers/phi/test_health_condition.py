"""HEALTH_CONDITION: free-text diagnoses, conditions and prescriptions, only in context."""

from __future__ import annotations

import random
import re

import pytest

from classifiers.base import Category, FieldContext
from classifiers.phi.health_condition import (
    _LEXICON,
    _TERMS,
    HealthConditionClassifier,
    _find_term,
)
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLS = HealthConditionClassifier()


POSITIVES = [
    ("Type 2 diabetes mellitus", ctx("diagnosis")),
    ("chest pain and shortness of breath", ctx("symptoms")),
    ("Metformin 500 mg twice daily", ctx("prescription")),
    ("penicillin", ctx("allergies[]")),
    ("Hypertension", ctx("condition", siblings=("patient_id",))),
    ("Asthma", ctx("condition")),  # a lexicon word in a `condition` field
    ("Patient reports depression since March", ctx("note", siblings=("mrn",))),
    ("HIV positive", ctx("notes", api="POST /v1/patients/{id}/notes")),
    ("insulin glargine", ctx("medication_name")),
]

NEGATIVES = [
    ("Type 2 diabetes mellitus", ctx("description")),  # prose without context
    ("Great for asthma sufferers", ctx("product.description")),
    ("new", ctx("condition")),  # product condition
    ("Used - like new", ctx("item.condition")),
    ("Ready", ctx("status.conditions[].type")),  # Kubernetes-style status condition
    ("none", ctx("allergies")),
    ("true", ctx("diagnosis")),
    ("12345", ctx("diagnosis")),  # a number is a code, not text
    ("E11.9", ctx("diagnosis")),  # a code is DIAGNOSIS_CODE's business
    ("", ctx("diagnosis")),
    ("Meeting notes from Tuesday", ctx("notes", siblings=("mrn",))),  # no lexicon term
]


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_clinical_text_in_context_reported(value: str, context: FieldContext) -> None:
    assert_reported(CLS.score(value, context), kind=("HEALTH_CONDITION", Category.PHI))


@pytest.mark.parametrize(("value", "context"), NEGATIVES)
def test_without_context_or_text_not_reported(value: str, context: FieldContext) -> None:
    assert_not_reported(CLS.score(value, context))


def test_lexicon_hit_in_prose_has_span() -> None:
    value = "Patient reports depression since March"
    found = CLS.score(value, ctx("note", siblings=("mrn",)))
    assert found is not None and found.span is not None
    start, end = found.span
    assert value[start:end].lower() == "depression"


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    words = ("diabetes", "asthma", "depression", "metformin", "hiv", "penicillin")
    assert_reason_hides(CLS.score(value, context), value, *words, ignore_case=True)


def test_every_lexicon_term_opens_with_three_letters() -> None:
    # `_find_term` skips `_TERMS` when no word opens with a term's first three letters.
    assert all(re.match("[a-z]{3}", term) for term in _LEXICON)


def test_the_term_search_finds_what_the_lexicon_regex_finds() -> None:
    rng = random.Random(9)
    words = ["Diabetes", "HIV", "aids", "hearing", "tumour", "tumor", "Alzheimer's", "covid-19",
             "pregnancy", "seizure", "the", "patient", "no", "x", "ok", "2026", "Sat,", "GMT",
             "10:00:00", "hypertensive", "prediabetes", "_asthma", "asthma_", "ſeizure",
             "K", "dia", "bet", "es", "héart", "heart", "failure", "disease", "-", "/"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 6))) for _ in range(5000)]
    texts += ["".join(rng.choice(words) for _ in range(rng.randint(1, 4))) for _ in range(3000)]
    found = 0
    for text in texts:
        expected = _TERMS.search(text)
        got = _find_term(text)
        assert (got and got.span()) == (expected and expected.span()), text
        found += expected is not None
    assert 2000 < found < len(texts) - 2000


def test_the_term_search_agrees_on_terms_that_share_an_opening() -> None:
    # `_find_term` tries, where a word opens like a term, only the terms of that opening:
    # every term, its neighbours of the same opening, cut and extended forms, in texts
    # that also hold words opening like terms without being any (`lorem`, `consequat`).
    rng = random.Random(14)
    terms = [term.replace("?", "").replace("(?:", "").replace(")", "").replace("|", "")
             for term in _LEXICON]
    words = terms + [t[:-1] for t in terms] + [t + "s" for t in terms] + [
        t.upper() for t in terms] + [t.title() for t in terms] + [
        "lorem", "ipsum", "consequat", "dialect", "hypothesis", "insulate", "metro",
        "preview", "heartbeat", "depot", "hydrant", "bupkis", "—", "(", ")", "'", ",", "1"]
    found = 0
    for _ in range(20_000):
        sep = rng.choice((" ", " ", "", "-", ", "))
        text = sep.join(rng.choice(words) for _ in range(rng.randint(1, 8)))
        expected = _TERMS.search(text)
        got = _find_term(text)
        assert (got and got.span()) == (expected and expected.span()), text
        found += expected is not None
    assert 5_000 < found < 19_000
