"""Scan state kept between scheduled runs: salt, file ledger and merged inventory evidence.

`--state PATH` names a directory (created if missing; it holds `state.json.zst`) or,
when PATH ends in `.zst`, the state file itself. Either way the lock is the state file's
real path (symlinks resolved) plus `.lock`, so every spelling of one state (`DIR`,
`DIR/state.json.zst`, a symlink to either) takes the same lock.

The file is one header line, `dpi-state 2 blake2b-256 <64 hex digits>\n`, then one
zstd-compressed JSON document; the digest covers every byte after the header. A state
whose digest does not match (a flipped bit, a cut file, a state of an older dpi that had
no checksum) is refused with a one-line error naming the file and the way out,
`--rebuild-state` (start from nothing and scan everything again): a damaged state
could otherwise rename an API or forget a file, silently. The document (no pickle:
everything read back is validated by `dpi/runs/codec.py`):

- `salt`: random, made once; client addresses enter the inventory only as BLAKE2b hashes
  keyed with it (spec: state between scans holds salted hashes only). Whoever can read
  the state can test guessed addresses against the hashes, so the file is created 0600
  and the directory 0700.
- `files`: the ledger, by location: size, modification time, length and SHA-256 of the
  head, status (`scanned` or `unreadable`), records read and a keyed digest of the
  last one (a file that grew by appended records is read on from there), when.
- `inventory`: the merged evidence of every file in the ledger.
- `options`: a fingerprint of the classifier and schema options that made it.
- `history`: per inventory row the UTC days it was seen and the rows of the last two
  runs (`dpi/runs/history.py`); absent in older states, which load with an empty history.
- `evidence` (when `--findings`/`--internal`/`--tls-coverage` were used): the merged
  findings evidence and TLS coverage of the same files (`dpi/runs/evidence.py`: counts,
  sanitized names, server addresses, clients as salted hashes; never values).

Writes are atomic (temporary file, fsync, rename, fsync of the directory), so a run
killed at any moment leaves either the previous or the next complete state. An exclusive
`flock` on the lock file keeps two runs (an overlapping cron job) from sharing a state.
Not supported: several machines writing one state (the lock is local; with Dask only the
scheduling client writes it).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import orjson

from dpi.inventory import SALT_BYTES, Inventory
from dpi.runs.codec import (
    FORMAT_VERSION,
    OLDEST_VERSION,
    CodecError,
    inventory_from_obj,
    inventory_to_obj,
)
from dpi.runs.evidence import Evidence, evidence_from_obj, evidence_to_obj
from dpi.runs.history import History, history_from_obj, history_to_obj
from protocols._zstd import zstd

STATE_NAME = "state.json.zst"
MARKER = "dpi-state"
# A state file larger than this is refused: it would not fit the memory budget anyway
# (the inventory caps fields and clients, so a real state stays far below).
MAX_STATE_BYTES = 4 << 30
# Compression level: the state is rewritten at every checkpoint, so speed over ratio.
ZSTD_LEVEL = 3
# First line of a state file: layout, digest algorithm, digest of the rest (hex).
HEADER_PREFIX = b"dpi-state 2 blake2b-256 "
DIGEST_BYTES = 32
HEADER_LEN = len(HEADER_PREFIX) + 2 * DIGEST_BYTES + 1
# The way out of a state that cannot be used, named in every such error.
WAY_OUT = "rerun with --rebuild-state to start over (every capture is scanned again)"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class StateError(Exception):
    """The state cannot be used (locked, unreadable, malformed); one-line reason."""


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=DIGEST_BYTES).digest()


def encode_state(doc: dict[str, Any]) -> bytes:
    """The bytes of a state file: header with the digest, then the compressed document."""
    payload: bytes = zstd.compress(orjson.dumps(doc), level=ZSTD_LEVEL)
    return HEADER_PREFIX + _digest(payload).hex().encode("ascii") + b"\n" + payload


def decode_state(data: bytes, path: Path | str) -> Any:
    """The document in the bytes of a state file, checked against its digest first;
    `StateError` naming `path` and the way out when it does not match. Never quotes
    the file's bytes."""
    if data.startswith(_ZSTD_MAGIC):
        raise StateError(f"{path}: state written by an older dpi, without a checksum; not used; {WAY_OUT}")
    if len(data) < HEADER_LEN or not data.startswith(HEADER_PREFIX):
        raise StateError(f"{path}: not a dpi state file, or its header is damaged; not used; {WAY_OUT}")
    stored = data[len(HEADER_PREFIX) : HEADER_LEN - 1]
    payload = data[HEADER_LEN:]
    if data[HEADER_LEN - 1 : HEADER_LEN] != b"\n" or not hmac.compare_digest(
        stored, _digest(payload).hex().encode("ascii")
    ):
        raise StateError(f"{path}: state file damaged (checksum mismatch); not used; {WAY_OUT}")
    try:
        dec = zstd.ZstdDecompressor()
        raw = dec.decompress(payload, max_length=MAX_STATE_BYTES + 1)
        if len(raw) > MAX_STATE_BYTES or not dec.eof:
            raise zstd.ZstdError("too large or truncated")
        return orjson.loads(raw)
    except (zstd.ZstdError, orjson.JSONDecodeError):
        # The digest matched: written like this (a bug), not damaged on the way.
        raise StateError(f"{path}: state file unreadable; not used; {WAY_OUT}") from None


