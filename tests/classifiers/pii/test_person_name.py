"""PERSON_NAME: field-name hint plus the shape of a name; never without a hint."""

from __future__ import annotations

import pytest

from classifiers.base import REPORT_THRESHOLD, FieldContext
from classifiers.pii.person_name import PersonNameClassifier
from tests.builders.contexts import field_context
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = PersonNameClassifier()


def ctx(path: str = "", siblings: str = "") -> FieldContext:
    """`siblings`: the other field names, space-separated."""
    return field_context(path, siblings.split())


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
    assert_reported(CLF.score(value, ctx(path, siblings)), 0.6)
    # Without them, a listed given name is weak evidence at most (the inventory wants
    # several such values before it reports the field).
    alone = CLF.score(value, ctx(path))
    assert alone is None or alone.confidence < 0.6


@pytest.mark.parametrize(
    "path", ["items[].name", "orders[].items[].name", "products[].name", "categories[].name"]
)
def test_names_of_things_in_collections_are_not_people(path: str) -> None:
    assert_not_reported(CLF.score("Gadget Pocket", ctx(path, "sku price quantity")))

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
    assert_reported(CLF.score(value, ctx(path)), minimum)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_near_miss_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


def test_specific_hint_beats_generic_name() -> None:
    generic = CLF.score("Alex Example", ctx("name"))
    specific = CLF.score("Alex Example", ctx("full_name"))
    assert generic is not None and specific is not None
    assert specific.confidence > generic.confidence


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    words = [word for word in value.split() if len(word) > 2]
    assert_reason_hides(CLF.score(value, ctx(path)), *words)


@pytest.mark.parametrize("path", ["context.client.browserName", "context.client.osName",
                                  "customer.planName", "patient.deviceName"])
def test_a_qualified_name_is_the_name_of_that_thing(path: str) -> None:
    found = CLF.score("Chrome", ctx(path, "email phone"))
    assert found is None or found.confidence < REPORT_THRESHOLD


@pytest.mark.parametrize("path", ["patientName", "customer.fullName", "displayName", "name_en"])
def test_person_qualified_names_stay_names(path: str) -> None:
    found = CLF.score("Dana Whitfield", ctx(path, "email phone"))
    assert found is not None and found.confidence >= REPORT_THRESHOLD
