"""The scan state: salted client hashes, round trip, atomic files, lock, damage refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import orjson
import pytest
import zstandard

from dpi.client_sets import client_hash
from dpi.inventory import Inventory
from dpi.runs.codec import inventory_from_obj, inventory_to_obj
from dpi.runs.state import HEADER_LEN, STATE_NAME, State, StateError
from dpi.runs.worker import EngineSpec, FileTask, build_engine, decode, scan_file
from tests.builders.capture_sets import write_file

CLIENT_IP = bytes([10, 1, 0, 1])  # the first client of write_file(index=0)


def _scanned_inventory(tmp_path: Path, salt: bytes) -> Inventory:
    path = write_file(tmp_path / "one.pcap", 0)
    st = path.stat()
    spec = EngineSpec(salt_hex=salt.hex())
    result = scan_file(spec, FileTask(index=0, location=str(path), size=st.st_size, mtime_ns=st.st_mtime_ns))
    inventory, _, files = decode(result)
    assert files[0]["status"] == "scanned"
    return inventory


def test_inventory_keeps_salted_hashes_not_addresses(tmp_path: Path) -> None:
    salt = os.urandom(16)
    inventory = _scanned_inventory(tmp_path, salt)
    clients = {
        inventory.clients.hash_of(number)
        for f in inventory.fields.values()
        for t in f.types.values()
        for number in t.clients
    }
    assert clients and CLIENT_IP not in clients
    assert client_hash(salt, CLIENT_IP) in clients


def test_merge_refuses_inventories_with_different_salts(tmp_path: Path) -> None:
    left = _scanned_inventory(tmp_path, os.urandom(16))
    right = _scanned_inventory(tmp_path, os.urandom(16))
    with pytest.raises(ValueError, match="salt"):
        left.merge(right)


def test_engine_inventories_of_one_process_merge() -> None:
    # Per-process salt: in-memory scans in one process can be merged.
    assert build_engine(EngineSpec(salt_hex="00" * 16)).inventory.salt == bytes(16)
    Inventory().merge(Inventory())


def test_codec_round_trip_is_exact(tmp_path: Path) -> None:
    salt = os.urandom(16)
    inventory = _scanned_inventory(tmp_path, salt)
    again = inventory_from_obj(orjson.loads(orjson.dumps(inventory_to_obj(inventory))), salt)
    assert again.rows() == inventory.rows()
    assert again.explain() == inventory.explain()


def test_state_saves_atomically_and_reloads(tmp_path: Path) -> None:
    where = tmp_path / "state"
    with State.open(where) as state:
        state.inventory.merge(_scanned_inventory(tmp_path, state.salt))
        state.save()
        rows, salt = state.inventory.rows(), state.salt
    file = where / STATE_NAME
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(where.stat().st_mode) == 0o700
    assert not list(where.glob("*.tmp*"))
    raw = zstandard.ZstdDecompressor().decompress(file.read_bytes()[HEADER_LEN:], max_output_size=1 << 24)
    assert b"10.1.0.1" not in raw and CLIENT_IP not in raw  # no address, as text or bytes
    with State.open(where) as state:
        assert state.salt == salt and state.inventory.rows() == rows


def test_single_file_state(tmp_path: Path) -> None:
    where = tmp_path / "dpi-state.zst"
    with State.open(where) as state:
        state.save()
    assert where.is_file() and (tmp_path / "dpi-state.zst.lock").exists()
    with State.open(where):
        pass


def test_second_run_on_a_locked_state_is_refused(tmp_path: Path) -> None:
    with State.open(tmp_path / "s"), pytest.raises(StateError, match="in use"):
        State.open(tmp_path / "s")


@pytest.mark.parametrize(
    "content",
    [b"garbage", zstandard.ZstdCompressor().compress(b"{}"),
     zstandard.ZstdCompressor().compress(b'{"format":"dpi-state","version":1,"salt":"zz"}')],
)
def test_damaged_state_is_a_one_line_error(tmp_path: Path, content: bytes) -> None:
    where = tmp_path / "s"
    where.mkdir()
    (where / STATE_NAME).write_bytes(content)
    with pytest.raises(StateError) as info:
        State.open(where)
    assert "\n" not in str(info.value)


def test_stale_temporary_file_of_a_killed_run_is_removed(tmp_path: Path) -> None:
    where = tmp_path / "s"
    with State.open(where) as state:
        state.save()
    (where / f"{STATE_NAME}.tmp999").write_bytes(b"half")
    with State.open(where):
        pass
    assert not (where / f"{STATE_NAME}.tmp999").exists()
