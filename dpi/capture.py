"""Capture files -> frames. Placeholder for the types; the reader lands separately."""

from __future__ import annotations

from dataclasses import dataclass, field


class CaptureError(Exception):
    """The file is not a capture we can read at all (bad magic, unreadable)."""


@dataclass(frozen=True, slots=True)
class Frame:
    number: int
    ts_ns: int
    linktype: int
    data: bytes = field(repr=False)
    wire_len: int = 0
