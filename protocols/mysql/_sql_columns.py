"""SQL statement text -> the table columns that its literal values and `?` parameters go
to, for MySQL's COM_QUERY and COM_STMT_PREPARE. The only module that imports sqlglot
(docs/architecture.md: each third-party library lives in one module).

Statements understood (MySQL 8.0 Reference Manual, 15.2 "Data Manipulation
Statements"): `INSERT`/`REPLACE ... (cols) VALUES (...), (...)`, `INSERT ... SET col =
value`, `INSERT ... ON DUPLICATE KEY UPDATE col = value`, `UPDATE ... SET col = value`,
and in any statement's conditions `col = value`, `value = col`, `col <> value`,
`col <=> value` and `col IN (value, ...)`. A value is a string or number literal (a
negated number included) or a `?` parameter. `USE schema` is reported so that the
dissector can follow the current schema.

Columns are resolved to the table they belong to: a qualifier names a table or its
alias; an unqualified column belongs to the statement's target table (INSERT, UPDATE,
DELETE) or to the only table the statement reads; otherwise its table is unknown and left
empty (the dissector reports api `(unknown)`). `INSERT INTO t VALUES (...)` without a
column list names no column: values are reported by 1-based position as `#<n>`.

Not supported (no mapping, never an exception): statements longer than
`MAX_STATEMENT_CHARS`, anything sqlglot cannot parse, values computed by expressions or
functions (`UNHEX('...')`, `NOW()`), `INSERT ... SELECT`, `LOAD DATA`, stored procedure
calls (`CALL p(?)`: parameters stay unmapped), column names in `VALUES(col)` functions,
and disambiguation of an unqualified column of a join through the schema.

sqlglot logs unsupported syntax with a quote of the statement: a filter on its logger
drops those records, since no payload may reach a log (docs/architecture.md convention 4).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlglot
from sqlglot import TokenType, exp
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import SqlglotError

# Longest statement handed to the parser. sqlglot parses about a megabyte per second;
# ORM and hand-written statements are far shorter, while bulk loads (mysqldump's
# extended INSERTs, megabytes long) would stall the scan for little gain.
MAX_STATEMENT_CHARS = 256 * 1024
# Values mapped from one statement (a bulk INSERT of many rows): the classifiers judge a
# field from a sample, and the dissector's per-message bound is limits.max_records.
MAX_VALUES = 100_000

_DIALECT = MySQL()


class _DropRecords(logging.Filter):
    """sqlglot's warnings quote statement text; none may reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


_SQLGLOT_LOGGER = logging.getLogger("sqlglot")
if not any(isinstance(f, _DropRecords) for f in _SQLGLOT_LOGGER.filters):
    _SQLGLOT_LOGGER.addFilter(_DropRecords())


@dataclass(frozen=True, slots=True, kw_only=True)
class Binding:
    """A column a value or parameter goes to. `schema` is empty when the statement does
    not qualify the table; `table` is empty when it cannot be resolved."""

    schema: str
    table: str
    column: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnValue:
    binding: Binding
    value: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Analysis:
    """`params` has one entry per `?` in text order: its column, or None."""

    values: tuple[ColumnValue, ...] = ()
    params: tuple[Binding | None, ...] = ()
    use_schema: str = ""
    parsed: bool = False
    truncated: bool = False


_UNPARSED = Analysis()


@dataclass(frozen=True, slots=True)
class _TableRef:
    schema: str
    table: str


def _prepare_text(sql: str) -> tuple[str, int] | None:
    """Numbered placeholders (`?` -> `:p1`...) so that each `?` can be found after
    parsing (sqlglot keeps no positions for them), and REPLACE read as INSERT (same
    column semantics; sqlglot parses REPLACE only as an opaque command)."""
    tokens = _DIALECT.tokenize(sql)
    pieces: list[str] = []
    last = 0
    count = 0
    for index, token in enumerate(tokens):
        if token.token_type == TokenType.PLACEHOLDER and token.text == "?":
            count += 1
            pieces.append(sql[last : token.start])
            pieces.append(f":p{count}")
            last = token.end + 1
        elif index == 0 and token.text.upper() == "REPLACE":
            pieces.append(sql[last : token.start])
            pieces.append("INSERT")
            last = token.end + 1
    pieces.append(sql[last:])
    return "".join(pieces), count


def _table_ref(table: exp.Table) -> _TableRef:
    return _TableRef(schema=table.db or "", table=table.name or "")


