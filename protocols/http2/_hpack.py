"""HPACK header block decoding (RFC 7541) that survives a missing dynamic table.

The only module that imports `hpack` (docs/architecture.md, "Decided"). `hpack.Decoder` is
all-or-nothing: one unknown index raises and the rest of the block is lost. A capture
that starts mid-connection, or has a gap, references dynamic-table entries that were
added before we saw anything, so this module walks the representations of RFC 7541
section 6 itself and uses hpack for the parts that are pure: integer decoding (5.1),
Huffman decoding (5.2, Appendix B) and the header table with its static entries and
eviction rules (2.3, 4).

Recovery rules:
- an indexed field (6.1) whose index is unknown is skipped and counted;
- a literal with an unknown indexed name (6.2) keeps its value under the empty name and,
  for incremental indexing, still inserts an entry (its name unknown) so that later
  indexes stay aligned;
- after `lose_context()` (a gap, a header block we could not read) every entry present
  before is untrusted: entries inserted afterwards are newer and so keep exact indexes.

`block_role` tells a request block from a response block without any table (RFC 9113
8.3: pseudo-header fields come first; 8.3.1 request and 8.3.2 response pseudo-headers
never mix), from the first representation whose name is known statically; the http2
probe uses it to tell which side of a connection joined mid-way is the client.

What a block joined mid-way can and cannot give (the `:path` of a gRPC call, above all):
- recovered: literals (6.2) and static-table entries (2.3.1) always; dynamic entries
  inserted after the context was lost, by exact index, for as long as they live (so a
  `:path` first sent as a literal after the capture began names every later stream that
  references it);
- not recovered, ever: the name or value of an entry inserted before the context was
  lost. HPACK never restates an entry: a later literal of the same field inserts a *new*
  entry, and an encoder that indexes (every one that emitted the earlier reference does)
  sends that literal precisely because the field was no longer, or never, in its table.
  So equating an earlier unknown index with the index a later literal `:path` comes to
  occupy would name streams after a call they did not make; such streams keep the api
  `(unknown)` (spec/inventory.md, "When the capture does not tell").

Bounds per header block (amplification: one 4 KB table entry referenced by a one-byte
index 60,000 times is 240 MB of headers from 60 KB on the wire): at most `max_fields`
header fields and `max_decoded_bytes` of decoded size, counted as RFC 9113 6.5.2
counts SETTINGS_MAX_HEADER_LIST_SIZE (name + value + 32 per field). Past either bound the
block is cut: the fields decoded so far are returned and the rest of the block is still
walked, without producing fields, so that its insertions and size updates keep the
dynamic table in step with the encoder's (walking costs one pass over bytes that are
already bounded by `Limits.max_header_bytes`).

Not supported: enforcing the SETTINGS_HEADER_TABLE_SIZE ceiling (a passive observer
only needs to follow what the encoder did); the size of an entry whose name is unknown is
counted without the name, so its eviction may come later than in the real table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# hpack is imported with this module, which only an HTTP/2 connection (its session) or a
# probed HEADERS frame loads: a scan without HTTP/2 never loads either
# (tests/test_import_weight.py). Imports inside the decoding functions would cost ~0.6 us
# a call (one per header field or Huffman string).
from hpack.exceptions import HPACKDecodingError, InvalidTableIndexError
from hpack.hpack import decode_integer
from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

from protocols.base import Limits

# Name stored for a dynamic entry whose name index was unknown: never a legal HTTP field
# name, so it cannot collide with a real one.
UNKNOWN_NAME = b""
# A dynamic table larger than this is refused (memory bound: RFC 7541 leaves the size
# to SETTINGS, which peers set to 4 KiB-64 KiB in practice).
MAX_TABLE_SIZE = 1 << 20
DEFAULT_TABLE_SIZE = 4096
# Per-block bounds (`Limits.max_header_fields`, `Limits.max_header_bytes` by default):
# HTTP/1 stops at 1,000 header lines; servers refuse header lists far below 64 KiB.
MAX_FIELDS = 1000
MAX_DECODED_BYTES = 64 * 1024
# RFC 7541 4.1 / RFC 9113 6.5.2: the per-field overhead counted in a header list's size.
FIELD_OVERHEAD = 32
# Representations `block_role` reads before giving up: pseudo-headers come first (RFC 9113
# 8.3) and a request has at most five (:method, :scheme, :authority, :path, :protocol), so
# a few more only allow for dynamic references it must skip.
MAX_ROLE_REPRESENTATIONS = 16
# Pseudo-header names by role (RFC 9113 8.3.1, 8.3.2; RFC 8441 4 for :protocol).
_REQUEST_PSEUDO = frozenset({b":method", b":scheme", b":authority", b":path", b":protocol"})
_RESPONSE_PSEUDO = frozenset({b":status"})

Role = Literal["request", "response"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    """One decoded header field. `name` is "" when it could not be recovered."""

    name: str
    value: bytes = field(repr=False)
    never_indexed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class HeaderBlock:
    headers: tuple[Header, ...] = field(repr=False)
    # representations that referred to dynamic entries we do not know
    unknown: int = 0
    # the block could not be walked to its end; what follows the break is lost
    broken: bool = False
    # it broke on a table size update above the limit (`Limits.max_hpack_table_bytes`)
    table_limit: bool = False
    # cut after `max_fields` fields / at `max_decoded_bytes` of decoded size: the fields
    # before the cut are in `headers`, the table is still in step
    too_many_fields: bool = False
    too_large: bool = False


@dataclass(slots=True, kw_only=True)
class _Walk:
    """What one `HeaderDecoder.decode` has gathered so far."""

    headers: list[Header]
    unknown: int = 0
    decoded_bytes: int = 0
    table_limit: bool = False
    too_many_fields: bool = False
    too_large: bool = False

    @property
    def cut(self) -> bool:
        return self.too_many_fields or self.too_large


class _Broken(Exception):
    """The block's own bytes are malformed (truncated integer or string, bad Huffman)."""


