"""PHONE_NUMBER: validated with phonenumbers (ITU E.164 numbering plans). Values are the
library's own example numbers or fictitious ranges, never real subscribers."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from classifiers.base import FieldContext
from classifiers.pii.phone_number import PhoneNumberClassifier, nanp_number
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = PhoneNumberClassifier()


POSITIVES = [
    ("+12015550123", "phone", 0.95),
    ("+12015550123", "contact", 0.8),  # E.164 with +: valid without a hint
    ("+44 7400 123456", "", 0.8),
    ("+49 1512 3456789", "msisdn", 0.95),
    ("+33 6 12 34 56 78", "tel", 0.95),
    ("+81 90-1234-5678", "", 0.8),
    ("+55 11 96123-4567", "", 0.8),
    ("0049 1512 3456789", "", 0.8),  # 00 international prefix
    # National forms need a hint (or a distinctive national format).
    ("(201) 555-0123", "mobile", 0.9),
    ("201-555-0123", "phoneNumber", 0.9),
    ("2015550123", "cell_phone", 0.9),
    ("07400 123456", "telephone", 0.9),
    ("06 12 34 56 78", "telefono", 0.9),
    ("090-1234-5678", "phone", 0.9),
    ("(201) 555-0123", "", 0.5),
]

NEGATIVES = [
    ("+1 555 012 3456", "phone"),  # phonenumbers rejects: 555 area code
    ("+1 123 456 7890", "phone"),  # invalid NANP area code
    ("+1 200 555 0100", "phone"),
    ("+999 1234567", "phone"),  # no such country code
    ("2015550123", "amount"),  # bare digits, no hint
    ("1700000000", "ts"),  # epoch seconds
    ("1700000000123", "created"),  # epoch milliseconds
    ("201-555-0123", "order_id"),  # dashed digits without hint stay quiet
    ("2024-01-15", "phone"),  # a date
    ("12:30:45", "phone"),
    ("1.2.3.4", "phone"),
    ("$1,234.56", "phone"),
    ("123e4567-e89b-12d3-a456-426614174000", "phone"),
    ("+1", "phone"),
    ("call me", "phone"),
    ("12345", "phone"),  # too short for any plan
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_valid_number_is_found(value: str, path: str, minimum: float) -> None:
    assert_reported(CLF.score(value, ctx(path)), minimum, validated=True)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_invalid_or_unhinted_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


def test_hint_raises_confidence() -> None:
    plain = CLF.score("+12015550123", ctx("contact"))
    hinted = CLF.score("+12015550123", ctx("phone"))
    assert plain is not None and hinted is not None
    assert hinted.confidence > plain.confidence


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    digits = "".join(c for c in value if c.isdigit())
    assert_reason_hides(CLF.score(value, ctx(path)), value, digits[-6:])


# -- the parse-free reading of plain North American numbers (`nanp_number`) gives exactly
# what `phonenumbers.parse` gives, and phone findings do not change because of it.

_SEPARATORS = ["", " ", ".", "-"]


def _international(rng: random.Random, digits: str) -> str:
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    if rng.random() < 0.3:
        area_part = f"({area})" + rng.choice(["", " "])
    else:
        area_part = area + rng.choice(_SEPARATORS)
    return "+1" + rng.choice(_SEPARATORS) + area_part + exchange + rng.choice(_SEPARATORS) + line


def _national(rng: random.Random, digits: str) -> str:
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    return rng.choice([f"({area}) {exchange}-{line}", f"({area}){exchange}-{line}",
                       f"{area}-{exchange}-{line}", f"{area}.{exchange}.{line}"])


def _digits(rng: random.Random) -> str:
    return str(rng.randint(2, 9)) + "".join(rng.choice("0123456789") for _ in range(9))


@pytest.mark.parametrize("region", [None, "US"])
def test_fast_reading_equals_phonenumbers_parse(region: str | None) -> None:
    rng = random.Random(14 if region else 41)
    layout = _national if region else _international
    for _ in range(3000):
        text = layout(rng, _digits(rng))
        fast = nanp_number(text, region)
        assert fast is not None, text
        assert fast == phonenumbers.parse(text, region), text
        assert phonenumbers.is_valid_number(fast) == phonenumbers.is_valid_number(
            phonenumbers.parse(text, region))


@pytest.mark.parametrize(("text", "region"), [
    ("+1 101-555-0123", None),  # area code starting with 1: parse decides
    ("+1 201-555-0123 ext 4", None),
    ("+44 20 7946 0958", None),
    ("(201) 555-0123", "GB"),
    ("1-201-555-0123", "US"),  # national prefix: parse decides
    ("201 555 0123", "US"),
    ("+١ 201-555-0123", None),
])
def test_other_forms_go_through_parse(text: str, region: str | None) -> None:
    assert nanp_number(text, region) is None


def test_phone_findings_are_those_of_a_full_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    values = [_international(rng, _digits(rng)) for _ in range(300)]
    values += [_national(rng, _digits(rng)) for _ in range(300)]
    classifier = PhoneNumberClassifier()
    contexts = [FieldContext(name_tokens=frozenset({"phone"})), FieldContext()]
    fast = [classifier.score(v, ctx) for v in values for ctx in contexts]
    monkeypatch.setattr("classifiers.pii.phone_number.nanp_number", lambda text, region: None)
    slow = [classifier.score(v, ctx) for v in values for ctx in contexts]
    assert fast == slow
    assert sum(f is not None for f in fast) > 200  # valid and invalid numbers both occur
    assert sum(f is None for f in fast) > 50
