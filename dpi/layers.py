"""Stream layers: byte transforms that sit between TCP reassembly and the dissectors.

TLS is the one that matters: with the session keys, a layer turns the two encrypted
byte streams of a flow into the two plaintext streams, which are then probed and
dissected like cleartext. Without keys the layer still reads the handshake (server
name, ALPN, version) and the flow is reported as encrypted, never parsed as garbage.

A layer is found by `probe` on the first bytes of a flow (before any dissector), or is
attached mid-flow when a dissector hands off with `Handoff(protocol=<layer name>)`
(MySQL's and other STARTTLS-style upgrades): then the dissector stays and receives the
plaintext.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from dpi.reassembly import Side
from protocols.base import Probe

# (side that sent it, plaintext, capture time of the segment that completed it)
Chunk = tuple[Side, bytes, int]


class StreamLayer(ABC):
    """One instance per flow. `decrypting` is False when the layer can only observe
    (no keys): the engine then stops the flow after the handshake is known."""

    name: ClassVar[str]

    @property
    @abstractmethod
    def decrypting(self) -> bool:
        """Whether plaintext can come out (keys known, suite supported)."""

    @abstractmethod
    def feed(self, side: Side, data: bytes, ts_ns: int) -> list[Chunk]:
        """Encrypted bytes in, plaintext out (possibly nothing yet)."""

    @abstractmethod
    def gap(self, side: Side, size: int) -> list[Chunk]:
        """Bytes lost in one direction; the layer resyncs or stops that direction."""

    @abstractmethod
    def info(self) -> dict[str, object]:
        """What is known of the session, for coverage reports: never key material."""


class LayerFactory(ABC):
    """Makes layers for a scan (holds scan-wide inputs such as key logs)."""

    name: ClassVar[str]

    @abstractmethod
    def probe(self, client_data: bytes, server_data: bytes) -> Probe:
        """Do the first bytes of a flow start this layer? Cheap: runs on every new flow."""

    @abstractmethod
    def create(self) -> StreamLayer: ...

    def add_secrets(self, kind: int, data: bytes, source: str) -> list[str]:
        """Key material found in the capture itself (a pcapng Decryption Secrets Block
        of secrets type `kind`), for the flows that follow. Returns warnings, which
        never quote the secrets. Default: not for this layer."""
        return []


class LayerError(Exception):
    """The layer's bytes cannot be understood (a broken record, a bad MAC with the
    right keys): the flow stops; the message never quotes bytes or keys."""
