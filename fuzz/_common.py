"""What the atheris harnesses (and the hypothesis properties in tests/fuzz/) share.

- The *conversation* encoding a dissector harness reads from the fuzzer's bytes: records
  of `op` (1 byte) + `size` (2 bytes, big endian) + data. `op & 1` is the direction
  (0 request, 1 response); `op & 2` makes the record a gap of `size` bytes instead of
  data; `op & 4` closes that direction after the record. A last record cut short keeps
  what is there, so every byte string decodes to some conversation.
- `run_dissector`: the contract every dissector keeps on any input (docs/architecture.md,
  Errors and convention 13): `feed`/`gap`/`close` return lists of events, and the only
  exception is `ProtocolError`, whose message never carries input bytes.
- Seed corpora, built at run time from `samples/*.pcap`, `tests/captures` (the real
  captures) and the contract conversations of `tests/builders/`.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from dpi.capture import CaptureError, open_capture
from dpi.decode import DecodeError, Decoder
from dpi.reassembly import Closed, Data, Gap, Reassembler, Side
from dpi.registry import dissector_classes
from protocols.base import (
    Anomaly,
    Direction,
    Dissector,
    Handoff,
    Learned,
    Limits,
    Message,
    Probe,
    ProtocolError,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED_CAPTURES = ROOT / "tests" / "captures"
SAMPLES = ROOT / "samples"

# Largest seed written: libFuzzer mutates small inputs far faster, and the first 16 KiB of
# a conversation hold its handshake and first messages.
MAX_SEED = 16 * 1024
# Bytes of one flow direction gathered from a capture for seeding.
_MAX_FLOW_BYTES = 64 * 1024

Conversation = list[tuple[int, Direction, bytes | int]]  # (op, direction, data or gap size)

OP_RESPONSE = 1
OP_GAP = 2
OP_CLOSE = 4

# Small bounds for fuzzing: limits are hit within a few KiB, so their code paths are fuzzed.
FUZZ_LIMITS = Limits(
    max_body_bytes=4096,
    max_decompressed_bytes=64 * 1024,
    max_compression_ratio=20,
    max_header_bytes=2048,
    max_buffer_bytes=16 * 1024,
    max_depth=8,
    max_fields_per_part=64,
    max_value_chars=128,
    max_streams=8,
    max_records=16,
    max_hpack_table_bytes=4096,
)


def decode_conversation(data: bytes) -> Conversation:
    """Fuzzer bytes -> records (total: any input is a conversation)."""
    out: Conversation = []
    pos = 0
    end = len(data)
    while pos < end:
        op = data[pos]
        size = int.from_bytes(data[pos + 1 : pos + 3], "big")
        pos += 3
        direction = Direction.RESPONSE if op & OP_RESPONSE else Direction.REQUEST
        if op & OP_GAP:
            out.append((op, direction, size))
        else:
            out.append((op, direction, data[pos : pos + size]))
            pos += size
    return out


def encode_conversation(records: list[tuple[Direction, bytes]], *, close: bool = True) -> bytes:
    """Direction/data pairs -> fuzzer bytes (big chunks split at 65535)."""
    out = bytearray()
    for direction, data in records:
        op = OP_RESPONSE if direction is Direction.RESPONSE else 0
        for i in range(0, max(len(data), 1), 0xFFFF):
            chunk = data[i : i + 0xFFFF]
            out += bytes([op]) + struct.pack(">H", len(chunk)) + chunk
    if close:
        out += bytes([OP_CLOSE]) + b"\x00\x00" + bytes([OP_CLOSE | OP_RESPONSE]) + b"\x00\x00"
    return bytes(out)


class ContractBroken(AssertionError):
    """A dissector broke its contract (not a ProtocolError): a finding."""


def _check_events(events: object) -> None:
    if not isinstance(events, list):
        raise ContractBroken(f"returned {type(events).__name__}, not a list")
    for event in events:
        if isinstance(event, Anomaly):
            kind = event.kind
            if not kind or not kind.replace("_", "").isalnum() or kind.lower() != kind:
                raise ContractBroken("anomaly kind is not snake_case")
        elif not isinstance(event, Message | Handoff | Learned):
            raise ContractBroken(f"unexpected event type {type(event).__name__}")


def run_dissector(
    cls: type[Dissector], conversation: Conversation, limits: Limits | None = None
) -> list[object]:
    """Feed one conversation; returns every event. Raises ContractBroken or the bug."""
    dissector = cls(limits or FUZZ_LIMITS)
    seen: list[object] = []
    closed: set[Direction] = set()
    try:
        for ts, (op, direction, item) in enumerate(conversation):
            if direction in closed:
                continue
            if isinstance(item, int):
                events = dissector.gap(direction, item)
            else:
                events = dissector.feed(direction, item, ts)
            _check_events(events)
            seen.extend(events)
            if any(isinstance(e, Handoff) for e in events):
                return seen
            if op & OP_CLOSE:
                closed.add(direction)
                events = dissector.close(direction, ts)
                _check_events(events)
                seen.extend(events)
        for direction in Direction:
            if direction not in closed:
                events = dissector.close(direction, len(conversation))
                _check_events(events)
                seen.extend(events)
    except ProtocolError as exc:
        _check_message(str(exc), conversation)
    return seen


def _check_message(message: str, conversation: Conversation) -> None:
    """A ProtocolError names positions and sizes: no run of 12+ printable input bytes."""
    text = message.encode("utf-8", "replace")
    if len(text) < 12:
        return
    for _, _, item in conversation:
        if isinstance(item, bytes) and len(item) >= 12:
            for i in range(len(text) - 11):
                window = text[i : i + 12]
                if window.isalnum() and window in item:
                    raise ContractBroken("ProtocolError message quotes input bytes")


def probe_all(data: bytes) -> None:
    """Every dissector's probe takes any bytes, either direction, and answers a Probe."""
    for cls in dissector_classes():
        for direction in Direction:
            if not isinstance(cls.probe(direction, data), Probe):
                raise ContractBroken(f"{cls.name}.probe returned a non-Probe")


