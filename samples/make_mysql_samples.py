"""Generates the MySQL sample captures from a real MariaDB server and a real client.

Run `python samples/make_mysql_samples.py [--out-dir DIR]` as root (dumpcap on `lo`) with
Debian's mariadb-server installed (`apt-get install mariadb-server`) and
mysql-connector-python (pure-Python mode: it does server-side prepared statements with
`cursor(prepared=True)`; PyMySQL does not). `tests/mysql_server.py` starts `mariadbd` on
127.0.0.1, a private port and a temporary data directory; the schema is created over the
Unix socket, so only the client's session is captured: the text protocol (INSERT with
literal values, SELECT, UPDATE ... WHERE) and server-side prepared statements (INSERT
with bound parameters, SELECT ... WHERE email = ? returning binary rows).

Each scenario writes `mysql-<name>.pcap` and `mysql-<name>.expected.csv`. Packet times
are rewritten to a private clock (2026-01-15T09:00:00Z onward, whole milliseconds plus
0-499 microseconds, as `make_samples.py` does) so that first/last seen are stable.
Ephemeral ports, sequence numbers, scrambles and server versions vary between runs, so
the capture bytes differ; the expected CSV does not.

The expected CSV comes from ground truth, not from dpi: the script knows which values it
sent in which statement and which rows each SELECT returned; the capture is framed here
(MySQL packets: 3-byte length, sequence id) to find the packet completing each command
and each response (the last server packet before the next command).
"""

from __future__ import annotations

import argparse
import datetime as dt
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import mysql.connector

from samples._capture_tools import (
    dumpcap_loopback,
    expected_row,
    ip_header_offset,
    rewrite_times,
    sort_rows,
    tcp_payload,
    write_csv,
)
from tests.mysql_server import MariaDB

PORT = 33306  # private port: the capture filter and the `server` column use it
HOST = "127.0.0.1"
SCHEMA = "crm"

# Synthetic people: reserved example.com mail, NANP 555-01xx fiction numbers, SSNs with
# valid area/group/serial that are not issued, test PANs, plain dates.
PEOPLE = [
    ("ana.silva@example.com", "+1 202 555 0143", "212-45-6781", "1984-03-12", "4111111111111111"),
    ("li.wei@example.com", "+1 202 555 0178", "321-54-9870", "1979-11-02", "5555555555554444"),
    ("omar.haddad@example.com", "+1 415 555 0112", "401-23-4567", "1992-07-23", "378282246310005"),
    ("sofia.rossi@example.com", "+1 646 555 0190", "512-34-5678", "1988-01-30", "6011111111111117"),
    ("jonas.berg@example.com", "+1 312 555 0134", "623-45-6712", "1975-05-18", "4012888888881881"),
]
FIELDS = ("email", "phone", "ssn", "date_of_birth", "card_number")
DATA_TYPE = {
    "email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER", "ssn": "US_SSN",
    "date_of_birth": "DATE_OF_BIRTH", "card_number": "CARD_NUMBER",
}
CATEGORY = {"EMAIL_ADDRESS": "PII", "PHONE_NUMBER": "PII", "US_SSN": "PII",
            "DATE_OF_BIRTH": "PII", "CARD_NUMBER": "PCI"}
NEW_PHONE = "+1 202 555 0199"
TABLE = f"{SCHEMA}.customers"
DDL = f"""
CREATE DATABASE {SCHEMA};
CREATE TABLE {TABLE} (
  id INT AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(120), phone VARCHAR(40), ssn CHAR(11), date_of_birth DATE,
  card_number VARCHAR(19), status VARCHAR(20) DEFAULT 'active'
);
"""


# -- what the client does, and what it expects on the wire -----------------------------------


@dataclass
class Sent:
    """One logical exchange: how to find its command packet, and the values it carries."""

    # Finds the command among the client's command payloads: (index of command) -> bool.
    match: Callable[[bytes], bool]
    request: list[tuple[str, str, str]]  # (location, field, value)
    response: list[tuple[str, str]]  # (field, value) of the rows returned


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def run_client(log: list[Sent]) -> None:
    conn = mysql.connector.connect(
        host=HOST, port=PORT, user="app", password="app-pass", database=SCHEMA,
        use_pure=True, ssl_disabled=True, compress=False, autocommit=True,
    )
    text = conn.cursor()
    for person in PEOPLE[:3]:
        sql = (f"INSERT INTO customers ({', '.join(FIELDS)}) VALUES "
               f"({', '.join(_literal(v) for v in person)})")
        text.execute(sql)
        log.append(Sent(_query(sql), [("column", f, v) for f, v in zip(FIELDS, person, strict=True)], []))
    sql = f"SELECT {', '.join(FIELDS)} FROM customers ORDER BY id"
    text.execute(sql)
    got = text.fetchall()
    rows = [(f, _text(v)) for row in got for f, v in zip(FIELDS, row, strict=True)]
    log.append(Sent(_query(sql), [], rows))
    sql = f"UPDATE customers SET phone = {_literal(NEW_PHONE)} WHERE email = {_literal(PEOPLE[0][0])}"
    text.execute(sql)
    log.append(Sent(_query(sql), [("column", "phone", NEW_PHONE), ("column", "email", PEOPLE[0][0])], []))
    text.close()

    prepared = conn.cursor(prepared=True)
    sql = f"INSERT INTO customers ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})"
    for number, person in enumerate(PEOPLE[3:]):
        prepared.execute(sql, person)
        log.append(Sent(_execute(sql, number),
                        [("param", f, v) for f, v in zip(FIELDS, person, strict=True)], []))
    sql = "SELECT email, phone, card_number FROM customers WHERE email = ?"
    for number, person in enumerate((PEOPLE[1], PEOPLE[4])):
        prepared.execute(sql, (person[0],))
        got = prepared.fetchall()
        rows = [(f, _text(v)) for row in got
                for f, v in zip(("email", "phone", "card_number"), row, strict=True)]
        log.append(Sent(_execute(sql, number), [("param", "email", person[0])], rows))
    prepared.close()
    conn.close()


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _query(sql: str) -> Callable[[bytes], bool]:
    target = b"\x03" + sql.encode()
    return lambda payload: payload == target


