"""Distinct clients per inventory row, counted in memory that does not grow with rows.

The `clients` column counts distinct client addresses. Holding a Python set of 16-byte
salted hashes per row cost 40-90 bytes per (row, client): on a day of mirrored traffic
(a hundred thousand clients, hundreds of rows) that was half of a scan's memory. Instead
an inventory numbers each client once (`ClientIndex`: its salted hash, never the address
itself outside this process's memory) and a row keeps numbers (`ClientSet`): a small set
while it has few clients, then a bitmap with one bit per client of the scan, so a row
costs at most MAX_TRACKED_CLIENTS / 8 bytes however busy it is.

Merging (workers, resumed states) goes through the hashes: `ClientIndex.of_hash` maps
another inventory's hash to this one's number.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Iterator

# Client-address hashes: 128 bits keep distinct clients distinct (counts stay exact) and
# the key (salt) keeps the address from being read back without it.
CLIENT_HASH_BYTES = 16
# Distinct clients numbered per inventory. Beyond this new clients are not counted, so
# `clients` becomes a lower bound; 24 to 32 bytes per client (hash, hash-table slots),
# so the index stays under ~7 MB however many clients a capture set has.
MAX_TRACKED_CLIENTS = 1 << 18
# A row's clients stay a plain set up to this many, then become a bitmap: most rows see
# few clients, and a bitmap's size follows the highest client number, not the row.
SMALL_SET_MAX = 64
# Rows report at most this many clients (and state files store at most this many
# hashes per row): the count was always capped here, and it keeps states small.
MAX_CLIENTS_PER_ROW = 10_000
# The number `ClientIndex` gives a client it has no room for.
UNTRACKED = -1
# Hash-table slots of a new `ClientIndex` (a power of two; doubled when half full).
_FIRST_SLOTS = 1 << 10
# Addresses `ClientIndex` remembers with their numbers (more than the connections a
# scan holds open at once, so a busy connection's client is hashed once).
RECENT_ADDRESSES = 1 << 13


def client_hash(salt: bytes, address: bytes) -> bytes:
    """The only form in which a client address leaves the process."""
    return hashlib.blake2b(address, key=salt, digest_size=CLIENT_HASH_BYTES).digest()


class ClientIndex:
    """Numbers the distinct clients of one inventory, by packed address or by hash.

    A client costs 16 bytes of hash plus 8 to 16 bytes of hash table: the numbers are
    found by open addressing over the hashes themselves (`_slots` holds number + 1, 0
    for an empty slot), not through a dict of address and int objects (~130 bytes a
    client, 13 MB for the 100,000 clients of a 1 GB capture). The addresses seen last
    are kept in a small dict (`_recent`) so that the messages of one connection are not
    hashed again each time."""

    __slots__ = ("_hashes", "_recent", "_slots", "salt", "untracked")

    def __init__(self, salt: bytes) -> None:
        self.salt = salt
        self._hashes = bytearray()  # number n's hash at [16 n : 16 n + 16]
        self._slots = array("I", bytes(4 * _FIRST_SLOTS))
        self._recent: dict[bytes, int] = {}
        self.untracked = 0  # lookups of unnumbered clients after the index was full

    def __len__(self) -> int:
        return len(self._hashes) // CLIENT_HASH_BYTES

    def of_address(self, address: bytes) -> int:
        number = self._recent.get(address)
        if number is not None:
            return number
        number = self.of_hash(client_hash(self.salt, address))
        if number != UNTRACKED:
            recent = self._recent
            if len(recent) >= RECENT_ADDRESSES:
                recent.clear()  # a cache: the next sight of each hashes once more
            recent[address] = number
        return number

    def of_hash(self, hashed: bytes) -> int:
        slots, hashes = self._slots, self._hashes
        mask = len(slots) - 1
        at = int.from_bytes(hashed[:4], "little") & mask
        while True:
            held = slots[at]
            if held == 0:
                break
            start = (held - 1) * CLIENT_HASH_BYTES
            if hashes[start : start + CLIENT_HASH_BYTES] == hashed:
                return held - 1
            at = (at + 1) & mask
        number = len(self)
        if number >= MAX_TRACKED_CLIENTS:
            self.untracked += 1
            return UNTRACKED
        self._hashes += hashed
        slots[at] = number + 1
        if 2 * (number + 1) > len(slots):  # at most half full: short probes
            self._grow()
        return number

    def hash_of(self, number: int) -> bytes:
        start = number * CLIENT_HASH_BYTES
        return bytes(self._hashes[start : start + CLIENT_HASH_BYTES])

    def packed(self) -> bytes:
        """Every client's hash, in number order (CLIENT_HASH_BYTES each)."""
        return bytes(self._hashes)

    def _grow(self) -> None:
        slots = array("I", bytes(8 * len(self._slots)))
        mask = len(slots) - 1
        hashes = self._hashes
        for number in range(len(self)):
            start = number * CLIENT_HASH_BYTES
            at = int.from_bytes(hashes[start : start + 4], "little") & mask
            while slots[at]:
                at = (at + 1) & mask
            slots[at] = number + 1
        self._slots = slots