# -- seeds ------------------------------------------------------------------------------


def capture_files() -> list[Path]:
    """The samples and the real captures of tests/captures (unless
    DPI_FUZZ_SEEDS is not `samples`, which the short run in the test suite sets)."""
    found = sorted(SAMPLES.glob("*.pcap"))
    if SHARED_CAPTURES.is_dir() and os.environ.get("DPI_FUZZ_SEEDS") != "samples":
        found += sorted(
            p for p in SHARED_CAPTURES.rglob("*") if p.suffix in (".pcap", ".pcapng", ".gz")
        )
    return found


def flows_of(path: Path) -> Iterator[list[tuple[Direction, bytes | int]]]:
    """Reassembled flows of one capture: (direction, data or gap size) in order."""
    decoder = Decoder()
    reassembler = Reassembler()
    flows: dict[int, list[tuple[Direction, bytes | int]]] = {}
    sizes: dict[int, int] = {}
    events: list[object] = []
    try:
        with open_capture(path) as reader:
            for frame in reader.frames():
                try:
                    segment = decoder.decode(frame)
                except DecodeError:
                    continue
                if segment is not None:
                    events.extend(reassembler.feed(segment, frame.ts_ns))
    except CaptureError:
        return
    events.extend(reassembler.flush(0))
    for event in events:
        if isinstance(event, Data | Gap):
            fid = event.flow.id
            if sizes.get(fid, 0) > _MAX_FLOW_BYTES:
                continue
            direction = Direction.REQUEST if event.side is Side.CLIENT else Direction.RESPONSE
            item: bytes | int = event.data if isinstance(event, Data) else event.size
            flows.setdefault(fid, []).append((direction, item))
            sizes[fid] = sizes.get(fid, 0) + (len(item) if isinstance(item, bytes) else 0)
        elif isinstance(event, Closed):
            continue
    yield from flows.values()


def _protocol_of(flow: list[tuple[Direction, bytes | int]]) -> str:
    client = b"".join(d for direction, d in flow if isinstance(d, bytes) and direction is Direction.REQUEST)
    server = b"".join(d for direction, d in flow if isinstance(d, bytes) and direction is Direction.RESPONSE)
    for cls in dissector_classes():
        if (client and cls.probe(Direction.REQUEST, client[:8192]) is Probe.YES) or (
            server and cls.probe(Direction.RESPONSE, server[:8192]) is Probe.YES
        ):
            return cls.name
    return ""


