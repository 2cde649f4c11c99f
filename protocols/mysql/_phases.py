"""MySQL command codes and the dissector's states, each state with one transition
table (docs/architecture.md convention 6): the command byte -> how its response is read
(PAGE_PROTOCOL_COMMAND_PHASE), the connection phase (PAGE_PROTOCOL_CONNECTION_PHASE, then
the command phase), and the packets of one response (text and binary result sets,
COM_STMT_PREPARE_OK and its definitions)."""

from __future__ import annotations

from enum import Enum

from protocols.mysql import _packets as wire

# -- commands (PAGE_PROTOCOL_COMMAND_PHASE) --------------------------------------------

COM_QUIT = 0x01
COM_INIT_DB = 0x02
COM_QUERY = 0x03
COM_FIELD_LIST = 0x04
COM_CREATE_DB = 0x05
COM_DROP_DB = 0x06
COM_REFRESH = 0x07
COM_STATISTICS = 0x09
COM_PROCESS_INFO = 0x0A
COM_PROCESS_KILL = 0x0C
COM_DEBUG = 0x0D
COM_PING = 0x0E
COM_CHANGE_USER = 0x11
COM_BINLOG_DUMP = 0x12
COM_REGISTER_SLAVE = 0x15
COM_STMT_PREPARE = 0x16
COM_STMT_EXECUTE = 0x17
COM_STMT_SEND_LONG_DATA = 0x18
COM_STMT_CLOSE = 0x19
COM_STMT_RESET = 0x1A
COM_SET_OPTION = 0x1B
COM_STMT_FETCH = 0x1C
COM_BINLOG_DUMP_GTID = 0x1E
COM_RESET_CONNECTION = 0x1F


class Reply(Enum):
    """How the response to a command is read."""

    NONE = "none"  # no response (QUIT, STMT_CLOSE, SEND_LONG_DATA)
    SIMPLE = "simple"  # one OK, ERR, EOF or string packet
    TEXT = "text"  # OK, ERR or text result sets
    BINARY = "binary"  # OK, ERR or a binary result set (COM_STMT_EXECUTE)
    FETCH = "fetch"  # binary rows of an open cursor
    PREPARE = "prepare"  # COM_STMT_PREPARE_OK, parameter and column definitions
    FIELDS = "fields"  # column definitions until EOF (COM_FIELD_LIST)
    AUTH = "auth"  # a new authentication exchange (COM_CHANGE_USER)
    STREAM = "stream"  # replication: not dissected


# Command byte -> how its response is read.
COMMANDS: dict[int, Reply] = {
    COM_QUIT: Reply.NONE,
    COM_INIT_DB: Reply.SIMPLE,
    COM_QUERY: Reply.TEXT,
    COM_FIELD_LIST: Reply.FIELDS,
    COM_CREATE_DB: Reply.SIMPLE,
    COM_DROP_DB: Reply.SIMPLE,
    COM_REFRESH: Reply.SIMPLE,
    COM_STATISTICS: Reply.SIMPLE,
    COM_PROCESS_INFO: Reply.TEXT,
    COM_PROCESS_KILL: Reply.SIMPLE,
    COM_DEBUG: Reply.SIMPLE,
    COM_PING: Reply.SIMPLE,
    COM_CHANGE_USER: Reply.AUTH,
    COM_BINLOG_DUMP: Reply.STREAM,
    COM_REGISTER_SLAVE: Reply.SIMPLE,
    COM_STMT_PREPARE: Reply.PREPARE,
    COM_STMT_EXECUTE: Reply.BINARY,
    COM_STMT_SEND_LONG_DATA: Reply.NONE,
    COM_STMT_CLOSE: Reply.NONE,
    COM_STMT_RESET: Reply.SIMPLE,
    COM_SET_OPTION: Reply.SIMPLE,
    COM_STMT_FETCH: Reply.FETCH,
    COM_BINLOG_DUMP_GTID: Reply.STREAM,
    COM_RESET_CONNECTION: Reply.SIMPLE,
}

# Command byte -> (smallest, largest) payload length a plausible packet has, for probing
# and resynchronising (None: no upper bound).
PLAUSIBLE: dict[int, tuple[int, int | None]] = {
    COM_QUIT: (1, 1),
    COM_INIT_DB: (2, 256),
    COM_QUERY: (2, None),
    COM_FIELD_LIST: (2, 1024),
    COM_STATISTICS: (1, 1),
    COM_PROCESS_INFO: (1, 1),
    COM_PING: (1, 1),
    COM_STMT_PREPARE: (2, None),
    COM_STMT_EXECUTE: (wire.EXECUTE_HEAD, None),
    COM_STMT_SEND_LONG_DATA: (7, None),
    COM_STMT_CLOSE: (5, 5),
    COM_STMT_RESET: (5, 5),
    COM_SET_OPTION: (3, 3),
    COM_STMT_FETCH: (9, 9),
    COM_RESET_CONNECTION: (1, 1),
}


# -- connection phase: one transition table (docs/architecture.md convention 6) ----------------


class Phase(Enum):
    START = "start"  # nothing decided yet
    GREETED = "greeted"  # server greeting seen, login expected
    AUTH = "auth"  # login sent: authentication exchange until OK or ERR
    COMMAND = "command"  # command phase
    ENDED = "ended"  # QUIT sent or login refused: nothing more to read
    ENCRYPTED = "encrypted"  # TLS: not parsed


