"""Live capture: packets from a network interface into one long-running engine.

Linux only: an AF_PACKET raw socket (packet(7)) bound to one interface, receiving every
protocol (ETH_P_ALL). Needs root or CAP_NET_RAW.

- Link type: from the interface's ARPHRD type (`/sys/class/net/IFACE/type`): Ethernet
  and loopback frames are Ethernet (LINKTYPE 1); ARPHRD_NONE (tun, WireGuard) gives raw
  IP (LINKTYPE 101). Other hardware types are refused.
- BPF filter: compiled once at start-up by libpcap's `pcap_compile` (through ctypes, on
  a `pcap_open_dead` handle of the interface's link type) and attached to the socket
  with SO_ATTACH_FILTER (linux/filter.h), so the kernel filters: nothing runs per packet
  in Python for packets the filter drops. The socket is created with protocol 0 (it
  receives nothing), the filter attached, and only then bound to ETH_P_ALL, so no
  unfiltered packet is queued before the filter is in place (libpcap does the same).
- Loopback: the kernel hands a packet socket both the outgoing and the incoming copy of
  each packet on `lo`; the outgoing copy is dropped (as libpcap does).
- Timestamps: the kernel's receive time (SO_TIMESTAMPNS), in ns; capture time is wall
  time here, unlike files.

Bounded memory: one receive buffer of `MAX_FRAME` bytes, the kernel socket buffer
(`SOCKET_BUFFER`; when it overflows the kernel drops packets and counts them, reported
in `LiveStats.kernel_drops`), and the engine's own limits (reassembly memory cap and idle
timeout, inventory bounds). Nothing is queued in Python.

Output: the inventory is written every `every_s` seconds and when the watch stops
(SIGINT, SIGTERM, `duration_s`), atomically (a temporary file renamed over the target);
the previous snapshots are kept as `FILE.1` (newest) ... `FILE.<keep>`. On stop, the
engine is finished first (every open flow flushed and closed), so nothing gathered is
lost. Not supported: other operating systems, PACKET_MMAP rings, several interfaces
in one watch, promiscuous mode (add it with `ip link set IFACE promisc on`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from dpi.engine import Engine
from dpi.frames import Frame
from dpi.outputs.files import replaceable, write_atomic

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6  # linux/if_packet.h: struct tpacket_stats {u32 packets, drops}
SO_ATTACH_FILTER = 26  # asm-generic/socket.h
SO_TIMESTAMPNS = 35  # asm-generic/socket.h; SCM_TIMESTAMPNS has the same value
_TIMESPEC = struct.Struct("@qq")
_TPACKET_STATS = struct.Struct("@II")

# The largest frame received whole: 64 KiB IP packets (GRO/TSO on loopback and virtual
# interfaces) plus tunnel and link headers; BIG TCP beyond that is cut and counted.
MAX_FRAME = 256 * 1024
# Kernel receive buffer: absorbs bursts while Python dissects (~0.1 s at 600 Mbit/s);
# packets beyond it are dropped by the kernel and counted.
SOCKET_BUFFER = 8 * 1024 * 1024
# How long one receive waits before the loop checks its timers and stop flag.
POLL_S = 0.2
# Output snapshots kept besides the current file.
DEFAULT_KEEP = 5

# ARPHRD_* (linux/if_arp.h) -> LINKTYPE_*
_ARPHRD_TO_LINKTYPE = {1: 1, 772: 1, 0xFFFE: 101}


class LiveError(Exception):
    """The watch cannot start: no such interface, no permission, bad filter."""


@dataclass(slots=True)
class LiveStats:
    packets: int = 0  # frames fed to the engine
    truncated: int = 0  # frames longer than MAX_FRAME, cut
    kernel_drops: int = 0  # dropped by the kernel (socket buffer full)
    flushes: int = 0  # inventory snapshots written


def linktype_of(interface: str) -> int:
    """The LINKTYPE of `interface`'s frames on a packet socket."""
    try:
        arphrd = int(Path(f"/sys/class/net/{interface}/type").read_text().strip())
    except (OSError, ValueError):
        raise LiveError(f"{interface}: no such network interface") from None
    linktype = _ARPHRD_TO_LINKTYPE.get(arphrd)
    if linktype is None:
        raise LiveError(f"{interface}: hardware type {arphrd} is not supported")
    return linktype


# -- BPF ----------------------------------------------------------------------------------


class _BpfInsn(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_BpfInsn))]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_BpfInsn))]


Instruction = tuple[int, int, int, int]  # code, jt, jf, k


