"""PERSON_NAME: field-name hint plus the shape of a name; never without a hint."""

from __future__ import annotations

import pytest

from classifiers._hints import last_segment, name_tokens, path_tokens
from classifiers.base import REPORT_THRESHOLD, FieldContext
from classifiers.pii.person_name import PersonNameClassifier

CLF = PersonNameClassifier()


def ctx(path: str = "", siblings: str = "") -> FieldContext:
    sibling_tokens: frozenset[str] = frozenset()
    for sibling in siblings.split():
        sibling_tokens |= name_tokens(sibling)
    return FieldContext(
        path=path,
        name_tokens=name_tokens(last_segment(path)),
        path_tokens=path_tokens(path),
        sibling_tokens=sibling_tokens,
    )


POSITIVES = [
    ("Jane", "firstName", 0.75),
    ("Doe", "last_name", 0.75),
    ("Jane Q. Doe", "fullName", 0.75),
    ("Zoë Müller-Lüdenscheidt", "customer.name", 0.75),
    ("O'Brien", "surname", 0.75),
    ("张伟", "patient.name", 0.75),  # CJK has no case
    ("Jean-Luc Picardo", "Vorname", 0.75),
    ("SMITH", "lname", 0.6),
]

# A bare `name` is a person's only when sibling fields describe a person.
WITH_PERSON_SIBLINGS = [
    ("Alex Example", "name", "email phone"),
    ("Mia Testperson", "display_name", "dateOfBirth"),
    ("Ana María de la Cruz", "nombre", "correo telefono"),
]


@pytest.mark.parametrize(("value", "path", "siblings"), WITH_PERSON_SIBLINGS)
def test_bare_name_with_person_siblings_is_found(value: str, path: str, siblings: str) -> None:
    found = CLF.score(value, ctx(path, siblings))
    assert found is not None and found.confidence >= 0.6
    alone = CLF.score(value, ctx(path))
    assert alone is None or alone.confidence < REPORT_THRESHOLD


@pytest.mark.parametrize(
    "path", ["items[].name", "orders[].items[].name", "products[].name", "categories[].name"]
)
def test_names_of_things_in_collections_are_not_people(path: str) -> None:
    found = CLF.score("Gadget Pocket", ctx(path, "sku price quantity"))
    assert found is None or found.confidence < REPORT_THRESHOLD

NEGATIVES = [
    ("Jane Doe", "comment"),  # no hint: never
    ("Jane Doe", ""),
    ("jane", "first_name"),  # not capitalised
    ("R2D2", "name"),  # digits
    ("Acme Widget Pro", "product.name"),  # not a person's context
    ("Acme Corp", "company_name"),
    ("report.pdf", "file_name"),
    ("db-01", "hostname"),
    ("jdoe", "username"),
    ("jdoe42", "user_name"),
    ("Very Long Name With Too Many Words", "name"),
    ("null", "name"),
    ("N/A", "name"),
    ("Unknown", "last_name"),
    ("jane@mail-host.io", "name"),
    ("ORDER_CREATED", "event_name"),
    ("", "name"),
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_hinted_name_is_found(value: str, path: str, minimum: float) -> None:
    found = CLF.score(value, ctx(path))
    assert found is not None
    assert found.confidence >= minimum


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_near_miss_is_not_reported(value: str, path: str) -> None:
    found = CLF.score(value, ctx(path))
    assert found is None or found.confidence < REPORT_THRESHOLD


def test_specific_hint_beats_generic_name() -> None:
    generic = CLF.score("Alex Example", ctx("name"))
    specific = CLF.score("Alex Example", ctx("full_name"))
    assert generic is not None and specific is not None
    assert specific.confidence > generic.confidence


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    found = CLF.score(value, ctx(path))
    assert found is not None
    assert all(word not in found.reason for word in value.split() if len(word) > 2)
