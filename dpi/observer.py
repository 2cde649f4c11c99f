"""What the engine tells others about a scan besides inventory rows.

Findings (egress, authentication, leaky responses), TLS coverage lists and scan
statistics of later features subscribe here instead of reaching into the engine.
Every method is a no-op by default; an observer overrides what it needs. Observers are
called synchronously on the engine's path: keep them cheap, and never keep payload
values beyond what the masked outputs need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dpi.reassembly import Flow
    from protocols.base import Message


class Observer:
    def flow_identified(self, flow: Flow, protocol: str) -> None:
        """A dissector (`protocol` is its registry name) took the flow."""

    def flow_layer(self, flow: Flow, layer: str, info: dict[str, object]) -> None:
        """A stream layer (TLS) was found on the flow; `info` describes it (server
        name, versions, whether it could be decrypted and why not). Called again when
        the info changes."""

    def flow_unidentified(self, flow: Flow) -> None:
        """No dissector recognised the flow."""

    def message(self, flow: Flow, message: Message) -> None:
        """A message, before its fields are classified."""

    def limit_hit(self, flow: Flow, kind: str) -> None:
        """A dissector stopped or cut something at a bound (`kind`, dpi/limits.py
        LIMIT_ANOMALIES) on the flow."""

    def datagram(self, src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, ts_ns: int) -> None:
        """A UDP datagram (DNS answers name the servers that TCP flows go to)."""