class HeaderDecoder:
    """One direction's HPACK decoding context."""

    def __init__(
        self,
        max_table_size: int = MAX_TABLE_SIZE,
        *,
        max_fields: int = MAX_FIELDS,
        max_decoded_bytes: int = MAX_DECODED_BYTES,
    ) -> None:
        self._table = HeaderTable()
        self._max_table_size = max_table_size
        self._max_fields = max_fields
        self._max_decoded_bytes = max_decoded_bytes
        # Entries at dynamic positions >= this count were added before the context was
        # lost (or before the capture began) and are not trusted.
        self._trusted = 0
        self.context_known = True

    @classmethod
    def for_limits(cls, limits: Limits) -> HeaderDecoder:
        """A decoder with the scan's bounds (`--limit`, `[limits]`)."""
        return cls(
            limits.max_hpack_table_bytes,
            max_fields=limits.max_header_fields,
            max_decoded_bytes=limits.max_header_bytes,
        )

    def lose_context(self) -> None:
        """The dynamic table can no longer be trusted (gap, unreadable block)."""
        self._table.dynamic_entries.clear()
        self._table._current_size = 0  # hpack exposes no reset
        self._trusted = 0
        self.context_known = False

    def decode(self, block: bytes) -> HeaderBlock:
        walk = _Walk(headers=[])
        try:
            self._walk(block, walk)
        except _Broken:
            # The rest of the block (and any insertion it made) is lost.
            self.lose_context()
            return HeaderBlock(
                headers=tuple(walk.headers),
                unknown=walk.unknown + 1,
                broken=True,
                table_limit=walk.table_limit,
                too_many_fields=walk.too_many_fields,
                too_large=walk.too_large,
            )
        return HeaderBlock(
            headers=tuple(walk.headers),
            unknown=walk.unknown,
            too_many_fields=walk.too_many_fields,
            too_large=walk.too_large,
        )

    def _walk(self, block: bytes, walk: _Walk) -> None:
        pos = 0
        end = len(block)
        view = memoryview(block)
        while pos < end:
            first = block[pos]
            if first & 0x80:  # 6.1 indexed header field
                index, used = _integer(view[pos:], 7)
                pos += used
                if walk.cut:  # nothing to produce, nothing changes the table
                    if index == 0:
                        raise _Broken
                    continue
                entry = self._lookup(index)
                if entry is None or entry[0] == UNKNOWN_NAME:
                    walk.unknown += 1
                    if entry is not None:
                        self._produce(walk, Header(name="", value=entry[1]), 0)
                    continue
                self._produce(walk, Header(name=_name(entry[0]), value=entry[1]), len(entry[0]))
            elif first & 0xE0 == 0x20:  # 6.3 dynamic table size update
                size, used = _integer(view[pos:], 5)
                pos += used
                if size > self._max_table_size:
                    walk.table_limit = True
                    raise _Broken
                self._table.maxsize = size
                self._trusted = min(self._trusted, len(self._table.dynamic_entries))
            else:
                pos = self._literal(view, pos, first, walk)

    def _literal(self, view: memoryview, pos: int, first: int, walk: _Walk) -> int:
        """6.2 literal field at `pos` -> position after it."""
        if first & 0xC0 == 0x40:  # 6.2.1 incremental indexing
            prefix, indexing, never = 6, True, False
        else:  # 6.2.2 without indexing, 6.2.3 never indexed
            prefix, indexing, never = 4, False, bool(first & 0x10)
        index, used = _integer(view[pos:], prefix)
        pos += used
        if walk.cut and not indexing:  # read past it: it changes nothing
            if index == 0:
                pos = _skip_string(view, pos)
            return _skip_string(view, pos)
        name_known = True
        if index == 0:
            name, pos = _string(view, pos)
        else:
            entry = self._lookup(index)
            if entry is None or entry[0] == UNKNOWN_NAME:
                name, name_known = UNKNOWN_NAME, False
            else:
                name = entry[0]
        value, pos = _string(view, pos)
        if indexing:
            self._table.add(name, value)
            self._trusted = min(self._trusted + 1, len(self._table.dynamic_entries))
        if walk.cut:
            return pos
        if not name_known:
            walk.unknown += 1
        header = Header(name=_name(name) if name_known else "", value=value, never_indexed=never)
        self._produce(walk, header, len(name))
        return pos

    def _produce(self, walk: _Walk, header: Header, name_bytes: int) -> None:
        """Adds `header` unless it would pass a per-block bound; then the block is cut."""
        size = name_bytes + len(header.value) + FIELD_OVERHEAD
        if len(walk.headers) >= self._max_fields:
            walk.too_many_fields = True
        elif walk.decoded_bytes + size > self._max_decoded_bytes:
            walk.too_large = True
        else:
            walk.headers.append(header)
            walk.decoded_bytes += size

    def _lookup(self, index: int) -> tuple[bytes, bytes] | None:
        if index == 0:
            raise _Broken
        if index > HeaderTable.STATIC_TABLE_LENGTH + self._trusted:
            return None
        try:
            return self._table.get_by_index(index)
        except InvalidTableIndexError:
            return None


