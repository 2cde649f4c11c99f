"""Scan state kept between scheduled runs: salt, file ledger and merged inventory evidence.

`--state PATH` names a directory (created if missing; it holds `state.json.zst` and a
`lock` file) or, when PATH ends in `.zst`, a single state file with a `PATH.lock` next to
it. The state is one zstd-compressed JSON document (no pickle: everything read back is
validated by `dpi/codec.py`):

- `salt`: random, made once; client addresses enter the inventory only as BLAKE2b hashes
  keyed with it (spec: state between scans holds salted hashes only). Whoever can read
  the state can test guessed addresses against the hashes, so the file is created 0600
  and the directory 0700.
- `files`: the ledger, by location: size, modification time, length and SHA-256 of the
  head, status (`scanned` or `unreadable`), when.
- `inventory`: the merged evidence of every file in the ledger.
- `options`: a fingerprint of the classifier and schema options that made it.

Writes are atomic (temporary file, fsync, rename, fsync of the directory), so a run
killed at any moment leaves either the previous or the next complete state. An exclusive
`flock` on the lock file keeps two runs (an overlapping cron job) from sharing a state.
Not supported: several machines writing one state (the lock is local; with Dask only the
scheduling client writes it).
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import orjson
import zstandard

from dpi.codec import FORMAT_VERSION, CodecError, inventory_from_obj, inventory_to_obj
from dpi.inventory import SALT_BYTES, Inventory

STATE_NAME = "state.json.zst"
MARKER = "dpi-state"
# A state file larger than this is refused: it would not fit the memory budget anyway
# (the inventory caps fields and clients, so a real state stays far below).
MAX_STATE_BYTES = 4 << 30
# Compression level: the state is rewritten at every checkpoint, so speed over ratio.
ZSTD_LEVEL = 3


class StateError(Exception):
    """The state cannot be used (locked, unreadable, malformed); one-line reason."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerEntry:
    size: int
    mtime_ns: int
    head_len: int
    head_sha256: str
    status: str  # scanned | unreadable
    scanned_at: str

    def to_obj(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "head_len": self.head_len,
            "head_sha256": self.head_sha256,
            "status": self.status,
            "scanned_at": self.scanned_at,
        }

    @classmethod
    def from_obj(cls, obj: Any) -> LedgerEntry:
        if not isinstance(obj, dict):
            raise CodecError("malformed ledger entry")
        try:
            entry = cls(
                size=int(obj["size"]),
                mtime_ns=int(obj["mtime_ns"]),
                head_len=int(obj["head_len"]),
                head_sha256=str(obj["head_sha256"]),
                status=str(obj["status"]),
                scanned_at=str(obj["scanned_at"]),
            )
        except (KeyError, TypeError, ValueError):
            raise CodecError("malformed ledger entry") from None
        if entry.status not in ("scanned", "unreadable"):
            raise CodecError("malformed ledger entry")
        return entry


@dataclass(slots=True)
class State:
    path: Path
    salt: bytes
    inventory: Inventory
    files: dict[str, LedgerEntry] = field(default_factory=dict)
    options: str = ""
    created: str = ""
    _lock_fd: int = -1

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def open(cls, location: str | os.PathLike[str]) -> State:
        """Lock and load the state at `location`, or start an empty one."""
        where = Path(location)
        if where.name.endswith(".zst") and not where.is_dir():
            path, lock = where, where.with_name(where.name + ".lock")
            parent = where.parent
        else:
            path, lock, parent = where / STATE_NAME, where / "lock", where
        try:
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateError(f"{location}: cannot create state ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateError(f"{location}: state in use by another dpi run") from None
        try:
            state = cls._load(path)
        except BaseException:
            os.close(fd)
            raise
        state._lock_fd = fd
        for stale in parent.glob(path.name + ".tmp*"):  # left by a killed run
            stale.unlink(missing_ok=True)
        return state

    @classmethod
    def _load(cls, path: Path) -> State:
        if not path.exists():
            salt = os.urandom(SALT_BYTES)
            return cls(path=path, salt=salt, inventory=Inventory(salt=salt), created=_now())
        try:
            if path.stat().st_size > MAX_STATE_BYTES:
                raise StateError(f"{path}: state file too large")
            raw = zstandard.ZstdDecompressor().decompress(
                path.read_bytes(), max_output_size=MAX_STATE_BYTES
            )
            doc = orjson.loads(raw)
        except OSError as exc:
            raise StateError(f"{path}: cannot read state ({exc.strerror})") from None
        except (zstandard.ZstdError, orjson.JSONDecodeError):
            raise StateError(f"{path}: not a dpi state file") from None
        try:
            return cls._from_doc(path, doc)
        except CodecError as exc:
            raise StateError(f"{path}: {exc}") from None

    @classmethod
    def _from_doc(cls, path: Path, doc: Any) -> State:
        if not isinstance(doc, dict) or doc.get("format") != MARKER:
            raise CodecError("not a dpi state file")
        if doc.get("version") != FORMAT_VERSION:
            raise CodecError(f"state version {doc.get('version')!r} not supported")
        try:
            salt = bytes.fromhex(str(doc["salt"]))
        except (KeyError, ValueError):
            raise CodecError("malformed salt") from None
        if len(salt) != SALT_BYTES:
            raise CodecError("malformed salt")
        files = doc.get("files")
        if not isinstance(files, dict):
            raise CodecError("malformed ledger")
        return cls(
            path=path,
            salt=salt,
            inventory=inventory_from_obj(doc.get("inventory"), salt),
            files={str(k): LedgerEntry.from_obj(v) for k, v in files.items()},
            options=str(doc.get("options", "")),
            created=str(doc.get("created", "")),
        )

    # -- saving ------------------------------------------------------------------------

    def save(self) -> None:
        """Atomically replace the state file with the current state."""
        doc = {
            "format": MARKER,
            "version": FORMAT_VERSION,
            "salt": self.salt.hex(),
            "created": self.created,
            "updated": _now(),
            "options": self.options,
            "files": {k: v.to_obj() for k, v in self.files.items()},
            "inventory": inventory_to_obj(self.inventory),
        }
        data = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(orjson.dumps(doc))
        tmp = self.path.with_name(f"{self.path.name}.tmp{os.getpid()}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            # The rename itself must reach the disk before we call the files done.
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StateError(f"{self.path}: cannot write state ({exc.strerror})") from None

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
