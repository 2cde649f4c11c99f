"""A capture read from standard input (`tcpdump -w - | dpi scan -`), as a stream.

`dpi.capture.CaptureReader` reads files: it looks at the first bytes and seeks back to
0 to pick a decompressor, and asks for the offset read so far (progress). A pipe can do
neither, so this wrapper keeps the first bytes it handed out and replays them after a
seek to 0, and counts the bytes read for `tell()`. Everything after the head is read
once, in the reader's chunks, and never held: a capture of any length streams through.

Not supported: seeking anywhere else than back to 0 before the head is passed; reading
standard input twice in one run.
"""

from __future__ import annotations

import sys
from typing import BinaryIO

NAME = "-"  # the path that means standard input
LABEL = "<stdin>"  # how warnings and logs name it
# Bytes kept for a replay: the reader looks at 4.
_HEAD_BYTES = 64


class StdinStream:
    """A readable, minimally seekable binary stream over standard input."""

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdin.buffer
        self._head = b""
        self._replay = b""
        self._position = 0  # bytes delivered so far (what tell() reports)
        self._consumed = 0  # bytes taken from the stream
        self.mode = "rb"  # GzipFile asks

    def read(self, size: int = -1, /) -> bytes:
        replayed = b""
        if self._replay:
            take = len(self._replay) if size < 0 else min(size, len(self._replay))
            replayed, self._replay = self._replay[:take], self._replay[take:]
            if size >= 0:
                size -= take
        fresh = (self._stream.read(size) or b"") if size != 0 else b""
        self._consumed += len(fresh)
        if len(self._head) < _HEAD_BYTES:
            self._head += fresh[: _HEAD_BYTES - len(self._head)]
        data = replayed + fresh
        self._position += len(data)
        return data

    def seek(self, offset: int, whence: int = 0, /) -> int:
        """Only back to 0, and only while everything read is still in the head."""
        if whence == 0 and offset == 0 and self._consumed <= len(self._head):
            self._replay = self._head
            self._position = 0
            return 0
        raise OSError("standard input cannot seek")

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def fileno(self) -> int:
        return self._stream.fileno()

    def close(self) -> None:
        """Standard input stays open: it is not ours."""
