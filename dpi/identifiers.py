"""Identifiers that come from traffic, made safe before they are stored (issue #16).

An API path, a Kafka topic, a MySQL schema or table, an HTTP `Host`/`:authority`, a
header, cookie, query or column name, a TLS server name: all are chosen by whoever sent
the traffic, and any of them can carry a value (`/ssn/536-22-8877/profile`, a topic
named after a customer's e-mail, `Host: user:secret@api.example`). The inventory prints
identifiers as they are, so each one passes through here first: every part of it (path
segment, word, host label, topic, schema, table, name) is scored by the classifiers,
with a context that has no field-name hints (the part is judged on its own shape), and a
part that scores as sensitive becomes `{param}` (the spec's path placeholder) and is
returned as a `Hit`, which the engine and the inventory count as a row of the API:

- API parts: location `path`, field = the templated path up to the placeholder for HTTP
  and gRPC (`/ssn/{param}`), `topic` for Kafka, `schema` or `table` for MySQL;
- the host: location `header`, field `host`; `user:pass@` in a host is always dropped,
  and a password there is a PASSWORD row. Where the host is also a header value that the
  engine scores (HTTP/1 `Host`), one value gives at most one hit per data type: the
  host's own hits add only the types the value's scoring did not give
  (`unscored_host_hits`);
- a field name (header, cookie, query parameter, gRPC metadata, MySQL column): location
  `path`, field = the name's kind (`header`, `column`, ...).

Parts shaped like an e-mail address become `{param}` even when no classifier reports them
(reserved example domains score under the threshold), without a row.

Decisions are cached per distinct identifier string in bounded dicts, so the cost on the
hot path is one dict lookup per message. Nothing here logs or raises with a part's text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from weakref import WeakKeyDictionary

from classifiers.base import Category, FieldContext, Finding
from dpi.classify import ClassifierSet

if TYPE_CHECKING:
    from dpi.inventory import FieldEvidence

PLACEHOLDER: Final = "{param}"
# Distinct identifiers (and parts) whose decision is remembered. Real traffic has a few
# thousand after path templating; a hostile capture inventing names only costs a
# re-score once the cache was cleared.
MAX_CACHED: Final = 65_536
# Parts longer than this are not scored piecewise: they become `{param}` whole (no API
# name or host label is that long; the classifiers' own bounds would skip most anyway).
MAX_PART_CHARS: Final = 256
# Identifiers longer than this are cut before being split (the api column stays small).
MAX_IDENTIFIER_CHARS: Final = 2048
# Where the parts of each kind of identifier are reported.
PATH: Final = "path"
HEADER: Final = "header"
HOST_FIELD: Final = "host"
# Field-name locations whose names are checked (body paths are templated by the payload
# decoder's own key rules): the row's field is the location's name.
NAMED_LOCATIONS: Final = frozenset({"header", "cookie", "query", "metadata", "column", "param"})
# Protocols whose responses repeat their request's api and host: the client sent the
# identifier, so its rows are the request's only.
REQUEST_NAMED_PROTOCOLS: Final = frozenset({"http", "grpc"})
# A host is very often an IP literal: that is the server, not data carried in traffic.
_HOST_IGNORED_TYPES: Final = frozenset({"IP_ADDRESS"})
_EMAIL_SHAPE: Final = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_IPV4: Final = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_USERINFO_PASSWORD: Final = Finding(
    data_type="PASSWORD",
    category=Category.SECRET,
    confidence=0.9,
    reason="password in the host's userinfo (user:pass@host)",
)


@dataclass(frozen=True, slots=True)
class Hit:
    """One sensitive part of an identifier: where its row goes and what was found.
    `value` is the part itself, kept only to make the masked sample."""

    location: str
    field: str
    finding: Finding
    value: str


@dataclass(frozen=True, slots=True)
class Sanitized:
    """A message's api and host as stored, and the hits they held (`hits`: the api's,
    then the host's, which are also `host_hits`)."""

    api: str
    host: str
    hits: tuple[Hit, ...]
    changed: bool
    host_hits: tuple[Hit, ...] = ()

    @property
    def api_hits(self) -> tuple[Hit, ...]:
        return self.hits[: len(self.hits) - len(self.host_hits)]


def type_hits(evidence: FieldEvidence | None) -> dict[str, int]:
    """Hits per data type of a field so far (none for a field not in the table)."""
    if evidence is None:
        return {}
    return {data_type: typed.hits for data_type, typed in evidence.types.items()}


