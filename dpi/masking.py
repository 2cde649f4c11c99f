"""The only code that makes an inventory `sample` (spec/inventory.md, "sample: never a leak").

The sample shows the shape of a value, never the value: every letter and digit except
the last few characters is replaced by `*`, punctuation stays (`***-**-6789`,
`****@*******.com`, `************1111`). How many trailing characters stay depends on
the value's length, so that short values are not half revealed:

- 8 or more letters and digits: the last 4 characters stay (PCI DSS 3.4 allows the
  last four digits of a PAN);
- 6 or 7: the last 2;
- fewer: nothing.

SECRET values, and card verification codes (PCI DSS 3.3.1: never stored after
authorization), show no character at all. Samples are cut to `MAX_SAMPLE_CHARS` so that a
long free-text field cannot carry context around a finding.
"""

from __future__ import annotations

MAX_SAMPLE_CHARS = 64
SECRET_SAMPLE = "********"
# Types whose sample hides every character, beyond the SECRET category.
FULLY_HIDDEN_TYPES = frozenset({"CARD_CVV", "CARD_TRACK_DATA"})


def _kept_tail(alnum_count: int) -> int:
    if alnum_count >= 8:
        return 4
    if alnum_count >= 6:
        return 2
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
    keep = _kept_tail(sum(ch.isalnum() for ch in value))
    head, tail = (value[:-keep], value[-keep:]) if keep else (value, "")
    masked = "".join("*" if ch.isalnum() else ch for ch in head)
    # Whitespace and control characters inside the masked part are shown as spaces so
    # that a sample stays on one CSV line and one log line.
    masked = "".join(" " if ch.isspace() or not ch.isprintable() else ch for ch in masked)
    tail = "".join(" " if ch.isspace() or not ch.isprintable() else ch for ch in tail)
    return prefix + masked + tail
