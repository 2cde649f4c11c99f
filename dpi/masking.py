"""The only code that makes an inventory `sample` (spec/inventory.md, "sample: never a leak").

The sample shows the shape of a value, never the value: letters and digits become `*`,
punctuation stays. Trailing characters are kept only where the industry shows them on
receipts and screens (`TAIL_TYPES`: card, bank and identity numbers, phones), and for an
e-mail address only the top-level label of its domain (`****@*******.com`). How many
trailing characters stay depends on the value's length, so that short values are not
half revealed:

- 8 or more letters and digits: the last 4 characters stay (PCI DSS 3.4 allows the
  last four digits of a PAN);
- 6 or 7: the last 2;
- fewer: nothing.

Every other type (names, addresses, dates of birth, diagnoses, free text, IP addresses,
and any value whose type is not given) shows no letter or digit at all: a surname's last
letters or a birthday's month and day identify. SECRET values, and card verification
codes and track data (PCI DSS 3.3.1: never stored after authorization), show no
character at all. Samples are cut to `MAX_SAMPLE_CHARS` so that a long free-text field
cannot carry context around a finding.
"""

from __future__ import annotations

MAX_SAMPLE_CHARS = 64
SECRET_SAMPLE = "********"
# Types whose sample hides every character, beyond the SECRET category.
FULLY_HIDDEN_TYPES = frozenset({"CARD_CVV", "CARD_TRACK_DATA"})
# The spec's list of types whose last characters may stay visible.
TAIL_TYPES = frozenset(
    {
        "CARD_NUMBER",
        "IBAN",
        "BANK_ACCOUNT",
        "PHONE_NUMBER",
        "US_SSN",
        "NATIONAL_ID",
        "PASSPORT_NUMBER",
        "DRIVER_LICENSE",
        "HEALTH_PLAN_ID",
        "MEDICAL_RECORD_NUMBER",
    }
)
# A top-level domain label longer than this is not a TLD (the longest in use are ~24).
_MAX_TLD = 24


def _kept_tail(alnum_count: int) -> int:
    if alnum_count >= 8:
        return 4
    if alnum_count >= 6:
        return 2
    return 0


def _shape(text: str) -> str:
    """Letters and digits to `*`; whitespace and control characters to spaces, so that
    a sample stays on one CSV line and one log line."""
    return "".join(
        "*" if ch.isalnum() else (" " if ch.isspace() or not ch.isprintable() else ch)
        for ch in text
    )


def _email_tail(value: str) -> int:
    """How many trailing characters of an e-mail address are its top-level label."""
    at = value.rfind("@")
    dot = value.rfind(".")
    if at < 0 or dot < at:
        return 0
    label = value[dot + 1 :]
    if 2 <= len(label) <= _MAX_TLD and label.isascii() and label.isalpha():
        return len(label)
    return 0


def mask(value: str, category: str = "", data_type: str = "") -> str:
    """Masked sample of `value` (already cut to the sensitive span by the caller)."""
    if category == "SECRET" or data_type in FULLY_HIDDEN_TYPES:
        return SECRET_SAMPLE
    value = value.strip()
    if len(value) > MAX_SAMPLE_CHARS:
        # Keep the tail (where the visible characters are) and mark the cut.
        value = value[-MAX_SAMPLE_CHARS:]
        prefix = "…"
    else:
        prefix = ""
    if data_type in TAIL_TYPES:
        keep = _kept_tail(sum(ch.isalnum() for ch in value))
    elif data_type == "EMAIL_ADDRESS":
        keep = _email_tail(value)
    else:
        keep = 0
    head, tail = (value[:-keep], value[-keep:]) if keep else (value, "")
    tail = "".join(" " if ch.isspace() or not ch.isprintable() else ch for ch in tail)
    return prefix + _shape(head) + tail
