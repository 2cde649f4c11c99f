"""Statement text -> columns of literal values and `?` parameters (sqlglot, MySQL dialect)."""

from __future__ import annotations

import logging

import pytest

from protocols.mysql._sql_columns import MAX_STATEMENT_CHARS, analyze


def values(sql: str) -> list[tuple[str, str, str, str]]:
    return [
        (v.binding.schema, v.binding.table, v.binding.column, v.value) for v in analyze(sql).values
    ]


def params(sql: str) -> list[tuple[str, str, str] | None]:
    return [None if p is None else (p.schema, p.table, p.column) for p in analyze(sql).params]


def test_insert_values_columns_by_position() -> None:
    assert values("INSERT INTO crm.people (name, email) VALUES ('Ana', 'a@example.com'), ('Li', 'l@x')") == [
        ("crm", "people", "name", "Ana"), ("crm", "people", "email", "a@example.com"),
        ("crm", "people", "name", "Li"), ("crm", "people", "email", "l@x"),
    ]


def test_insert_without_column_list_positional() -> None:
    assert values("INSERT INTO test VALUES ( 2, 'TEST' )") == [
        ("", "test", "#1", "2"), ("", "test", "#2", "TEST"),
    ]


def test_insert_set_and_negative_number() -> None:
    assert values("INSERT INTO t SET a = -5, b = 'x'") == [("", "t", "a", "-5"), ("", "t", "b", "x")]


def test_replace_read_as_insert() -> None:
    assert values("REPLACE INTO cards (number) VALUES ('4111111111111111')") == [
        ("", "cards", "number", "4111111111111111"),
    ]


def test_update_set_and_where_alias_resolved() -> None:
    assert values("UPDATE shop.users u SET u.email = 'a@b.example' WHERE u.id = 5") == [
        ("shop", "users", "email", "a@b.example"), ("shop", "users", "id", "5"),
    ]


def test_where_literal_on_either_side_and_in_list() -> None:
    assert values("SELECT id FROM users WHERE 'bob' = username AND id IN (1, 2)") == [
        ("", "users", "username", "bob"), ("", "users", "id", "1"), ("", "users", "id", "2"),
    ]


def test_join_unqualified_column_table_unknown() -> None:
    assert values("SELECT * FROM a JOIN b ON a.x = b.y WHERE z = 'v'") == [("", "", "z", "v")]


def test_placeholders_in_text_order() -> None:
    sql = "SELECT * FROM t WHERE a = ? AND b IN (?, ?) LIMIT ?"
    assert params(sql) == [("", "t", "a"), ("", "t", "b"), ("", "t", "b"), None]


def test_placeholders_insert_and_on_duplicate_key() -> None:
    sql = "INSERT INTO peeps (name, age) VALUES (?, ?) ON DUPLICATE KEY UPDATE age = ?"
    assert params(sql) == [("", "peeps", "name"), ("", "peeps", "age"), ("", "peeps", "age")]


def test_placeholder_in_string_not_counted() -> None:
    assert params("SELECT '?' FROM t WHERE a = ?") == [("", "t", "a")]


def test_use_statement_reported() -> None:
    assert analyze("USE billing").use_schema == "billing"


def test_multi_statement_values_collected() -> None:
    found = values("UPDATE t SET a = 1; INSERT INTO u (b) VALUES ('x')")
    assert found == [("", "t", "a", "1"), ("", "u", "b", "x")]


@pytest.mark.parametrize("sql", [
    "INSERT INTO ((( 'broken", "\x00\x01\x02", "SELEC * FRM", "", "((((" * 2000,
])
def test_unparsable_no_mapping_never_raises(sql: str) -> None:
    result = analyze(sql)
    assert result.values == ()


def test_statement_too_long_not_parsed() -> None:
    sql = "INSERT INTO t (a) VALUES ('" + "x" * MAX_STATEMENT_CHARS + "')"
    assert not analyze(sql).parsed


def test_values_bounded() -> None:
    sql = "INSERT INTO t (a) VALUES " + ", ".join(["('v')"] * 20)
    result = analyze(sql, max_values=5)
    assert len(result.values) == 5 and result.truncated


def test_sqlglot_warnings_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        analyze("REPLACE INTO secret_table SELECT 'hunter2-password'")
        analyze("SHOW GRANTS FOR 'alice'@'localhost' hunter2-password")
    assert "hunter2" not in caplog.text