def read_state_document(path: Path | str) -> Any:
    """The checked document of the state file at `path` (for tools and tests)."""
    return decode_state(Path(path).read_bytes(), path)


def read_history(location: str) -> History:
    """The history of the state at `location` (`--state` spelling), read without taking
    its lock (reading only); `DiffError`-style one-line errors are the caller's."""
    path = state_paths(location)[0]
    if not path.exists():
        raise StateError(f"{location}: no dpi state here")
    try:
        doc = read_state_document(path)
    except OSError as exc:
        raise StateError(f"{path}: cannot read state ({exc.strerror})") from None
    if not isinstance(doc, dict):
        raise StateError(f"{path}: not a dpi state file")
    try:
        return history_from_obj(doc.get("history"))
    except CodecError as exc:
        raise StateError(f"{path}: {exc}") from None


def _names_file(where: Path) -> bool:
    """`--state FILE.zst` (not an existing directory of that name) names the file."""
    return where.name.endswith(".zst") and not where.is_dir()


def state_paths(location: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(state file, lock file) of `--state location`, canonical: the state file's real
    path, and that path plus `.lock`, whatever spelling named it."""
    where = Path(location)
    path = where if _names_file(where) else where / STATE_NAME
    # resolve() follows the symlinks of every existing part (the directory, or the file
    # itself); the file need not exist yet.
    path = path.resolve()
    return path, path.with_name(path.name + ".lock")


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerEntry:
    size: int
    mtime_ns: int
    head_len: int
    head_sha256: str
    status: str  # scanned | unreadable
    scanned_at: str
    # Capture records read from the file (all of them, across the runs that read it): a
    # file that grew by appending is read on after this many.
    records: int = 0
    # Keyed digest (the state's salt) of the last record read: the record before the
    # appended ones must still be this one, or the file was rewritten, not appended to.
    last_record: str = ""

    def to_obj(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "head_len": self.head_len,
            "head_sha256": self.head_sha256,
            "status": self.status,
            "scanned_at": self.scanned_at,
            "records": self.records,
            "last_record": self.last_record,
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
                records=int(obj["records"]),
                last_record=str(obj["last_record"]),
            )
        except (KeyError, TypeError, ValueError):
            raise CodecError("malformed ledger entry") from None
        if entry.status not in ("scanned", "unreadable") or min(entry.size, entry.records) < 0:
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
    evidence: Evidence = field(default_factory=Evidence)
    # Days each row was seen and the last two runs' rows (dpi/runs/history.py); empty in a
    # state written before it.
    history: History = field(default_factory=History)
    # Started over (--rebuild-state): the file on disk is replaced even by a run that
    # scans nothing.
    rebuilt: bool = False
    _lock_fd: int = -1

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def open(cls, location: str | os.PathLike[str], *, rebuild: bool = False) -> State:
        """Lock and load the state at `location`, or start an empty one (also when
        `rebuild`: whatever is there is replaced at the first save)."""
        try:
            where = Path(location)
            # The directory first: resolving then follows it if it is a symlink.
            (where.parent if _names_file(where) else where).mkdir(
                mode=0o700, parents=True, exist_ok=True
            )
            path, lock = state_paths(location)
            parent = path.parent
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateError(f"{location}: cannot create state ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateError(f"{location}: state in use by another dpi run") from None
        try:
            state = cls._fresh(path) if rebuild else cls._load(path)
        except BaseException:
            os.close(fd)
            raise
        state.rebuilt = rebuild
        state._lock_fd = fd
        for stale in parent.glob(path.name + ".tmp*"):  # left by a killed run
            stale.unlink(missing_ok=True)
        return state

    @classmethod
    def _fresh(cls, path: Path) -> State:
        salt = os.urandom(SALT_BYTES)
        return cls(path=path, salt=salt, inventory=Inventory(salt=salt), created=_now())

    @classmethod
    def _load(cls, path: Path) -> State:
        if not path.exists():
            return cls._fresh(path)
        try:
            if path.stat().st_size > MAX_STATE_BYTES:
                raise StateError(f"{path}: state file too large; not used; {WAY_OUT}")
            doc = decode_state(path.read_bytes(), path)
        except OSError as exc:
            raise StateError(f"{path}: cannot read state ({exc.strerror})") from None
        try:
            return cls._from_doc(path, doc)
        except CodecError as exc:
            raise StateError(f"{path}: {exc}; not used; {WAY_OUT}") from None

    @classmethod
    def _from_doc(cls, path: Path, doc: Any) -> State:
        if not isinstance(doc, dict) or doc.get("format") != MARKER:
            raise CodecError("not a dpi state file")
        version = doc.get("version")
        if not isinstance(version, int) or not OLDEST_VERSION <= version <= FORMAT_VERSION:
            raise CodecError(f"state version {version!r} not supported")
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
            inventory=inventory_from_obj(doc.get("inventory"), salt, version),
            files={str(k): LedgerEntry.from_obj(v) for k, v in files.items()},
            options=str(doc.get("options", "")),
            created=str(doc.get("created", "")),
            evidence=evidence_from_obj(doc.get("evidence"), salt),
            history=history_from_obj(doc.get("history")),
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
            # Ranked confidence samples: all of it comes before the next run's hits.
            "inventory": inventory_to_obj(self.inventory, ranked=True),
            "evidence": evidence_to_obj(self.evidence),
            "history": history_to_obj(self.history),
        }
        data = encode_state(doc)
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
