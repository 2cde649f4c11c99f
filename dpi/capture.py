"""Capture files -> frames: a streaming reader for pcap and pcapng, with `struct`.

Specs:
- classic pcap: draft-ietf-opsawg-pcap (File Header, Packet Record); magic a1b2c3d4
  (microseconds) and a1b23c4d (nanoseconds), written in either byte order. The link
  type is the low 16 bits of the LinkType field (the upper bits carry FCS information).
  Files older than format 2.3 have the two record lengths swapped (an old libpcap bug;
  libpcap and Wireshark swap them back, and so do we).
- "modified" pcap, magic a1b2cd34 (Alexey Kuznetsov's patched libpcap, Wireshark's
  "libpcap modified"): the same file header, microseconds, and 24-byte record headers
  (ifindex, protocol, packet type and a pad byte after the usual 16). Red Hat 6.1's
  variant of it has 28-byte record headers; like Wireshark we tell them apart by the
  first records (the 24-byte form wins unless only the 28-byte one reads sanely).
- pcapng: draft-ietf-opsawg-pcapng: Section Header Block (byte order per section,
  several sections), Interface Description Block (per-interface link type, snaplen,
  `if_tsresol` power of 10 or of 2, `if_tsoffset`), Enhanced Packet Block, Simple
  Packet Block (no timestamp: the previous frame's is reused) and the obsolete Packet
  Block. Decryption Secrets Blocks (4.7) are collected into `reader.secrets` and
  passed to `reader.on_secrets` before the frames after them are yielded. Every other
  block (NRB, ISB, custom, unknown) is skipped by its length.
- gzip (RFC 1952) and zstd (RFC 8878) compressed captures are recognised by their
  magic, never by the file name, and decompressed while streaming.

Not supported: the Nokia pcap variant and other formats (snoop, erf, Windows Sniffer):
they are refused with `CaptureError`. pcapng options other than `if_tsresol` and
`if_tsoffset` are ignored.

Link types: every frame is delivered with its link type; frames of a link type that
`dpi.decode` cannot read are counted, and the reader warns once per file and link type
with the count (a capture is never refused for its link type).

Timestamps: a frame's time is kept between the Unix epoch and `MAX_TIMESTAMP_NS`
(2262-04-11, the largest nanosecond count in a signed 64-bit integer: what datetime,
int64 columns and the state file all hold). A pcapng record outside that range (a
damaged or hostile timestamp, resolution or `if_tsoffset`) gets the previous record's
time (0 before the first) and is counted; one warning per file names the first such
record. An `if_tsoffset` beyond that range is ignored with a warning. Classic pcap
timestamps (32-bit seconds) cannot leave it.

Compressed files: the expanded stream is bounded by `max_capture_compression_ratio`
(`protocols.base.Limits`): once `RATIO_GRACE_BYTES` have expanded, reading stops when
the expanded bytes exceed that many times the compressed bytes read so far, with a
warning that names the limit (counted in `limits_hit`). Real captures compress 2-30x
(zero-filled bulk transfers ~140x); a 33 KB zstd file of 1 GiB of zeros is 32,000x.

Reading is streaming and memory bounded: the file is read in `_CHUNK` pieces and
records are sliced out of that buffer with precompiled `struct.Struct`s. Damage after a
valid header never raises out of `frames()`: the reader stops (or skips a block whose
length is still trustworthy) and appends a one-line warning to `reader.warnings`. No
warning, error or repr ever quotes packet bytes.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal, Protocol, Self, cast

from dpi.frames import SUPPORTED_LINKTYPES, Frame
from protocols._slots import slot_factory
from protocols.base import Limits


class CaptureError(Exception):
    """The file is not a capture we can read at all (bad magic, unreadable)."""


CaptureFormat = Literal["pcap", "pcapng"]


class _Stream(Protocol):
    """What we need of a file or decompressor: read and close."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


# Bytes read from disk (or from the decompressor) at a time. Large reads amortise the
# per-call cost; 1 MiB keeps the buffer far below our memory budget.
_CHUNK = 1 << 20

