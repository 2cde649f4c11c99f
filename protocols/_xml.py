"""XML bodies (SOAP 1.1/1.2 envelopes, `application/xml`, `text/xml`, `+xml` types) ->
(field path, value) pairs, as spec/inventory.md ("field") names them: element names
joined by `.`, namespace prefixes dropped, attributes as `@name`
(`Envelope.Body.order.customer.name`, `Envelope.Body.order.@id`).

Hardened (XML 1.0 is a language of bombs and side doors): parsed by `defusedxml`'s
expat parser with DTDs, entity declarations and external references all forbidden
(billion laughs, quadratic blow-up, XXE), streamed into a small target that builds no
tree; element depth is bounded by `max_depth` (deeper elements are skipped and counted
as `xml_depth_limit`), the field count by `max_fields_per_part`, every value by
`max_value_chars`, every path by `max_path_chars`. The body itself is already bounded by
`max_body_bytes` by the dissectors.

Values: the text directly inside an element (mixed content joined, stripped), at the
element's path; an attribute's value at `path.@name` (namespace declarations carry no
data and are not attributes here). Repeated elements share one path, as JSON array
elements do (without `[]`: XML does not mark lists). Escaped XML inside an element (a
SOAP string result holding a whole document, `&lt;order&gt;...`, or a CDATA section) is
parsed in turn, its fields below the carrying element
(`Envelope.Body.GetOrderResponse.GetOrderResult.order.customer.name`), at most
`MAX_NESTED_XML` levels deep. Its own XML declaration is dropped first: the text is
characters already, so an `encoding="GBK"` it declares (Chinese telecom services send
such documents inside UTF-8 envelopes) no longer applies and is not obeyed.

Damage: a body that is cut or not well-formed gives what was read before the fault
(`xml_syntax_error`); a DTD or an entity declaration stops the parse (`xml_forbidden`),
and a body that gave no field at all is then classified as one text value, so that
nothing is dropped unseen. Prefixes that no declaration binds (fragments pasted without
their envelope) are dropped and the body parsed once more.

Not supported: XML 1.1, encodings expat does not know, HTML (not XML; its media types
stay undecoded).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Final

from protocols._value_decoding import cut_text

# The media type every XML body gets (`protocols._http_headers` maps `text/xml`,
# `application/soap+xml` and the other `+xml` types to it).
XML_MEDIA_TYPE: Final = "application/xml"
# Escaped XML documents inside XML elements followed this deep (a SOAP result holding a
# document is one level; deeper nesting is not seen in real services).
MAX_NESTED_XML: Final = 2
# Shortest element text that may be an escaped document (`<a>x</a>`).
_MIN_EMBEDDED: Final = 7
# expat's XML_ERROR_UNBOUND_PREFIX: a prefix used without its xmlns declaration.
_UNBOUND_PREFIX: Final = 27
# `<soap:Envelope`, `</soap:Envelope`, ` xsi:type=`: prefixes dropped for the retry.
_PREFIX: Final = re.compile(rb"(</?|\s)[A-Za-z_][A-Za-z0-9_.-]*:(?=[A-Za-z_])")
# Appended to a path cut at max_path_chars (as protocols.payload does).
CUT_MARK: Final = "\u2026"
# The XML declaration of an escaped document (`<?xml version="1.0" encoding="GBK"?>`).
_DECLARATION: Final = re.compile(r"\s*<\?xml\s[^>]{0,200}\?>")

Pair = tuple[str, str]


class _Full(Exception):
    """The field limit was reached: the parse stops there."""


class _Collector:
    """The parser's target: element starts and ends, text, in document order."""

    def __init__(
        self, prefix: str, max_fields: int, max_depth: int, max_chars: int, max_path: int
    ) -> None:
        self.out: list[Pair] = []
        self.max_fields = max_fields
        self.max_depth = max_depth
        self.max_chars = max_chars
        self.max_path = max_path
        # (path, text chunks, characters kept) per open element; the prefix is the root's
        # parent path (a named part, or the element holding an escaped document).
        self.stack: list[tuple[str, list[str], list[int]]] = []
        self.prefix = prefix
        self.skipped = 0  # open elements below max_depth, skipped
        self.too_deep = False
        self.long_path = False
        # Element texts that are escaped documents: (path, text), parsed by the caller.
        self.embedded: list[Pair] = []

    def _path(self, base: str, name: str) -> str:
        path = f"{base}.{name}" if base else name
        if len(path) > self.max_path:
            self.long_path = True
            return path[: self.max_path] + CUT_MARK
        return path

    def _add(self, path: str, value: str) -> None:
        self.out.append((path, value[: self.max_chars]))
        if len(self.out) >= self.max_fields:
            raise _Full

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.skipped or len(self.stack) >= self.max_depth:
            self.skipped += 1
            self.too_deep = True
            return
        base = self.stack[-1][0] if self.stack else self.prefix
        path = self._path(base, _local(tag))
        self.stack.append((path, [], [0]))
        for name, value in attrib.items():
            if value.strip():
                self._add(self._path(path, "@" + _local(name)), value.strip())

    def data(self, text: str) -> None:
        if self.skipped or not self.stack:
            return
        _, chunks, kept = self.stack[-1]
        room = self.max_chars - kept[0]
        if room > 0:
            chunks.append(text[:room])
            kept[0] += min(len(text), room)

    def end(self, tag: str) -> None:
        if self.skipped:
            self.skipped -= 1
            return
        if self.stack:
            self._flush(*self.stack.pop()[:2])

    def close(self) -> None:
        return None

    def flush_open(self) -> None:
        """A body cut mid-element: the text read so far of every open element."""
        while self.stack:
            path, chunks, _ = self.stack.pop()
            try:
                self._flush(path, chunks)
            except _Full:
                self.stack.clear()

    def _flush(self, path: str, chunks: list[str]) -> None:
        text = "".join(chunks).strip()
        if not text:
            return
        if len(text) >= _MIN_EMBEDDED and text[0] == "<" and text[-1] == ">":
            self.embedded.append((path, text))
            return
        self._add(path, text)


