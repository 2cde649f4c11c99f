"""Frames, and the link types the decoder reads: what the capture reader hands the decoder.

Its own module so that the reader (`dpi/capture.py`), which warns about link types the
decoder cannot read, and the decoder (`dpi/decode.py`), which reads frames, both import
it and not each other. Numbers: tcpdump.org's LINKTYPE_ list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protocols._slots import slot_init


@slot_init
@dataclass(frozen=True, slots=True)
class Frame:
    number: int
    ts_ns: int
    linktype: int
    data: bytes = field(repr=False)
    wire_len: int = 0


LINKTYPE_NULL = 0  # BSD loopback, host byte order
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW_DLT12 = 12  # raw IP under its OpenBSD/other DLT numbers
LINKTYPE_RAW_DLT14 = 14
LINKTYPE_RAW = 101
LINKTYPE_IEEE802_11 = 105
LINKTYPE_LOOP = 108  # OpenBSD loopback, network byte order
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IEEE802_11_RADIOTAP = 127
LINKTYPE_PPI = 192
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_NFLOG = 239
LINKTYPE_LINUX_SLL2 = 276

# Every link type `dpi.decode` has a reader for (tests/dpi/test_decode.py checks the two agree).
SUPPORTED_LINKTYPES: frozenset[int] = frozenset({
    LINKTYPE_NULL,
    LINKTYPE_ETHERNET,
    LINKTYPE_RAW_DLT12,
    LINKTYPE_RAW_DLT14,
    LINKTYPE_RAW,
    LINKTYPE_IEEE802_11,
    LINKTYPE_LOOP,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_IEEE802_11_RADIOTAP,
    LINKTYPE_PPI,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_NFLOG,
    LINKTYPE_LINUX_SLL2,
})
