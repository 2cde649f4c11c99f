"""Distinct clients per row (dpi/client_sets.py) and closed connections
(dpi/closed_connections.py): exact counts through the small-set and bitmap forms, merges
and state round trips, bounds, and the straggler lookup by either direction."""

from __future__ import annotations

import base64
import os
import random
import tracemalloc

import pytest

from classifiers.base import Category, Finding
from dpi.client_sets import (
    MAX_CLIENTS_PER_ROW,
    SMALL_SET_MAX,
    UNTRACKED,
    ClientIndex,
    ClientSet,
    client_hash,
)
from dpi.closed_connections import ClosedConnections
from dpi.inventory import Inventory
from dpi.runs.codec import CodecError, inventory_from_obj, inventory_to_obj

KEY = ("http", "10.0.0.5:8080", "POST /v1/users", "request", "body", "card.number")
SALT = bytes(range(16))
CARD = Finding(data_type="CARD_NUMBER", category=Category.PCI, confidence=0.97,
               reason="pattern pan, checksum valid", validated=True)


def _address(n: int) -> bytes:
    return bytes([10, n >> 16 & 255, n >> 8 & 255, n & 255])


def _inventory(clients: range, salt: bytes = SALT) -> Inventory:
    inventory = Inventory({"CARD_NUMBER": 0.5}, salt=salt)
    for n in clients:
        for _ in range(2):  # every client twice: counted once
            evidence = inventory.field(KEY, "api.shop.example")  # type: ignore[arg-type]
            assert evidence is not None
            evidence.seen += 1
            inventory.record(evidence, [CARD], "4111111111111111", 1_000 + n, _address(n))
    return inventory


def test_counts_are_exact_through_the_small_set_and_the_bitmap() -> None:
    for clients in (1, SMALL_SET_MAX, SMALL_SET_MAX + 1, 5_000):
        (row,) = _inventory(range(clients)).rows()
        assert (row.clients, row.count) == (clients, 2 * clients)


def test_rows_report_at_most_the_row_bound() -> None:
    (row,) = _inventory(range(MAX_CLIENTS_PER_ROW + 500)).rows()
    assert row.clients == MAX_CLIENTS_PER_ROW


def test_merge_counts_the_union_of_clients() -> None:
    left, right = _inventory(range(3_000)), _inventory(range(2_000, 4_000))
    left.merge(right)
    (row,) = left.rows()
    assert row.clients == 4_000


def test_state_round_trip_keeps_clients_and_merges_exactly() -> None:
    original = _inventory(range(300))
    restored = inventory_from_obj(inventory_to_obj(original), SALT)
    assert restored.rows() == original.rows()
    restored.merge(_inventory(range(250, 400)))
    (row,) = restored.rows()
    assert row.clients == 400


def test_state_keeps_hashes_never_addresses() -> None:
    inventory = _inventory(range(3))
    stored = repr(inventory_to_obj(inventory)).encode()
    assert _address(1) not in stored
    restored = inventory_from_obj(inventory_to_obj(inventory), SALT)
    assert {restored.clients.hash_of(n) for n in range(3)} == {
        client_hash(SALT, _address(n)) for n in range(3)
    }


def test_a_full_index_stops_counting_new_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    index = ClientIndex(os.urandom(16))
    monkeypatch.setattr("dpi.client_sets.MAX_TRACKED_CLIENTS", 3)
    numbers = [index.of_address(_address(n)) for n in range(5)]
    assert numbers[:3] == [0, 1, 2] and numbers[3:] == [-1, -1]
    assert index.untracked == 2
    row = ClientSet()
    row.update(numbers)
    assert len(row) == 3


def test_decoding_numbers_clients_shared_by_fields_once_and_counts_each_untracked_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two fields with the same 3 clients: decoded, they share the index's numbers; with
    # room for only 2, the third client is looked up, and counted untracked, once per
    # field.
    inventory = _inventory(range(3))
    other = (*KEY[:5], "card.backup")
    for n in range(3):
        evidence = inventory.field(other, "api.shop.example")  # type: ignore[arg-type]
        assert evidence is not None
        evidence.seen += 1
        inventory.record(evidence, [CARD], "4111111111111111", 2_000 + n, _address(n))
    stored = inventory_to_obj(inventory)
    restored = inventory_from_obj(stored, SALT)
    assert len(restored.clients) == 3
    assert inventory_to_obj(restored) == stored
    monkeypatch.setattr("dpi.client_sets.MAX_TRACKED_CLIENTS", 2)
    crowded = inventory_from_obj(stored, SALT)
    assert (len(crowded.clients), crowded.clients.untracked) == (2, 2)
    assert [row.clients for row in crowded.rows()] == [2, 2]


