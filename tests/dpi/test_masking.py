"""Masking: the spec's own examples, and that no full value survives."""

from __future__ import annotations

import pytest

from dpi.masking import SECRET_SAMPLE, mask


@pytest.mark.parametrize(
    ("value", "category", "data_type", "expected"),
    [
        ("123-45-6789", "PII", "US_SSN", "***-**-6789"),
        ("john@example.com", "PII", "EMAIL_ADDRESS", "****@*******.com"),
        ("4111111111111111", "PCI", "CARD_NUMBER", "************1111"),
        ("4111 1111 1111 1111", "PCI", "CARD_NUMBER", "**** **** **** 1111"),
        ("Clement", "PII", "PERSON_NAME", "*******"),
        ("Bob", "PII", "PERSON_NAME", "***"),
        ("Jessica Hart", "PII", "PERSON_NAME", "******* ****"),
        ("Jessica Hart", "PCI", "CARDHOLDER_NAME", "******* ****"),
        ("1984-03-17", "PII", "DATE_OF_BIRTH", "****-**-**"),
        ("17/03/1984", "PII", "DATE_OF_BIRTH", "**/**/****"),
        ("12 Baker Street", "PII", "STREET_ADDRESS", "** ***** ******"),
        ("10.1.2.3", "PII", "IP_ADDRESS", "**.*.*.*"),
        ("192.168.100.23", "PII", "IP_ADDRESS", "***.***.***.**"),
        ("+14155552671", "PII", "PHONE_NUMBER", "+*******2671"),
        ("GB82WEST12345698765432", "PII", "IBAN", "******************5432"),
        ("a.b@mail.example.co.uk", "PII", "EMAIL_ADDRESS", "*.*@****.*******.**.uk"),
        ("x@[10.0.0.1]", "PII", "EMAIL_ADDRESS", "*@[**.*.*.*]"),
        ("E11.9", "PHI", "DIAGNOSIS_CODE", "***.*"),
    ],
)
def test_spec_examples_masked_to_shape(value: str, category: str, data_type: str, expected: str) -> None:
    assert mask(value, category, data_type) == expected


@pytest.mark.parametrize("data_type", ["PASSWORD", "API_KEY", "BEARER_TOKEN", "PRIVATE_KEY"])
def test_secret_values_show_no_character(data_type: str) -> None:
    sample = mask("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "SECRET", data_type)
    assert sample == SECRET_SAMPLE
    assert not any(ch.isalnum() for ch in sample)


def test_cvv_shows_no_character() -> None:
    assert mask("737", "PCI", "CARD_CVV") == SECRET_SAMPLE


def test_long_free_text_is_cut_and_masked() -> None:
    value = "note " * 100 + "call +14155552671"
    sample = mask(value, "PII", "PHONE_NUMBER")
    assert len(sample) <= 65
    assert "4155552671" not in sample
    assert sample.endswith("2671")


@pytest.mark.parametrize(
    "data_type",
    ["PERSON_NAME", "CARDHOLDER_NAME", "STREET_ADDRESS", "DATE_OF_BIRTH", "POSTAL_CODE",
     "HEALTH_CONDITION", "DIAGNOSIS_CODE", "DRUG_CODE", "NPI", "DEA_NUMBER", "IP_ADDRESS",
     "CARD_EXPIRY", ""],
)
def test_types_without_a_visible_tail_show_no_letter_or_digit(data_type: str) -> None:
    """Spec: every type outside the receipt list shows no letter or digit at all."""
    sample = mask("Maria Gonzalez 1984-03-17 221B Baker Street", "PII", data_type)
    assert not any(ch.isalnum() for ch in sample)


def test_newlines_never_reach_the_sample() -> None:
    assert "\n" not in mask("line one\nline two 12345678", "PII", "STREET_ADDRESS")
