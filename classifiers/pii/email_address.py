"""EMAIL_ADDRESS: e-mail addresses in whole values and inside free text.

Standard: the RFC 5322 section 3.4.1 `addr-spec` in its dot-atom form, with RFC 6531
(SMTPUTF8) UTF-8 local parts and internationalised domain names (U-labels or `xn--`
A-labels). The domain must have at least one dot and a top-level label of letters.

Not covered: quoted local parts (`"a b"@host`), comments, address literals
(`user@[192.0.2.1]`), dotless domains (`root@localhost`), display names
(`Jane <jane@host>` finds only the address part).
URL userinfo is not an address: `https://user:pass@host.org/` and a whole-value
authority `user:pass@host.org[:port]` are PASSWORD's (`classifiers/_userinfo.py`).

Reserved example domains (RFC 2606 / RFC 6761: `example.com`, `example.org`,
`example.net`, the `.example`, `.test`, `.invalid` and `.localhost` TLDs) are decided as
the contract's "Test data is data" says: a whole value is reported like any other (a
test environment's login names, Kafka keys and user table are still e-mail data), at a
slightly lower confidence and with the reason saying so; only a mention inside free text
stays under the reporting threshold, since prose mentioning `alice@example.com` is
documentation, not data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._userinfo import whole_authority
from classifiers.base import (
    ANY,
    Category,
    Classifier,
    FieldContext,
    Finding,
    ValueGate,
)

# Atext of RFC 5322 3.2.3 plus any Unicode letter/digit (RFC 6531), less `/`: legal but
# unseen in real addresses, while `dir/user@host.log` paths and `ssh://git@host` URLs
# are everywhere; a `/` right before the local part also rules the match out. A local
# part is at most 64 octets (RFC 5321 4.5.3.1.1) and a domain label at most 63.
_EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    r"(?P<local>[\w!#$%&'*+=?^`{|}~-][\w.!#$%&'*+=?^`{|}~-]{0,63})"
    r"@"
    r"(?P<domain>(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?P<tld>[^\W\d_]{2,63}|xn--[a-z0-9-]{2,59}))"
    r"(?![\w-]|\.[^\W_])"
)
# Top-level labels that are really file extensions (`icon@2x.png`, `a@b.min.js`).
_FILE_TLDS = frozenset(
    {"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "css", "js", "json", "html", "txt"}
)
# RFC 2606 / RFC 6761 reserved names: documentation and testing only.
_EXAMPLE_DOMAINS = frozenset({"example.com", "example.org", "example.net"})
_EXAMPLE_TLDS = frozenset({"example", "test", "invalid", "localhost"})
# Headers holding a URL authority (RFC 3986 3.2), whose `@` is never an e-mail's.
_AUTHORITY_HEADERS = frozenset({"host", ":authority"})
# At most this many candidate `@`s are examined per value: hostile text full of `@`
# must not cost more than a few regex runs.
_MAX_CANDIDATES = 8


class EmailAddressClassifier(Classifier):
    data_type: ClassVar[str] = "EMAIL_ADDRESS"
    category: ClassVar[Category] = Category.PII
    # Reads no sibling or object-key tokens.
    context_words: ClassVar[frozenset[str] | None] = frozenset()
    gate_reads_server: ClassVar[bool] = False
    hints: ClassVar[frozenset[str]] = frozenset({"email", "recipient", "sender", "replyto"})
    # `a@b.cd` is the shortest; free-text fields are searched up to 8 KiB (regex input
    # limit: longer bodies are split into fields by the payload walker anyway).
    min_len: ClassVar[int] = 6
    max_len: ClassVar[int] = 8192
    # Unambiguous: a free-text field carrying an address now and then is worth a row.
    min_share: ClassVar[float] = 0.05
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {ANY: lambda n, classes: "@" in classes}
    )

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        # Cheapest possible reject: the engine runs every classifier on every value.
        if "@" not in value or not self.min_len <= len(value) <= self.max_len:
            return None
        if ctx.location in ("header", "metadata") and ctx.path.lower() in _AUTHORITY_HEADERS:
            return None  # `user:pass@host`: an authority's `@` ends URL userinfo (RFC 3986)
        if ":" in value and whole_authority(value, ctx) is not None:
            return None  # credentials of a proxy or connection string: PASSWORD's
        hinted = self.hinted(ctx)
        stripped = value.strip()
        for n, m in enumerate(_EMAIL.finditer(value)):
            if n >= _MAX_CANDIDATES:
                break
            local, domain, tld = m.group("local"), m.group("domain"), m.group("tld")
            if local.endswith(".") or ".." in local or tld.lower() in _FILE_TLDS:
                continue
            if self._in_url_userinfo(value, m.start()) or self._ssh_remote(value, m.end()):
                continue
            whole = m.group(0) == stripped
            domain_l = domain.lower()
            example = (
                domain_l in _EXAMPLE_DOMAINS
                or tld.lower() in _EXAMPLE_TLDS
                or any(domain_l.endswith("." + d) for d in _EXAMPLE_DOMAINS)
            )
            reasons = ["pattern addr-spec" + ("" if whole else " in text")]
            # Whole value: nothing else in the field, as strong as a validated match.
            confidence = 0.9 if whole else 0.85
            if hinted:
                confidence = 0.98
                reasons.append("field name hint")
            if example:
                # Test data is data (spec): a whole value is reported; a mention in prose
                # is documentation unless the field is named e-mail.
                confidence = 0.85 if whole or hinted else 0.35
                reasons.append("reserved example domain (RFC 2606/6761)")
            return self.finding(confidence, ", ".join(reasons), None if whole else m.span())
        return None

    @staticmethod
    def _ssh_remote(value: str, end: int) -> bool:
        """`git@github.com:org/repo.git`: scp-like SSH syntax (user@host:path), a login
        on a host, not a mailbox. A colon then a path character right after the domain
        never ends an e-mail address (a sentence's colon is followed by a space)."""
        return (
            end + 1 < len(value)
            and value[end] == ":"
            and (value[end + 1].isalnum() or value[end + 1] in "~/._-")
        )

    @staticmethod
    def _in_url_userinfo(value: str, start: int) -> bool:
        """`https://user:pass@host/`: the `@` separates URL credentials from the host."""
        token_start = max(value.rfind(" ", 0, start), value.rfind("\n", 0, start)) + 1
        return "://" in value[token_start:start]
