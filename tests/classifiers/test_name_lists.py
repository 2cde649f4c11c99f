"""The person-name lists held without a str per name (`_name_lists.NameList`): they answer
exactly as a set of the file's lines did, on the shipped data and on lists of near
neighbours, for names, near misses, other scripts and hostile strings."""

from __future__ import annotations

import gzip
from importlib.resources import files

import pytest

from classifiers.pii._name_lists import (
    _AMBIGUOUS,
    NameList,
    known_family_name,
    known_given_name,
    name_lists,
)


def _lines(name: str) -> frozenset[str]:
    data = files("classifiers.pii").joinpath("data", name).read_bytes()
    return frozenset(n for n in gzip.decompress(data).decode("utf-8").split("\n") if n)


@pytest.mark.parametrize(
    ("index", "file"), [(0, "given-names.txt.gz"), (1, "family-names.txt.gz")]
)
def test_the_shipped_lists_answer_as_a_set_of_their_lines(index: int, file: str) -> None:
    as_set = _lines(file) - _AMBIGUOUS
    listed = name_lists()[index]
    assert len(listed) == len(as_set) > 25_000
    probes = set(as_set) | set(_AMBIGUOUS)
    probes |= {n[:-1] for n in as_set} | {n + "a" for n in as_set} | {n.upper() for n in as_set}
    probes |= {"", "\n", "anna\nbob", "\ud800", "x" * 300}
    assert {p for p in probes if p in listed} == {p for p in probes if p in as_set}


def test_names_crowded_into_few_buckets_are_told_apart() -> None:
    # 5,000 names that differ in their last characters: every prefix, extension and
    # sibling of a name is still answered by its bytes.
    names = [f"name{n:04d}" for n in range(5000)]
    listed = NameList(("\n".join(names)).encode(), frozenset({"name0007"}))
    assert len(listed) == 4999
    assert "name0042" in listed and "name4999" in listed
    assert "name0007" not in listed
    assert not any(
        probe in listed for probe in ("name", "name004", "name00420", "name5000", "Name0042")
    )


def test_lookups_case_fold_and_keep_the_ambiguous_words_out() -> None:
    assert known_given_name("Maria") and known_given_name("JOHN")
    assert known_family_name("Smith") and known_family_name("王")
    assert not known_given_name("Paris") and not known_given_name("Summer")
    assert not known_given_name("Xqzvbn") and not known_family_name("Xqzvbn")