def _encode_flow(flow: list[tuple[Direction, bytes | int]]) -> bytes:
    out = bytearray()
    for direction, item in flow:
        op = OP_RESPONSE if direction is Direction.RESPONSE else 0
        if isinstance(item, int):
            out += bytes([op | OP_GAP]) + struct.pack(">H", min(item, 0xFFFF))
        else:
            for i in range(0, len(item), 0xFFFF):
                chunk = item[i : i + 0xFFFF]
                out += bytes([op]) + struct.pack(">H", len(chunk)) + chunk
        if len(out) >= MAX_SEED:
            break
    return bytes(out[:MAX_SEED])


def dissector_seeds(protocol: str) -> list[bytes]:
    """Conversation seeds for one dissector (`http`, `http2`, `kafka`, `mysql`)."""
    seeds = []
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    module = {"http": "http1"}.get(protocol, protocol)
    try:
        builder = __import__(f"tests.builders.{module}", fromlist=["contract_conversation"])
        seeds.append(encode_conversation(list(builder.contract_conversation()))[:MAX_SEED])
    except (ImportError, AttributeError):
        pass
    for path in capture_files():
        for flow in flows_of(path):
            if _protocol_of(flow) == protocol:
                seeds.append(_encode_flow(flow))
    return seeds


def capture_seeds() -> list[bytes]:
    """The first MAX_SEED bytes of every capture (gzip ones as they are)."""
    seeds = []
    for path in capture_files():
        with path.open("rb") as handle:
            seeds.append(handle.read(MAX_SEED))
    return seeds


def write_seeds(directory: Path, seeds: list[bytes]) -> int:
    """Write seeds as seed-NNNN files (an existing corpus is kept); returns how many."""
    directory.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds):
        (directory / f"seed-{i:04d}").write_bytes(seed)
    return len(seeds)


def fuzz_main(
    target: str, test_one_input: Callable[[bytes], None], seeds: Callable[[], list[bytes]]
) -> None:
    """`python fuzz/fuzz_X.py [libFuzzer flags] [CORPUS_DIR]`: seeds CORPUS_DIR (default
    fuzz/corpus/<target>, ignored by git) from the captures, then fuzzes."""
    import atheris

    args = list(sys.argv)
    dirs = [a for a in args[1:] if not a.startswith("-")]
    if not dirs:
        corpus = ROOT / "fuzz" / "corpus" / target
        args.append(str(corpus))
    else:
        corpus = Path(dirs[0])
    if not any(corpus.glob("seed-*")):
        write_seeds(corpus, seeds())
    if not any(a.startswith("-max_len=") for a in args):
        args.insert(1, f"-max_len={MAX_SEED}")
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


# -- non-dissector targets ---------------------------------------------------------------

# Reassembly records: 8 bytes each (see `decode_segments`).
_SEG_RECORD = 8
_CLIENT_ISN = 1000
_SERVER_ISN = 0xFFFFFFFF - 3000  # the server's sequence numbers wrap around 2**32
FUZZ_REASSEMBLY: dict[str, int] = {
    "max_flows": 2,
    "max_ooo_bytes_per_flow": 2048,
    "max_ooo_segments_per_flow": 16,
    "max_ooo_bytes_total": 3000,
    "max_closed_remembered": 4,
    "max_hole_wait_ns": 50_000_000,
    "idle_timeout_ns": 2_000_000_000,
}


def decode_segments(data: bytes) -> list[tuple[object, int, bool]]:
    """Fuzzer bytes -> (Segment, ts_ns, expire-after) triples.

    Per 8-byte record: b0 bit0 sender (0 client, 1 server), bits 1-4 SYN FIN RST ACK;
    b1-2 sequence offset from that side's ISN; b3 payload length; b4-5 ACK offset from
    the peer's ISN; b6 time step in ms; b7 bits 0-1 client port variant, bits 2-5 bytes
    not captured (snaplen), bit 6 expire idle flows afterwards. Payload byte at sequence
    number s is s & 0xFF, so any copy of a byte is the same byte and delivered streams
    can be checked for order and continuity."""
    from dpi.decode import ACK, FIN, RST, SYN, Segment

    client_ip, server_ip = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    out: list[tuple[object, int, bool]] = []
    ts = 1_700_000_000 * 1_000_000_000
    for pos in range(0, len(data) - _SEG_RECORD + 1, _SEG_RECORD):
        b = data[pos : pos + _SEG_RECORD]
        server = bool(b[0] & 1)
        flags = (SYN if b[0] & 2 else 0) | (FIN if b[0] & 4 else 0)
        flags |= (RST if b[0] & 8 else 0) | (ACK if b[0] & 16 else 0)
        isn, peer_isn = (_SERVER_ISN, _CLIENT_ISN) if server else (_CLIENT_ISN, _SERVER_ISN)
        seq = (isn + int.from_bytes(b[1:3], "big")) & 0xFFFFFFFF
        ack = (peer_isn + int.from_bytes(b[4:6], "big")) & 0xFFFFFFFF
        first = seq + 1 if flags & SYN else seq  # a SYN occupies one sequence number
        payload = bytes((first + i) & 0xFF for i in range(b[3]))
        ts += b[6] * 1_000_000
        cport = 40000 + (b[7] & 3)
        src, dst = (server_ip, client_ip) if server else (client_ip, server_ip)
        sport, dport = (80, cport) if server else (cport, 80)
        missing = (b[7] >> 2) & 0x0F
        segment = Segment(src, dst, sport, dport, seq, ack, flags, payload, missing)
        out.append((segment, ts, bool(b[7] & 0x40)))
    return out


