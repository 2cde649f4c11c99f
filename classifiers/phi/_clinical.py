"""Field-name tokens that show a clinical context (HL7 FHIR resource and element names,
common EHR/claims API vocabulary), shared by the PHI classifiers.

A token in the field's own name is a hint; the same tokens in the path, in sibling
fields or in the API template only show that the message is about health care, which
lifts shape-only evidence (a code, a number) without making it certain.
"""

from __future__ import annotations

from classifiers._hints import name_tokens
from classifiers.base import FieldContext

# Singular and plural forms: API templates say `/patients/{id}/diagnoses`. Words that are
# as common outside health care (condition: Kubernetes status, product state; provider:
# OAuth; claim: JWT; health: /health checks; member, visit, chart, lab, procedure) are
# left out: they are hints of single classifiers, not evidence of a clinical message.
CLINICAL_TOKENS: frozenset[str] = frozenset(
    {
        "patient", "patients", "clinical", "medical", "healthcare", "diagnosis",
        "diagnoses", "icd", "encounter", "encounters", "prescription", "prescriptions",
        "medication", "medications", "drug", "drugs", "ndc", "npi", "dea", "mrn",
        "physician", "physicians", "practitioner", "practitioners", "prescriber",
        "doctor", "doctors", "treatment", "admission", "discharge", "ehr", "emr", "fhir",
        "hl7", "rx", "pharmacy", "allergy", "allergies", "symptom", "symptoms",
        "medicare", "medicaid", "insurance", "insurer", "clinic", "hospital",
        "immunization", "dx", "beneficiary",
    }
)

# API templates are short; tokenizing a longer one would not find more.
_MAX_API = 256


# The last context asked about and its answer: the classifier set asks every PHI
# classifier's `gate` (and then `scorer`) for one new context in a row, and six of them
# ask this question, which depends on the context alone (a frozen `FieldContext`; held
# here, so that no other context can take its identity). One tuple, replaced whole.
_last: tuple[FieldContext | None, bool] = (None, False)


def clinical_context(ctx: FieldContext) -> bool:
    """The path, the siblings or the API template speak of health care."""
    global _last
    last = _last
    if last[0] is ctx:
        return last[1]
    answer = _clinical(ctx)
    _last = (ctx, answer)
    return answer


def _clinical(ctx: FieldContext) -> bool:
    if not CLINICAL_TOKENS.isdisjoint(ctx.path_tokens):
        return True
    if not CLINICAL_TOKENS.isdisjoint(ctx.sibling_tokens):
        return True
    if ctx.api:
        return not CLINICAL_TOKENS.isdisjoint(name_tokens(ctx.api[:_MAX_API]))
    return False
