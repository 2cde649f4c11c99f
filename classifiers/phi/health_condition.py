"""HEALTH_CONDITION: free-text diagnoses, conditions, symptoms, allergies and
prescriptions (HIPAA 45 CFR 160.103 "health information"; HL7 FHIR Condition,
AllergyIntolerance and MedicationRequest carry these as text).

Two kinds of evidence, never the text alone:
- a field named for clinical text (diagnosis, symptoms, prescription, medication,
  allergy...) holding words rather than a code, a number or an enum;
- a term from a small bundled lexicon of common conditions and drugs, matched as whole
  words, in a field named `condition`/`problem` or in a clinical message (clinical
  siblings, path or API). The finding then carries the term's span.

Words like diabetes or asthma in a product description, a blog post or a search query
are not reported: the context makes the difference, not the word.

Not covered: clinical NLP (negation: "no history of diabetes" is still reported), terms
outside the lexicon in unhinted fields, languages other than English, and SNOMED CT or
ICD descriptions as a full vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers.base import (
    LETTERS,
    Category,
    Classifier,
    FieldContext,
    Finding,
    Scorer,
    ValueGate,
    bound_scorer,
)
from classifiers.phi._clinical import CLINICAL_TOKENS, clinical_context

# Field names that hold clinical free text on their own.
_STRONG_HINTS = frozenset({
    "diagnosis", "diagnoses", "symptom", "symptoms", "prescription", "prescriptions",
    "medication", "medications", "allergy", "allergies", "illness", "illnesses",
    "disease", "diseases", "ailment", "ailments", "complaint", "comorbidities",
    "comorbidity", "dx",
})
# Field names that hold clinical text only when the value is a clinical term or the
# message is clinical: `condition` is also a product state and a Kubernetes status,
# `notes` anything at all.
_WEAK_HINTS = frozenset({"condition", "conditions", "problem", "problems", "history",
                         "note", "notes", "reason", "indication", "drug", "drugs"})

# Common conditions and drugs (the most frequent US diagnoses and prescriptions, CDC
# NAMCS and CMS Part D top lists). Small on purpose: it is evidence, not a vocabulary.
_LEXICON = (
    "diabetes", "diabetic", "hypertension", "hypotension", "asthma", "copd", "hiv", "aids",
    "hepatitis", "cancer", "carcinoma", "leukemia", "lymphoma", "tumou?r", "depression",
    "depressive", "anxiety", "bipolar", "schizophrenia", "adhd", "autism", "dementia",
    "alzheimer'?s?", "parkinson'?s?", "epilepsy", "seizures?", "migraines?", "stroke",
    "arthritis", "osteoporosis", "obesity", "hyperlipidemia", "cholesterol",
    "heart failure", "heart disease", "atrial fibrillation", "myocardial infarction",
    "coronary artery disease", "pneumonia", "bronchitis", "influenza", "covid(?:-19)?",
    "tuberculosis", "kidney disease", "renal failure", "cirrhosis", "anemia", "anaemia",
    "hypothyroidism", "hyperthyroidism", "psoriasis", "eczema", "lupus",
    "multiple sclerosis", "sickle cell", "chlamydia", "syphilis", "gonorrhea", "herpes",
    "pregnan(?:t|cy)", "insulin", "metformin", "lisinopril", "atorvastatin",
    "simvastatin", "amlodipine", "levothyroxine", "omeprazole", "albuterol",
    "sertraline", "fluoxetine", "escitalopram", "bupropion", "gabapentin",
    "hydrocodone", "oxycodone", "morphine", "fentanyl", "methadone", "buprenorphine",
    "warfarin", "prednisone", "amoxicillin", "penicillin", "azithromycin",
    "losartan", "metoprolol", "hydrochlorothiazide", "furosemide", "lithium",
    "adderall", "xanax", "alprazolam", "lorazepam", "insulin glargine", "antiretroviral",
    "chemotherapy", "dialysis",
)
# Whole words only (`aids` in "hearing aids" is still a hit: the context gate decides).
_TERMS = re.compile(r"\b(?:" + "|".join(_LEXICON) + r")\b", re.IGNORECASE)
# Every term opens with three plain letters (the test checks), and a match starts a word:
# in ASCII text `_TERMS` can only match where a word opens with one of these, so it is
# tried there alone (`_find_term`), not at every position (an alternation of a hundred
# words: several us for an HTTP date or a line of lorem ipsum). Non-ASCII text goes to
# `_TERMS.search` itself (`re` folds `ſ` to `s`, `K` to `k`).
_TERM_OPENINGS = frozenset(term[:3] for term in _LEXICON)
# Per opening, `_TERMS` with only the terms that open with it, in the lexicon's order:
# at a place where the text opens with those letters no other branch can match, so it
# matches there as `_TERMS` does, without trying a hundred branches. Compiled when first
# needed (a text meets few openings); at most one per opening.
_TERMS_BY_OPENING: dict[str, re.Pattern[str]] = {}
_WORD_OPENING = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z]{3}")

# Words: letters first, then letters, digits, spaces and common punctuation of notes.
_WORDS = re.compile(r"[^\W\d_][\w\s.,;:'()/%+&-]*", re.UNICODE)
_MIN_LETTERS = 3
# Values that say "nothing" in clinical fields, and booleans.
_EMPTY_WORDS = frozenset({"none", "n/a", "na", "null", "nil", "no", "yes", "true", "false",
                          "unknown", "nka", "nkda", "normal", "other", "-", "tbd",
                          "redacted"})
# Regex input limit (convention 5): clinical notes can be long; a term in the first
# 2 KiB is evidence enough, and the regex cost stays bounded.
_MAX_TEXT = 2048


class HealthConditionClassifier(Classifier):
    data_type = "HEALTH_CONDITION"
    category = Category.PHI
    # Sibling tokens asked about: a clinical word beside the field.
    context_words = CLINICAL_TOKENS
    gate_reads_server = False
    hints = _STRONG_HINTS | _WEAK_HINTS
    min_len = 3
    max_len = 8192
    min_share = 0.3

    HINTED_TERM: ClassVar[float] = 0.92
    HINTED_TEXT: ClassVar[float] = 0.8
    WEAK_HINT_TERM: ClassVar[float] = 0.75
    CONTEXT_TERM: ClassVar[float] = 0.7
    WEAK_HINT_CONTEXT_TEXT: ClassVar[float] = 0.55
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"text": lambda n, classes: not classes.isdisjoint(LETTERS)}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        names = ctx.name_tokens
        if _STRONG_HINTS.isdisjoint(names) and _WEAK_HINTS.isdisjoint(names) and (
            not clinical_context(ctx)
        ):
            return None
        return "text"

    def scorer(self, ctx: FieldContext) -> Scorer:
        # The field's name and the message's context, judged once per context.
        names = ctx.name_tokens
        strong = not _STRONG_HINTS.isdisjoint(names)
        weak = not strong and not _WEAK_HINTS.isdisjoint(names)
        clinical = clinical_context(ctx)
        notes = "note" in names or "notes" in names
        return bound_scorer(self._judge, strong, weak, clinical, notes)

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        return self.scorer(ctx)(value, ctx)

    def _judge(self, value: str, strong: bool, weak: bool, clinical: bool,
               notes: bool) -> Finding | None:
        if len(value) < self.min_len:
            return None
        # Cheapest gate first: without any hint or clinical context, prose is not PHI.
        if not strong and not weak and not clinical:
            return None
        text = value[:_MAX_TEXT].strip()
        if _WORDS.fullmatch(text) is None:
            return None
        lowered = text.lower()
        if lowered in _EMPTY_WORDS:
            return None
        # Three letters first (most text opens with a word) have `_MIN_LETTERS` at once;
        # otherwise they are counted.
        if not text[:_MIN_LETTERS].isalpha() and (
                sum(ch.isalpha() for ch in text[:64]) < _MIN_LETTERS):
            return None
        term = _find_term(text, lowered)
        if strong:
            if term is not None:
                return self.finding(self.HINTED_TERM, "field name hint, lexicon term")
            return self.finding(self.HINTED_TEXT, "field name hint, free text")
        if term is None:
            if weak and clinical and not notes:
                return self.finding(self.WEAK_HINT_CONTEXT_TEXT,
                                    "condition field in a clinical message")
            return None
        span = term.span()
        if weak and not notes:
            return self.finding(self.WEAK_HINT_TERM, "field name hint, lexicon term", span)
        if clinical:
            return self.finding(self.CONTEXT_TERM, "lexicon term in a clinical message", span)
        return None


def _find_term(text: str, lowered: str | None = None) -> re.Match[str] | None:
    """`_TERMS.search(text)` (`lowered`: `text.lower()` when already made).

    In ASCII text a match starts where a word opens (`\\b`, then a term's three
    letters, which `re` compares case-insensitively as `lower` does), and `_WORD_OPENING`
    finds every such place, left to right (its three letters leave no room for another
    opening before the next non-word character). `search` returns the match at the
    leftmost place where `_TERMS` matches, so trying `_TERMS.match` at the openings of a
    term, in order, returns the same match (`match` at a position sees the character
    before it for `\\b`); `_opening_terms` is `_TERMS` at such a place."""
    if not text.isascii():
        return _TERMS.search(text)
    if lowered is None:
        lowered = text.lower()
    for opening in _WORD_OPENING.finditer(lowered):
        letters = opening.group()
        if letters in _TERM_OPENINGS:
            found = _opening_terms(letters).match(text, opening.start())
            if found is not None:
                return found
    return None


def _opening_terms(letters: str) -> re.Pattern[str]:
    """`_TERMS` for a place that opens with `letters` (`_TERMS_BY_OPENING`)."""
    terms = _TERMS_BY_OPENING.get(letters)
    if terms is None:
        terms = _TERMS_BY_OPENING[letters] = re.compile(
            r"\b(?:" + "|".join(t for t in _LEXICON if t[:3] == letters) + r")\b",
            re.IGNORECASE)
    return terms
