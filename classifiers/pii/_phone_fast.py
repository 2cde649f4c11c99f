"""Reading and validating phone numbers the way `phonenumbers` does, at a fraction of its
cost, for PHONE_NUMBER (`phone_number.py`).

Hand-written because `phonenumbers` offers no cheaper route to its own answers.
`phonenumbers.parse` first runs its generic text stage (RFC 3966 `tel:` forms, extension
labels, vanity letters, full-width digits) whatever the input; `is_valid_number` and
`number_type` take a `PhoneNumber` and find its region again by trying the regions of
its country code one after the other (25 for `+1`), each against every number type,
looking every pattern up in `re`'s cache on every call. Nothing in its API compiles a
region's patterns once or reads a plain written number without the text stage.

This module keeps `phonenumbers`' decisions and its data, and changes only how often
work is done:

- `read_number(text, region)` follows `parse` step by step for the plain shapes (ASCII digits,
  spaces, dots, dashes and brackets, a single `+` first for an international number):
  there the text stage leaves only the digits, so it starts at the country code and
  the national prefix, read from the region's `PhoneMetadata`. The rarer steps (an
  international dialling prefix, the region's country code written at the start, a
  national prefix with a transform rule) and every other shape go to `phonenumbers.parse`.
- `number_kind` and `is_valid` judge a (country code, national significant number) pair
  with each region's own national-number patterns and possible lengths, each compiled
  once, when first needed; the regions of a shared country code whose leading digits
  decide are tried as one alternation.

`tests/classifiers/test_phone_fast.py` compares both with `phonenumbers` on every
region's example numbers in several layouts, random digit strings and near misses.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberType

# `parse`'s limits: national significant numbers of 2 to 17 digits, country codes of at
# most 3 digits.
_MIN_NSN = 2
_MAX_NSN = 17
_MAX_CC_DIGITS = 3
_MAX_INPUT = 250
# The plain shapes: whatever `parse`'s text stage would do with them, only the digits
# and a leading `+` remain (no letters, extension labels, `;`, `#`, `/` or non-ASCII
# digits).
_INTERNATIONAL = re.compile(r"\+[0-9 ().\-]*")
_NATIONAL = re.compile(r"[0-9 ().\-]*")
_NON_GEO = "001"

# Number types in the order `phonenumbers`' `_number_type_helper` tries them, before the
# fixed-line and mobile tests.
_SPECIAL_TYPES = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


class _Desc:
    """A `PhoneNumberDesc`: its possible lengths (empty: any) and pattern (empty:
    matches nothing, as `phonenumbers` treats it), compiled when first needed (a
    region's rarer number types seldom are)."""

    __slots__ = ("_compiled", "lengths", "source")

    def __init__(self, lengths: frozenset[int], source: str) -> None:
        self.lengths = lengths
        self.source = source
        self._compiled: re.Pattern[str] | None = None

    def fullmatch(self, nsn: str) -> bool:
        if not self.source:
            return False
        pattern = self._compiled
        if pattern is None:
            pattern = self._compiled = re.compile(self.source)
        return pattern.fullmatch(nsn) is not None

    def matches(self, nsn: str) -> bool:
        """`phonenumbers`' `_is_number_matching_desc`."""
        if self.lengths and len(nsn) not in self.lengths:
            return False
        return self.fullmatch(nsn)


def _desc(desc: object) -> _Desc | None:
    if desc is None:
        return None
    return _Desc(frozenset(getattr(desc, "possible_length", ())),
                 getattr(desc, "national_number_pattern", None) or "")


class _Region:
    """One region's (or non-geographic country code's) metadata, compiled."""

    def __init__(self, metadata: PhoneMetadata) -> None:
        self.metadata = metadata
        self.country_code: int = metadata.country_code or 0
        self.general = _desc(metadata.general_desc)
        self.specials = tuple((d, kind) for d, kind in (
            (_desc(getattr(metadata, name)), kind) for name, kind in _SPECIAL_TYPES)
            if d is not None)
        self.fixed_line = _desc(metadata.fixed_line)
        self.mobile = _desc(metadata.mobile)
        self.same_mobile_and_fixed_line = bool(metadata.same_mobile_and_fixed_line_pattern)
        leading = metadata.leading_digits
        self.leading_digits = re.compile(leading) if leading is not None else None
        prefix = metadata.national_prefix_for_parsing
        self.national_prefix = re.compile(prefix) if prefix else None
        self.prefix_transform = bool(metadata.national_prefix_transform_rule)
        general = metadata.general_desc
        self.possible_lengths: tuple[int, ...] = (
            tuple(general.possible_length) if general is not None else ())
        self.local_lengths = frozenset(
            general.possible_length_local_only or () if general is not None else ())
        self.idd = (re.compile(metadata.international_prefix)
                    if metadata.international_prefix is not None else None)
        # The number types `kind` can answer: a mobile pattern equal to the fixed-line
        # one is not tried on its own.
        mobile = () if self.same_mobile_and_fixed_line else (self.mobile,)
        self._types = tuple(desc for desc in (self.fixed_line, *mobile, *(
            d for d, _ in self.specials)) if desc is not None)
        self._types_of_length: dict[int, tuple[_Desc, ...]] = {}

    def kind(self, nsn: str) -> int:
        """`phonenumbers`' `_number_type_helper`."""
        if self.general is None or not self.general.matches(nsn):
            return PhoneNumberType.UNKNOWN
        for desc, kind in self.specials:
            if desc.matches(nsn):
                return kind
        same = self.same_mobile_and_fixed_line
        if self.fixed_line is not None and self.fixed_line.matches(nsn):
            if same or (self.mobile is not None and self.mobile.matches(nsn)):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not same and self.mobile is not None and self.mobile.matches(nsn):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN

    def valid(self, nsn: str) -> bool:
        """`kind(nsn) != UNKNOWN`: the general pattern and some number type's, tried
        most common first (the order decides the type, not the validity)."""
        if self.general is None or not self.general.matches(nsn):
            return False
        n = len(nsn)
        try:
            types = self._types_of_length[n]
        except KeyError:
            types = self._types_of_length[n] = tuple(
                desc for desc in self._types if not desc.lengths or n in desc.lengths)
        for desc in types:
            if desc.fullmatch(nsn):
                return True
        return False

    def length_accepts_stripped(self, nsn: str) -> bool:
        """`parse` keeps a number with its national prefix stripped unless
        `_test_number_length` finds it too short, possible only locally or of an
        invalid length (it keeps it when too long)."""
        n = len(nsn)
        if n in self.local_lengths:
            return False
        lengths = self.possible_lengths
        return n == lengths[0] or (n > lengths[0] and (n > lengths[-1] or n in lengths))


class _CountryCode(NamedTuple):
    """The regions of one country code, as `region_code_for_number` tries them."""

    main: _Region  # `parse`'s metadata for the country code (its main region)
    regions: tuple[_Region, ...]
    # The same order as steps: a region without leading digits (tried by validating the
    # number), or a run of regions with leading digits as one alternation whose first
    # matching branch names the region (`_leading_run`).
    steps: tuple[_Region | tuple[re.Pattern[str], dict[str, _Region]], ...]


def _steps(regions: tuple[_Region, ...]) -> tuple[
        _Region | tuple[re.Pattern[str], dict[str, _Region]], ...]:
    steps: list[_Region | tuple[re.Pattern[str], dict[str, _Region]]] = []
    run: list[_Region] = []
    for region in regions:
        if region.leading_digits is None:
            if run:
                steps.append(_leading_run(run))
                run = []
            steps.append(region)
        else:
            run.append(region)
    if run:
        steps.append(_leading_run(run))
    return tuple(steps)


def _leading_run(regions: list[_Region]) -> tuple[re.Pattern[str], dict[str, _Region]]:
    """Regions tried in turn by `leading_digits.match` as one pattern: an alternation
    tries its branches in order, so the branch that matches is the first region whose
    leading digits match (the patterns have no groups of their own: the test checks)."""
    names = {f"r{i}": region for i, region in enumerate(regions)}
    pattern = "|".join(f"(?P<{name}>{region.leading_digits.pattern})"  # type: ignore[union-attr]
                       for name, region in names.items())
    return re.compile(pattern), names


_REGIONS: dict[str, _Region | None] = {}
_COUNTRY_CODES: dict[int, _CountryCode | None] = {}


def _region(region: str) -> _Region | None:
    try:
        return _REGIONS[region]
    except KeyError:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        found = _REGIONS[region] = _Region(metadata) if metadata is not None else None
        return found


def _country_code(cc: int) -> _CountryCode | None:
    try:
        return _COUNTRY_CODES[cc]
    except KeyError:
        pass
    found = None
    names = COUNTRY_CODE_TO_REGION_CODE.get(cc)
    if names:
        if names[0] == _NON_GEO:
            metadata = PhoneMetadata.metadata_for_nongeo_region(cc, None)
            main = _Region(metadata) if metadata is not None else None
            regions: tuple[_Region, ...] = (main,) if main is not None else ()
        else:
            main = _region(names[0])
            # `region_code_for_number` skips regions without metadata.
            regions = tuple(r for r in map(_region, names) if r is not None)
        if main is not None:
            found = _CountryCode(main, regions, _steps(regions))
    _COUNTRY_CODES[cc] = found
    return found


def _region_of(cc: _CountryCode, nsn: str) -> tuple[_Region | None, bool]:
    """`region_code_for_number`'s region, as compiled metadata, and whether it was
    chosen because the number is valid there."""
    if len(cc.regions) == 1:
        return cc.regions[0], False
    for step in cc.steps:
        if isinstance(step, _Region):
            if step.valid(nsn):
                return step, True
        else:
            pattern, names = step
            found = pattern.match(nsn)
            if found is not None:
                return names[found.lastgroup], False  # type: ignore[index]
    return None, False


def number_kind(cc: int, nsn: str) -> int:
    """`phonenumbers.number_type` of the number with country code `cc` and national
    significant number `nsn`."""
    code = _country_code(cc)
    region = _region_of(code, nsn)[0] if code is not None else None
    return region.kind(nsn) if region is not None else PhoneNumberType.UNKNOWN


def is_valid(cc: int, nsn: str) -> bool:
    """`phonenumbers.is_valid_number` of the number."""
    code = _country_code(cc)
    if code is None:
        return False
    region, valid = _region_of(code, nsn)
    return valid or (region is not None and region.valid(nsn))


def read_number(text: str, region: str | None) -> tuple[int, str] | None:
    """What `phonenumbers.parse(text, region)` gives, as (country code, national
    significant number); None where it raises."""
    found = _read_plain(text, region)
    if found is not _PARSE:
        return found  # type: ignore[return-value]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number.country_code or 0, phonenumbers.national_significant_number(number)


_PARSE = object()  # `_read_plain` cannot tell: `phonenumbers.parse` decides


def _digits(text: str) -> str:
    """`text` without the separators of the plain shapes (` ().-`): each `replace` is a
    C scan, cheaper than `translate`'s table lookup per character."""
    return text.replace(" ", "").replace("(", "").replace(")", "").replace(
        ".", "").replace("-", "")


def _read_plain(text: str, region: str | None) -> tuple[int, str] | None | object:
    if len(text) > _MAX_INPUT:
        return _PARSE
    if text[:1] == "+":
        if region is not None or _INTERNATIONAL.fullmatch(text) is None:
            return _PARSE
        digits = _digits(text[1:])
        if len(digits) < 3:
            return _PARSE  # `parse`'s viability rule for 2 digits: left to it
        # `_extract_country_code`: the shortest prefix that is a known country code.
        if digits[0] == "0":
            return None
        for size in range(1, _MAX_CC_DIGITS + 1):
            cc = int(digits[:size])
            if cc in COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return None
        code = _country_code(cc)
        if code is None:
            return _PARSE
        return _national_number(digits[size:], code.main, cc)
    if region is None or _NATIONAL.fullmatch(text) is None:
        return _PARSE
    digits = _digits(text)
    if len(digits) < 3:
        return _PARSE
    if region not in phonenumbers.SUPPORTED_REGIONS:
        return _PARSE
    home = _region(region)
    if home is None or not home.country_code:
        return _PARSE
    if home.idd is not None and home.idd.match(digits):
        return _PARSE  # an international dialling prefix: `parse` decides
    if digits.startswith(str(home.country_code)):
        return _PARSE  # maybe the region's own country code written out: `parse` decides
    return _national_number(digits, home, home.country_code)


def _national_number(number: str, region: _Region, cc: int) -> tuple[int, str] | None | object:
    """The end of `parse`: too short, national prefix, too long; `number` digits only."""
    if len(number) < _MIN_NSN:
        return None
    prefix = region.national_prefix
    if prefix is not None:
        found = prefix.match(number)
        if found is not None:
            if region.prefix_transform or not region.possible_lengths:
                return _PARSE  # a transform rule, or lengths `parse` cannot test
            # `_maybe_strip_national_prefix_carrier_code`: not stripped when the number
            # fits the general pattern with its prefix and not without it; `parse` then
            # keeps the stripped number only when its length is possible.
            stripped = number[found.end():]
            general = region.general
            kept = (general is not None and general.fullmatch(number)
                    and not general.fullmatch(stripped))
            if not kept and region.length_accepts_stripped(stripped):
                number = stripped
    if len(number) > _MAX_NSN:
        return None
    return cc, number