class ClientSet:
    """The client numbers (of one `ClientIndex`) a row has seen."""

    __slots__ = ("_bits", "_small", "count")

    def __init__(self) -> None:
        self._small: set[int] | None = set()
        self._bits: bytearray | None = None
        self.count = 0

    def __len__(self) -> int:
        return min(self.count, MAX_CLIENTS_PER_ROW)

    def add(self, number: int) -> None:
        small = self._small
        if small is not None:
            if number in small:  # the common case first: a client the row has seen
                return
            if number < 0:
                return  # UNTRACKED
            small.add(number)
            self.count += 1
            if self.count > SMALL_SET_MAX:
                self._to_bits()
            return
        if number < 0:
            return  # UNTRACKED
        bits = self._bits
        assert bits is not None
        byte, mask = number >> 3, 1 << (number & 7)
        if byte >= len(bits):
            bits.extend(bytes(byte + 1 - len(bits)))
        elif bits[byte] & mask:
            return
        bits[byte] |= mask
        self.count += 1

    def update(self, numbers: Iterable[int]) -> None:
        """`add` of each number, in bulk: merges (dpi/inventory.py) add whole rows."""
        small = self._small
        if small is not None:
            small.update(numbers)
            small.discard(UNTRACKED)
            self.count = len(small)
            if self.count > SMALL_SET_MAX:
                self._to_bits()
            return
        bits = self._bits
        assert bits is not None
        count, size = self.count, len(bits)
        for number in numbers:
            if number < 0:
                continue  # UNTRACKED
            byte, mask = number >> 3, 1 << (number & 7)
            if byte >= size:
                bits.extend(bytes(byte + 1 - size))
                size = byte + 1
            elif bits[byte] & mask:
                continue
            bits[byte] |= mask
            count += 1
        self.count = count

    @classmethod
    def from_bitmap(cls, bitmap: bytes) -> ClientSet:
        """The set whose numbers are the set bits of `bitmap` (`bitmap()`'s form)."""
        clients = cls()
        clients.count = int.from_bytes(bitmap, "little").bit_count()
        if clients.count > SMALL_SET_MAX:
            clients._small, clients._bits = None, bytearray(bitmap)
        else:
            clients._small = set(_numbers_of(bitmap))
        return clients

    def bitmap(self) -> bytes:
        """Bit n (of byte n // 8, lowest first) set for each number n of the set."""
        if self._bits is not None:
            return bytes(self._bits)
        assert self._small is not None
        bits = bytearray((max(self._small) >> 3) + 1 if self._small else 0)
        for number in self._small:
            bits[number >> 3] |= 1 << (number & 7)
        return bytes(bits)

    def _to_bits(self) -> None:
        self._bits = bytearray(self.bitmap())
        self._small = None

    def __iter__(self) -> Iterator[int]:
        # An iterator returned, not a generator resumed per number: merges iterate rows.
        if self._small is not None:
            return iter(sorted(self._small))
        assert self._bits is not None
        return _numbers_of(self._bits)


# The set bits of each byte value, low first (made on first use: `_numbers_of`).
_bits_of_byte: list[tuple[int, ...]] = []


def _numbers_of(bitmap: bytes | bytearray) -> Iterator[int]:
    """The set bits of `bitmap`, ascending (a list made at once: merges read whole rows)."""
    bits_of = _bits_of_byte
    if not bits_of:
        bits_of.extend(tuple(bit for bit in range(8) if value >> bit & 1) for value in range(256))
    return iter([
        (byte_at << 3) + bit
        for byte_at, byte in enumerate(bitmap) if byte
        for bit in bits_of[byte]
    ])
