"""What a response reveals about the backend: error signatures and version headers.

Signatures are searched in response bodies that are text (JSON, XML, HTML, plain text),
in their first `MAX_SCAN_BYTES` only, with bounded regular expressions (no nested
quantifiers; every repetition has an upper bound), so a hostile body costs at most a
linear pass. A hit yields the signature's *name* (`java_stack_trace`, `mysql_error`),
never the matched text: error pages quote queries, paths and user input.

Version disclosure: `Server` values that carry a version (`nginx/1.25.3`), and headers
whose only purpose is to name the stack (`X-Powered-By`, `X-AspNet-Version`, ...). The
evidence names the product from a fixed vocabulary (`nginx`, `PHP`), never the value.

Not covered: errors inside binary bodies (protobuf, compressed without a
Content-Encoding), stack traces split across many SSE events, and localized messages.
"""

from __future__ import annotations

import re

from protocols.base import Location, MediaType, Part

# Body bytes searched: stack traces and database errors sit at the top of an error page
# or JSON error object; reading further would only cost time on large bodies. Successful
# responses (2xx/3xx) get a shorter look: an error inside one (GraphQL, an API that
# answers 200 with an error object) is small, and big successful bodies are the bulk of
# the traffic.
MAX_SCAN_BYTES = 64 * 1024
MAX_SCAN_BYTES_OK = 8 * 1024
# Bytes of a header value read for a product name or a version.
MAX_HEADER_CHARS = 256

# name -> (markers, pattern). Names are stable snake_case (they appear in finding ids and
# outputs). A pattern runs only when one of its literal markers is in the text: `in` is
# a fast C search, the regular expressions are not, and most bodies hold no marker.
SIGNATURES: dict[str, tuple[tuple[str, ...], re.Pattern[str]]] = {
    # `at com.acme.Foo.bar(Foo.java:42)`, or the exception class line of a JVM trace.
    "java_stack_trace": (
        (".java:", ".kt:", ".scala:", ".groovy:", "Native Method", "Unknown Source", "Exception in thread"),
        re.compile(
            r"\bat [\w$.]{1,200}\((?:[\w$]{1,100}\.(?:java|kt|scala|groovy):\d{1,6}|Native Method|Unknown Source)\)"
            r"|\bException in thread \"[^\"\n]{1,100}\" [\w.]{1,200}(?:Exception|Error)\b"
        ),
    ),
    # CPython's traceback header and frame lines.
    "python_traceback": (
        ("Traceback (most recent call last)", '", line '),
        re.compile(r"Traceback \(most recent call last\):|\bFile \"[^\"\n]{1,300}\", line \d{1,6}, in \w"),
    ),
    # .NET: `at Ns.Type.Method(...) in C:\src\File.cs:line 42` and well-known exception types.
    "dotnet_stack_trace": (
        (":line ", "Exception"),
        re.compile(
            r"\bat [\w.`<>\[\]]{1,200}\([^)\n]{0,200}\) in [^\n]{1,300}:line \d{1,6}"
            r"|\bSystem\.(?:NullReference|InvalidOperation|Argument(?:Null)?|Web\.Http\w{0,40})Exception\b"
        ),
    ),
    # Node.js: `at handler (/srv/app/index.js:10:5)`.
    "node_stack_trace": (
        (".js:", ".ts:", ".mjs:", ".cjs:", "node:internal"),
        re.compile(r"\bat [^\n()]{1,200} \((?:/|[A-Za-z]:\\|node:|file:)[^)\n]{1,300}:\d{1,6}:\d{1,6}\)"),
    ),
    "php_error": (
        (" on line", "Stack trace:"),
        re.compile(
            r"\b(?:Fatal error|Parse error|Uncaught [\w\\]{1,100})\b[^\n]{0,300} on line\W{0,8}\d{1,6}"
            r"|\bStack trace:\s{0,8}#0 "
        ),
    ),
    "ruby_backtrace": ((".rb:",), re.compile(r"\.rb:\d{1,6}:in [`']")),
    "go_panic": (
        ("goroutine ", "panic: runtime error"),
        re.compile(r"\bgoroutine \d{1,9} \[running\]:|\bpanic: runtime error:"),
    ),
    "mysql_error": (
        ("SQL syntax", "SQLSTATE[", "MySqlException", "com.mysql.", "mysql_", "mysqli_", "ER_"),
        re.compile(
            r"You have an error in your SQL syntax|\bSQLSTATE\[\w{1,10}\]|\bMySqlException\b"
            r"|\bcom\.mysql\.(?:cj\.)?jdbc\.|\bmysqli?_\w{1,40}\(\)|\bER_\w{1,60}\b: "
        ),
    ),
    "postgres_error": (
        ("PG::", "PSQLException", "psycopg", "ERROR:"),
        re.compile(
            r"\bPG::\w{1,60}Error\b|\borg\.postgresql\.util\.PSQLException\b|\bpsycopg2?\.\w{1,60}\b"
            r"|\bERROR:\s{1,4}(?:syntax error at or near|relation \"|column \"[^\"\n]{1,100}\" does not exist)"
        ),
    ),
    "oracle_error": (("ORA-",), re.compile(r"\bORA-\d{5}\b")),
    "mssql_error": (
        ("Unclosed quotation mark", "SqlClient.SqlException", "SQL Server]"),
        re.compile(
            r"Unclosed quotation mark after the character string|\bSystem\.Data\.SqlClient\.SqlException\b"
            r"|\[Microsoft\]\[ODBC SQL Server Driver\]|\[SQL Server\]"
        ),
    ),
    "sqlite_error": (
        ("SQLITE_ERROR", "sqlite3.OperationalError", "SQLiteException"),
        re.compile(r"\bSQLITE_ERROR\b|\bsqlite3\.OperationalError\b|\bSQLiteException\b"),
    ),
    "sql_error": (
        ("java.sql.SQL", "sqlalchemy.exc.", "Sequelize", "QueryFailedError", "PDOException"),
        re.compile(
            r"\bjava\.sql\.SQL\w{0,40}Exception\b|\bsqlalchemy\.exc\.\w{1,60}\b|\bSequelize\w{0,40}Error\b"
            r"|\bQueryFailedError\b|\bPDOException\b"
        ),
    ),
    # Framework debug pages, which show source and settings.
    "debug_page": (
        ("Werkzeug Debugger", "DEBUG = True", "Whoops! There was an error", "Action Controller: Exception",
         "Whitelabel Error Page"),
        re.compile(
            r"Werkzeug Debugger|You're seeing this error because you have <code>DEBUG = True"
            r"|Whoops! There was an error|<title>Action Controller: Exception caught"
            r"|Whitelabel Error Page"
        ),
    ),
}
SQL_SIGNATURES = frozenset(
    {"mysql_error", "postgres_error", "oracle_error", "mssql_error", "sqlite_error", "sql_error"}
)