def run_reassembly(data: bytes) -> dict[str, int]:
    """Feed segments; check the stream invariants; returns the reassembler's counters."""
    from dataclasses import asdict

    from dpi.reassembly import Opened, ReassemblyLimits

    limits = ReassemblyLimits(**FUZZ_REASSEMBLY)
    reassembler = Reassembler(limits)
    last: dict[tuple[int, Side], int | None] = {}
    now = 0

    def check(events: Sequence[object]) -> None:
        for event in events:
            if isinstance(event, Data):
                if not event.data:
                    raise ContractBroken("empty Data event")
                key = (event.flow.id, event.side)
                data = event.data
                for i in range(1, len(data)):
                    if data[i] != (data[i - 1] + 1) & 0xFF:
                        raise ContractBroken("delivered bytes out of order")
                prev = last.get(key)
                if prev is not None and data[0] != (prev + 1) & 0xFF:
                    raise ContractBroken("stream not continuous across Data events")
                last[key] = data[-1]
            elif isinstance(event, Gap):
                key = (event.flow.id, event.side)
                prev = last.get(key)
                if event.size <= 0:
                    raise ContractBroken("gap of no size")
                last[key] = None if prev is None else (prev + event.size) & 0xFF
            elif not isinstance(event, Opened | Closed):
                raise ContractBroken(f"unexpected event {type(event).__name__}")
        if reassembler.held_bytes > limits.max_ooo_bytes_total:
            raise ContractBroken("held bytes above the global budget")

    for segment, ts, expire in decode_segments(data):
        now = ts
        check(reassembler.feed(segment, ts))  # type: ignore[arg-type]
        if expire:
            check(reassembler.expire(ts))
    check(reassembler.flush(now))
    if reassembler.active_flows or reassembler.held_bytes:
        raise ContractBroken("flush left state behind")
    return asdict(reassembler.stats)


def run_capture(data: bytes, directory: str | None = None) -> tuple[int, list[str]]:
    """Write `data` as a file and read it: frames decoded, only CaptureError raised;
    returns (frames, warnings)."""
    import tempfile

    from dpi.capture import MAX_WARNINGS

    base = directory or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    with tempfile.NamedTemporaryFile(dir=base, suffix=".pcap") as handle:
        handle.write(data)
        handle.flush()
        decoder = Decoder()
        frames = 0
        try:
            with open_capture(handle.name) as reader:
                for frame in reader.frames():
                    frames += 1
                    try:
                        decoder.decode(frame)
                    except DecodeError:
                        pass
                warnings = list(reader.warnings)
        except CaptureError as exc:
            warnings = [str(exc)]
    if len(warnings) > MAX_WARNINGS + 1:
        raise ContractBroken("warnings list grew without bound")
    for warning in warnings:
        if "\n" in warning or not warning.isprintable():
            raise ContractBroken("a warning is not one printable line")
    return frames, warnings


PAYLOAD_MEDIA = (
    "application/json",
    "application/x-ndjson",
    "application/x-www-form-urlencoded",
    "text/event-stream",
    "text/plain",
    "application/x-protobuf",
    "application/grpc",
    "multipart/form-data; boundary=XyZ",
    "application/octet-stream",
)


