"""BANK_ACCOUNT: ABA routing numbers (checksum) and account numbers, only with a hint."""

from __future__ import annotations

import pytest

from classifiers.base import FieldContext
from classifiers.pii.bank_account import BankAccountClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = BankAccountClassifier()


POSITIVES = [
    ("011000015", ctx("routing_number"), 0.9),  # a Federal Reserve routing number
    ("021000021", ctx("aba"), 0.9),
    ("12345678901", ctx("bank_account_number"), 0.6),
    ("000123456789", ctx("accountNumber", ("routingNumber",)), 0.6),
    ("1234-5678-90", ctx("bank.account.number"), 0.6),
    ("40-12-76", ctx("sort_code"), 0.6),
    ("31926819", ctx("acct_no", ("bank_name",)), 0.6),
]

NEGATIVES = [
    ("011000016", ctx("routing_number")),  # checksum fails
    ("011000015", ctx("id")),  # routing numbers only with hint
    # The checksum passes, but the prefix is outside the Federal Reserve ranges.
    ("991000012", ctx("routing_number")),
    ("12345678901", ctx("account_id")),  # SaaS account id: no bank context
    ("12345678901", ctx("amount")),
    ("DE89370400440532013000", ctx("bank_account")),  # an IBAN, not this type
    ("ACC-00042", ctx("bank_account")),
    ("123", ctx("bank_account_number")),  # too short
    ("40-12-76", ctx("code")),
]


@pytest.mark.parametrize(("value", "context", "minimum"), POSITIVES)
def test_hinted_account_is_found(value: str, context: FieldContext, minimum: float) -> None:
    assert_reported(CLF.score(value, context), minimum)


@pytest.mark.parametrize(("value", "context"), NEGATIVES)
def test_near_miss_is_not_reported(value: str, context: FieldContext) -> None:
    assert_not_reported(CLF.score(value, context))


def test_routing_checksum_marks_validated() -> None:
    found = CLF.score("011000015", ctx("routing_number"))
    assert found is not None and found.validated


@pytest.mark.parametrize(("value", "context", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, context: FieldContext, minimum: float) -> None:
    assert_reason_hides(CLF.score(value, context), value)
