"""What a scan saw: the counters behind the end-of-scan summary and `--summary-json`.

The engine (dpi/engine.py) and its field scorer count here; batch runs merge the
counters of their files (dpi/runs/codec.py `merge_stats`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class ScanStats:
    """What a scan saw, for the end-of-scan summary and `--summary-json`."""

    files: int = 0
    bytes_read: int = 0
    frames: int = 0
    tcp_segments: int = 0
    non_tcp: int = 0
    decode_errors: int = 0
    flows: int = 0
    partial_flows: int = 0
    gaps: int = 0
    gap_bytes: int = 0
    messages: Counter[str] = field(default_factory=Counter)
    flows_by_protocol: Counter[str] = field(default_factory=Counter)
    unidentified_flows: int = 0
    # Flows under a stream layer that could not be decrypted (TLS without keys).
    encrypted_flows: int = 0
    decrypted_flows: int = 0
    protocol_errors: int = 0
    bugs: int = 0
    values: int = 0
    anomalies: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    # Bounds that stopped or cut something, by kind (dpi/limits.py): never fatal.
    limits_hit: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            name: (dict(value) if isinstance(value, Counter) else value)
            for name, value in ((n, getattr(self, n)) for n in self.__dataclass_fields__)
        }
