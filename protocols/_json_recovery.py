"""What a JSON body that orjson refuses still holds: the documents of a damaged, extended or
concatenated body, as the Python values orjson would have given, as far as they go.

orjson (RFC 8259, strict) refuses `NaN`/`Infinity` (Python's and JavaScript's
serializers write them), invalid UTF-8, lone surrogates, content after the document
(concatenated documents, a log line appended), a cut body and nesting beyond 1024
levels. Dropping such a body silently would drop the e-mail address or card number in
it, so `recover` tries, in order:

1. the standard library's `json` on the text decoded with replacement: accepts `NaN`,
   `Infinity`, lone surrogates (replaced here, they cannot be written out) and reads
   one document after another (`raw_decode`);
2. where that stops (a cut body, a syntax error, nesting too deep for it), a tolerant
   tokenizer (`_tolerant`) that builds what the rest of the text holds: unbalanced or
   missing brackets are closed, stray tokens skipped, unquoted words kept as strings;
3. text before which no JSON starts (an HTML error page sent as `application/json`) is
   one text value.

Everything is bounded: the tokenizer stops after `tokens_budget` tokens, nesting is cut
at `max_depth` (reported, like the walk's own cut), and strings are kept only as far as
`max_chars`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Final

_WS: Final = re.compile(r"[ \t\r\n\ufeff]*")
# One token: a string (possibly cut by the end of the body, even inside an escape), a
# structural character, or a bare word (numbers, literals, unquoted text).
_TOKEN: Final = re.compile(
    r'"([^"\\]*(?:\\.[^"\\]*)*\\?)("?)|([{}\[\]:,])|([^\s{}\[\]:,"]+)', re.DOTALL
)
_NUMBER: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS: Final = frozenset({"true", "false", "null", "NaN", "Infinity", "-Infinity", "undefined"})
_ESCAPE: Final = re.compile(r"\\(?:u([0-9a-fA-F]{4})|(.))", re.DOTALL)
_SIMPLE_ESCAPES: Final = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(slots=True)
class Recovered:
    """The documents found, the text left over, and what was wrong (for the counters)."""

    documents: list[object] = field(default_factory=list)
    text: str = ""  # a remainder that is no JSON at all, as one text value
    nonstandard: bool = False  # NaN / Infinity / lone surrogates
    trailing: bool = False  # more than one document, or text after one
    broken: bool = False  # the stdlib parser gave up (cut, syntax error, too deep)
    too_deep: bool = False  # nesting beyond max_depth was dropped by the tokenizer
    budget_spent: bool = False  # the tokenizer stopped at its token budget


def _decoder(nonstandard: list[bool]) -> json.JSONDecoder:
    def constant(name: str) -> None:
        nonstandard.append(True)  # parsed as null: NaN and Infinity carry no data

    return json.JSONDecoder(parse_constant=constant)


def recover(
    text: str, max_depth: int, max_chars: int, max_documents: int, tokens_budget: int
) -> Recovered:
    """The JSON documents in `text` (already decoded with replacement)."""
    out = Recovered()
    flags: list[bool] = []
    decoder = _decoder(flags)
    pos = _WS.match(text).end()  # type: ignore[union-attr]
    end = len(text)
    while pos < end and len(out.documents) < max_documents:
        try:
            obj, stop = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        out.documents.append(obj)
        pos = _WS.match(text, stop).end()  # type: ignore[union-attr]
    if flags:
        out.nonstandard = True
    if len(out.documents) > 1:
        out.trailing = True
    if pos < end and len(out.documents) < max_documents:
        if out.documents:
            out.trailing = True
        else:
            out.broken = True
        if text[pos] in "{[":
            _tolerant(text, pos, max_depth, max_chars, max_documents, tokens_budget, out)
        else:
            out.text = text[pos : pos + max_chars]
    return out


def _unescape(raw: str) -> str:
    """JSON string escapes, tolerant: a bad escape keeps its character, a lone surrogate
    becomes U+FFFD."""
    if "\\" not in raw:
        return raw
    if raw.endswith("\\") and (len(raw) - len(raw.rstrip("\\"))) % 2:
        raw = raw[:-1]  # an escape cut by the end of the body

    def one(match: re.Match[str]) -> str:
        hex4, char = match.group(1), match.group(2)
        if hex4 is None:
            return _SIMPLE_ESCAPES.get(char, char)
        return chr(int(hex4, 16))

    text = _ESCAPE.sub(one, raw)
    # Surrogate pairs written as two escapes join here; lone ones are replaced.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _scalar(word: str) -> object:
    if word in _LITERALS:
        return None
    if _NUMBER.fullmatch(word):
        return word  # the number's own text: nothing is lost converting it
    return word


def _tolerant(
    text: str,
    pos: int,
    max_depth: int,
    max_chars: int,
    max_documents: int,
    tokens_budget: int,
    out: Recovered,
) -> None:
    """Builds dicts and lists from tokens, closing what the text leaves open."""
    # stack of [container, pending key] frames; a key is pending after `"k"` in an object
    stack: list[list[object]] = []
    skipped = 0  # containers opened beyond max_depth, not built
    spent = 0
    for match in _TOKEN.finditer(text, pos):
        spent += 1
        if spent > tokens_budget:
            out.budget_spent = True
            break
        string, _closed, punct, word = match.groups()
        if skipped:
            if punct in ("{", "["):
                skipped += 1
            elif punct in ("}", "]"):
                skipped -= 1
            continue
        if punct is not None:
            if punct in "{[":
                if len(stack) >= max_depth:
                    skipped = 1
                    out.too_deep = True
                    continue
                container: object = {} if punct == "{" else []
                _put(stack, container, out)
                stack.append([container, None])
            elif punct in "}]":
                if stack:
                    stack.pop()
                if not stack and len(out.documents) >= max_documents:
                    return
            elif punct == "," and stack and isinstance(stack[-1][0], dict):
                stack[-1][1] = None
            continue  # `:` carries nothing
        if string is not None:
            # A string cut by the end of the body (`closed` empty) keeps what it has.
            value: object = _unescape(string[: max_chars * 2])[:max_chars]
        else:
            value = _scalar(word)
        if not stack:
            # A scalar between documents: the rest is no JSON document.
            if value is not None:
                out.text = text[match.start() : match.start() + max_chars]
            return
        frame = stack[-1]
        target = frame[0]
        if isinstance(target, dict):
            if frame[1] is None:
                frame[1] = value if isinstance(value, str) else ""
            else:
                target[frame[1]] = value
                frame[1] = None
        else:
            target.append(value)  # type: ignore[attr-defined]


def _put(stack: list[list[object]], container: object, out: Recovered) -> None:
    """Attach a new container to its parent, or start a document."""
    if not stack:
        out.documents.append(container)
        return
    frame = stack[-1]
    target = frame[0]
    if isinstance(target, dict):
        key = frame[1]
        target["" if key is None else key] = container
        frame[1] = None
    else:
        target.append(container)  # type: ignore[attr-defined]
