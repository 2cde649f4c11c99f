"""Field-name tokens: splitting, synonyms, and keys that are data rather than names."""

from __future__ import annotations

from classifiers._hints import name_tokens, path_tokens


def test_camel_snake_and_kebab_names_split_the_same() -> None:
    assert name_tokens("userEmail") == name_tokens("user_email") == name_tokens("user-email")


def test_synonyms_expand_to_canonical_tokens() -> None:
    assert {"birth", "date"} <= name_tokens("DOB")
    assert {"card", "number"} <= name_tokens("cc_num")


def test_map_keys_that_start_with_a_digit_give_no_tokens() -> None:
    tokens = path_tokens("versions.1.0.0-gh-cc74126.contributors[].name")
    assert "card" not in tokens and "cc" not in tokens
    assert {"versions", "contributors", "name"} <= tokens
