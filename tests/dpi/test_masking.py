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
        ("Clement", "PII", "PERSON_NAME", "*****nt"),
        ("Bob", "PII", "PERSON_NAME", "***"),
        ("10.1.2.3", "PII", "IP_ADDRESS", "**.*.*.*"),
        ("192.168.100.23", "PII", "IP_ADDRESS", "***.***.**0.23"),
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


def test_newlines_never_reach_the_sample() -> None:
    assert "\n" not in mask("line one\nline two 12345678", "PII", "STREET_ADDRESS")
