"""The Avro writer schemas of one scan, by Confluent schema id (spec/inventory.md,
"field": Avro values are named from the writer's schema).

Three sources, one store:
- `.avsc` files (`--avro-schema DIR`): no ids; each is a candidate for values whose id
  is unknown, tried on the value (it must decode using every byte), files named like
  the subject (`<topic>-value.avsc`, `<topic>.avsc`) first;
- Schema Registry answers seen in the capture (`dpi/schema_registry.py` teaches them
  here): with their id when the answer names it (`/subjects/.../versions/...`, a
  registration's `{"id": N}`), else as candidates like the files (`/schemas/ids/N`:
  the id is in the request path, which the HTTP dissector templates away);
- `--schema-registry URL` (an explicit opt-in to network access): an id met in traffic
  and not known otherwise is fetched once, `GET URL/schemas/ids/N`, with a timeout.

The store is owned by the scan (one per engine, in its fact store: dpi/facts.py) and
written only by the sources above; dissectors only ask (`for_framed`, `for_bare`,
through `protocols.base.Facts.avro`). A candidate
that alone fits a value is bound to that value's id, so later values skip the trials.
Bounded: ids, candidates and fetches each have a maximum; schemas refused by
`protocols.avro` (recursive, too deep, too large) are not kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from protocols.avro._codec import Schema

# `protocols.avro._codec` is imported by the methods that read a schema or a value, not
# here: every scan makes a store, few meet Avro (protocols/avro/__init__.py).

log = logging.getLogger(__name__)

# Schema ids remembered (a registry of a large company holds thousands of subjects).
MAX_IDS = 100_000
# Candidates tried on a value whose id is unknown: each trial is one decode.
MAX_CANDIDATES = 64
# Ids fetched from --schema-registry per scan, the time each may take, and the largest
# answer read.
MAX_FETCHES = 1000
FETCH_TIMEOUT_S = 5.0
MAX_ANSWER_BYTES = 1 << 20
# `schemaType` of a Schema Registry answer: absent means AVRO.
AVRO = "AVRO"


class AvroSchemaError(ValueError):
    """A `--avro-schema` directory or file that cannot be used (names the path only)."""


@dataclass(slots=True)
class _Candidate:
    subject: str  # file stem or registry subject: tried first for that topic
    text: str
    schema: Schema


@dataclass
class AvroSchemas:
    """See the module docstring. `fetch` is the `--schema-registry` client, or None."""

    fetch: Callable[[int], tuple[str, str] | None] | None = None
    by_id: dict[int, str] = field(default_factory=dict)
    # Ids a registry named as protobuf or JSON schemas: never tried as Avro.
    not_avro: set[int] = field(default_factory=set)
    candidates: list[_Candidate] = field(default_factory=list)
    fetched: set[int] = field(default_factory=set)
    # What was learnt and refused, for tests and the debug log (never schema text).
    learned: int = 0
    refused: int = 0

    # -- sources ---------------------------------------------------------------------

    @classmethod
    def from_dirs(cls, dirs: list[Path], registry_url: str = "") -> AvroSchemas:
        """`--avro-schema DIR...` and `--schema-registry URL`; `AvroSchemaError` names a
        directory that is missing or a file that is not a usable schema."""
        store = cls(fetch=registry_client(registry_url) if registry_url else None)
        for directory in dirs:
            if not directory.is_dir():
                raise AvroSchemaError(f"--avro-schema: {directory} is not a directory")
            for path in sorted(directory.rglob("*.avsc")):
                text, schema = _schema_file(path)
                if len(store.candidates) >= MAX_CANDIDATES:
                    raise AvroSchemaError(f"--avro-schema: more than {MAX_CANDIDATES} .avsc files")
                store.candidates.append(_Candidate(path.stem, text, schema))
        return store

    def learn(self, schema_id: int | None, text: str, subject: str = "", kind: str = AVRO) -> bool:
        """A schema seen in a registry answer (`schema_id` None: its id is not known).
        False when it was refused (not Avro, or not a schema `protocols.avro` accepts)."""
        if kind.upper() != AVRO:
            if schema_id is not None and len(self.not_avro) < MAX_IDS:
                self.not_avro.add(schema_id)
            return False
        from protocols.avro._codec import AvroError, parse_schema

        try:
            schema = parse_schema(text)
        except AvroError:
            self.refused += 1
            return False
        self.learned += 1
        if schema_id is not None:
            if schema_id in self.by_id or len(self.by_id) < MAX_IDS:
                self.by_id[schema_id] = text
            return True
        if any(c.text == text for c in self.candidates):
            return True
        if len(self.candidates) < MAX_CANDIDATES:
            self.candidates.append(_Candidate(subject, text, schema))
        return True

    # -- questions (the dissectors') --------------------------------------------------

    def for_framed(self, schema_id: int, topic: str, role: str, body: bytes) -> str | None:
        """The schema text of a Confluent-framed value (`role` `value` or `key`), or None
        when no known schema fits it."""
        text = self.by_id.get(schema_id)
        if text is not None:
            return text
        if schema_id in self.not_avro:
            return None
        if self.fetch is not None and schema_id not in self.fetched and len(self.fetched) < MAX_FETCHES:
            self.fetched.add(schema_id)  # once per id, answered or not
            answer = self.fetch(schema_id)
            if answer is not None:
                self.learn(schema_id, answer[0], kind=answer[1])
                if schema_id in self.by_id:
                    return self.by_id[schema_id]
        fitting = self._fitting(topic, role, body)
        if not fitting:
            return None
        if len(fitting) == 1 and len(self.by_id) < MAX_IDS:
            self.by_id[schema_id] = fitting[0].text  # alone to fit: that id's schema
        return fitting[0].text

    def for_bare(self, topic: str, role: str, body: bytes) -> str | None:
        """The schema of an unframed value: only candidates named for the topic's
        subject are tried (a bare value carries no sign of being Avro at all)."""
        if not self.candidates:
            return None  # the common case, on every value that is not JSON or framed
        from protocols.avro._codec import fits

        for candidate in self._ordered(topic, role, named_only=True):
            if fits(body, candidate.schema):
                return candidate.text
        return None

    def _fitting(self, topic: str, role: str, body: bytes) -> list[_Candidate]:
        from protocols.avro._codec import fits

        return [c for c in self._ordered(topic, role) if fits(body, c.schema)]

    def _ordered(self, topic: str, role: str, named_only: bool = False) -> list[_Candidate]:
        """Candidates named for the subject (`<topic>-<role>`, `<topic>`) first."""
        names = {f"{topic}-{role}".lower(), topic.lower()}
        named = [c for c in self.candidates if c.subject.lower() in names]
        if named_only:
            return named
        return named + [c for c in self.candidates if c.subject.lower() not in names]


def _schema_file(path: Path) -> tuple[str, Schema]:
    """The text and checked schema of one `.avsc` file; `AvroSchemaError` names it."""
    from protocols.avro._codec import AvroError, parse_schema

    try:
        text = path.read_text(encoding="utf-8")
        schema = parse_schema(text)
    except (OSError, UnicodeDecodeError):
        raise AvroSchemaError(f"--avro-schema: cannot read {path}") from None
    except AvroError as exc:
        raise AvroSchemaError(f"--avro-schema: {path}: {exc}") from None
    return text, schema


def registry_client(url: str) -> Callable[[int], tuple[str, str] | None]:
    """`GET URL/schemas/ids/N` -> (schema text, schema type), None on any failure.
    Only http and https URLs; `AvroSchemaError` for anything else."""
    # Imported here: urllib.request pulls in http.client, email and ssl (~7% of a small
    # scan's start-up), and only --schema-registry fetches anything.
    import urllib.error
    import urllib.parse
    import urllib.request

    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise AvroSchemaError("--schema-registry wants an http:// or https:// URL")
    base = url.rstrip("/")

    def fetch(schema_id: int) -> tuple[str, str] | None:
        request = urllib.request.Request(
            f"{base}/schemas/ids/{schema_id}",
            headers={"Accept": "application/vnd.schemaregistry.v1+json, application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as answer:
                body = answer.read(MAX_ANSWER_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log.warning("schema registry: id %d not fetched (%s)", schema_id, type(exc).__name__)
            return None
        if len(body) > MAX_ANSWER_BYTES:
            log.warning("schema registry: id %d answer over %d bytes", schema_id, MAX_ANSWER_BYTES)
            return None
        return registry_schema(body)

    return fetch


def registry_schema(body: bytes) -> tuple[str, str] | None:
    """(schema text, schema type) of a Schema Registry answer body, or None."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(answer, dict) or not isinstance(answer.get("schema"), str):
        return None
    kind = answer.get("schemaType", AVRO)
    return answer["schema"], kind if isinstance(kind, str) else AVRO
