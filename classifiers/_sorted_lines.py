"""Membership in a bundled word list (the person-name lists, the ICD-10-CM code list)
held as the file's own text: lines sorted by their bytes, found through a sparse index.

The shipped lists are written sorted (`scripts/make_name_lists.py`,
`scripts/make_icd10_list.py`), so loading one is its decompression and an index of one
line every `_BLOCK` bytes (some 1,400 lines for the 0.7 MB code list, built in about a
millisecond): no per-line parsing, no hash table or array of numbers built when a scan
first meets a value that needs the list (that building was 35-65 ms per list, paid again
by every process). A lookup is a bisection of the index (C) and one `bytes.find` in the
block of lines it points to: about as fast as the hash table was. It answers exactly as
a set of the text's lines would.
"""

from __future__ import annotations

from bisect import bisect_right

# Bytes between two indexed lines: the block one lookup searches.
_BLOCK = 512


class SortedLines:
    """The lines of `text` (UTF-8 or ASCII bytes, sorted by their bytes, each ending in a
    newline; a missing last newline is added), as a set of bytes strings."""

    __slots__ = ("_firsts", "_starts", "_text")

    def __init__(self, text: bytes) -> None:
        if text and not text.endswith(b"\n"):
            text += b"\n"
        # A newline before the first line too: every line is then "\n" + line + "\n".
        self._text = text = b"\n" + text
        # Blocks of whole lines, one every _BLOCK bytes or so: where each starts, and its
        # first line (the lines being sorted, a line is in the last block whose first
        # line is not above it).
        self._starts: list[int] = []
        self._firsts: list[bytes] = []
        start = 1
        while 0 < start < len(text):
            self._starts.append(start)
            self._firsts.append(text[start : text.index(b"\n", start)])
            start = text.find(b"\n", start + _BLOCK) + 1

    def __len__(self) -> int:
        # Empty lines sort first: the leading run of newlines (less the one added) is
        # every empty line.
        text = self._text
        return text.count(b"\n") - 1 - (len(text) - len(text.lstrip(b"\n")) - 1)

    def __contains__(self, line: bytes) -> bool:
        """Whether `line` (without its newline) is one of the lines."""
        if b"\n" in line:
            return False
        block = bisect_right(self._firsts, line) - 1
        if block < 0:
            return False  # below the first line
        starts = self._starts
        end = starts[block + 1] if block + 1 < len(starts) else len(self._text)
        return self._text.find(b"\n" + line + b"\n", starts[block] - 1, end) >= 0
