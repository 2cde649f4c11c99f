"""MySQL / MariaDB dissector: table rows read and written -> inventory messages.

Spec (MySQL Source Code Documentation, dev.mysql.com/doc/dev/mysql-server/latest/):
PAGE_PROTOCOL.html and its pages PAGE_PROTOCOL_BASICS (packets, sequence ids, 16 MB
continuation), PAGE_PROTOCOL_CONNECTION_PHASE (HandshakeV10, HandshakeResponse41,
SSLRequest, AuthSwitchRequest, AuthMoreData), PAGE_PROTOCOL_COMPRESSION (zlib; zstd
from 8.0.18), PAGE_PROTOCOL_COMMAND_PHASE (COM_QUERY and its text result sets,
COM_INIT_DB, COM_FIELD_LIST, COM_CHANGE_USER, utility commands),
PAGE_PROTOCOL_COMMAND_PHASE_PS (COM_STMT_PREPARE/EXECUTE/FETCH/SEND_LONG_DATA/CLOSE/
RESET, binary result sets), CLIENT_DEPRECATE_EOF and CLIENT_QUERY_ATTRIBUTES. MariaDB
differences (mariadb.com/kb, "Clients & Utilities / Server client software / MariaDB
protocol"): the `5.5.5-` version prefix, extended capabilities, and
MARIADB_CLIENT_CACHE_METADATA (a "metadata follows" byte after a column count).
The wire layouts live in `protocols.mysql._packets`; statement text is mapped to
tables and columns by `protocols.mysql._sql_columns` (sqlglot). The dissector is built in
layers, one module per phase, each a subclass of the one before: `_connection` (state and
shared helpers), `_framing` (packets out of bytes, compression, resynchronising),
`_results` (OK/ERR/EOF and result sets), `_queries` (COM_QUERY, COM_INIT_DB),
`_prepared` (COM_STMT_*), `_handshake` (greeting, login, authentication, COM_CHANGE_USER)
and `_session` (feeding both directions, pairing responses with commands, dispatch);
states and transition tables are in `_phases`. This module is the dissector the registry
finds: its name, ports and probe, and each connection's `_session` once it is MySQL.

Events (spec/inventory.md, "mysql"):
- result-set rows (text and binary): direction response, api `schema.table` from the
  column definition (original table, else the alias, else the current schema),
  location `column`, field the original column name; one Message per table per batch
  of up to `ROW_BATCH` rows (a result set cut by a gap or the end of the connection
  gives the rows read before the cut), JSON columns with media type JSON, binary
  columns that are not UTF-8 as binary;
- literal values of COM_QUERY statements (INSERT/REPLACE VALUES and SET, UPDATE SET,
  `col = value` conditions): direction request, location `column`; `INSERT INTO t
  VALUES (...)` without a column list names no column: field `#<n>` (1-based position);
- COM_STMT_EXECUTE parameters (and COM_STMT_SEND_LONG_DATA): location `param`, field
  the column the `?` binds to per the PREPARE text; a statement whose PREPARE was not
  captured (or a `?` that binds to no column) gives field `?<n>` and api `(unknown)`.
- login (HandshakeResponse41, COM_CHANGE_USER): location `auth`, field `user`, and
  field `password` only when the password travels in clear (mysql_clear_password). The
  auth response of the other plugins is a salted scramble, not a reusable secret, and
  is not reported. api: the database named in the login, else `(unknown)`.
A table whose schema is unknown (a statement naming `t` before any USE, mid-stream) is
reported as the bare table name rather than a guessed schema; the schema is taken from
column definitions of the same table seen earlier on the connection when there is one.

Pairing: MySQL answers commands in order, so commands are queued and the head decides
how response packets are read (PAGE_PROTOCOL_COMMAND_PHASE). Statement ids map to the
PREPARE's text, parameter types and columns (bounded by `MAX_STATEMENTS`).

Mid-stream (no greeting): the common capabilities are assumed (PROTOCOL_41, plugin
auth, multi results); CLIENT_DEPRECATE_EOF is learnt from the packet after the column
definitions (EOF packet or not), query attributes from the COM_QUERY prefix, the
compressed protocol from a 7-byte header whose payload holds a plausible command. The
request side resynchronises on the next plausible command packet (anomaly `midstream`),
the response side waits for a command and ignores bytes before it. After a gap, the same.
A TLS upgrade (SSLRequest) stops the dissection: anomaly `tls` and a hand-off `opaque`.

Not supported: servers before 4.1 (HandshakeV9, Protocol::320), COM_BINLOG_DUMP and
replication streams (dissection stops with `unsupported_command`), LOCAL INFILE file
contents, MariaDB COM_STMT_BULK_EXECUTE, cursor fetches of a cursor opened mid-stream,
and session-state tracking of the current schema (USE and COM_INIT_DB are followed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from protocols.base import Direction, Probe, SessionDissector

if TYPE_CHECKING:
    from protocols.mysql._session import MysqlSession

PROTOCOL = "mysql"
# Bytes of a packet header before its sequence id (3-byte length): `_packets.HEADER` - 1.
_SEQUENCE_AT = 3


class MysqlDissector(SessionDissector):
    """One MySQL/MariaDB connection, both directions (see the module docstring).

    The work is done by a `MysqlSession` (`_session.py` and its layers), loaded with the first
    connection of this protocol (`SessionDissector`)."""

    name: ClassVar[str] = PROTOCOL
    ports: ClassVar[frozenset[int]] = frozenset({3306, 3307, 33060})

    _session: MysqlSession

    def _new_session(self) -> MysqlSession:
        from protocols.mysql._session import MysqlSession

        return MysqlSession(self.limits, self.options)

    @classmethod
    def probe(cls, direction: Direction, data: bytes) -> Probe:
        # The first packet of either side has sequence id 0 (its 4th byte): what the
        # session's probe answers first for bytes that are too short or not 0, said here
        # without importing it, so that other protocols' connections never load it.
        if len(data) <= _SEQUENCE_AT:
            return Probe.NEED_MORE
        if data[_SEQUENCE_AT] != 0:
            return Probe.NO
        from protocols.mysql._session import MysqlSession

        return MysqlSession.probe(direction, data)
