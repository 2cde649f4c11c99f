"""The hand-written phone-number route (classifiers/pii/_phone_fast.py) gives exactly what
`phonenumbers` gives: the same parse (country code and national significant number, or
an error), the same validity and number type, and so the same PHONE_NUMBER findings, on
every region's example numbers of every type in several layouts, random digit strings
and near misses."""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest
from phonenumbers import PhoneMetadata, PhoneNumberFormat, PhoneNumberType

from classifiers.base import FieldContext
from classifiers.pii import _phone_fast
from classifiers.pii._phone_fast import is_valid, number_kind, read_number
from classifiers.pii.phone_number import _REGIONS, PhoneNumberClassifier

_TYPES = [v for k, v in vars(PhoneNumberType).items() if k.isupper() and isinstance(v, int)]
_NON_GEO = sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)


def _examples() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    """Every region's (and non-geographic code's) example number of every type."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append((region, number))
    for cc in _NON_GEO:
        number = phonenumbers.example_number_for_non_geo_entity(cc)
        if number is not None:
            found.append(("001", number))
    return found


def _layouts(number: phonenumbers.PhoneNumber) -> list[str]:
    """The number as E.164, international and national, with other separators."""
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    texts = [e164, e164[1:], "00" + e164[1:], international, national]
    for text in (international, national):
        texts += [text.replace(" ", "."), text.replace(" ", "-"), text.replace(" ", ""),
                  re.sub(r"^(\+?\d+) (\d+)", r"\1 (\2)", text),
                  re.sub(r"^(\d+)", r"(\1)", text)]
    return texts


def _near_misses(rng: random.Random, text: str) -> list[str]:
    """One digit changed, added or dropped; a 0 or the country code in front."""
    places = [i for i, ch in enumerate(text) if ch.isdigit()]
    at = rng.choice(places)
    return [text[:at] + str((int(text[at]) + rng.randint(1, 9)) % 10) + text[at + 1:],
            text[:at] + rng.choice("0123456789") + text[at:],
            text[:at] + text[at + 1:],
            "0" + text.lstrip("+"), "+0" + text.lstrip("+"), "1" + text, "+" + text]


def _random_digits(rng: random.Random) -> list[str]:
    texts = []
    for length in range(6, 18):
        for _ in range(25):
            digits = "".join(rng.choice("0123456789") for _ in range(length))
            texts += [digits, "+" + digits]
    return texts


def _texts() -> list[tuple[str, str]]:
    """(text, home region) pairs: the generated set."""
    rng = random.Random(14)
    texts = []
    for region, number in _examples():
        for text in _layouts(number):
            texts.append((text, region))
            if rng.random() < 0.2:
                texts += [(t, region) for t in _near_misses(rng, text)]
    texts += [(t, rng.choice(_REGIONS)) for t in _random_digits(rng)]
    return texts


TEXTS = _texts()


def _parse(text: str, region: str | None) -> tuple[int, str] | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number.country_code, phonenumbers.national_significant_number(number)


def _plain_kind(cc: int, nsn: str) -> int:
    return int(phonenumbers.number_type(_number(cc, nsn)))


def _plain_valid(cc: int, nsn: str) -> bool:
    return bool(phonenumbers.is_valid_number(_number(cc, nsn)))


def _number(cc: int, nsn: str) -> phonenumbers.PhoneNumber:
    number = phonenumbers.PhoneNumber(country_code=cc, national_number=int(nsn))
    if len(nsn) > 1 and nsn[0] == "0":
        # Leading zeros as `parse` records them (`national_significant_number` adds them).
        number.italian_leading_zero = True
        number.number_of_leading_zeros = min(len(nsn) - len(nsn.lstrip("0")), len(nsn) - 1)
    assert phonenumbers.national_significant_number(number) == nsn
    return number


def test_the_generated_set_is_large_and_mixed() -> None:
    assert len(TEXTS) > 20_000
    parsed = [_parse(t, r if r != "001" else None) for t, r in TEXTS[:5000]]
    assert sum(p is None for p in parsed) > 200
    valid = [p for p in parsed if p is not None and _plain_valid(*p)]
    assert len(valid) > 1000


@pytest.mark.parametrize("part", range(4))
def test_read_valid_and_kind_equal_phonenumbers(part: int) -> None:
    rng = random.Random(part)
    checked = 0
    for text, home in TEXTS[part::4]:
        regions = {None, home if home != "001" else "US", rng.choice(_REGIONS)}
        for region in regions:
            expected = _parse(text, region)
            assert read_number(text, region) == expected, (text, region)
            if expected is not None:
                assert is_valid(*expected) == _plain_valid(*expected), (text, region)
                assert number_kind(*expected) == _plain_kind(*expected), (text, region)
                checked += 1
    assert checked > 5000


def test_the_plain_shapes_skip_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    # The common written forms are read without `phonenumbers.parse`.
    def fail(*args: object) -> None:
        raise AssertionError("parse called")

    monkeypatch.setattr(_phone_fast.phonenumbers, "parse", fail)
    assert read_number("+44 20 7946 0958", None) == (44, "2079460958")
    assert read_number("+1 (201) 555-0123", None) == (1, "2015550123")
    assert read_number("020 7946 0958", "GB") == (44, "2079460958")
    assert read_number("201.555.0123", "US") == (1, "2015550123")
    assert read_number("+999 123", None) is None  # no such country code


def test_metadata_patterns_have_no_groups() -> None:
    # A country code's leading-digit patterns are joined with a named group per region:
    # sound only when the patterns have no groups of their own (the number-type
    # patterns neither have any).
    metadata = [PhoneMetadata.metadata_for_region(r) for r in phonenumbers.SUPPORTED_REGIONS]
    metadata += [PhoneMetadata.metadata_for_nongeo_region(cc) for cc in _NON_GEO]
    for data in metadata:
        for desc in (data.general_desc, data.fixed_line, data.mobile, data.toll_free,
                     data.premium_rate, data.shared_cost, data.personal_number, data.voip,
                     data.pager, data.uan, data.voicemail):
            if desc is not None and desc.national_number_pattern:
                assert re.compile(desc.national_number_pattern).groups == 0
        if data.leading_digits is not None:
            assert re.compile(data.leading_digits).groups == 0


_CONTEXTS = [
    FieldContext(path="phone", name_tokens=frozenset({"phone"})),
    FieldContext(path="contact", name_tokens=frozenset({"contact"})),
    FieldContext(path="login", name_tokens=frozenset({"login"})),
    FieldContext(path="productNo", name_tokens=frozenset({"product", "no"})),
    FieldContext(path="merchant.tel", name_tokens=frozenset({"tel"}),
                 path_tokens=frozenset({"merchant", "tel"})),
    FieldContext(path="value"),
]


def test_phone_findings_equal_those_of_plain_phonenumbers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    classifier = PhoneNumberClassifier()
    values = [text for text, _ in TEXTS[::3]]
    fast = [classifier.score(v, ctx) for v in values for ctx in _CONTEXTS]
    monkeypatch.setattr("classifiers.pii.phone_number.read_number", _parse)
    monkeypatch.setattr("classifiers.pii.phone_number.is_valid", _plain_valid)
    monkeypatch.setattr("classifiers.pii.phone_number.number_kind", _plain_kind)
    plain = [classifier.score(v, ctx) for v in values for ctx in _CONTEXTS]
    assert fast == plain
    assert sum(f is not None for f in fast) > 5_000
