"""Recently closed TCP connections, remembered compactly so that stragglers are dropped.

After both FINs (or a reset) a connection's late retransmissions and last ACKs must not
open a ghost flow; the reassembler remembers each closed connection until the idle
timeout. A mirror sees tens of thousands of connections close per minute, and a tuple
key per direction with a tuple value cost ~400 bytes a direction (26 MB for the 65,536
remembered). Here a connection is one entry in a plain dict (insertion-ordered, so the
oldest is first): its two endpoints packed into one bytes key in a canonical order, and
its close time and both directions' base sequence numbers packed into one int.
"""

from __future__ import annotations

_SEQ_BITS = 32
_SEQ_MASK = (1 << _SEQ_BITS) - 1

Key = tuple[bytes, bytes, int, int]  # (src ip, dst ip, src port, dst port) of a segment


def _packed(key: Key) -> tuple[bytes, bool]:
    """The connection's key whichever direction `key` is, and whether `key` runs in the
    stored (forward) direction."""
    src, dst, sport, dport = key
    forward = (src, sport) <= (dst, dport)
    if forward:
        return src + dst + sport.to_bytes(2, "big") + dport.to_bytes(2, "big"), True
    return dst + src + dport.to_bytes(2, "big") + sport.to_bytes(2, "big"), False


class ClosedConnections:
    """Closed connection -> (close time, base sequence number of each direction)."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[bytes, int] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: Key, ts_ns: int, base: int, peer_base: int) -> None:
        """`base`: the sequence base of the direction `key` runs in; `peer_base`: the other's."""
        packed, forward = _packed(key)
        forward_base, reverse_base = (base, peer_base) if forward else (peer_base, base)
        entries = self._entries
        entries.pop(packed, None)  # re-closed: now the newest
        entries[packed] = (ts_ns << 2 * _SEQ_BITS) | (forward_base << _SEQ_BITS) | reverse_base

    def get(self, key: Key) -> tuple[int, int] | None:
        """(close time, base sequence number of the direction `key` runs in)."""
        packed, forward = _packed(key)
        value = self._entries.get(packed)
        if value is None:
            return None
        base = (value >> _SEQ_BITS if forward else value) & _SEQ_MASK
        return value >> 2 * _SEQ_BITS, base

    def pop(self, key: Key) -> None:
        """Forgets the connection (either direction's key): its 4-tuple is in use again."""
        self._entries.pop(_packed(key)[0], None)

    def trim(self, most: int) -> None:
        entries = self._entries
        while len(entries) > most:
            del entries[next(iter(entries))]

    def expire(self, deadline_ns: int) -> None:
        """Forgets connections closed at or before `deadline_ns` (oldest first)."""
        entries = self._entries
        while entries:
            oldest = next(iter(entries))
            if entries[oldest] >> 2 * _SEQ_BITS > deadline_ns:
                return
            del entries[oldest]

    def clear(self) -> None:
        self._entries.clear()
