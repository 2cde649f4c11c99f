"""Cookie and parameter names that embed data (a user name, a hash of the site URL, a
session hash) are templated like object keys that are data (spec/inventory.md, "field":
`{key}`), so that one cookie of many users or many sites is one field:
`jupyterhub-user-christian` -> `jupyterhub-user-{key}`, `wordpress_logged_in_9a8b...`
-> `wordpress_logged_in_{key}`, Drupal's `SESS<hash>` -> `SESS{key}`.

Two rules:
- **Shapes** (`protocols._json_keys`): a part of the name between separators (`-`, `_`,
  `.`) whose shape is data (a hex id or hash of 8+ characters with a digit, a UUID, an
  e-mail address, a date, a number of `MIN_NUMBER_DIGITS` digits or more) becomes
  `{key}`; so does a run of `MIN_GLUED_HEX` or more hex characters with a digit glued
  to the end of a word (`SESSd41d8cd9...`; the word has a letter that is no hex digit,
  and this is tried first, so the word stays even when the whole name would read as a
  random id). Short numbers stay (`address_2`,
  `ui-tabs-1`): they are positions, not data.
- **Frameworks that put the user name in the cookie name**, where no shape can tell a
  name from a word: JupyterHub's `jupyterhub-user-<name>` (and its `-oauth-state`
  variants) and WordPress's per-user settings `wp-settings-<user id>` and
  `wp-settings-time-<user id>` (`USER_NAMED_PREFIXES`).

Decided per name alone (no state: the same name always gives the same field), cached
(bounded); names longer than `MAX_TEMPLATED_CHARS` are left alone.
"""

from __future__ import annotations

import re
from typing import Final

from protocols._json_keys import DATA, key_class

PLACEHOLDER: Final = "{key}"
# A number this long inside a name is an id (a user id, a timestamp), not a position.
MIN_NUMBER_DIGITS: Final = 4
# Hex glued to a word: Drupal session names are `SESS` + 32 hex (md5 of the base URL).
MIN_GLUED_HEX: Final = 16
# (prefix, what may follow): the rest of the name after the prefix is the user's.
USER_NAMED_PREFIXES: Final = (
    # JupyterHub: per-user server cookie `jupyterhub-user-<escaped user name>`.
    ("jupyterhub-user-", re.compile(r"(.+?)(-oauth-state)?")),
    # WordPress: `wp-settings-<id>`, `wp-settings-time-<id>` (user ids are numbers).
    ("wp-settings-time-", re.compile(r"([0-9]+)()")),
    ("wp-settings-", re.compile(r"([0-9]+)()")),
)

_SEGMENT: Final = re.compile(r"[^-_.]+")
_NUMBER: Final = re.compile(r"[0-9]+")
_GLUED_HEX: Final = re.compile(rf"([A-Za-z][A-Za-z_-]*?)([0-9a-fA-F]{{{MIN_GLUED_HEX},}})")
_DIGIT: Final = re.compile(r"[0-9]")
# A prefix with a letter that is no hex digit is a word (`SESS`), not the start of a hash.
_NON_HEX_LETTER: Final = re.compile(r"[g-zG-Z]")

# Names longer than this are left as they are: the glued-hex pattern backtracks in
# O(length^2), and real names are tens of characters (max_key_chars cuts forms at 256).
MAX_TEMPLATED_CHARS: Final = 256

_CACHE: dict[str, str] = {}
_CACHE_MAX: Final = 16_384


def templated_name(name: str) -> str:
    """`name` with the parts that are data replaced by `{key}` (most names: unchanged)."""
    if len(name) > MAX_TEMPLATED_CHARS:
        return name  # no real cookie or parameter name is this long
    cached = _CACHE.get(name)
    if cached is not None:
        return cached
    result = _template(name)
    if result == name:  # a plain name; one that embeds data (a user name) is not kept
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[name] = result
    return result


def _template(name: str) -> str:
    lowered = name.lower()
    for prefix, rest in USER_NAMED_PREFIXES:
        if lowered.startswith(prefix) and len(name) > len(prefix):
            match = rest.fullmatch(name[len(prefix) :])
            if match is not None:
                return name[: len(prefix)] + PLACEHOLDER + (match.group(2) or "")
    if _DIGIT.search(name) is None and "@" not in name:
        return name  # every data shape has a digit or an `@`
    # Before the whole-name rule: `SESS` + hex reads as a random id about half the time
    # (its case changes), but a word before the hex says which part is data.
    glued = _GLUED_HEX.fullmatch(name)
    if (glued is not None and _DIGIT.search(glued.group(2))
            and _NON_HEX_LETTER.search(glued.group(1))):
        return glued.group(1) + PLACEHOLDER
    if key_class(name) == DATA and not (
        _NUMBER.fullmatch(name) and len(name) < MIN_NUMBER_DIGITS
    ):
        return PLACEHOLDER  # the whole name is data (an e-mail address, a hash)
    return _SEGMENT.sub(_segment, name)


def _segment(match: re.Match[str]) -> str:
    segment = match.group(0)
    if _NUMBER.fullmatch(segment) and len(segment) < MIN_NUMBER_DIGITS:
        return segment
    return PLACEHOLDER if key_class(segment) == DATA else segment