# Headers that only name the stack; any value discloses it.
STACK_HEADERS = frozenset(
    {"x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "x-generator", "x-runtime-version"}
)
# `product/1.2` or `product 1.2`: a version number follows a product token.
_VERSION_RE = re.compile(r"[A-Za-z][\w.-]{0,40}[/ ]v?\d{1,4}(?:\.\d{1,6}){0,4}")
# Products named in evidence (a fixed vocabulary: the header value itself is never shown).
_PRODUCTS = (
    ("microsoft-iis", "Microsoft-IIS"),
    ("asp.net", "ASP.NET"),
    ("openresty", "openresty"),
    ("nginx", "nginx"),
    ("apache-coyote", "Tomcat"),
    ("tomcat", "Tomcat"),
    ("apache", "Apache"),
    ("express", "Express"),
    ("next.js", "Next.js"),
    ("node", "Node.js"),
    ("php", "PHP"),
    ("jetty", "Jetty"),
    ("kestrel", "Kestrel"),
    ("gunicorn", "gunicorn"),
    ("uvicorn", "uvicorn"),
    ("hypercorn", "hypercorn"),
    ("werkzeug", "Werkzeug"),
    ("tornado", "Tornado"),
    ("envoy", "Envoy"),
    ("caddy", "Caddy"),
    ("lighttpd", "lighttpd"),
    ("litespeed", "LiteSpeed"),
    ("undertow", "Undertow"),
    ("wildfly", "WildFly"),
    ("jboss", "JBoss"),
    ("weblogic", "WebLogic"),
    ("websphere", "WebSphere"),
    ("servlet", "Servlet"),
    ("phusion", "Passenger"),
    ("cowboy", "Cowboy"),
    ("python", "Python"),
    ("rabbitmq", "RabbitMQ"),
    ("cloudflare", "cloudflare"),
)
# Media types whose bodies are text worth searching (the dissectors' names).
_TEXT_MEDIA = frozenset({MediaType.JSON, MediaType.NDJSON, MediaType.TEXT, MediaType.SSE, MediaType.FORM})
# Content types of BINARY-typed bodies that are still text (HTML and XML error pages).
_TEXT_CONTENT_TYPES = ("text/", "application/xml", "application/xhtml", "application/problem")


def product_of(value: bytes) -> str:
    """The product a version header names, from the fixed vocabulary, else `other`."""
    text = value[:MAX_HEADER_CHARS].decode("latin-1").lower()
    for token, name in _PRODUCTS:
        if token in text:
            return name
    return "other"


def version_headers(parts: tuple[Part, ...]) -> list[tuple[str, str]]:
    """(header name, product) for every header of a response that discloses the stack."""
    out = []
    for part in parts:
        if part.location is not Location.HEADER:
            continue
        name = part.name
        versioned = name == "server" and _VERSION_RE.search(
            part.data[:MAX_HEADER_CHARS].decode("latin-1")
        )
        if name in STACK_HEADERS or versioned:
            out.append((name, product_of(part.data)))
    return out


def _is_text_body(part: Part, content_type: str) -> bool:
    if part.media_type in _TEXT_MEDIA:
        return True
    if part.media_type == MediaType.BINARY:
        return content_type.startswith(_TEXT_CONTENT_TYPES) or not content_type
    return False


def error_signatures(parts: tuple[Part, ...], status: int = 0) -> list[str]:
    """Names of the error signatures found in a response's text bodies (`status` 0:
    unknown, read like an error)."""
    limit = MAX_SCAN_BYTES_OK if 200 <= status < 400 else MAX_SCAN_BYTES
    content_type = ""
    for part in parts:
        if part.location is Location.HEADER and part.name == "content-type":
            content_type = part.data[:MAX_HEADER_CHARS].decode("latin-1").strip().lower()
    found: list[str] = []
    for part in parts:
        if part.location is not Location.BODY or not _is_text_body(part, content_type):
            continue
        head = part.data[:limit]
        if b"\x00" in head[:512]:
            continue  # binary after all: not an error page
        text = head.decode("utf-8", "replace")
        for name, (markers, pattern) in SIGNATURES.items():
            if name in found or not any(marker in text for marker in markers):
                continue
            if pattern.search(text):
                found.append(name)
    return found
