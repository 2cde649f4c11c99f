"""Maps keyed by names, found across messages (dpi/map_keys.py): captures in, rows out.

A map whose keys keep changing (user logins, one or two per response) gives one
`{key}` row and no login anywhere; records whose sub-objects share a shape, sparse
records and GraphQL-like results keep their names; shards, batches and resumed scans
give the same rows as one scan.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from pathlib import Path

import orjson

from dpi.cli import main
from dpi.runs.state import STATE_NAME, read_state_document
from tests.builders.conversation import Conversation, http_request, http_response

LOGINS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
          "mallory", "niaj"]  # fmt: skip


def _capture(path: Path, bodies: list[tuple[str, object]], cport: int = 40000) -> Path:
    """One connection: GET `target` -> the JSON body, for each (target, body)."""
    conv = Conversation(cport=cport).handshake()
    for target, body in bodies:
        conv.request(http_request("GET", target)).response(http_response(orjson.dumps(body)))
    return conv.close().write(path)


def _scan(inputs: list[Path], out: Path, *extra: str) -> list[dict[str, str]]:
    status = main(["scan", *map(str, inputs), "-o", str(out), "--no-progress",
                   "--settle-seconds", "0", *extra])  # fmt: skip
    assert status == 0
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _members(logins: list[str], start: int = 0) -> list[tuple[str, object]]:
    """Team responses whose `members` map is keyed by user login, two per team."""
    return [
        (f"/teams/{start + i}", {"team": f"t{i}", "members": {
            login: {"email": f"{login}@shop.example", "role": "dev"}
            for login in logins[i * 2 : i * 2 + 2]}})
        for i in range(len(logins) // 2)
    ]  # fmt: skip


def _fields(rows: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(row["field"], row["data_type"]) for row in rows}


def test_map_keyed_by_logins_gives_one_key_row_and_no_login_anywhere(tmp_path: Path) -> None:
    capture = _capture(tmp_path / "teams.pcap", _members(LOGINS[:10]))
    explain = tmp_path / "explain.json"
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    logging.getLogger().addHandler(handler)
    old_err, sys.stderr = sys.stderr, io.StringIO()
    try:
        rows = _scan([capture], tmp_path / "inv.csv", "--explain", str(explain), "-vv")
        err = sys.stderr.getvalue()
    finally:
        sys.stderr = old_err
        logging.getLogger().removeHandler(handler)
    assert _fields(rows) == {("members.{key}.email", "EMAIL_ADDRESS")}
    assert rows[0]["count"] == "10"
    outputs = [(tmp_path / "inv.csv").read_text(), explain.read_text(), err, log.getvalue()]
    for login in LOGINS[:10]:
        assert not [text for text in outputs if f'"{login}' in text or f".{login}." in text]


def test_fewer_keys_than_a_record_has_stay_names(tmp_path: Path) -> None:
    # Eight logins: as many as a record might have, so they are not yet a map.
    rows = _scan([_capture(tmp_path / "few.pcap", _members(LOGINS[:8]))], tmp_path / "inv.csv")
    assert {row["field"] for row in rows} == {f"members.{login}.email" for login in LOGINS[:8]}


def _iban(bank: int) -> str:
    """A German IBAN with valid check digits (ISO 13616 mod 97)."""
    bban = f"{37040044:08d}{bank:010d}"
    check = 98 - int(bban + "131400") % 97  # D=13, E=14, then "00"
    return f"DE{check:02d}{bban}"


def test_keys_of_a_map_found_across_messages_are_classified_as_values(tmp_path: Path) -> None:
    # Accounts keyed by IBAN, one per response: the keys read as ids only in part
    # (upper case and digits), no object has enough of them to be a map by its own keys.
    bodies: list[tuple[str, object]] = [
        (f"/customers/{i}", {"accounts": {_iban(532013000 + i): {"currency": "EUR", "kind": "giro"}}})
        for i in range(14)
    ]  # fmt: skip
    rows = _scan([_capture(tmp_path / "ibans.pcap", bodies)], tmp_path / "inv.csv")
    assert ("accounts.{key}", "IBAN") in _fields(rows)
    assert not [row for row in rows if "DE" in row["field"]]


def test_records_whose_sub_objects_share_a_shape_keep_their_names(tmp_path: Path) -> None:
    # Hard negatives, each over many messages with changing values: addresses, audit
    # stamps, links, a record sent whole with many sub-objects of one shape, a sparse
    # record set one scalar field at a time, and GraphQL results of many queries.
    bodies: list[tuple[str, object]] = []
    for i in range(30):
        address = {"street": f"{i} Main Street", "zip": f"9{i:04d}", "name": f"Ann Lee{i}"}
        bodies.append((f"/orders/{i}", {
            "billing": address, "shipping": address,
            "created": {"by": f"ann{i}@shop.example", "at": "2024-01-01T10:00:00Z"},
            "updated": {"by": f"bob{i}@shop.example", "at": "2024-01-02T10:00:00Z"},
            "links": {"self": {"href": f"/orders/{i}"}, "next": {"href": f"/orders/{i + 1}"},
                      "prev": {"href": f"/orders/{i - 1}"}},
        }))  # fmt: skip
    stats = {f"{name}_details": {"rate": 1.5, "owner": "ops@shop.example"}
             for name in ("mem", "disk", "fd", "sockets", "proc", "io_read", "io_write",
                          "gc", "context", "queue")}  # fmt: skip
    bodies += [(f"/nodes/{i}", {"node": {**stats, "name": "n1"}}) for i in range(3)]
    sparse = ["email", "phone", "name", "nickname", "title", "company", "website", "bio",
              "locale", "timezone", "contact"]  # fmt: skip
    bodies += [(f"/users/{i}", {"user": {field: f"u{i}@shop.example"}})
               for i, field in enumerate(sparse)]  # fmt: skip
    queries = {"viewer": ["login", "email"], "user": ["id", "email"], "order": ["total", "email"],
               "cart": ["items", "email"], "invoice": ["number", "email"], "team": ["name", "email"],
               "org": ["slug", "email"], "repo": ["owner", "email"], "issue": ["title", "email"],
               "project": ["key", "email"]}  # fmt: skip
    bodies += [(f"/graphql/{i}", {"data": {query: {key: f"q{i}@shop.example" for key in keys}}})
               for i, (query, keys) in enumerate(queries.items())]  # fmt: skip
    rows = _scan([_capture(tmp_path / "records.pcap", bodies)], tmp_path / "inv.csv")
    fields = {row["field"] for row in rows}
    assert not [field for field in fields if "{key}" in field]
    assert {"billing.street", "shipping.zip", "created.by", "updated.by"} <= fields
    assert {"node.mem_details.owner", "node.queue_details.owner"} <= fields
    assert {f"user.{field}" for field in sparse} <= fields
    assert {f"data.{query}.email" for query in queries} <= fields


def test_shards_batches_and_resumed_scans_agree(tmp_path: Path) -> None:
    # Six logins in each file: neither file alone shows a map, the two together do.
    (tmp_path / "c").mkdir()
    first = _capture(tmp_path / "c" / "a.pcap", _members(LOGINS[:6]))
    second = _capture(tmp_path / "c" / "b.pcap", _members(LOGINS[6:12], start=10), cport=40001)
    together = _scan([tmp_path / "c"], tmp_path / "j1.csv", "--jobs", "1")
    assert _fields(together) == {("members.{key}.email", "EMAIL_ADDRESS")}
    assert together[0]["count"] == "12"
    assert _scan([tmp_path / "c"], tmp_path / "j2.csv", "--jobs", "2") == together
    # Resumed: the first file, then the second added to the state.
    state = tmp_path / "state"
    alone = _scan([first], tmp_path / "r1.csv", "--state", str(state))
    assert len(alone) == 6  # not yet a map: one row per login, as any scan of that file
    resumed = _scan([first, second], tmp_path / "r2.csv", "--state", str(state))
    assert resumed == together
    document = json.dumps(read_state_document(state / STATE_NAME if state.is_dir() else state))
    assert not [login for login in LOGINS if f'"{login}' in document or f".{login}." in document]
    # The map is in the state: a later file's single new login goes to `{key}` at once.
    third = _capture(tmp_path / "c" / "z.pcap", [("/teams/99", {"members": {
        "oscar": {"email": "oscar@shop.example", "role": "dev"}}})], cport=40002)  # fmt: skip
    later = _scan([first, second, third], tmp_path / "r3.csv", "--state", str(state))
    assert _fields(later) == {("members.{key}.email", "EMAIL_ADDRESS")}
    assert later[0]["count"] == "13"


def test_a_body_keyed_by_logins_and_maps_inside_it(tmp_path: Path) -> None:
    # The top level is the map; under each login, a map of devices keyed by name.
    bodies: list[tuple[str, object]] = [
        (f"/directory/{i}", {login: {"email": f"{login}@shop.example", "devices": {
            f"{login}-laptop-{i}": {"owner": f"{login}@shop.example", "os": "linux"}}}})
        for i, login in enumerate(LOGINS)
    ]  # fmt: skip
    rows = _scan([_capture(tmp_path / "top.pcap", bodies)], tmp_path / "inv.csv")
    fields = {row["field"] for row in rows}
    assert fields == {"{key}.email", "{key}.devices.{key}.owner"}


def test_a_map_found_under_a_literal_key_is_templated_when_its_parent_becomes_one() -> None:
    # `users.alice.devices` is found to be a map first (one user with many rooms), then
    # `users` (many users): no literal login may stay among the maps, which are written to
    # states and worker results, and merging in either order or reading a state back
    # gives the same maps.
    from dpi.map_keys import MapKeys
    from dpi.runs.codec import _map_keys_from_obj

    where = ("http", "10.0.0.5:8080", "GET /users", "response", "body")
    salt = bytes(16)
    inner, outer, both = MapKeys(salt), MapKeys(salt), MapKeys(salt)
    rooms = [[f"users.alice.devices.room{3 * r + i}.phone" for i in range(3)] for r in range(4)]
    people = [[f"users.user{3 * r + i}.email" for i in range(3)] for r in range(4)]
    for part in rooms:
        inner.observe(where, part)
        both.observe(where, part)
    for part in people:
        outer.observe(where, part)
        both.observe(where, part)
    assert inner.maps[where] == {"users.alice.devices"}
    assert both.maps[where] == {"users", "users.{key}.devices"}
    one, other = MapKeys(salt), MapKeys(salt)
    one.merge(inner)
    one.merge(outer)
    other.merge(outer)
    other.merge(inner)
    assert one.maps == other.maps == both.maps
    read = MapKeys(salt)
    _map_keys_from_obj(inner.to_obj(), read)
    _map_keys_from_obj(outer.to_obj(), read)
    assert read.maps == both.maps
    assert "alice" not in json.dumps(both.to_obj())