def unscored_host_hits(
    hits: tuple[Hit, ...], before: Mapping[str, int], evidence: FieldEvidence | None
) -> tuple[Hit, ...]:
    """The host's hits whose data type the message's own `host` header value did not
    give (its field's hits per type went up from `before`): one value, one hit per
    type (a card number as a label of `Host` is found in the label and in the value)."""
    gained = {t for t, hits_now in type_hits(evidence).items() if hits_now > before.get(t, 0)}
    return tuple(hit for hit in hits if hit.finding.data_type not in gained)


def _is_placeholder(part: str) -> bool:
    return part.startswith("{") and part.endswith("}")


class Identifiers:
    """Scores identifier parts with one classifier set; caches every decision."""

    def __init__(self, classifiers: ClassifierSet | None = None) -> None:
        self.classifiers = classifiers if classifiers is not None else ClassifierSet()
        # No name, no path, no siblings: a part is judged by its own shape only.
        self._ctx = FieldContext(location=PATH)
        self._parts: dict[str, tuple[Finding, ...]] = {}
        self._messages: dict[tuple[str, str, str], Sanitized] = {}
        self._hosts: dict[str, tuple[str, tuple[Hit, ...]]] = {}
        self._names: dict[tuple[str, str], tuple[str, tuple[Hit, ...]]] = {}

    # -- one part -----------------------------------------------------------------------

    def _findings(self, part: str) -> tuple[Finding, ...]:
        cached = self._parts.get(part)
        if cached is None:
            cached = tuple(self.classifiers.score(part, self._ctx))
            if len(self._parts) >= MAX_CACHED:
                self._parts.clear()
            self._parts[part] = cached
        return cached

    def _part(self, part: str, ignored: frozenset[str] = frozenset()) -> tuple[bool, tuple[Finding, ...]]:
        """(hide it, findings that make rows) for one part."""
        if not part or _is_placeholder(part):
            return False, ()
        if len(part) > MAX_PART_CHARS:
            return True, ()
        findings = tuple(f for f in self._findings(part) if f.data_type not in ignored)
        return bool(findings) or _EMAIL_SHAPE.search(part) is not None, findings

    # -- messages -----------------------------------------------------------------------

    def message(self, protocol: str, api: str, host: str) -> Sanitized:
        """The api and host of one message as they may be stored (cached)."""
        key = (protocol, api, host)
        done = self._messages.get(key)
        if done is None:
            clean_api, api_hits = self.api(protocol, api)
            clean_host, host_hits = self.host(host)
            done = Sanitized(
                clean_api,
                clean_host,
                api_hits + host_hits,
                clean_api != api or clean_host != host,
                host_hits,
            )
            if len(self._messages) >= MAX_CACHED:
                self._messages.clear()
            self._messages[key] = done
        return done

    def api(self, protocol: str, api: str) -> tuple[str, tuple[Hit, ...]]:
        api = api[:MAX_IDENTIFIER_CHARS]
        if protocol == "kafka":
            return self._topic(api)
        if protocol == "mysql":
            return self._schema_table(api)
        return self._path_api(api)

    def _path_api(self, api: str) -> tuple[str, tuple[Hit, ...]]:
        """HTTP, GraphQL, WebSocket and gRPC: words split on spaces, paths on `/`."""
        if api.startswith("(") and api.endswith(")"):
            return api, ()  # `(unknown)`: made by the dissector, not from traffic
        words = api.split(" ")
        # The method (`GET`, `WS`) is from a fixed vocabulary: kept, and not in the field.
        start = 1 if len(words) > 1 and words[0].isalpha() and words[0].isupper() else 0
        out = words[:start]
        hits: list[Hit] = []
        changed = False
        for word in words[start:]:
            segments = word.split("/")
            for i, segment in enumerate(segments):
                hide, findings = self._part(segment)
                if not hide:
                    continue
                changed = True
                segments[i] = PLACEHOLDER
                if findings:
                    field = " ".join([*out[start:], "/".join(segments[: i + 1])])
                    hits.extend(Hit(PATH, field, f, segment) for f in findings)
            out.append("/".join(segments))
        return (" ".join(out) if changed else api), tuple(hits)

    def _topic(self, topic: str) -> tuple[str, tuple[Hit, ...]]:
        """A topic is one name; a topic of dotted parts (`events.<id>.orders`) is also
        judged part by part."""
        if topic.startswith(("(", "topic-id:")):
            return topic, ()  # made by the dissector (an unresolved topic id is a UUID)
        hide, findings = self._part(topic)
        if hide:
            return PLACEHOLDER, tuple(Hit(PATH, "topic", f, topic) for f in findings)
        if "." not in topic:
            return topic, ()
        parts = topic.split(".")
        hits: list[Hit] = []
        for i, part in enumerate(parts):
            hide, findings = self._part(part)
            if hide:
                parts[i] = PLACEHOLDER
                hits.extend(Hit(PATH, "topic", f, part) for f in findings)
        return ".".join(parts), tuple(hits)

    def _schema_table(self, api: str) -> tuple[str, tuple[Hit, ...]]:
        if api.startswith("(") and api.endswith(")"):
            return api, ()
        schema, dot, table = api.partition(".")
        named = [("schema", schema), ("table", table)] if dot else [("table", schema)]
        hits: list[Hit] = []
        out = []
        for field, part in named:
            hide, findings = self._part(part)
            out.append(PLACEHOLDER if hide else part)
            hits.extend(Hit(PATH, field, f, part) for f in findings)
        return ".".join(out), tuple(hits)

    def host(self, host: str) -> tuple[str, tuple[Hit, ...]]:
        """`Host`/`:authority`: userinfo dropped (a password there is a row), each label
        of a name scored; IP literals and ports kept."""
        if not host:
            return host, ()
        done = self._hosts.get(host)
        if done is None:
            done = self._host(host[:MAX_IDENTIFIER_CHARS])
            if len(self._hosts) >= MAX_CACHED:
                self._hosts.clear()
            self._hosts[host] = done
        return done

    def _host(self, host: str) -> tuple[str, tuple[Hit, ...]]:
        hits: list[Hit] = []
        userinfo, at, hostport = host.rpartition("@")
        if at:
            user, colon, password = userinfo.partition(":")
            _, findings = self._part(user, _HOST_IGNORED_TYPES)
            hits.extend(Hit(HEADER, HOST_FIELD, f, user) for f in findings)
            if colon and password:
                hits.append(Hit(HEADER, HOST_FIELD, _USERINFO_PASSWORD, password))
        if hostport.startswith("["):
            return hostport, tuple(hits)  # an IPv6 literal, with or without a port
        name, colon, port = hostport.rpartition(":")
        if not colon or not port.isdigit():
            name, port = hostport, ""
        if _IPV4.fullmatch(name):
            return hostport, tuple(hits)
        labels = name.split(".")
        for i, label in enumerate(labels):
            hide, findings = self._part(label, _HOST_IGNORED_TYPES)
            if hide:
                labels[i] = PLACEHOLDER
                hits.extend(Hit(HEADER, HOST_FIELD, f, label) for f in findings)
        clean = ".".join(labels) + (f":{port}" if port else "")
        return clean, tuple(hits)

    def host_name(self, name: str) -> str:
        """A host or server name as it may be shown (findings, TLS coverage)."""
        return self.host(name)[0]

    # -- field names --------------------------------------------------------------------

    def field_name(self, location: str, path: str) -> tuple[str, tuple[Hit, ...]]:
        """A header, cookie, query, metadata or column name as it may be stored; names
        in other locations (body paths) are returned as they are."""
        if location not in NAMED_LOCATIONS or not path or path.startswith("?"):
            return path, ()  # `?<n>`: a parameter position made by the dissector
        key = (location, path)
        done = self._names.get(key)
        if done is None:
            hide, findings = self._part(path[:MAX_IDENTIFIER_CHARS])
            if hide:
                done = PLACEHOLDER, tuple(Hit(PATH, location, f, path) for f in findings)
            else:
                done = path, ()
            if len(self._names) >= MAX_CACHED:
                self._names.clear()
            self._names[key] = done
        return done


_default: Identifiers | None = None
_by_classifiers: WeakKeyDictionary[ClassifierSet, Identifiers] = WeakKeyDictionary()


def identifiers_for(classifiers: ClassifierSet) -> Identifiers:
    """The sanitizer over a scan's classifier set (one per set, so that its caches serve
    every inventory the scan feeds)."""
    identifiers = _by_classifiers.get(classifiers)
    if identifiers is None:
        identifiers = _by_classifiers[classifiers] = Identifiers(classifiers)
    return identifiers


def default_identifiers() -> Identifiers:
    """One instance over the registered classifiers, for code that has no engine at hand
    (findings, TLS coverage): made on first use."""
    global _default  # a lazily built process-wide cache
    if _default is None:
        _default = Identifiers()
    return _default


def safe_host(name: str) -> str:
    """`name` (a Host, TLS server name or DNS name) with every sensitive part hidden."""
    return default_identifiers().host_name(name)