# A record (captured length) up to this size is always accepted: it is Wireshark's
# standard maximum (WTAP_MAX_PACKET_SIZE_STANDARD) and no link type we decode needs more.
MAX_RECORD_FLOOR = 256 * 1024
# A larger snaplen in the header raises the bound, but never above this: a damaged or
# hostile header must not make us buffer more (GSO/BIG TCP captures stay well below).
MAX_RECORD_CAP = 4 * 1024 * 1024
# pcapng blocks carry options and padding besides the packet: allowance on top of the
# record bound before a block length is judged insane.
_BLOCK_OVERHEAD_ALLOWANCE = 64 * 1024
# Blocks we skip (NRB, ISB, DSB, custom...) are discarded while streaming, so they may be
# larger than a packet (a DSB with many TLS secrets); beyond this a length is damage.
MAX_SKIPPED_BLOCK = 256 * 1024 * 1024
# Warnings kept per reader: a hostile file must not grow the list without bound.
MAX_WARNINGS = 100
# Decryption secrets kept per reader (a key log of ~10k TLS connections is ~2 MiB):
# beyond this, blocks are skipped with a warning. One block is read whole up to this.
MAX_SECRETS_BYTES = 64 * 1024 * 1024

# Latest capture time kept (see the module docstring): int64 nanoseconds, 2262-04-11.
MAX_TIMESTAMP_NS = (1 << 63) - 1
_MAX_TSOFFSET_S = MAX_TIMESTAMP_NS // 1_000_000_000
# Expanded bytes of a compressed capture read before its ratio is judged: small files
# (a header and a few packets) compress far beyond any ratio, and the compressed
# position runs ahead by a read (128 KiB for gzip and zstd) at the start.
RATIO_GRACE_BYTES = 8 * 1024 * 1024
# The limit's name, for warnings and `limits_hit`.
RATIO_LIMIT = "max_capture_compression_ratio"

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

_PCAP_MAGICS: dict[bytes, tuple[str, int, bool]] = {
    # magic as stored -> (struct byte order, nanoseconds per timestamp fraction unit,
    # whether it is the "modified" format with longer record headers)
    b"\xd4\xc3\xb2\xa1": ("<", 1000, False),
    b"\xa1\xb2\xc3\xd4": (">", 1000, False),
    b"\x4d\x3c\xb2\xa1": ("<", 1, False),
    b"\xa1\xb2\x3c\x4d": (">", 1, False),
    b"\x34\xcd\xb2\xa1": ("<", 1000, True),
    b"\xa1\xb2\xcd\x34": (">", 1000, True),
}
_PCAP_HEADER_LEN = 24
_PCAP_RECORD_LEN = 16
# Modified pcap record headers: Kuznetsov's (ss991029, SuSE 6.3) and Red Hat 6.1's
# (ss990915, two CPU bytes and more padding); the first is tried first.
_MODIFIED_RECORD_LENS = (24, 28)

_PCAPNG_SHB = 0x0A0D0D0A  # a palindrome: readable before the byte order is known
_PCAPNG_BOM = 0x1A2B3C4D
_BT_IDB = 0x00000001
_BT_PB = 0x00000002  # obsolete Packet Block
_BT_SPB = 0x00000003
_BT_EPB = 0x00000006
_BT_DSB = 0x0000000A
_OPT_END = 0
_OPT_IF_TSRESOL = 9
_OPT_IF_TSOFFSET = 14
_PCAPNG_MIN_BLOCK = 12  # type, length, trailing length
_SHB_MIN = 28  # + byte-order magic, version, section length

_NS_PER_S = 1_000_000_000
# `Frame(...)` at half the cost (protocols/_slots.py): one per record.
_frame = slot_factory(Frame)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Interface:
    """One pcapng interface: link type and how to turn its timestamps into ns."""

    linktype: int
    snaplen: int
    mul: int  # ns = ts * mul // div (power-of-10 resolutions)
    div: int
    shift: int  # when > 0: ns = ts * 10**9 >> shift (power-of-2 resolutions)
    offset_ns: int
    supported: bool = True  # dpi.decode reads its link type
    offset_ignored: bool = False  # its if_tsoffset was beyond any clock