def run_payload(data: bytes) -> list[tuple[str, str]]:
    """First byte picks the media type, the rest is the part: values stay in bounds."""
    from collections import Counter

    from protocols._embedded import CarrierValue, with_inside
    from protocols._printable import MAX_RUNS, MAX_TEXT_CHARS, RUN_SEPARATOR, PrintableText
    from protocols.base import Location, Part
    from protocols.payload import field_pairs

    if not data:
        return []
    media = PAYLOAD_MEDIA[data[0] % len(PAYLOAD_MEDIA)]
    part = Part(location=Location.BODY, name="", data=data[1:], media_type=media)
    hits: Counter[str] = Counter()
    pairs = field_pairs(part, FUZZ_LIMITS, None, hits)
    if len(pairs) > FUZZ_LIMITS.max_fields_per_part:
        raise ContractBroken("more fields than max_fields_per_part")
    for _, value in pairs:
        if type(value) is CarrierValue and len(value.inside) > FUZZ_LIMITS.max_fields_per_part:
            raise ContractBroken("more values inside a value than max_fields_per_part")
    # The values carried by others are bounded as the part's own.
    for path, value in with_inside(pairs):
        if not isinstance(path, str) or not isinstance(value, str):
            raise ContractBroken("a field path or value is not a string")
        # The binary fallback's one value per payload holds several runs, each bounded
        # by max_value_chars and all together by the fallback's own budget.
        if isinstance(value, PrintableText):
            if len(value) > MAX_TEXT_CHARS + MAX_RUNS * len(RUN_SEPARATOR) or any(
                len(run) > FUZZ_LIMITS.max_value_chars for run in value.runs()
            ):
                raise ContractBroken("a fallback text beyond its bounds")
        elif len(value) > FUZZ_LIMITS.max_value_chars:
            raise ContractBroken("a value longer than max_value_chars")
    return pairs


def payload_seeds() -> list[bytes]:
    """Parts that the dissectors cut from the captures, prefixed with their media index."""
    from protocols.payload import field_pairs  # noqa: F401 (the decoders are imported)

    index = {media.split(";")[0]: i for i, media in enumerate(PAYLOAD_MEDIA)}
    seeds = [bytes([0]) + b'{"a":{"b":[1,2.5,"x",{"c":null}]},"d":"e"}', bytes([2]) + b"a=1&b=2"]
    by_name = {cls.name: cls for cls in dissector_classes()}
    seen: set[tuple[int, bytes]] = set()
    for path in capture_files():
        for flow in flows_of(path):
            name = _protocol_of(flow)
            if name not in by_name:
                continue
            conv: Conversation = [(1 if d is Direction.RESPONSE else 0, d, i) for d, i in flow]
            try:
                events = run_dissector(by_name[name], conv, Limits())
            except Exception:  # noqa: BLE001, S112 (seeding goes on; the fuzzer will find it)
                continue
            for event in events:
                if not isinstance(event, Message):
                    continue
                for part in event.parts:
                    media = index.get(part.media_type.split(";")[0].strip().lower())
                    if media is None or not part.data:
                        continue
                    key = (media, part.data[:64])
                    if key not in seen and len(seeds) < 400:
                        seen.add(key)
                        seeds.append(bytes([media]) + part.data[: MAX_SEED - 1])
    return seeds


def reassembly_seeds() -> list[bytes]:
    """Handshake, data both ways out of order, a lost segment, FIN; and a few variants."""

    def rec(side: int, flags: int, seq: int, length: int, ack: int, step: int = 1, b7: int = 0) -> bytes:
        return bytes([side | flags]) + seq.to_bytes(2, "big") + bytes([length]) + ack.to_bytes(2, "big") + bytes([step, b7])

    syn, fin, rst, ack = 2, 4, 8, 16
    base = [
        rec(0, syn, 0, 0, 0),
        rec(1, syn | ack, 0, 0, 1),
        rec(0, ack, 1, 0, 1),
        rec(0, ack, 101, 100, 1),
        rec(0, ack, 1, 100, 1),
        rec(1, ack, 1, 200, 201),
        rec(1, ack, 401, 50, 201),
        rec(0, ack, 201, 10, 451),
        rec(0, fin | ack, 211, 0, 451),
        rec(1, fin | ack, 451, 0, 212),
    ]
    midstream = [rec(0, ack, 500, 30, 0), rec(1, ack, 9, 40, 530, 200, 1), rec(0, rst, 530, 0, 0)]
    snaplen = [rec(0, syn, 0, 0, 0), rec(0, ack, 1, 20, 1, 1, 0x3C), rec(0, ack, 35, 20, 1, 1, 0x40)]
    return [b"".join(base), b"".join(midstream), b"".join(snaplen), b"".join(base[:3] + midstream)]