def _local(name: str) -> str:
    """`{urn:ns}Envelope` -> `Envelope` (the parser resolves prefixes to `{uri}`)."""
    return name.rpartition("}")[2].rpartition(":")[2]


def xml_fields(
    data: bytes,
    prefix: str,
    *,
    max_fields: int,
    max_depth: int,
    max_chars: int,
    max_path: int,
    hits: Counter[str] | None = None,
    damage: Counter[str] | None = None,
    nested: int = 0,
) -> list[Pair]:
    """The pairs of one XML document; see the module docstring for names and bounds."""
    if not data.strip() or max_fields <= 0:
        return []
    collector = _Collector(prefix, max_fields, max_depth, max_chars, max_path)
    fault = _parse(data, collector)
    if fault == "unbound_prefix":
        collector = _Collector(prefix, max_fields, max_depth, max_chars, max_path)
        fault = _parse(_PREFIX.sub(rb"\1", data), collector)
    out = collector.out
    if fault == "forbidden":
        _count(damage, "xml_forbidden")
    elif fault:
        _count(damage, "xml_syntax_error")
    if collector.too_deep:
        _count(hits, "xml_depth_limit")
    if collector.long_path:
        _count(hits, "path_too_long")
    for path, text in collector.embedded:
        room = max_fields - len(out)
        if room <= 0:
            break
        inner: list[Pair] = []
        if nested < MAX_NESTED_XML:
            inner = xml_fields(
                _without_declaration(text).encode("utf-8"), path, max_fields=room, max_depth=max_depth,
                max_chars=max_chars, max_path=max_path, hits=hits, damage=None,
                nested=nested + 1,
            )
        # Markup that is no document after all (`<br>` in a description) is text.
        out.extend(inner or [(path, text[:max_chars])])
    if not out and fault == "forbidden":
        # Nothing parsed before the DTD: the text is still classified, not expanded.
        out.append((prefix, cut_text(data, max_chars)))
    return out[:max_fields]


def _without_declaration(text: str) -> str:
    """An escaped document without its XML declaration: decoded text is UTF-8 now."""
    found = _DECLARATION.match(text)
    return text[found.end() :] if found else text


def _parse(data: bytes, collector: _Collector) -> str:
    """Feed `data` through the hardened parser; '' when it parsed whole, else the kind
    of fault. Exception texts are never kept: they may quote the input."""
    # Imported here (~7 M instructions): only a scan that meets an XML body parses one.
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser

    parser = DefusedXMLParser(
        target=collector, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(data)
        parser.close()
    except _Full:
        return ""
    except DefusedXmlException:
        collector.stack.clear()
        return "forbidden"
    except ParseError as exc:
        if exc.code == _UNBOUND_PREFIX and not collector.out:
            return "unbound_prefix"
        collector.flush_open()
        return "syntax"
    except (ValueError, LookupError):  # an encoding expat does not know
        collector.flush_open()
        return "syntax"
    return ""


def _count(counter: Counter[str] | None, kind: str) -> None:
    if counter is not None:
        counter[kind] += 1