def _record_bound(snaplen: int) -> int:
    """Largest record length accepted for a given header snaplen (see MAX_RECORD_*)."""
    return min(max(MAX_RECORD_FLOOR, snaplen), MAX_RECORD_CAP)


def open_capture(path: str | os.PathLike[str], limits: Limits | None = None) -> CaptureReader:
    """Open a pcap/pcapng file (optionally gzip or zstd compressed) for streaming;
    `limits` gives `max_capture_compression_ratio` (the defaults when None).

    Raises `CaptureError` with a one-line message when the file cannot be read or is
    not a capture we support.
    """
    return CaptureReader(Path(path), limits)


class CaptureReader:
    """Streaming reader; use as a context manager and iterate `frames()` once."""

    def __init__(self, path: Path, limits: Limits | None = None) -> None:
        self.path = path
        self.name = path.name
        self.warnings: list[str] = []
        self.linktypes: set[int] = set()
        # Bounds that stopped reading, by limit name (for the scan's `limits_hit`).
        self.limits_hit: Counter[str] = Counter()
        self._max_ratio = (limits or Limits()).max_capture_compression_ratio
        self._expanded = 0  # bytes the decompressor delivered
        # Frames whose link type dpi.decode cannot read, per link type (one warning each).
        self._unsupported: Counter[int] = Counter()
        self._bad_ts = 0  # pcapng records whose time was out of range
        self._first_bad_ts = 0  # the first of them (record number)
        # pcapng Decryption Secrets Blocks: (secrets type, data); never printed.
        self.secrets: list[tuple[int, bytes]] = []
        self.on_secrets: Callable[[int, bytes, str], None] | None = None
        self._secrets_bytes = 0
        self.format: CaptureFormat
        self.compression: Literal["", "gzip", "zstd"] = ""
        self._suppressed = 0
        self._read_error = ""
        self._started = False
        try:
            if str(path) == "-":  # `dpi scan -`: standard input, streamed
                from dpi.stdin_capture import LABEL, StdinStream

                self.name = LABEL
                self._raw: BinaryIO = cast(BinaryIO, StdinStream())
            else:
                self._raw = open(path, "rb", buffering=0)  # noqa: SIM115 (closed in close())
        except OSError as exc:
            raise CaptureError(
                f"{self.name}: cannot open ({exc.strerror or type(exc).__name__})"
            ) from None
        try:
            self.size = os.fstat(self._raw.fileno()).st_size
            self._stream: _Stream = self._raw
            self._read: Callable[[int], bytes] = self._raw.read
            self._open_stream()
            self._buf = self._read_or_fail(_CHUNK)
            self._expanded = len(self._buf)
            self._base = 0  # offset of _buf[0] in the (decompressed) stream
            self._detect()
        except BaseException:
            self.close()
            raise

    # -- context manager ------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._stream is not self._raw:
            # A broken decompressor may fail to close; that must not mask the real error
            # nor keep the file open.
            with contextlib.suppress(Exception):
                self._stream.close()
        self._raw.close()

    def __repr__(self) -> str:
        fmt = getattr(self, "format", "?")
        return f"CaptureReader(name={self.name!r}, format={fmt!r}, size={self.size})"

    @property
    def position(self) -> int:
        """Bytes of the file on disk read so far (compressed offset for .gz/.zst), for
        progress against `size`. It runs ahead of the frames delivered by at most one
        read (`_CHUNK`, or the decompressor's read size) and equals `size` at the end."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):  # closed file: everything was consumed
            return self.size

    # -- opening --------------------------------------------------------------------

    def _open_stream(self) -> None:
        head = self._raw.read(4)
        self._raw.seek(0)
        if not head:
            raise CaptureError(f"{self.name}: empty file, not a capture")
        if head[:2] == _GZIP_MAGIC:
            self.compression = "gzip"
            self._stream = gzip.GzipFile(fileobj=self._raw, mode="rb")
        elif head == _ZSTD_MAGIC:
            from protocols._zstd import zstd  # the .zst capture path only

            self.compression = "zstd"
            # Reads every frame in turn; a file object passed in is left open.
            self._stream = zstd.ZstdFile(self._raw, mode="rb")
        else:
            return
        self._read = self._stream.read
        if self.compression == "gzip":
            self._read = self._read_gzip

    def _read_gzip(self, n: int) -> bytes:
        """Up to `n` bytes in `read1` pieces: GzipFile.read(n) loses everything it
        decompressed when the stream turns out cut short within those n bytes (EOFError),
        which would make a small truncated .gz unreadable. The error is kept in
        `_read_error` for the warning; raised only when nothing came before it."""
        stream: gzip.GzipFile = self._stream  # type: ignore[assignment]
        pieces: list[bytes] = []
        got = 0
        while got < n:
            try:
                piece = stream.read1(n - got)
            except (OSError, EOFError, zlib.error) as exc:
                if not pieces:
                    raise
                self._read_error = f"gzip read error ({type(exc).__name__})"
                break
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        return b"".join(pieces)

    def _read_or_fail(self, n: int) -> bytes:
        """First read: a decompression error here means 'not a capture'."""
        try:
            return self._read(n)
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            raise CaptureError(
                f"{self.name}: cannot read {self.compression or 'file'} data ({type(exc).__name__})"
            ) from None
        except Exception as exc:
            if type(exc).__name__ == "ZstdError":
                raise CaptureError(f"{self.name}: cannot read zstd data (ZstdError)") from None
            raise

    def _detect(self) -> None:
        buf = self._buf
        what = f"{self.compression} data" if self.compression else "file"
        if not buf:
            raise CaptureError(f"{self.name}: empty {what}, not a capture")
        magic = buf[:4]
        if magic in _PCAP_MAGICS:
            self._open_pcap(magic)
        elif len(buf) >= 4 and struct.unpack_from("<I", buf)[0] == _PCAPNG_SHB:
            self._open_pcapng()
        else:
            raise CaptureError(f"{self.name}: not a pcap or pcapng {what} (unknown magic)")

    def _open_pcap(self, magic: bytes) -> None:
        self.format = "pcap"
        if len(self._buf) < _PCAP_HEADER_LEN:
            raise CaptureError(
                f"{self.name}: pcap header cut short ({len(self._buf)} of {_PCAP_HEADER_LEN} bytes)"
            )
        order, frac_ns, modified = _PCAP_MAGICS[magic]
        major, minor, _zone, _sigfigs, snaplen, lt_field = struct.unpack_from(
            order + "HHiIII", self._buf, 4
        )
        linktype = lt_field & 0xFFFF  # upper bits: FCS length flags (pcap draft 4.1)
        self._record_len = (
            _modified_record_len(self._buf, order, _record_bound(snaplen))
            if modified
            else _PCAP_RECORD_LEN
        )
        self._order = order
        self._frac_ns = frac_ns
        self._snaplen = snaplen
        self._linktype = linktype
        # libpcap before format 2.3 wrote the captured and original lengths swapped;
        # 2.3 files may be either way (libpcap's and Wireshark's readers fix them so).
        self._swapped_lengths = (
            1 if (major, minor) < (2, 3) else 2 if (major, minor) == (2, 3) else 0
        )
        self._off = _PCAP_HEADER_LEN
        self.linktypes.add(linktype)

    def _open_pcapng(self) -> None:
        self.format = "pcapng"
        if len(self._buf) < _SHB_MIN:
            raise CaptureError(f"{self.name}: pcapng section header cut short")
        bom = self._buf[8:12]
        if bom not in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"):
            raise CaptureError(f"{self.name}: pcapng section header has no valid byte-order magic")
        self._off = 0

    # -- warnings -------------------------------------------------------------------

    def _warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(f"{self.name}: {message}")
        else:
            self._suppressed += 1
            note = f"{self.name}: {self._suppressed} further warnings suppressed"
            if self.warnings[-1].endswith("further warnings suppressed"):
                self.warnings[-1] = note
            else:
                self.warnings.append(note)

    def _where(self, offset: int) -> str:
        return f"uncompressed offset {offset}" if self.compression else f"offset {offset}"

    def _more(self) -> bytes:
        """Next chunk of the stream; b'' at the end or after a read/decompression error
        (remembered in `_read_error` for the warning that the caller writes)."""
        if self._read_error:
            return b""
        try:
            chunk = self._read(_CHUNK)
        except Exception as exc:  # noqa: BLE001 (damage must not raise out of frames())
            # zlib/gzip/zstd errors, a truncated compressed stream (EOFError), I/O errors.
            self._read_error = f"{self.compression or 'file'} read error ({type(exc).__name__})"
            return b""
        if self.compression:
            self._expanded += len(chunk)
            if (
                self._expanded > RATIO_GRACE_BYTES
                and self._expanded > self._max_ratio * max(1, self.position)
            ):
                # A decompression bomb (or a capture of constant bytes): this chunk is
                # delivered, nothing after it. The callers' warning names the limit.
                self._read_error = (
                    f"expanded more than {self._max_ratio} times the compressed bytes "
                    f"read (limit {RATIO_LIMIT})"
                )
                self.limits_hit[RATIO_LIMIT] += 1
        return chunk

    def _summarise(self) -> None:
        """Warnings that count over the whole file, written when its frames end (or the
        consumer stops early): skipped link types, out-of-range timestamps."""
        for linktype, count in sorted(self._unsupported.items()):
            what = f"link type {linktype}" if linktype >= 0 else "an unreadable interface"
            self._warn(f"{what} is not supported: {_count(count, 'frame')} skipped")
        self._unsupported.clear()
        if self._bad_ts:
            self._warn(
                f"{_count(self._bad_ts, 'record')} (the first: record {self._first_bad_ts}) "
                f"with a timestamp outside 1970-01-01..2262-04-11: the previous record's time "
                f"is used"
            )
            self._bad_ts = 0

    def _stopped(self, what: str, offset: int) -> None:
        """Warn that reading stopped at `offset` (of the uncompressed stream)."""
        if self.limits_hit:  # not damage: a bound stopped the stream mid-record
            self._warn(f"reading stopped at {self._where(offset)}: {self._read_error}")
            return
        cause = f"; {self._read_error}" if self._read_error else ""
        self._warn(f"{what} at {self._where(offset)}{cause}; reading stopped")

    def _ended(self, offset: int, count: int) -> None:
        """The stream ended on a record boundary: fine, unless a read error ended it."""
        if self._read_error:
            self._warn(
                f"reading stopped at {self._where(offset)} after {count} frames: {self._read_error}"
            )

    # -- frames ---------------------------------------------------------------------

    def frames(self) -> Iterator[Frame]:
        """Yield every frame, numbered from 1, timestamps in ns of capture time.

        Single pass: the file is streamed, so a second call is a programming error."""
        if self._started:
            raise RuntimeError("CaptureReader.frames() streams the file once")
        self._started = True
        if self.format == "pcap":
            return self._pcap_frames()
        return self._pcapng_frames()

    def _pcap_frames(self) -> Iterator[Frame]:
        unpack = struct.Struct(self._order + "IIII").unpack_from
        more = self._more
        frac_ns = self._frac_ns
        linktype = self._linktype
        bound = _record_bound(self._snaplen)
        swapped = self._swapped_lengths
        head = self._record_len  # 16, or 24/28 in the modified format
        buf = self._buf
        off = self._off
        base = self._base
        number = 0
        self._buf = b""  # the generator owns the buffer from here
        try:
            while True:
                end = len(buf)
                while off + head <= end:
                    sec, frac, incl, orig = unpack(buf, off)
                    if swapped and (swapped == 1 or incl > orig):
                        incl, orig = orig, incl
                    if incl > bound:
                        self._warn(
                            f"record {number + 1} at {self._where(base + off)}: captured "
                            f"length {incl} exceeds the {bound}-byte bound; reading stopped "
                            f"(damaged file)"
                        )
                        return
                    nxt = off + head + incl
                    if nxt > end:
                        break
                    number += 1
                    # 32-bit seconds: always within 1970..MAX_TIMESTAMP_NS.
                    yield _frame(
                        number, sec * _NS_PER_S + frac * frac_ns, linktype, buf[off + head : nxt], orig
                    )
                    off = nxt
                chunk = more()
                if not chunk:
                    if off < end:
                        self._stopped(
                            f"record {number + 1} cut short ({end - off} bytes left)", base + off
                        )
                    else:
                        self._ended(base + off, number)
                    return
                buf = buf[off:] + chunk
                base += off
                off = 0
        finally:
            if number and linktype not in SUPPORTED_LINKTYPES:
                self._unsupported[linktype] += number
            self._summarise()

    def _pcapng_frames(self) -> Iterator[Frame]:
        """pcapng: one block at a time; per-section byte order and interfaces."""
        more = self._more
        buf = self._buf
        off = self._off
        base = self._base
        self._buf = b""
        number = 0
        ifaces: list[_Interface] = []
        order = "<"
        hdr = struct.Struct("<II").unpack_from
        u32 = struct.Struct("<I").unpack_from
        epb = struct.Struct("<IIIII").unpack_from
        pb = struct.Struct("<HHIIII").unpack_from
        bound = MAX_RECORD_FLOOR + _BLOCK_OVERHEAD_ALLOWANCE
        last_ts = 0
        max_ts = MAX_TIMESTAMP_NS
        block_no = 0
        try:
            while True:
                # Make sure the 12-byte minimum block (or the SHB's first 12 bytes) is there.
                if len(buf) - off < 12:
                    chunk = more()
                    if chunk:
                        buf = buf[off:] + chunk
                        base += off
                        off = 0
                        continue
                    if off < len(buf):
                        self._stopped(
                            f"block {block_no + 1} cut short ({len(buf) - off} bytes left)", base + off
                        )
                    else:
                        self._ended(base + off, number)
                    return
                btype = u32(buf, off)[0]
                if btype == _PCAPNG_SHB:
                    # The byte order may change at every section (pcapng draft 4.1).
                    bom_le = u32(buf, off + 8)[0]
                    if bom_le == _PCAPNG_BOM:
                        order = "<"
                    elif bom_le == 0x4D3C2B1A:
                        order = ">"
                    else:
                        self._warn(
                            f"block {block_no + 1} at {self._where(base + off)}: section header "
                            f"without a valid byte-order magic; reading stopped"
                        )
                        return
                    hdr = struct.Struct(order + "II").unpack_from
                    u32 = struct.Struct(order + "I").unpack_from
                    epb = struct.Struct(order + "IIIII").unpack_from
                    pb = struct.Struct(order + "HHIIII").unpack_from
                    ifaces = []
                btype, blen = hdr(buf, off)
                block_no += 1
                if blen < _PCAPNG_MIN_BLOCK or blen % 4 or (btype == _PCAPNG_SHB and blen < _SHB_MIN):
                    self._warn(
                        f"block {block_no} at {self._where(base + off)}: invalid block length "
                        f"{blen}; reading stopped (damaged file)"
                    )
                    return
                parsed = btype in (_PCAPNG_SHB, _BT_IDB, _BT_EPB, _BT_SPB, _BT_PB)
                limit = bound if parsed else MAX_SKIPPED_BLOCK
                if blen > limit:
                    self._warn(
                        f"block {block_no} at {self._where(base + off)}: block length {blen} "
                        f"exceeds the {limit}-byte bound; reading stopped (damaged file)"
                    )
                    return
                keep = btype == _BT_DSB and blen <= MAX_SECRETS_BYTES  # read whole, below
                if not parsed and not keep and blen > _CHUNK and len(buf) - off < blen:
                    # Large skipped block: discard it while streaming, never buffer it whole
                    # (its trailing length is not checked).
                    start = base + off
                    need = blen - (len(buf) - off)
                    base += len(buf)
                    buf = b""
                    off = 0
                    while need > 0:
                        chunk = more()
                        if not chunk:
                            self._stopped(
                                f"block {block_no} cut short ({need} of {blen} bytes missing)", start
                            )
                            return
                        if len(chunk) > need:
                            base += need
                            buf = chunk[need:]
                            need = 0
                        else:
                            base += len(chunk)
                            need -= len(chunk)
                    continue
                # Bring the whole block into the buffer.
                while len(buf) - off < blen:
                    chunk = more()
                    if not chunk:
                        self._stopped(
                            f"block {block_no} cut short ({len(buf) - off} of {blen} bytes)", base + off
                        )
                        return
                    buf = buf[off:] + chunk
                    base += off
                    off = 0
                if u32(buf, off + blen - 4)[0] != blen:
                    self._warn(
                        f"block {block_no} at {self._where(base + off)}: trailing length differs "
                        f"from the leading length {blen}; reading stopped (damaged file)"
                    )
                    return
                at = off
                off += blen
                if btype == _BT_EPB or btype == _BT_PB:
                    # The enhanced packet block and the obsolete packet block differ only in
                    # their header before the packet bytes (the latter has a 16-bit
                    # interface id and a drop count).
                    kind = "enhanced packet block" if btype == _BT_EPB else "packet block"
                    if blen < 32:
                        self._skip_warn(block_no, base + at, f"{kind} too short")
                        continue
                    if btype == _BT_EPB:
                        if_id, ts_hi, ts_lo, caplen, origlen = epb(buf, at + 8)
                    else:
                        if_id, _drops, ts_hi, ts_lo, caplen, origlen = pb(buf, at + 8)
                    if caplen > blen - 32:
                        self._skip_warn(
                            block_no, base + at, f"captured length {caplen} exceeds block length {blen}"
                        )
                        continue
                    if if_id >= len(ifaces):
                        self._skip_warn(block_no, base + at, f"unknown interface {if_id}")
                        continue
                    iface = ifaces[if_id]
                    ts = (ts_hi << 32) | ts_lo
                    if iface.shift:
                        ts = ((ts * _NS_PER_S) >> iface.shift) + iface.offset_ns
                    else:
                        ts = ts * iface.mul // iface.div + iface.offset_ns
                    number += 1
                    if 0 <= ts <= max_ts:
                        last_ts = ts
                    else:  # damaged or hostile: keep the previous record's time
                        self._bad_ts += 1
                        if self._bad_ts == 1:
                            self._first_bad_ts = number
                    if not iface.supported:
                        self._unsupported[iface.linktype] += 1
                    yield _frame(
                        number, last_ts, iface.linktype, buf[at + 28 : at + 28 + caplen], origlen
                    )
                elif btype == _BT_SPB:
                    if not ifaces:
                        self._skip_warn(block_no, base + at, "simple packet block before any interface")
                        continue
                    iface = ifaces[0]
                    origlen = u32(buf, at + 8)[0]
                    caplen = min(origlen, blen - 16)
                    if iface.snaplen:
                        caplen = min(caplen, iface.snaplen)
                    number += 1
                    if not iface.supported:
                        self._unsupported[iface.linktype] += 1
                    yield _frame(
                        number, last_ts, iface.linktype, buf[at + 12 : at + 12 + caplen], origlen
                    )
                elif btype == _BT_IDB:
                    if blen < 20:
                        self._skip_warn(block_no, base + at, "interface description block too short")
                        # keep interface numbering aligned with the writer's
                        ifaces.append(
                            _Interface(
                                linktype=-1,
                                snaplen=0,
                                mul=1000,
                                div=1,
                                shift=0,
                                offset_ns=0,
                                supported=False,
                            )
                        )
                        continue
                    iface = _parse_idb(buf[at + 8 : at + blen - 4], order)
                    ifaces.append(iface)
                    bound = max(bound, _record_bound(iface.snaplen) + _BLOCK_OVERHEAD_ALLOWANCE)
                    self.linktypes.add(iface.linktype)
                    if iface.offset_ignored:
                        self._warn(
                            f"interface {len(ifaces) - 1} (block {block_no}): if_tsoffset "
                            f"beyond any clock (more than {_MAX_TSOFFSET_S} s); ignored"
                        )
                elif btype == _BT_DSB:
                    self._secrets_block(buf[at + 8 : at + blen - 4], order, block_no, base + at)
                # SHB, NRB, ISB, custom and unknown blocks: nothing more to do.
        finally:
            self._summarise()

    def _secrets_block(self, body: bytes, order: str, block_no: int, offset: int) -> None:
        """pcapng 4.7: secrets type (4), secrets length (4), secrets data, options."""
        if len(body) < 8:
            self._skip_warn(block_no, offset, "decryption secrets block too short")
            return
        kind, length = struct.unpack_from(order + "II", body, 0)
        if length > len(body) - 8:
            self._skip_warn(block_no, offset, f"secrets length {length} exceeds the block")
            return
        if self._secrets_bytes + length > MAX_SECRETS_BYTES:
            self._skip_warn(block_no, offset, f"more than {MAX_SECRETS_BYTES} bytes of secrets")
            return
        data = bytes(body[8 : 8 + length])
        self._secrets_bytes += length
        self.secrets.append((kind, data))
        if self.on_secrets is not None:
            self.on_secrets(kind, data, f"{self.name}: decryption secrets block {block_no}")

    def _skip_warn(self, block_no: int, offset: int, what: str) -> None:
        self._warn(f"block {block_no} at {self._where(offset)}: {what}; block skipped")


def _parse_idb(body: bytes, order: str) -> _Interface:
    """Interface Description Block body (after type and length, before the trailer)."""
    linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", body, 0)
    mul, div, shift, offset_ns = 1000, 1, 0, 0  # default resolution: microseconds
    offset_ignored = False
    opt = struct.Struct(order + "HH").unpack_from
    pos = 8
    while pos + 4 <= len(body):
        code, length = opt(body, pos)
        pos += 4
        if code == _OPT_END or pos + length > len(body):
            break
        if code == _OPT_IF_TSRESOL and length >= 1:
            res = body[pos]
            exp = res & 0x7F
            if res & 0x80:
                # 2**-exp seconds per unit; exp above 63 is not a real clock.
                if exp <= 63:
                    mul, div, shift = 1, 1, exp
                    if shift == 0:
                        mul = _NS_PER_S
            elif exp <= 9:
                mul, div, shift = 10 ** (9 - exp), 1, 0
            elif exp <= 30:  # finer than ns: round down to ns; beyond 1e-30 is nonsense
                mul, div, shift = 1, 10 ** (exp - 9), 0
        elif code == _OPT_IF_TSOFFSET and length >= 8:
            offset_s = struct.unpack_from(order + "q", body, pos)[0]
            if abs(offset_s) <= _MAX_TSOFFSET_S:
                offset_ns = offset_s * _NS_PER_S
            else:
                offset_ignored = True
        pos += (length + 3) & ~3
    return _Interface(
        linktype=linktype,
        snaplen=snaplen,
        mul=mul,
        div=div,
        shift=shift,
        offset_ns=offset_ns,
        supported=linktype in SUPPORTED_LINKTYPES,
        offset_ignored=offset_ignored,
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _modified_record_len(buf: bytes, order: str, bound: int) -> int:
    """Record header length of a modified pcap (24 or 28 bytes): the first that reads
    up to three records sanely (lengths within the bound, the captured one not above
    the original, microseconds below a second) from the file's first chunk; 24 when
    neither or both do (damage is then reported where it is met)."""
    unpack = struct.Struct(order + "IIII").unpack_from
    for head in _MODIFIED_RECORD_LENS:
        off = _PCAP_HEADER_LEN
        sane = 0
        while sane < 3 and off + head <= len(buf):
            _sec, usec, incl, orig = unpack(buf, off)
            if incl > bound or incl > orig or usec >= 1_000_000:
                break
            off += head + incl
            sane += 1
        else:
            if sane:  # every record seen (at least one) read sanely
                return head
    return _MODIFIED_RECORD_LENS[0]