@pytest.mark.parametrize("start", [0, SMALL_SET_MAX - 3, 500])
def test_bulk_update_and_bitmaps_give_the_set_that_adding_one_by_one_gives(start: int) -> None:
    rng = random.Random(start)
    for size in (0, 5, SMALL_SET_MAX, SMALL_SET_MAX + 1, 3_000):
        before = list(range(start))
        numbers = [rng.randrange(4 * size + 1) for _ in range(size)] + [UNTRACKED, 7, 7]
        one_by_one, bulk = ClientSet(), ClientSet()
        for number in before + numbers:
            one_by_one.add(number)
        bulk.update(before)
        bulk.update(numbers)
        expected = sorted({n for n in before + numbers if n >= 0})
        assert list(one_by_one) == list(bulk) == expected
        assert one_by_one.count == bulk.count == len(expected)
        again = ClientSet.from_bitmap(bulk.bitmap())
        assert (list(again), again.count) == (expected, len(expected))
        again.update([len(expected) * 9 + 1])  # still growable in either form
        assert again.count == len(expected) + 1


def test_worker_results_number_each_client_once_and_keep_every_client_of_a_row() -> None:
    # The numbered form (worker results): the index once, each row a bitmap. A row keeps
    # more than MAX_CLIENTS_PER_ROW clients there; merged, the count is the same bound.
    wide = _inventory(range(MAX_CLIENTS_PER_ROW + 300))
    shared = (*KEY[:5], "card.backup")
    for n in range(5):
        evidence = wide.field(shared, "api.shop.example")  # type: ignore[arg-type]
        assert evidence is not None
        evidence.seen += 1
        wide.record(evidence, [CARD], "4111111111111111", 3_000 + n, _address(7 * n))
    stored = inventory_to_obj(wide, numbered=True)
    restored = inventory_from_obj(stored, SALT)
    assert restored.rows() == wide.rows()
    assert [len(restored.clients), restored.clients.untracked] == [len(wide.clients), 0]
    assert [restored.clients.hash_of(n) for n in (0, 9_999)] == [
        wide.clients.hash_of(n) for n in (0, 9_999)]
    assert inventory_to_obj(restored, numbered=True) == stored
    small = _inventory(range(10))
    small.merge(restored)
    assert sorted(r.clients for r in small.rows()) == [5, MAX_CLIENTS_PER_ROW]
    # Damage: a row naming a client the index does not hold; a hash given twice.
    index = base64.b64decode(stored["clients"])
    bitmap = base64.b64decode(stored["fields"][1][5]["CARD_NUMBER"][8])
    for damaged in (
        dict(stored, clients=base64.b64encode(index[:16 * 28]).decode()),
        dict(stored, clients=base64.b64encode(index[:16] + index[:16] + index[32:]).decode()),
    ):
        assert int.from_bytes(bitmap, "little").bit_length() == 29  # client 28: 7 * 4
        with pytest.raises(CodecError, match="malformed clients"):
            inventory_from_obj(damaged, SALT)


def test_an_address_and_its_hash_get_one_number() -> None:
    index = ClientIndex(SALT)
    by_hash = index.of_hash(client_hash(SALT, _address(7)))
    assert index.of_address(_address(7)) == by_hash
    assert index.of_address(_address(8)) == index.of_hash(client_hash(SALT, _address(8)))
    assert len(index) == 2


def test_numbers_hold_through_table_growth_and_recent_address_clears(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("dpi.client_sets.RECENT_ADDRESSES", 7)
    index = ClientIndex(SALT)
    assert [index.of_address(_address(n)) for n in range(5_000)] == list(range(5_000))
    assert [index.of_address(_address(n)) for n in range(4_999, -1, -1)] == list(
        range(4_999, -1, -1)
    )
    assert index.of_hash(client_hash(SALT, _address(1234))) == 1234
    assert index.of_hash(client_hash(SALT, _address(5_000))) == 5_000
    assert len(index) == 5_001 and index.untracked == 0


def test_an_index_of_many_clients_costs_tens_of_bytes_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 20,000 clients: their hashes and the table (a dict of addresses and numbers cost
    # ~130 bytes a client); the recent-address cache is bounded (small here).
    monkeypatch.setattr("dpi.client_sets.RECENT_ADDRESSES", 64)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        index = ClientIndex(SALT)
        for n in range(20_000):
            index.of_address(_address(n))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(index) == 20_000
    assert grown < 50 * 20_000


def test_closed_connections_answer_for_either_direction() -> None:
    closed = ClosedConnections()
    client, server = (b"\x0a\x00\x00\x01", 50_000), (b"\xc0\x00\x02\x0a", 80)
    to_server = (client[0], server[0], client[1], server[1])
    to_client = (server[0], client[0], server[1], client[1])
    closed.add(to_server, 5_000, base=111, peer_base=222)
    assert closed.get(to_server) == (5_000, 111)
    assert closed.get(to_client) == (5_000, 222)
    closed.pop(to_client)
    assert closed.get(to_server) is None


def test_closed_connections_expire_and_trim_oldest_first() -> None:
    closed = ClosedConnections()
    keys = [(b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", 40_000 + n, 80) for n in range(4)]
    for n, key in enumerate(keys):
        closed.add(key, 1_000 * (n + 1), base=n, peer_base=n)
    closed.expire(2_000)
    assert [closed.get(k) is None for k in keys] == [True, True, False, False]
    closed.trim(1)
    assert [closed.get(k) is None for k in keys] == [True, True, True, False]
