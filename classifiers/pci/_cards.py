"""Payment card brand ranges (ISO/IEC 7812-1 issuer identification numbers).

The ranges are the brands' published IIN prefixes with the PAN lengths each brand
issues. A number that passes Luhn but starts outside every known range is not reported:
that is what keeps Luhn-valid order numbers and ids (10% of random numbers) quiet.

Not covered: small national schemes (RuPay, Troy, Elo, Verve...), whose ranges overlap
the ones below or change often; a PAN of theirs inside one of these ranges is still found.
"""

from __future__ import annotations

from classifiers._checksums import luhn_valid

# (brand, low prefix, high prefix, allowed lengths). Prefixes are compared as integers
# of the same number of digits as `low`.
_RANGES: tuple[tuple[str, int, int, frozenset[int]], ...] = (
    ("visa", 4, 4, frozenset({13, 16, 19})),
    ("mastercard", 51, 55, frozenset({16})),
    ("mastercard", 2221, 2720, frozenset({16})),
    ("amex", 34, 34, frozenset({15})),
    ("amex", 37, 37, frozenset({15})),
    ("discover", 6011, 6011, frozenset({16, 17, 18, 19})),
    ("discover", 644, 649, frozenset({16, 17, 18, 19})),
    ("discover", 65, 65, frozenset({16, 17, 18, 19})),
    ("jcb", 3528, 3589, frozenset({16, 17, 18, 19})),
    ("diners", 300, 305, frozenset({14, 15, 16, 17, 18, 19})),
    ("diners", 3095, 3095, frozenset({14, 15, 16, 17, 18, 19})),
    ("diners", 36, 36, frozenset({14, 15, 16, 17, 18, 19})),
    ("diners", 38, 39, frozenset({14, 15, 16, 17, 18, 19})),
    ("unionpay", 62, 62, frozenset({16, 17, 18, 19})),
    ("maestro", 5018, 5018, frozenset(range(13, 20))),
    ("maestro", 5020, 5020, frozenset(range(13, 20))),
    ("maestro", 5038, 5038, frozenset(range(13, 20))),
    ("maestro", 5893, 5893, frozenset(range(13, 20))),
    ("maestro", 6304, 6304, frozenset(range(13, 20))),
    ("maestro", 6759, 6759, frozenset(range(13, 20))),
    ("maestro", 6761, 6763, frozenset(range(13, 20))),
    ("mir", 2200, 2204, frozenset({16, 17, 18, 19})),
)

MIN_PAN = 13  # ISO/IEC 7812 allows 8-19; below 13 no brand above issues cards
MAX_PAN = 19


def card_brand(pan: str) -> str | None:
    """Brand whose range and length fit `pan` (digits only), else None."""
    n = len(pan)
    if n < MIN_PAN or n > MAX_PAN:
        return None
    for brand, low, high, lengths in _RANGES:
        if n not in lengths:
            continue
        width = len(str(low))
        prefix = int(pan[:width])
        if low <= prefix <= high:
            return brand
    return None


def pan_valid(pan: str) -> bool:
    """Digits only, a known brand range and length, and Luhn."""
    return pan.isdigit() and card_brand(pan) is not None and luhn_valid(pan)
