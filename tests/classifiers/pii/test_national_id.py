"""NATIONAL_ID: UK NINO prefix rules; Spanish DNI/NIE letter; Italian codice fiscale
check character; Indian Aadhaar Verhoeff; Brazilian CPF check digits; Canadian SIN Luhn."""

from __future__ import annotations

import importlib
import random

import pytest

from classifiers.pii import _stdnum_ids
from classifiers.pii.national_id import _MAX_CHARS, NationalIdClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = NationalIdClassifier()


POSITIVES = [
    ("AB123456C", "nino", 0.95),
    ("AB 12 34 56 C", "national_insurance_number", 0.95),
    ("AB123456C", "ref", 0.7),  # prefix rules make the shape distinctive
    ("12345678Z", "dni", 0.95),
    ("12345678Z", "document", 0.8),
    ("X1234567L", "nie", 0.95),
    ("RSSMRA80A01H501U", "codice_fiscale", 0.95),
    ("RSSMRA80A01H501U", "", 0.8),
    ("111.444.777-35", "cpf", 0.95),
    ("111.444.777-35", "", 0.8),  # formatted CPF with valid check digits
    ("11144477735", "cpf", 0.95),
    ("130 692 544", "sin", 0.9),
    ("130692544", "social_insurance_number", 0.9),
    ("2345 6789 0124", "aadhaar", 0.95),
    ("234567890124", "aadhaar_number", 0.95),
]

