"""API_KEY: API keys and access keys, by their providers' published formats, and
high-entropy values of fields named for API keys.

Known formats (prefix, alphabet, length as the providers document them):
- AWS access key id: `AKIA` (long-term) or `ASIA` (STS temporary) + 16 upper-case
  letters and digits (AWS IAM user guide, "Understanding unique ID prefixes"). Other
  AWS prefixes (AIDA, AROA...) are user and role ids, not secrets.
- AWS secret access key: 40 base64 characters; no prefix, so only with a hint.
- Stripe secret and restricted keys: `sk_live_`, `sk_test_`, `rk_live_`, `rk_test_`
  (publishable `pk_` keys are public by design and not reported).
- GitHub tokens: `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` + 36, `github_pat_` + 22..255.
- Slack tokens: `xoxa-`, `xoxb-`, `xoxp-`, `xoxr-`.
- Google API keys: `AIza` + 35 URL-safe base64 characters.
- OpenAI keys: `sk-`, `sk-proj-`, `sk-svcacct-`, `sk-admin-`; the legacy form carries
  `T3BlbkFJ` (base64 of "OpenAI") in the middle, which makes it certain.
- SendGrid: `SG.` + 22 + `.` + 43. Twilio API key SIDs: `SK` + 32 lower-case hex.

Known formats are searched inside the value (a key in a log line), and the span covers
the key only. Everything else needs the field name: `api_key`, `apikey`, `x-api-key`,
`access_key`, `secret_key`, `subscription_key`, `api_token`, with a value that looks
random: no whitespace, a digit or mixed case, and Shannon entropy of at least
`GENERIC_ENTROPY` bits per character (see `_entropy.py` for the reference points:
random hex is 3.4-4, base64 4-4.6, word placeholders below 3.4 and rejected anyway for
having neither digits nor mixed case).

Not covered: keys of other providers without a hint, keys split across fields, private
keys (PRIVATE_KEY) and bearer/session tokens (BEARER_TOKEN).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

from classifiers.base import (
    ANY,
    LETTERS,
    Category,
    Classifier,
    FieldContext,
    Finding,
    ValueGate,
)
from classifiers.secret._entropy import looks_random


@dataclass(frozen=True, slots=True)
class _Format:
    name: str
    # Literal substrings one of which must occur before the regex runs (cheap `in`).
    prefixes: tuple[str, ...]
    regex: re.Pattern[str] = field(repr=False)
    score: float
    # Checked with `looks_random` when the format alone is loose (OpenAI's `sk-`).
    needs_entropy: bool = False


# Boundaries: a key is not glued to other key characters on either side.
_FORMATS: tuple[_Format, ...] = (
    _Format("aws_access_key_id", ("AKIA", "ASIA"),
            re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"), 0.97),
    _Format("stripe_secret_key", ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
            re.compile(r"(?<![A-Za-z0-9_])[sr]k_(?:live|test)_[0-9A-Za-z]{10,247}"
                       r"(?![0-9A-Za-z])"), 0.97),
    _Format("github_token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
            re.compile(r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])"), 0.97),
    _Format("github_fine_grained_pat", ("github_pat_",),
            re.compile(r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,255}(?![A-Za-z0-9_])"),
            0.97),
    _Format("slack_token", ("xoxa-", "xoxb-", "xoxp-", "xoxr-"),
            re.compile(r"(?<![A-Za-z0-9_-])xox[abpr]-[0-9A-Za-z]+(?:-[0-9A-Za-z]+){1,5}"
                       r"(?![0-9A-Za-z-])"), 0.95),
    _Format("google_api_key", ("AIza",),
            re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"), 0.95),
    _Format("openai_api_key_legacy", ("T3BlbkFJ",),
            re.compile(r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{8,80}T3BlbkFJ[A-Za-z0-9_-]{8,80}"
                       r"(?![A-Za-z0-9_-])"), 0.97),
    _Format("openai_api_key", ("sk-",),
            re.compile(r"(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,200}"
                       r"(?![A-Za-z0-9_-])"), 0.85, needs_entropy=True),
    _Format("sendgrid_api_key", ("SG.",),
            re.compile(r"(?<![A-Za-z0-9_-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"
                       r"(?![A-Za-z0-9_-])"), 0.97),
    _Format("twilio_api_key", ("SK",),
            re.compile(r"(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![A-Za-z0-9])"), 0.85),
)
# Every prefix of every format, checked in one flat loop before any regex: most values
# contain none, and a plain `in` per prefix is the cheapest test Python offers.
_ALL_PREFIXES: tuple[str, ...] = tuple(p for fmt in _FORMATS for p in fmt.prefixes)
_SHORTEST_FORMAT = 20  # AWS key id; every other format is longer
# Regex input limit (convention 5): keys in the first 16 KiB of a value are found; a
# longer value (a document) is searched no further.
_MAX_TEXT = 16384

# AWS secret access key: 40 characters of standard base64.
_AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40}")
# Generic key values: one token of URL-safe/base64/hex characters.
_GENERIC = re.compile(r"[A-Za-z0-9_\-+/=.~]+")
_GENERIC_MIN, _GENERIC_MAX = 16, 512
# Shortest value taken as a (weak) key when the parameter name says it is one.
_WEAK_MIN = 6
_TRANSPORT_LOCATIONS = frozenset({"query", "header", "cookie", "metadata"})
# Values that name a key rather than being one (documentation and templates).
_KEY_PLACEHOLDERS = frozenset(
    {"your_api_key", "yourapikey", "api_key", "apikey", "changeme", "undefined", "null",
     "none", "redacted", "xxxxxx", "xxxxxxxx", "<api_key>", "demo_key", "test_key"}
)
# Bits per character; see the module docstring.
GENERIC_ENTROPY = 3.0
# Field-name pairs that name an API key (`api_key`, `access_key`, `secret_key`...).
_KEY_QUALIFIERS = frozenset({"api", "access", "secret", "subscription", "client", "app",
                             "application", "developer", "license", "master", "service",
                             # Vendor names: `stripe_key`, `sendgridKey`, `openai_key`.
                             "stripe", "sendgrid", "openai", "twilio", "mailgun", "github",
                             "slack", "aws", "google", "mapbox", "algolia", "datadog"})
_METADATA_TOKENS = frozenset({"at", "created", "updated", "expires", "expiry", "date", "time",
                              "name", "type", "enabled", "count", "length", "prefix", "hint",
                              "url", "last4", "status", "label", "description", "scope"})


class ApiKeyClassifier(Classifier):
    data_type = "API_KEY"
    category = Category.SECRET
    # Reads no sibling or object-key tokens.
    context_words = frozenset()
    gate_reads_server = False
    hints = frozenset({"api", "key", "apikey"})
    # Known formats and random keys are 16+; a named key parameter may be shorter.
    min_len = _WEAK_MIN
    max_len = 1 << 20
    # A known format is unambiguous: one value is enough.
    min_share = 0.05

    AWS_SECRET_HINTED: ClassVar[float] = 0.95
    GENERIC_HINTED: ClassVar[float] = 0.8
    HINT_BOOST: ClassVar[float] = 0.02
    # Outside a key field only the known formats count: each has letters in its prefix
    # and is at least _SHORTEST_FORMAT long.
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {ANY: lambda n, classes: True,
         "formats": lambda n, classes: n >= _SHORTEST_FORMAT and not classes.isdisjoint(LETTERS)}
    )
    # Outside a key field: one of the known formats' prefixes.
    value_needs: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"formats": "|".join(re.escape(p) for p in _ALL_PREFIXES)}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        names = ctx.name_tokens
        if _METADATA_TOKENS.isdisjoint(names) and (
            self._aws_secret(ctx) or self._key_hint(names)
        ):
            return ANY
        return "formats"

    @staticmethod
    def _aws_secret(ctx: FieldContext) -> bool:
        names = ctx.name_tokens
        return "secret" in names and (
            "aws" in names or "aws" in ctx.path_tokens or {"access", "key"} <= names
        )

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        n = len(value)
        if n < _GENERIC_MIN:
            if n >= _WEAK_MIN and ctx.location in _TRANSPORT_LOCATIONS:
                return self._hinted(value.strip(), ctx)
            return None
        if n >= _SHORTEST_FORMAT:
            found = self._known_format(value[:_MAX_TEXT], ctx)
            if found is not None:
                return found
        if n > _GENERIC_MAX + 2:
            return None
        return self._hinted(value.strip(), ctx)

    def _known_format(self, text: str, ctx: FieldContext) -> Finding | None:
        for prefix in _ALL_PREFIXES:
            if prefix in text:
                break
        else:
            return None
        for fmt in _FORMATS:
            if not any(p in text for p in fmt.prefixes):
                continue
            for m in fmt.regex.finditer(text):
                if fmt.needs_entropy and not looks_random(m.group(0)[3:], GENERIC_ENTROPY):
                    continue
                confidence = fmt.score
                if self._key_hint(ctx.name_tokens):
                    confidence += self.HINT_BOOST
                return self.finding(confidence, f"known format: {fmt.name}", m.span())
        return None

    def _hinted(self, text: str, ctx: FieldContext) -> Finding | None:
        names = ctx.name_tokens
        if not _METADATA_TOKENS.isdisjoint(names):
            return None
        if self._aws_secret(ctx) and _AWS_SECRET.fullmatch(text):
            return self.finding(self.AWS_SECRET_HINTED,
                                "known format: aws_secret_access_key, field name hint")
        if not self._key_hint(names):
            return None
        if not _WEAK_MIN <= len(text) <= _GENERIC_MAX or _GENERIC.fullmatch(text) is None:
            return None
        if len(text) >= _GENERIC_MIN and looks_random(text, GENERIC_ENTROPY):
            return self.finding(self.GENERIC_HINTED, "field name hint, high entropy value")
        if ctx.location in _TRANSPORT_LOCATIONS and text.lower() not in _KEY_PLACEHOLDERS:
            # A parameter or header named as an API key carries one, weak or not: a key
            # sent in a URL or header is exposed whatever its strength (e.g. `apiKey=`
            # in a query string ends up in every proxy and server log).
            return self.finding(self.WEAK_HINTED, "field name hint, low entropy value")
        return None

    WEAK_HINTED: ClassVar[float] = 0.7

    def hinted(self, ctx: FieldContext) -> bool:
        # `hints` lists tokens; an API key needs a pair of them (`api`+`key`), not one.
        return self._key_hint(ctx.name_tokens)

    @staticmethod
    def _key_hint(names: frozenset[str]) -> bool:
        if "apikey" in names or {"api", "key"} <= names:
            return True
        if "api" in names and ("token" in names or "secret" in names):
            return True
        return "key" in names and not _KEY_QUALIFIERS.isdisjoint(names)