def compile_filter(expression: str, linktype: int, snaplen: int = MAX_FRAME) -> list[Instruction]:
    """Compile a tcpdump filter expression with libpcap (once, at start-up)."""
    name = ctypes.util.find_library("pcap")
    if name is None:
        raise LiveError("a BPF filter needs libpcap (libpcap0.8 on Debian)")
    lib = ctypes.CDLL(name)
    lib.pcap_open_dead.restype = ctypes.c_void_p
    lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.pcap_compile.argtypes = [
        ctypes.c_void_p, ctypes.POINTER(_BpfProgram), ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32,
    ]
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_geterr.argtypes = [ctypes.c_void_p]
    lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    handle = lib.pcap_open_dead(linktype, snaplen)
    if not handle:
        raise LiveError("libpcap could not open a handle to compile the filter")
    program = _BpfProgram()
    try:
        # optimize=1; netmask unknown (PCAP_NETMASK_UNKNOWN): only "ip broadcast" needs it.
        if lib.pcap_compile(handle, ctypes.byref(program), expression.encode(), 1, 0xFFFFFFFF) != 0:
            message = (lib.pcap_geterr(handle) or b"").decode("utf-8", "replace")
            raise LiveError(f"bad BPF filter: {message}")
        insns = [
            (program.bf_insns[i].code, program.bf_insns[i].jt, program.bf_insns[i].jf, program.bf_insns[i].k)
            for i in range(program.bf_len)
        ]
        lib.pcap_freecode(ctypes.byref(program))
        return insns
    finally:
        lib.pcap_close(handle)


def attach_filter(sock: socket.socket, insns: list[Instruction]) -> None:
    """SO_ATTACH_FILTER: the kernel copies the program, so the buffers may go after."""
    array = (_BpfInsn * len(insns))(*(_BpfInsn(*insn) for insn in insns))
    fprog = _SockFprog(len(insns), ctypes.cast(array, ctypes.POINTER(_BpfInsn)))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(fprog))


# -- the socket ---------------------------------------------------------------------------


class LiveCapture:
    """An AF_PACKET socket on one interface; `frames()` yields Frames, or None when
    nothing arrived for `POLL_S` (so the caller can look at its timers)."""

    def __init__(self, interface: str, bpf: str | None = None) -> None:
        self.interface = interface
        self.linktype = linktype_of(interface)
        self.stats = LiveStats()
        self._loopback = Path(f"/sys/class/net/{interface}/type").read_text().strip() == "772"
        program = compile_filter(bpf, self.linktype) if bpf else None
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError:
            raise LiveError("live capture needs root (or CAP_NET_RAW)") from None
        try:
            if program is not None:
                attach_filter(sock, program)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.bind((interface, ETH_P_ALL))
            sock.settimeout(POLL_S)
        except OSError as exc:
            sock.close()
            raise LiveError(f"{interface}: {exc.strerror or type(exc).__name__}") from None
        self._sock = sock

    def close(self) -> None:
        self.update_drops()
        self._sock.close()

    def update_drops(self) -> None:
        try:
            raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _TPACKET_STATS.size)
        except OSError:
            return
        self.stats.kernel_drops += _TPACKET_STATS.unpack(raw)[1]  # reading resets them

    def frames(self) -> Iterator[Frame | None]:
        sock = self._sock
        stats = self.stats
        linktype = self.linktype
        loopback = self._loopback
        outgoing = socket.PACKET_OUTGOING
        ancillary = socket.CMSG_SPACE(_TIMESPEC.size)
        number = 0
        while True:
            try:
                data, ancdata, flags, address = sock.recvmsg(MAX_FRAME, ancillary)
            except TimeoutError:
                yield None
                continue
            except InterruptedError:  # a signal handler ran: let the caller look
                yield None
                continue
            if loopback and address[2] == outgoing:
                continue  # the incoming copy follows
            ts_ns = 0
            for level, kind, value in ancdata:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= _TIMESPEC.size:
                    sec, nsec = _TIMESPEC.unpack_from(value)
                    ts_ns = sec * 1_000_000_000 + nsec
            if not ts_ns:
                ts_ns = time.time_ns()
            if flags & socket.MSG_TRUNC:
                stats.truncated += 1
            number += 1
            stats.packets += 1
            yield Frame(number, ts_ns, linktype, data, len(data))


# -- output files -------------------------------------------------------------------------


def write_rotated(path: Path, text: str, keep: int = DEFAULT_KEEP) -> None:
    """Write `text` to `path` atomically, keeping the previous versions as path.1
    (newest) ... path.<keep>. A device or pipe (`-o /dev/stdout`) is written in place,
    never rotated or replaced (dpi/outputs/files.py)."""
    if replaceable(path) and keep > 0 and path.exists():
        for i in range(keep - 1, 0, -1):
            older = path.with_name(f"{path.name}.{i}")
            if older.exists():
                os.replace(older, path.with_name(f"{path.name}.{i + 1}"))
        os.replace(path, path.with_name(f"{path.name}.1"))
    write_atomic(path, text.encode("utf-8"))


# -- the watch loop -----------------------------------------------------------------------


def watch(
    engine: Engine,
    capture: LiveCapture,
    flush: Callable[[Engine], None],
    *,
    every_s: float,
    duration_s: float | None = None,
) -> LiveStats:
    """Feed live frames to `engine` until SIGINT/SIGTERM (or `duration_s`), calling
    `flush(engine)` every `every_s` seconds and once more after `engine.finish()`."""
    stop = False

    def _stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    started = time.monotonic()
    next_flush = started + every_s
    feed = engine.feed_frame
    try:
        for frame in capture.frames():
            if frame is not None:
                feed(frame)
            now = time.monotonic()
            if stop or (duration_s is not None and now - started >= duration_s):
                break
            if now >= next_flush:
                capture.update_drops()
                flush(engine)
                capture.stats.flushes += 1
                next_flush = now + every_s
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        capture.close()
    engine.finish()
    flush(engine)
    capture.stats.flushes += 1
    return capture.stats