NEGATIVES = [
    ("BG123456C", "nino"),  # administrative prefix never issued
    ("GB123456C", "nino"),
    ("DA123456C", "nino"),  # D is not a valid first letter
    ("AO123456C", "nino"),  # O is not a valid second letter
    ("AB123456E", "nino"),  # suffix must be A-D
    ("12345678A", "dni"),  # wrong control letter
    ("X1234567A", "nie"),
    ("RSSMRA80A01H501A", "codice_fiscale"),  # wrong check character
    ("111.444.777-34", "cpf"),  # wrong check digits
    ("111.111.111-11", "cpf"),  # repeated digit passes the checksum but is invalid
    ("11144477735", "phone"),  # bare digits: CPF only with hint
    ("130692544", "order"),  # SIN only with hint
    ("046 454 286", "sin"),  # first digit 0: never assigned (ESDC's fictitious example)
    ("130692545", "sin"),  # Luhn fails
    ("2345 6789 0125", "aadhaar"),  # Verhoeff fails
    ("234567890124", "id"),  # bare twelve digits: Aadhaar only with hint
    ("123e4567-e89b-12d3-a456-426614174000", "national_id"),
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_valid_id_is_found(value: str, path: str, minimum: float) -> None:
    assert_reported(CLF.score(value, ctx(path)), minimum)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_bad_checksum_or_unhinted_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


def test_reason_names_the_scheme() -> None:
    found = CLF.score("12345678Z", ctx("dni"))
    assert found is not None and "dni" in found.reason.lower()


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    digits = "".join(c for c in value if c.isdigit())
    assert_reason_hides(CLF.score(value, ctx(path)), value, digits)


# -- printed forms: each scheme as it is written on a card or a form -------------------

# A valid number of each python-stdnum scheme (python-stdnum's own documented examples),
# with a hint of that scheme; printed by stdnum's `format` where it has one.
STDNUM_EXAMPLES = {
    "cn.ric": ("360426199101010071", "sfz"),
    "mx.curp": ("BOXW310820HNERXN09", "curp"),
    "de.idnr": ("36574261809", "steuer_id"),
    "fr.nir": ("295109912611193", "nir"),
    "nl.bsn": ("111222333", "bsn"),
    "be.nn": ("85073003328", "rijksregisternummer"),
    "pl.pesel": ("44051401359", "pesel"),
    "se.personnummer": ("198803200016", "personnummer"),
    "dk.cpr": ("2110625629", "cpr"),
    "no.fodselsnummer": ("15108695088", "fodselsnummer"),
    "fi.hetu": ("131052-308T", "hetu"),
    "za.idnr": ("7503305044089", "rsa_id"),
    "kr.rrn": ("9710139019902", "rrn"),
    "cl.rut": ("125319092", "rut"),
}


def _printed(module: str, number: str) -> str:
    stdnum = importlib.import_module(f"stdnum.{module}")
    return str(stdnum.format(number)) if hasattr(stdnum, "format") else number


def test_every_stdnum_scheme_has_an_example_and_a_printed_layout() -> None:
    assert set(STDNUM_EXAMPLES) == {scheme.module for scheme in _stdnum_ids.SCHEMES}
    for scheme in _stdnum_ids.SCHEMES:
        printed = _printed(scheme.module, STDNUM_EXAMPLES[scheme.module][0])
        # The declared layout is the printed form, digits and letters aside.
        assert len(printed) == len(scheme.printed), scheme.module
        assert len(printed) <= _MAX_CHARS


@pytest.mark.parametrize("module", sorted(STDNUM_EXAMPLES))
def test_stdnum_schemes_are_found_in_their_printed_form(module: str) -> None:
    number, hint = STDNUM_EXAMPLES[module]
    printed = _printed(module, number)
    assert_reported(CLF.score(printed, ctx(hint)), 0.95)
    assert_reported(CLF.score(printed, ctx("national_id")), 0.95)


@pytest.mark.parametrize(("printed", "hint"), [
    ("1 84 12 76 451 089 46", "nir"),  # the carte Vitale: 21 characters
    ("2 53 07 2B 073 004 70", "numero_secu"),  # Corsica (2A/2B department)
    ("131052A308T", "hetu"),  # born in the 2000s: the century sign is a letter
    ("19880320-0016", "personnummer"),  # twelve digits with the century
    ("85.07.30-033.28", "insz"),
    ("750330 5044 08 9", "rsa_id_number"),
])
def test_spaced_and_lettered_printed_forms(printed: str, hint: str) -> None:
    assert len(printed) <= _MAX_CHARS
    assert_reported(CLF.score(printed, ctx(hint)), 0.95)


@pytest.mark.parametrize(("printed", "hint"), [
    ("1 84 12 76 451 089 47", "nir"),  # check digits fail
    ("1 84 12 76 451 089 46", "order_ref"),  # valid, but a NIR needs a hint
    ("1 84 12 76 451 089 46 7", "nir"),  # a digit too many
])
def test_printed_forms_that_fail_stay_quiet(printed: str, hint: str) -> None:
    assert_not_reported(CLF.score(printed, ctx(hint)))


def test_the_hand_written_printed_forms_fit_the_bound() -> None:
    for printed, hint in [("AB 12 34 56 C", "nino"), ("X-1234567-L", "nie"),
                          ("12345678-Z", "dni"), ("RSSMRA80A01H501U", "codice_fiscale"),
                          ("2345 6789 0124", "aadhaar"), ("111.444.777-35", "cpf"),
                          ("130-692-544", "sin")]:
        assert len(printed) <= _MAX_CHARS
        assert_reported(CLF.score(printed, ctx(hint)), 0.9)


def _near_misses(number: str) -> list[str]:
    """`number` in the forms and damages the shape tests before python-stdnum see."""
    rng = random.Random(number)
    out = [number, number.lower(), f" {number}\n", number[:-1], number + "0", number[1:],
           "-".join((number[:6], number[6:])), " ".join((number[:4], number[4:])),
           number.replace(number[3], "`", 1), number[:9] + "_" + number[9:],
           "9999 WASHINGTON BLVD", "LEVOTHYROXINE 99MCG", "9999WASHINGTONBLVD"]
    for _ in range(300):
        chars = list(number)
        for _ in range(rng.randint(1, 3)):
            chars[rng.randrange(len(chars))] = rng.choice("0123456789AXZHM -`_")
        out.append("".join(chars))
    return out


@pytest.mark.parametrize("module", ["cn.ric", "mx.curp"])
def test_shape_tests_before_stdnum_keep_its_answers(module: str) -> None:
    # The CN and MX checks reject values of the wrong format before python-stdnum is
    # imported; what they accept and reject stays python-stdnum's (the CN check's own
    # rule, a province and no district table, as it reads once stdnum is imported).
    from stdnum.mx import curp

    reference = _stdnum_ids._cn_ric_checked if module == "cn.ric" else curp.is_valid
    check = _stdnum_ids._validator(module)
    values = _near_misses(STDNUM_EXAMPLES[module][0])
    assert [check(v) for v in values] == [bool(reference(v)) for v in values]
    assert 1 < sum(map(check, values)) < len(values) - 100
