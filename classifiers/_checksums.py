"""Check-digit algorithms shared by several classifiers.

- Luhn (ISO/IEC 7812-1 annex B): payment cards, NPI (with the 80840 prefix), IMEI.
- ISO 7064 mod 97-10 (ISO 13616): IBAN.
- ABA routing number weights 3-7-1 (ABA / Federal Reserve).
- DEA registration check digit (21 CFR 1301; the published 1-3-5 + 2x(2-4-6) rule).

Written by hand: each is a few lines, and the packages that offer them (python-stdnum)
bring hundreds of formats and a different error style we would wrap anyway.
"""

from __future__ import annotations


def digits_only(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def luhn_valid(number: str) -> bool:
    """`number` is digits only."""
    if not number or not number.isdigit():
        return False
    total = 0
    parity = len(number) % 2
    for i, ch in enumerate(number):
        d = ord(ch) - 48
        if i % 2 == parity:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10..35, mod 97 == 1."""
    compact = iban.replace(" ", "").upper()
    if len(compact) < 15 or len(compact) > 34 or not compact.isalnum():
        return False
    if not (compact[:2].isalpha() and compact[2:4].isdigit()):
        return False
    rearranged = compact[4:] + compact[:4]
    remainder = 0
    for ch in rearranged:
        if ch.isdigit():
            remainder = (remainder * 10 + ord(ch) - 48) % 97
        elif "A" <= ch <= "Z":
            remainder = (remainder * 100 + ord(ch) - 55) % 97
        else:
            return False
    return remainder == 1


def aba_routing_valid(number: str) -> bool:
    """Nine digits, weights 3,7,1 repeated, sum divisible by 10."""
    if len(number) != 9 or not number.isdigit():
        return False
    weights = (3, 7, 1) * 3
    return sum(w * (ord(c) - 48) for w, c in zip(weights, number)) % 10 == 0


def npi_valid(number: str) -> bool:
    """Ten digits; Luhn over the card-issuer prefix 80840 followed by the NPI."""
    if len(number) != 10 or not number.isdigit() or number[0] not in "12":
        return False
    return luhn_valid("80840" + number)


def dea_valid(registration: str) -> bool:
    """Two letters then seven digits; the last digit is the units digit of
    (d1 + d3 + d5) + 2 * (d2 + d4 + d6)."""
    if len(registration) != 9:
        return False
    letters, digits = registration[:2].upper(), registration[2:]
    if not (letters.isalpha() and digits.isdigit()):
        return False
    # First letter: registrant type (A, B, F, G, M, P, R and X for narcotic treatment).
    if letters[0] not in "ABCDEFGHJKLMPRSTUX":
        return False
    d = [ord(c) - 48 for c in digits]
    check = (d[0] + d[2] + d[4]) + 2 * (d[1] + d[3] + d[5])
    return check % 10 == d[6]