def block_role(block: bytes) -> Role | None:
    """`"request"` or `"response"` when the first representation of `block` whose name is
    known without a dynamic table is a pseudo-header of that role; None when it is a
    regular field (trailers), when no such name comes within `MAX_ROLE_REPRESENTATIONS`,
    or when the bytes are not a header block. Reads no table and changes none."""
    view = memoryview(block)
    pos = 0
    try:
        for _ in range(MAX_ROLE_REPRESENTATIONS):
            if pos >= len(view):
                return None
            first = view[pos]
            if first & 0x80:  # 6.1 indexed field
                index, used = _integer(view[pos:], 7)
                pos += used
                if index == 0:
                    return None  # not a header block (6.1: index 0 is an error)
                name = _static_name(index)
            elif first & 0xE0 == 0x20:  # 6.3 size update: only at the start, no name
                _size, used = _integer(view[pos:], 5)
                pos += used
                continue
            else:  # 6.2 literal: name by index (0 = literal name), then the value
                prefix = 6 if first & 0xC0 == 0x40 else 4
                index, used = _integer(view[pos:], prefix)
                pos += used
                if index == 0:
                    name, pos = _string(view, pos)
                else:
                    name = _static_name(index)
                _value, pos = _string(view, pos)
            if name is None:
                continue  # a dynamic entry: its name is unknown here, look further
            if name in _REQUEST_PSEUDO:
                return "request"
            if name in _RESPONSE_PSEUDO:
                return "response"
            return None  # a regular field: the pseudo-header section is over
    except _Broken:
        return None
    return None


def _static_name(index: int) -> bytes | None:
    """The name of static entry `index` (Appendix A); None for a dynamic index."""
    if 1 <= index <= HeaderTable.STATIC_TABLE_LENGTH:
        return HeaderTable.STATIC_TABLE[index - 1][0]
    return None


def _integer(data: memoryview, prefix: int) -> tuple[int, int]:
    mask = (1 << prefix) - 1
    if data and data[0] & mask != mask:  # 5.1: fits in the prefix, one byte (most do)
        return data[0] & mask, 1
    try:
        return decode_integer(data, prefix)
    except HPACKDecodingError:
        # hpack's message quotes the bytes; ours must not (no payload in errors).
        raise _Broken from None


def _string(view: memoryview, pos: int) -> tuple[bytes, int]:
    """RFC 7541 5.2 string literal at `pos` -> (bytes, position after it)."""
    if pos >= len(view):
        raise _Broken
    huffman = bool(view[pos] & 0x80)
    length, used = _integer(view[pos:], 7)
    start = pos + used
    stop = start + length
    if stop > len(view):
        raise _Broken
    raw = view[start:stop]
    if not huffman:
        return bytes(raw), stop
    try:
        return bytes(decode_huffman(raw)), stop
    except HPACKDecodingError:
        raise _Broken from None


def _skip_string(view: memoryview, pos: int) -> int:
    """Position after the 5.2 string literal at `pos`, without decoding it."""
    if pos >= len(view):
        raise _Broken
    length, used = _integer(view[pos:], 7)
    stop = pos + used + length
    if stop > len(view):
        raise _Broken
    return stop


def _name(raw: bytes) -> str:
    # Field names are ASCII (RFC 9113 8.2.1); latin-1 never fails, and lower-casing
    # matches HTTP/1 where names are case-insensitive.
    return raw.decode("latin-1").lower()
