"""The binary fallback: the printable text inside bytes no decoder could read
(spec/inventory.md, "field": a binary payload that cannot be decoded is still classified,
field empty).

Every dissector and payload decoder that gives up on a payload (an Avro value without
its schema, MessagePack or Thrift nobody recognised, proprietary framing, a binary HTTP
body) hands the bytes here instead of dropping them. What comes out is one value per
payload, `PrintableText`: the payload's printable runs joined by `RUN_SEPARATOR`. The
engine scores its runs one by one and counts the payload once per data type found in
any run (`dpi/printable_scoring.py`): the inventory decides per field from the share of
values that hit, so a payload whose runs were separate values (an e-mail, a phone, a card
number and a note) would give each type a quarter of the field and report none.

Runs: UTF-8 text (printable ASCII and well-formed multi-byte sequences of printable
characters) and UTF-16LE text (ASCII and Latin-1 letters followed by a zero byte, as
Windows and Java write), at least `MIN_RUN_CHARS` characters (strings(1) uses 4; an
e-mail or a card number is far longer), at most `MAX_RUNS` per payload and
`MAX_TEXT_CHARS` characters in all, each cut at `Limits.max_value_chars`.

Length prefixes: binary formats put a string's length right before it, and that byte is
often printable itself (Avro's zigzag length of a 21-character string is `*`, of a
16-character one a space), gluing it to the string or to the string before. When a byte
of a run gives exactly the length of what follows it in the run (as a plain byte or as
a zigzag varint), the string after it is added as one more candidate, so `+1 202 555
0143 4111111111111111` also gives `4111111111111111`. Candidates never change the count:
the payload is one value whatever it holds.

Containers whose printable runs are noise (compressed archives, images, audio, video,
fonts) are recognised by their magic numbers and give nothing.
"""

from __future__ import annotations

import re

from protocols.base import Limits

# Shorter runs inside binary data are noise.
MIN_RUN_CHARS = 6
# Runs taken from one payload, in order: a big blob gives at most this many.
MAX_RUNS = 256
# Characters of printable text taken from one payload (all runs together).
MAX_TEXT_CHARS = 64 * 1024
# Length-prefix candidates looked for per run (see the module docstring).
MAX_PREFIX_SPLITS = 4
# Joins the runs of one payload: never inside a run (runs hold no control character).
RUN_SEPARATOR = "\n"

# Printable ASCII and UTF-8 sequences of 2-4 bytes (no C1 controls: U+0080-U+009F are
# `\xc2[\x80-\x9f]`), one character per repetition.
_UTF8_RUN = re.compile(
    rb"(?:[\x20-\x7e]|\xc2[\xa0-\xbf]|[\xc3-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
    rb"|[\xf0-\xf4][\x80-\xbf]{3}){%d,}" % MIN_RUN_CHARS
)
# UTF-16LE: printable ASCII and Latin-1 letters, each followed by a zero byte.
_UTF16_RUN = re.compile(rb"(?:[\x20-\x7e\xa0-\xff]\x00){%d,}" % MIN_RUN_CHARS)
# Magic numbers of containers whose bytes are compressed or media: their runs are noise.
_NOISE_MAGICS = (
    b"\x1f\x8b",  # gzip
    b"PK\x03\x04",  # zip, jar, docx, xlsx
    b"\x28\xb5\x2f\xfd",  # zstd
    b"BZh",  # bzip2
    b"\xfd7zXZ\x00",  # xz
    b"7z\xbc\xaf\x27\x1c",  # 7-Zip
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"wOFF",  # WOFF fonts
    b"wOF2",
    b"OggS",
    b"ID3",  # MP3
    b"\x1a\x45\xdf\xa3",  # Matroska, WebM
)


# Content types whose bodies are media, archives, markup or code, not API payloads: an
# HTTP/1 dissector counts past them instead of buffering them for the fallback.
_UNREAD_TYPE_PREFIXES = ("image/", "audio/", "video/", "font/", "model/")
_UNREAD_TYPES = frozenset(
    {
        "application/zip", "application/gzip", "application/x-gzip", "application/x-tar",
        "application/x-7z-compressed", "application/x-bzip2", "application/x-xz",
        "application/zstd", "application/x-rar-compressed", "application/pdf",
        "application/wasm", "application/vnd.ms-fontobject", "application/javascript",
        "application/x-javascript", "application/ecmascript", "text/html", "text/css",
        "text/javascript",
    }
)  # fmt: skip


def readable_binary(content_type: str) -> bool:
    """Is a body of this binary content type worth the fallback (an API payload in an
    unknown format), rather than media, an archive, markup or code?"""
    bare = content_type.split(";", 1)[0].strip().lower()
    return not bare.startswith(_UNREAD_TYPE_PREFIXES) and bare not in _UNREAD_TYPES


class PrintableText(str):
    """The printable runs of one undecoded payload, joined by `RUN_SEPARATOR`: one value
    whose runs are classified one by one (`dpi/printable_scoring.py`)."""

    __slots__ = ()

    def runs(self) -> list[str]:
        return self.split(RUN_SEPARATOR)


def is_noise(data: bytes) -> bool:
    """Compressed or media bytes (by magic number) whose printable runs mean nothing."""
    if data.startswith(_NOISE_MAGICS):
        return True
    # RIFF (WebP, WAV, AVI) and ISO media (MP4, HEIC: `ftyp` at offset 4).
    return data[:4] == b"RIFF" or data[4:8] == b"ftyp"


def printable_runs(data: bytes, limits: Limits) -> list[str]:
    """The printable runs of `data` in order, with their length-prefix candidates
    (module docstring); bounded by `MAX_RUNS` and `MAX_TEXT_CHARS`."""
    if len(data) < MIN_RUN_CHARS or is_noise(data):
        return []
    found: list[tuple[int, str]] = []
    for match in _UTF8_RUN.finditer(data):
        found.append((match.start(), match.group().decode("utf-8", "replace")))
        if len(found) >= MAX_RUNS:
            break
    if b"\x00" in data:
        for wide, match in enumerate(_UTF16_RUN.finditer(data), 1):
            found.append((match.start(), match.group().decode("utf-16-le", "replace")))
            if wide >= MAX_RUNS:
                break
        found.sort(key=lambda item: item[0])
    max_chars = limits.max_value_chars
    budget = MAX_TEXT_CHARS
    runs: list[str] = []
    for _, text in found:
        for candidate in _candidates(text.strip()):
            candidate = candidate[:max_chars]
            if len(candidate) < MIN_RUN_CHARS:
                continue
            budget -= len(candidate)
            if budget < 0 or len(runs) >= MAX_RUNS:
                return runs
            runs.append(candidate)
    return runs


def printable_text(data: bytes, limits: Limits) -> PrintableText | None:
    """The fallback value of one payload, or None when it holds no printable run."""
    runs = printable_runs(data, limits)
    return PrintableText(RUN_SEPARATOR.join(runs)) if runs else None


def _candidates(run: str) -> list[str]:
    """The run, then the strings inside it that a length-prefix byte announces."""
    out = [run]
    end = len(run)
    # Walk back from the end: a prefix at `p` announces `end - p - 1` characters. Only
    # ASCII prefixes count (a length byte is one byte); at most MAX_PREFIX_SPLITS.
    for p in range(end - MIN_RUN_CHARS - 1, -1, -1):
        code = ord(run[p])
        size = end - p - 1
        if code == size or code == 2 * size:
            out.append(run[p + 1 :])
            if p >= MIN_RUN_CHARS:
                out.append(run[:p])
            if len(out) > MAX_PREFIX_SPLITS:
                break
    return out
