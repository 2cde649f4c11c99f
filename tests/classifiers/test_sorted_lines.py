"""The bundled word lists searched by bisection over their text (`_sorted_lines.py`): the
shipped files are sorted as the search needs, and it answers exactly as a set of the
text's lines, for members, near misses, empty lines and both ends of the list."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

import classifiers
from classifiers._sorted_lines import SortedLines

_DATA = Path(classifiers.__file__).parent
_LISTS = [
    _DATA / "pii" / "data" / "given-names.txt.gz",
    _DATA / "pii" / "data" / "family-names.txt.gz",
    _DATA / "phi" / "data" / "icd10cm-codes.txt.gz",
]


@pytest.mark.parametrize("path", _LISTS, ids=lambda p: p.name)
def test_the_shipped_lists_are_sorted_by_their_bytes(path: Path) -> None:
    text = gzip.decompress(path.read_bytes())
    assert text.endswith(b"\n")
    lines = text[:-1].split(b"\n")
    assert len(lines) > 25_000 and lines == sorted(lines)


def test_answers_as_a_set_of_the_lines() -> None:
    rng = random.Random(7)
    alphabet = b"ab\xc3\xa9 -z"
    for _ in range(200):
        words = {bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 5)))
                 for _ in range(rng.randint(0, 40))}
        text = b"".join(w + b"\n" for w in sorted(words))
        # A text may lack its last newline (when its last line is not empty).
        unended = text.endswith(b"\n") and not text.endswith(b"\n\n") and text != b"\n"
        lines = SortedLines(text[:-1] if unended and rng.random() < 0.5 else text)
        assert len(lines) == len(words - {b""})
        probes = words | {w + b"a" for w in words} | {w[:-1] for w in words}
        probes |= {b"", b"\x00", b"\xff", b"zzzzzz"}
        assert {p for p in probes if p in lines} == {p for p in probes if p in words}


def test_lines_across_many_index_blocks_answer_as_a_set() -> None:
    # Thousands of lines, repeated ones and empty ones among them: every block boundary
    # of the index has members, near misses and neighbours on both sides of it.
    rng = random.Random(11)
    for _ in range(5):
        words = sorted(rng.choice([b"", b"x" * rng.randint(1, 40)]) + str(rng.randint(0, 10**6)).encode()
                       for _ in range(rng.randint(2_000, 6_000)))
        words += words[: rng.randint(0, 50)]
        words.sort()
        lines = SortedLines(b"\n".join(words))
        members = set(words)
        assert len(lines) == len(words) - words.count(b"")
        probes = members | {w + b"0" for w in members} | {w[:-1] for w in members}
        probes |= {b"", b"\x00", b"\xff", b"0\n1"}
        assert {p for p in probes if p in lines} == {p for p in probes if p in members}


def test_an_empty_text_holds_nothing() -> None:
    assert b"" not in SortedLines(b"") and len(SortedLines(b"")) == 0