class Step(Enum):
    GREETING = "greeting"
    MIDSTREAM = "midstream"
    LOGIN = "login"
    SSL_REQUEST = "ssl_request"
    AUTH_OK = "auth_ok"
    AUTH_ERROR = "auth_error"
    COMMAND = "command"
    CHANGE_USER = "change_user"
    QUIT = "quit"


PHASES: dict[tuple[Phase, Step], Phase] = {
    (Phase.START, Step.GREETING): Phase.GREETED,
    (Phase.START, Step.MIDSTREAM): Phase.COMMAND,
    (Phase.GREETED, Step.LOGIN): Phase.AUTH,
    # After an SSLRequest the login is sent again inside TLS (seq 2): with session keys
    # the engine's TLS layer hands us that plaintext, so the phase stays GREETED.
    (Phase.GREETED, Step.SSL_REQUEST): Phase.GREETED,
    (Phase.AUTH, Step.AUTH_OK): Phase.COMMAND,
    (Phase.AUTH, Step.AUTH_ERROR): Phase.ENDED,
    (Phase.AUTH, Step.COMMAND): Phase.COMMAND,  # the server's OK was not captured
    (Phase.COMMAND, Step.COMMAND): Phase.COMMAND,
    (Phase.COMMAND, Step.CHANGE_USER): Phase.AUTH,
    (Phase.COMMAND, Step.QUIT): Phase.ENDED,
}


# -- reading one response: states and packet kinds -----------------------------------------


class RS(Enum):
    FIRST = "first"  # the first packet of a result (or of the next result)
    COLUMNS = "columns"  # column definitions of a result set
    COLUMNS_END = "columns_end"  # the EOF after them (unless CLIENT_DEPRECATE_EOF)
    ROWS = "rows"
    PARAMS = "params"  # parameter definitions of a PREPARE response
    PARAMS_END = "params_end"
    PREP_COLUMNS = "prep_columns"
    PREP_COLUMNS_END = "prep_columns_end"
    DONE = "done"


class Pk(Enum):
    OK = "ok"
    ERR = "err"
    EOF = "eof"
    MORE = "more"  # OK/EOF announcing another result (SERVER_MORE_RESULTS_EXISTS)
    COUNT = "count"  # a column count
    PREPARE_OK = "prepare_ok"
    DEF = "def"  # a column or parameter definition, more to come
    LAST_DEF = "last_def"  # the last definition, an EOF follows
    LAST_DEF_NO_EOF = "last_def_no_eof"  # the last definition, rows follow directly
    ROW = "row"
    CURSOR = "cursor"  # EOF after column definitions: rows come by COM_STMT_FETCH


READS: dict[tuple[RS, Pk], RS] = {
    (RS.FIRST, Pk.OK): RS.DONE,
    (RS.FIRST, Pk.ERR): RS.DONE,
    (RS.FIRST, Pk.EOF): RS.DONE,
    (RS.FIRST, Pk.MORE): RS.FIRST,
    (RS.FIRST, Pk.COUNT): RS.COLUMNS,
    (RS.FIRST, Pk.PREPARE_OK): RS.PARAMS,
    (RS.FIRST, Pk.ROW): RS.ROWS,  # COM_STMT_FETCH: rows without a header
    (RS.COLUMNS, Pk.DEF): RS.COLUMNS,
    (RS.COLUMNS, Pk.LAST_DEF): RS.COLUMNS_END,
    (RS.COLUMNS, Pk.LAST_DEF_NO_EOF): RS.ROWS,
    (RS.COLUMNS, Pk.EOF): RS.DONE,  # COM_FIELD_LIST ends with an EOF
    (RS.COLUMNS, Pk.ERR): RS.DONE,
    (RS.COLUMNS_END, Pk.EOF): RS.ROWS,
    (RS.COLUMNS_END, Pk.CURSOR): RS.DONE,
    (RS.ROWS, Pk.ROW): RS.ROWS,
    (RS.ROWS, Pk.EOF): RS.DONE,
    (RS.ROWS, Pk.OK): RS.DONE,
    (RS.ROWS, Pk.MORE): RS.FIRST,
    (RS.ROWS, Pk.ERR): RS.DONE,
    (RS.PARAMS, Pk.DEF): RS.PARAMS,
    (RS.PARAMS, Pk.LAST_DEF): RS.PARAMS_END,
    (RS.PARAMS, Pk.LAST_DEF_NO_EOF): RS.PREP_COLUMNS,
    (RS.PARAMS_END, Pk.EOF): RS.PREP_COLUMNS,
    (RS.PREP_COLUMNS, Pk.DEF): RS.PREP_COLUMNS,
    (RS.PREP_COLUMNS, Pk.LAST_DEF): RS.PREP_COLUMNS_END,
    (RS.PREP_COLUMNS, Pk.LAST_DEF_NO_EOF): RS.DONE,
    (RS.PREP_COLUMNS_END, Pk.EOF): RS.DONE,
}


class Sync(Enum):
    """Framing state of one direction."""

    IN_SYNC = "in_sync"
    HUNTING = "hunting"  # lost: requests scan for a command, responses wait for one
    STOPPED = "stopped"