def _execute(sql: str, number: int) -> Callable[[bytes], bool]:
    """The `number`-th COM_STMT_EXECUTE of the statement prepared from `sql`."""
    state = {"stmt": -1, "seen": -1}

    def match(payload: bytes) -> bool:
        # Called on every command in order: remember the PREPARE, count its EXECUTEs.
        if payload == b"\x16" + sql.encode():
            state["stmt"] = -2  # the next EXECUTE's id is the statement's
            return False
        if payload[:1] == b"\x17" and state["stmt"] != -1:
            stmt = struct.unpack_from("<I", payload, 1)[0]
            if state["stmt"] == -2:
                state["stmt"] = stmt
            if stmt == state["stmt"]:
                state["seen"] += 1
                return state["seen"] == number
        return False

    return match


# -- pcap: framing ---------------------------------------------------------------------------


def framed(frames: list[tuple[int, bytes]], link_offset: int) -> list[tuple[int, str, bytes]]:
    """MySQL packets of both directions in capture order: (ts completing it, side, payload).
    Retransmitted segments are dropped by sequence number."""
    buffers = {"request": bytearray(), "response": bytearray()}
    next_seq: dict[str, int] = {}
    out: list[tuple[int, str, bytes]] = []
    for ts_us, frame in frames:
        segment = tcp_payload(frame, link_offset)
        if segment is None:
            continue
        _, dport, seq, payload = segment
        side = "request" if dport == PORT else "response"
        if not payload:
            continue
        if side in next_seq and seq != next_seq[side]:
            continue
        next_seq[side] = (seq + len(payload)) & 0xFFFFFFFF
        buf = buffers[side]
        buf += payload
        while len(buf) >= 4:
            length = int.from_bytes(buf[:3], "little")
            if len(buf) < 4 + length:
                break
            out.append((ts_us, side, bytes(buf[4 : 4 + length]) if buf[3] == 0 or side == "response"
                        else b""))
            del buf[: 4 + length]
    return out


def expected_rows(log: list[Sent], packets: list[tuple[int, str, bytes]]) -> list[dict[str, str]]:
    # Command packets: client packets with sequence id 0 after the login (seq 1).
    commands = [(i, ts, p) for i, (ts, side, p) in enumerate(packets) if side == "request" and p]
    timed: list[tuple[int, int, Sent]] = []
    remaining = list(log)
    for position, (index, ts, payload) in enumerate(commands):
        # Every matcher sees every command: the EXECUTE matchers count as they go.
        hits = [s for s in remaining if s.match(payload)]
        hit = hits[0] if hits else None
        if hit is None:
            continue
        remaining.remove(hit)
        end = commands[position + 1][0] if position + 1 < len(commands) else len(packets)
        replies = [t for t, side, _ in packets[index:end] if side == "response"]
        timed.append((ts, max(replies) if replies else ts, hit))
    if remaining:
        raise RuntimeError(f"{len(remaining)} exchanges not found in the capture")
    agg: dict[tuple[str, str, str], list[Any]] = {}
    for request_ts, response_ts, sent in timed:
        items = [("request", loc, f, v, request_ts) for loc, f, v in sent.request]
        items += [("response", "column", f, v, response_ts) for f, v in sent.response]
        for direction, location, name, value, ts in items:
            row = agg.setdefault((direction, location, name), [0, ts, ts, value])
            row[0] += 1
            row[2] = max(row[2], ts)
    rows = []
    for (direction, location, name), (count, first, last, value) in agg.items():
        data_type = DATA_TYPE[name]
        rows.append(expected_row(
            protocol="mysql", server=f"{HOST}:{PORT}", host="", api=TABLE,
            direction=direction, location=location, field=name,
            data_type=data_type, category=CATEGORY[data_type], count=count,
            first_us=first, last_us=last, value=value,
        ))
    return sort_rows(rows)


def make(out_dir: Path) -> None:
    name = "customers"
    pcap = out_dir / f"mysql-{name}.pcap"
    with MariaDB(PORT) as server:
        server.admin(DDL)
        log: list[Sent] = []
        with dumpcap_loopback(pcap, PORT):
            run_client(log)
            time.sleep(0.5)
    frames = rewrite_times(pcap)
    packets = framed(frames, ip_header_offset(pcap.read_bytes()))
    rows = expected_rows(log, packets)
    write_csv(out_dir / f"mysql-{name}.expected.csv", rows)
    print(f"{pcap.name}: {pcap.stat().st_size} bytes, {len(rows)} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=SAMPLES_DIR)
    args = parser.parse_args()
    make(args.out_dir)


if __name__ == "__main__":
    main()
