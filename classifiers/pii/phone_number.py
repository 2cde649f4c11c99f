"""PHONE_NUMBER: telephone numbers of any country, validated with `phonenumbers`.

Standard: ITU-T E.164 (country code + national number, at most 15 digits) and each
country's numbering plan as published in libphonenumber's metadata, which `phonenumbers`
ports. A number counts only when `phonenumbers.is_valid_number` accepts it: phone-shaped
digits that no numbering plan allows (`+1 555 012 3456`, unknown country codes) are
negatives. `_phone_fast.py` reads and validates numbers as `phonenumbers` does, with its
metadata, at a fraction of its cost; the two are the only modules that import
`phonenumbers` (docs/architecture.md).

- `+<cc> ...` or `00<cc> ...`: parsed without a region; valid -> reported with or
  without a field-name hint.
- national forms (`(201) 555-0123`, `07400 123456`) carry no country: tried against a
  short list of likely regions, and only when the field name hints a phone, except the
  parenthesised NANP form, distinctive enough to stand alone at a modest confidence.

- bare national mobile numbers without a hint (a mobile number used as the account
  name, `login=13812345678`): only in the shapes a random id rarely has, a Chinese
  mobile (11 digits, `1[3-9]`) or a national-prefix mobile of a region whose mobiles
  start with `0` (`07700 900123`, `0612345678`), and only when `phonenumbers` says it is
  a MOBILE of that region. Weak evidence (the inventory reports a field only after
  several such values); a little stronger in a field named like an account identifier
  (`login`, `account`, `username`, `uid`), where India's ten-digit mobiles count too.

- an organisation's number (`merchant.tel`, a `tel` beside `shopName` with no person
  field, `_organisations.py`): a landline is the organisation's, not a person's, and
  is no finding; a mobile there still is one (a sole trader's own phone).
- a national mobile under an identifier-like key (`productNo`, `ProductNbr`,
  `serviceNumber`) that names no other thing (`orderNo`, `operatorNo`): the
  subscriber's number, a little weaker than an account field; an account field also
  holds the international number without `+` (an MSISDN: `447911123456`), weak
  evidence that the field's other values must repeat.

Not covered: numbers inside free text (too many digit runs in prose), vanity letters
(`1-800-FLOWERS`), extensions beyond what `phonenumbers` parses, short codes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, NamedTuple

from phonenumbers import PhoneNumberType

from classifiers._hints import last_segment
from classifiers._organisations import RECORD_WORDS, organisation_record
from classifiers.base import (
    BLANK,
    DIGIT,
    EXT,
    Category,
    Classifier,
    FieldContext,
    Finding,
    Scorer,
    ValueGate,
    bound_scorer,
)
from classifiers.pii._phone_fast import is_valid, number_kind, read_number

# E.164: at most 15 digits; the shortest valid national numbers have 5-7 digits, but
# below 7 digit runs are ids and counters far more often than phones.
_MIN_DIGITS = 7
_MAX_DIGITS = 15
# Characters a written phone number uses: digits, separators, `+`, and `x`/`ext` for an
# extension. Anything else (letters, `:`, `,`, `$`) means it is something else.
_PHONE_CHARS = re.compile(r"\+?[0-9 ().\-/]+(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?", re.IGNORECASE)
_NO_DIGITS = str.maketrans("", "", "0123456789")
# Shapes that are dates or times however valid the digits might look.
_DATE_LIKE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")
# `(201) 555-0123`: North American display form, rare for anything but a phone.
_NANP_DISPLAY = re.compile(r"\(\d{3}\) ?\d{3}-\d{4}")
# NANP layouts (`(201) 555-0123`, `201-555-0123`, `201.555.0123`): a value written this
# way is judged as a North American number only. Tried against every likely region, ten
# digits are valid somewhere far too often (`123-456-7890`, `(555) 555-5555` pass in
# some numbering plan), and placeholders are exactly what test fixtures hold.
_NANP_LAYOUT = re.compile(r"(?:\+?1[ .-]?)?(?:\(\d{3}\) ?|\d{3}-)\d{3}-\d{4}|\d{3}\.\d{3}\.\d{4}")
# Regions tried for a hinted national number without a country code: the most common
# in API traffic. The first one that validates wins.
_REGIONS = ("US", "GB", "DE", "FR", "IN", "BR", "JP", "CN", "AU", "ES", "IT", "NL", "CA", "MX")
# Bare-digit national mobiles judged without a hint: (region, shape). The shapes are the
# regions' mobile ranges at their coarsest; `phonenumbers` decides the rest.
_MOBILE_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("CN", re.compile(r"1[3-9][0-9]{9}")),
    ("GB", re.compile(r"07[0-9]{9}")),
    ("DE", re.compile(r"01[5-7][0-9]{7,9}")),
    ("FR", re.compile(r"0[67][0-9]{8}")),
    ("NL", re.compile(r"06[0-9]{8}")),
    ("AU", re.compile(r"04[0-9]{8}")),
    ("JP", re.compile(r"0[789]0[0-9]{8}")),
)
# Only in account-identifier fields: ten digits starting 6-9 are a large share of all
# ten-digit numbers, so an Indian mobile needs the field to say "this is a login".
_MOBILE_SHAPES_IN_IDS = (*_MOBILE_SHAPES, ("IN", re.compile(r"[6-9][0-9]{9}")))
_MOBILE_LENGTHS = range(10, 13)
# An MSISDN written without `+`: country code and national number, E.164's 15 at most.
_MSISDN_LENGTHS = range(10, 16)
# Field-name tokens of account identifiers, where a mobile number is often the login.
# An `id` token among them (`userId`, `account_id`) makes it a numeric key instead.
_ACCOUNT_TOKENS = frozenset({"account", "login", "user", "username", "principal",
                             "subscriber", "uname", "loginname", "acct"})
# Field-name tokens of identifiers a subscriber is known by (`productNo`, `ProductNbr`,
# `serviceNumber`): a national mobile there is the account's number. Weaker than a phone
# hint, yet reported on one value.
# The word must end the name (`productNo`, not `numberOfItems`); `num` is left out, it
# counts more often than it names (`gc_num`, `num_retries`).
_IDENTIFIER_TOKENS = frozenset({"no", "nbr", "number", "nr"})
# Qualifiers that say the identifier is something else's: a mobile-shaped number in an
# `orderNo` is chance, and is only reported when most of the field's values are mobiles
# (the no-hint rung).
_OTHER_IDENTIFIERS = frozenset(
    {"order", "invoice", "bill", "trade", "transaction", "trans", "txn", "serial", "batch",
     "contract", "operator", "merchant", "card", "ticket", "tracking", "reference", "ref",
     "seq", "sequence", "request", "trace", "device", "imei", "imsi", "iccid", "sim",
     "version", "build", "page", "item", "sku", "shop", "store", "terminal", "pos", "cert",
     "license", "passport", "tax", "bank", "voucher", "coupon", "policy", "case", "claim",
     "shipment", "parcel", "package", "receipt", "id", "code", "check", "verify", "auth",
     "count", "amount", "total", "index", "port", "pin", "otp"})
# Character classes `_PHONE_CHARS` allows (the letters of `x`/`ext` included), plus the
# whitespace `strip` removes.
_PHONE_CLASSES = BLANK | {DIGIT, EXT, "(", ")", ".", "-", "/", "+"}


class _Field(NamedTuple):
    """What a field's context says to PHONE_NUMBER: a phone hint, an organisation's
    record, an account field, an identifier of the subscriber (`productNo`)."""

    hinted: bool
    organisation: bool
    account: bool
    identifier: bool


class PhoneNumberClassifier(Classifier):
    data_type: ClassVar[str] = "PHONE_NUMBER"
    category: ClassVar[Category] = Category.PII
    # Sibling tokens asked about: an organisation's record (`organisation_record`).
    context_words: ClassVar[frozenset[str] | None] = RECORD_WORDS
    gate_reads_server: ClassVar[bool] = False
    hints: ClassVar[frozenset[str]] = frozenset({"phone", "fax", "mobile", "contact", "sms"})
    min_len: ClassVar[int] = _MIN_DIGITS
    # Longest plausible written form: 15 digits, separators and an extension.
    max_len: ClassVar[int] = 32
    # Validated by the numbering plans, but many digit strings happen to be valid.
    min_share: ClassVar[float] = 0.3
    # Without a hint, bare digits are a phone only as a national mobile of 10-12
    # digits (see `_mobile`); otherwise a `+`, `(` or separator must be there.
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"hinted": lambda n, classes: DIGIT in classes and classes <= _PHONE_CLASSES,
         "unhinted": lambda n, classes: DIGIT in classes and classes <= _PHONE_CLASSES
         and (classes != {DIGIT} or n in _MOBILE_LENGTHS),
         # An account field also holds international numbers written without `+`.
         "account": lambda n, classes: DIGIT in classes and classes <= _PHONE_CLASSES
         and (classes != {DIGIT} or n in _MSISDN_LENGTHS)}
    )
    # Without a hint, after the whitespace `strip` removes: a `+` or `00` prefix, the
    # NANP display form, or a bare national mobile (a `_MOBILE_SHAPES_IN_IDS` start).
    value_needs: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"unhinted": r"^[\t-\r\x1c-\x20]*(?:\+|00|\([0-9]{3}\) ?[0-9]{3}-[0-9]{4}"
         r"|(?:1[3-9]|0[1-9]|[6-9])[0-9]{8})"}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        if self._hinted(ctx):
            return "hinted"
        return "account" if _account_field(ctx) else "unhinted"

    def _hinted(self, ctx: FieldContext) -> bool:
        # `contact` alone is a weak hint: it also names e-mails and people.
        return self.hinted(ctx) and ctx.name_tokens != frozenset({"contact"})

    def scorer(self, ctx: FieldContext) -> Scorer:
        # What the field's name and neighbours say is asked once per context.
        return bound_scorer(self._judge, self._field(ctx))

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        return self._judge(value, self._field(ctx))

    def _field(self, ctx: FieldContext) -> _Field:
        tokens = ctx.name_tokens
        own = last_segment(ctx.path).lower()
        return _Field(
            hinted=self._hinted(ctx),
            organisation=organisation_record(ctx.path_tokens, ctx.sibling_tokens),
            account=_account_field(ctx),
            identifier=(_OTHER_IDENTIFIERS.isdisjoint(tokens)
                        and any(own.endswith(word) for word in tokens & _IDENTIFIER_TOKENS)),
        )

    def _judge(self, value: str, field: _Field) -> Finding | None:
        """`score` with what the context says (`_field`)."""
        hinted = field.hinted
        value = value.strip()
        if not _MIN_DIGITS <= len(value) <= self.max_len:
            return None
        first = value[0]
        if not (first.isdigit() or first in "+("):
            return None
        # The character test first: one regex call rules out most values.
        if _PHONE_CHARS.fullmatch(value) is None:
            return None
        # `_PHONE_CHARS` allows no digits but ASCII ones: the others can be counted as
        # what deleting 0-9 takes away.
        digits = len(value) - len(value.translate(_NO_DIGITS))
        if not _MIN_DIGITS <= digits <= _MAX_DIGITS + 6:  # +6: room for an extension
            return None
        # Each branch of `_DATE_LIKE` holds two of `-/.`: with fewer there is no date,
        # told by three counts instead of a search at every position.
        if (value.count("-") + value.count("/") + value.count(".") >= 2
                and _DATE_LIKE.search(value)):
            return None
        # `00` is the international prefix only in a written number: a bare run of digits
        # starting with zeros is an account or reference number far more often.
        dialled = value.startswith("00") and (hinted or not value.isdigit())
        if first == "+" or dialled:
            international = "+" + value[2:] if first == "0" else value
            if not self._valid(international, None):
                return None
            if field.organisation and not _mobile_in(international, None):
                return None  # an organisation's landline, as below
            if hinted:
                return self.finding(0.97, "E.164 number valid, field name hint", validated=True)
            return self.finding(0.85, "E.164 number valid", validated=True)
        if hinted:
            regions = ("US",) if _NANP_LAYOUT.fullmatch(value) else _REGIONS
            for region in regions:
                if self._valid(value, region):
                    if field.organisation and not _mobile_in(value, region):
                        # A shop's or company's landline: organisations are not people.
                        return None
                    return self.finding(
                        0.92,
                        "national number valid in a likely region, field name hint",
                        validated=True,
                    )
            return None
        if _NANP_DISPLAY.fullmatch(value) and self._valid(value, "US"):
            return self.finding(0.6, "NANP display format valid", validated=True)
        if value.isdigit() and len(value) in _MOBILE_LENGTHS:
            found = self._mobile(value, field)
            if found is not None:
                return found
        if value.isdigit() and len(value) in _MSISDN_LENGTHS and field.account:
            return self._msisdn(value)
        return None

    def _msisdn(self, value: str) -> Finding | None:
        """An account named by its MSISDN: the international number without `+`
        (`447911123456`), a MOBILE of the country its code names. Weak: a random account
        number is a valid mobile somewhere now and then, so the field's other values
        decide (the inventory wants several, and a share of the field)."""
        number = read_number("+" + value, None)
        # A MOBILE number is a valid one (`number_type` is UNKNOWN for invalid numbers).
        if number is not None and number_kind(*number) == PhoneNumberType.MOBILE:
            return self.finding(0.55, "international mobile number without +, account field",
                                validated=True)
        return None

    def _mobile(self, value: str, field: _Field) -> Finding | None:
        """A bare national mobile number in a field whose name does not say phone."""
        account = field.account
        for region, shape in _MOBILE_SHAPES_IN_IDS if account else _MOBILE_SHAPES:
            if shape.fullmatch(value) is None:
                continue
            number = read_number(value, region)
            if number is not None and number_kind(*number) == PhoneNumberType.MOBILE:
                if account:
                    return self.finding(0.7, "national mobile number valid, account field",
                                        validated=True)
                if field.identifier:
                    return self.finding(0.65, "national mobile number valid, identifier field",
                                        validated=True)
                return self.finding(0.55, "national mobile number valid, no hint",
                                    validated=True)
        return None

    @staticmethod
    def _valid(text: str, region: str | None) -> bool:
        number = read_number(text, region)
        return number is not None and is_valid(*number)


def _mobile_in(text: str, region: str | None) -> bool:
    """`text` is a MOBILE number of `region` (FIXED_LINE_OR_MOBILE counts: NANP numbers
    do not tell)."""
    number = read_number(text, region)
    return number is not None and number_kind(*number) in (
        PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _account_field(ctx: FieldContext) -> bool:
    """A field named like an account identifier (not a numeric `id`), or a key or login."""
    tokens = ctx.name_tokens
    return (not _ACCOUNT_TOKENS.isdisjoint(tokens) and "id" not in tokens) or (
        ctx.location in ("key", "auth"))
