"""dpi.logsetup: -v/-vv reach dpi's own loggers only; every record, whoever emits it,
is redacted before it is written (issue #16: hpack's debug log quoted evicted header
values, `Evicting b'authorization': b'Bearer ...'`)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from dpi import logsetup
from dpi.logsetup import OWN_LOGGERS, configure, redact

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJlLTEyMzQ1Ng"
SSN = "536-22-8877"
CARD = "4111 1111 1111 1111"
EMAIL = "jane.doe@example.com"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """A configured root logger writing to a buffer; the logging state is put back."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), {n: logging.getLogger(n).level for n in OWN_LOGGERS})
    buffer = io.StringIO()
    yield buffer
    for handler in list(root.handlers):
        if handler not in saved[1]:
            root.removeHandler(handler)
    root.setLevel(saved[0])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def test_vv_turns_on_debug_for_dpi_only(stream: io.StringIO) -> None:
    configure(2, stream=stream)
    logging.getLogger("dpi.runs.batch").debug("capture-1.pcap: scanned")
    logging.getLogger("protocols.http2").info("stream limit")
    logging.getLogger("hpack.table").debug("Evicting %s: %s from the header table",
                                           b"authorization", f"Bearer {TOKEN}".encode())  # fmt: skip
    logging.getLogger("some.library").info("connected as %s", EMAIL)
    lines = stream.getvalue().splitlines()
    assert lines == ["dpi: DEBUG: capture-1.pcap: scanned", "dpi: INFO: stream limit"]


def test_a_library_that_sets_its_own_logger_to_debug_still_says_nothing(
    stream: io.StringIO,
) -> None:
    configure(2, stream=stream)
    chatty = logging.getLogger("chatty.lib")
    chatty.setLevel(logging.DEBUG)
    try:
        chatty.debug("value %s", SSN)
    finally:
        chatty.setLevel(logging.NOTSET)
    assert stream.getvalue() == ""


def test_third_party_warnings_pass_redacted(stream: io.StringIO) -> None:
    configure(0, stream=stream)
    logging.getLogger("hpack.table").warning(
        "Evicting %s: %s", b"authorization", f"Bearer {TOKEN}".encode()
    )
    logging.getLogger("urllib3").warning("x-ssn: %s for %s, card %s", SSN, EMAIL, CARD)
    text = stream.getvalue()
    assert text.count("dpi: WARNING: ") == 2
    for value in (TOKEN, SSN, EMAIL, CARD, "4111", "8877"):
        assert value not in text


def test_quiet_keeps_errors_only(stream: io.StringIO) -> None:
    configure(2, quiet=True, stream=stream)
    logging.getLogger("dpi.engine").warning("a warning")
    logging.getLogger("dpi.engine").error("an error")
    assert stream.getvalue() == "dpi: ERROR: an error\n"


def test_an_exception_is_logged_by_type_never_by_message(stream: io.StringIO) -> None:
    configure(2, stream=stream)
    try:
        int(f"{CARD}-x")
    except ValueError:
        logging.getLogger("dpi.engine").exception("decoder failed")
        logging.getLogger("other").exception("failed")
    text = stream.getvalue()
    assert "4111" not in text and "Traceback" not in text
    assert text.splitlines() == [
        "dpi: ERROR: decoder failed [ValueError]",
        "dpi: ERROR: failed [ValueError]",
    ]


def test_configure_twice_keeps_one_handler(stream: io.StringIO) -> None:
    configure(0, stream=io.StringIO())
    configure(1, stream=stream)
    ours = [h for h in logging.getLogger().handlers if isinstance(h, logsetup._Handler)]
    assert len(ours) == 1
    logging.getLogger("dpi").info("once")
    assert stream.getvalue() == "dpi: INFO: once\n"


@pytest.mark.parametrize(
    ("message", "gone"),
    [
        ("Evicting b'authorization': b'Bearer abc.def' from the header table", "abc.def"),
        ('Decoding b"\\x82\\x86\\x84x-ssn"', "x-ssn"),
        (f"header x-ssn: {SSN}", "8877"),
        (f"authorization: Bearer {TOKEN}", TOKEN[:12]),
        ("Authorization=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        (f"contact {EMAIL} now", "jane.doe"),
        (f"card {CARD} declined", "1111"),
        ("dob 1980-04-12", "1980"),
        ("GET /a?token=abc123&account=998877", "abc123"),
        ("api key sk_live_51HxYzAbCdEfGhIj", "51HxYz"),
        ("{'password': 'hunter2'}", "hunter2"),
        ('{"password": hunter2}', "hunter2"),
        ("statement cut at: 'SELECT * FROM users WHERE ssn = ", "SELECT"),
        ("cookie: sid=s3cr3t; theme=dark", "s3cr3t"),
    ],
)
def test_redact_removes_value_shapes(message: str, gone: str) -> None:
    assert gone not in redact(message)


@pytest.mark.parametrize(
    "message",
    [
        "/captures/day-1/capture-7.pcap: still being written; left for the next run",
        "3 file(s) listed, 2 to scan",
        "ValueError at engine.py:212 <- http2.py:501",
        "decoder 10.0.0.1:40000 -> 10.0.0.5:8080: ProtocolError at http1.py:88",
    ],
)
def test_redact_keeps_what_dpi_logs(message: str) -> None:
    assert redact(message) == message