class _Scope:
    """Tables of one statement: by alias and by name, plus the default target."""

    def __init__(self, statement: exp.Expression, target: exp.Table | None) -> None:
        self.by_name: dict[str, _TableRef] = {}
        refs: list[_TableRef] = []
        for table in statement.find_all(exp.Table):
            if not table.name:
                continue
            ref = _table_ref(table)
            if ref not in refs:
                refs.append(ref)
            self.by_name.setdefault(table.name.lower(), ref)
            if table.alias:
                self.by_name[table.alias.lower()] = ref
        if target is not None and target.name:
            self.default: _TableRef | None = _table_ref(target)
        elif len(refs) == 1:
            self.default = refs[0]
        else:
            self.default = None

    def binding(self, column: exp.Column) -> Binding:
        qualifier = column.table
        ref = self.by_name.get(qualifier.lower()) if qualifier else self.default
        if ref is None:
            return Binding(schema="", table="", column=column.name)
        return Binding(schema=ref.schema, table=ref.table, column=column.name)


def _literal(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Literal):
        return str(node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return "-" + str(node.this.this)
    return None


def _placeholder(node: exp.Expression) -> int | None:
    if isinstance(node, exp.Placeholder):
        name = str(node.this or "")
        if name.startswith("p") and name[1:].isdigit():
            return int(name[1:])
    return None


class _Collector:
    def __init__(self, count: int, max_values: int) -> None:
        self.values: list[ColumnValue] = []
        self.params: list[Binding | None] = [None] * count
        self.max_values = max_values
        self.truncated = False

    def bind(self, binding: Binding, node: exp.Expression) -> None:
        index = _placeholder(node)
        if index is not None:
            if 0 < index <= len(self.params) and self.params[index - 1] is None:
                self.params[index - 1] = binding
            return
        value = _literal(node)
        if value is None:
            return
        if len(self.values) >= self.max_values:
            self.truncated = True
            return
        self.values.append(ColumnValue(binding=binding, value=value))


def _insert(statement: exp.Insert, scope: _Scope, out: _Collector) -> None:
    target = statement.this
    names: list[str] = []
    if isinstance(target, exp.Schema):
        names = [ident.name for ident in target.expressions]
        target = target.this
    ref = _table_ref(target) if isinstance(target, exp.Table) else _TableRef("", "")
    source = statement.expression
    if isinstance(source, exp.Values):
        for row in source.expressions:
            items = row.expressions if isinstance(row, exp.Tuple) else [row]
            for position, item in enumerate(items, start=1):
                column = names[position - 1] if position <= len(names) else f"#{position}"
                out.bind(Binding(schema=ref.schema, table=ref.table, column=column), item)


def _comparisons(statement: exp.Expression, scope: _Scope, out: _Collector) -> None:
    """`col = value` anywhere (WHERE, ON, SET, ON DUPLICATE KEY UPDATE) and `col IN (...)`."""
    for node in statement.find_all(exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.In):
        if isinstance(node, exp.In):
            column = node.this
            if isinstance(column, exp.Column):
                binding = scope.binding(column)
                for item in node.expressions:
                    out.bind(binding, item)
            continue
        left, right = node.this, node.expression
        if isinstance(left, exp.Column) and not isinstance(right, exp.Column):
            out.bind(scope.binding(left), right)
        elif isinstance(right, exp.Column) and not isinstance(left, exp.Column):
            out.bind(scope.binding(right), left)


def _statement(statement: exp.Expression, out: _Collector) -> str:
    """Collect one statement's values; returns the schema of a USE statement."""
    if isinstance(statement, exp.Use):
        target = statement.this
        return str(target.name) if isinstance(target, exp.Expression) else ""
    table: exp.Table | None = None
    if isinstance(statement, (exp.Insert, exp.Update, exp.Delete)):
        into = statement.this
        if isinstance(into, exp.Schema):
            into = into.this
        table = into if isinstance(into, exp.Table) else None
    scope = _Scope(statement, table)
    if isinstance(statement, exp.Insert):
        _insert(statement, scope, out)
    _comparisons(statement, scope, out)
    return ""


def analyze(sql: str, max_values: int = MAX_VALUES) -> Analysis:
    """The columns of `sql`'s literal values and `?` parameters; never raises."""
    if not sql or len(sql) > MAX_STATEMENT_CHARS:
        return _UNPARSED
    try:
        prepared = _prepare_text(sql)
        if prepared is None:
            return _UNPARSED
        text, count = prepared
        statements = sqlglot.parse(text, read=_DIALECT)
        out = _Collector(count, max_values)
        use_schema = ""
        for statement in statements:
            if isinstance(statement, exp.Expression):
                use_schema = _statement(statement, out) or use_schema
    except (SqlglotError, RecursionError, ValueError, TypeError, AttributeError, IndexError):
        # A third-party parser meeting arbitrary bytes from the wire: any failure means
        # "no mapping", never a failed flow.
        return _UNPARSED
    return Analysis(
        values=tuple(out.values), params=tuple(out.params), use_schema=use_schema,
        parsed=True, truncated=out.truncated,
    )
