"""Credentials in URL userinfo (RFC 3986 section 3.2.1): `scheme://user:pass@host` inside
a value, and a whole-value authority `user:pass@host[:port]` (an HTTP/2 `:authority`, a
proxy or DSN setting).

Used by PASSWORD (which reports them) and EMAIL_ADDRESS (whose pattern would otherwise
read `pass@host.org` as a mailbox).

A whole value of the form `a:b@c.d` is ambiguous: an authority with credentials, or a
prefixed e-mail address (`user:alice@corp.io` as a cache key). It is taken as an
authority only when something says so: a port, an IP-literal host, or a field named for
an authority, host, proxy or connection string. `mailto:`, `acct:`, `sip:` and the
other URI schemes written without `//` name an address, not a user.

Template and redacted passwords (`{password}`, `${PASS}`, `<password>`, `***`) are not
credentials.
"""

from __future__ import annotations

import re

from classifiers.base import FieldContext

# Scheme `://` userinfo `@` host. The password may hold an unescaped `@` (greedy up to
# the last one before the host); nothing of the authority holds a space or `/?#`.
URL_USERINFO = re.compile(
    r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://"
    r"(?P<user>[^\s:/?#@\[\]\"'<>]*):(?P<password>[^\s/?#\"'<>]*)@"
    r"(?P<host>[A-Za-z0-9._~%-]+|\[[0-9A-Fa-f:.]+\])"
)
# Host (a name with a letter, an IPv4 literal or a bracketed IPv6 literal) and port.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_AUTHORITY = re.compile(
    r"(?P<user>[^\s:/?#@\[\]\"'<>]+):(?P<password>[^\s/?#\"'<>]+)@"
    rf"(?P<host>{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?"
)
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
# URI schemes whose text after the colon is an address (`mailto:a@b.c`, RFC 7565 `acct:`).
_ADDRESS_SCHEMES = frozenset({"mailto", "acct", "sip", "sips", "xmpp", "im", "pres", "tel",
                              "urn", "cid", "mid", "news", "nntp", "did", "fax", "smtp"})
# Field-name tokens that say the value is an authority or a connection string.
AUTHORITY_NAMES = frozenset({"authority", "host", "hostname", "proxy", "dsn", "server",
                             "endpoint", "broker", "brokers", "upstream", "connection",
                             "conn", "netloc", "uri", "url"})
_MASK = frozenset("*•x#")
_TEMPLATE_START = ("{", "$", "<", "%(", "%s")
MAX_VALUE = 8192  # a URL with credentials is searched for in the first 8 KiB
# A whole-value authority is short; longer values are not matched (bounded backtracking).
MAX_AUTHORITY = 512


def placeholder(password: str) -> bool:
    """An empty, templated or masked password (`{password}`, `${PASS}`, `***`)."""
    if not password or password.startswith(_TEMPLATE_START):
        return True
    return len(password) >= 3 and set(password.lower()) <= _MASK


def url_credentials(value: str) -> tuple[int, int] | None:
    """The span of `user:pass` in the first URL carrying a real password, or None."""
    if "://" not in value:
        return None
    for m in URL_USERINFO.finditer(value[:MAX_VALUE]):
        if not placeholder(m.group("password")):
            return m.start("user"), m.end("password")
    return None


def whole_authority(value: str, ctx: FieldContext) -> tuple[int, int] | None:
    """The span of `user:pass` when the whole value is an authority with credentials
    (see the module docstring for when `a:b@c.d` counts as one), or None."""
    if len(value) > MAX_AUTHORITY or "@" not in value:
        return None
    text = value.strip()
    m = _AUTHORITY.fullmatch(text)
    if m is None:
        return None
    user, password, host = m.group("user"), m.group("password"), m.group("host")
    if user.lower() in _ADDRESS_SCHEMES or user.isdigit() or placeholder(password):
        return None
    literal = host.startswith("[") or _IPV4.fullmatch(host) is not None
    if not literal and not any(ch.isalpha() for ch in host):
        return None  # `orders:3@1200`: a topic, a partition, an offset
    named = not AUTHORITY_NAMES.isdisjoint(ctx.name_tokens)
    if not (literal or m.group("port") or named):
        return None
    offset = len(value) - len(value.lstrip())
    return offset + m.start("user"), offset + m.end("password")
