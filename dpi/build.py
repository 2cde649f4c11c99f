"""Builds the scan engine from the user's options, one way for every entry point.

`dpi scan` (dpi/cli.py), the Python API (dpi/api.py) and batch workers scan with the same
engine: dpi.toml classifiers (and entry-point classifiers) and allow rules, protobuf
schemas (`.proto` directories, descriptor sets), Kafka topic schemas, bounds (dpi.toml
`[limits]`, then per-call overrides), TLS key logs and observers. `ScanSetup.load` reads
and checks every input once; `ScanSetup.engine` makes an engine from it (a fresh schema
registry per engine is the caller's choice: reflection seen in a capture lands there).

Problems with the user's inputs raise `BuildError` with one line naming the input (a
path, an option), never quoting file contents or secrets.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dpi.config import Config
    from dpi.engine import Engine
    from dpi.observer import Observer
    from dpi.reassembly import ReassemblyLimits
    from dpi.tls import KeyLog
    from protocols.base import Limits
    from protocols.protobuf import SchemaRegistry

PathLike = str | os.PathLike[str]


class BuildError(ValueError):
    """An option or input file that cannot be used; one line."""


def load_config(config: Config | PathLike | None) -> Config:
    """`config`: a loaded `Config`, a dpi.toml path, or None (no file: entry-point
    classifiers only)."""
    from classifiers._configured import ConfigError
    from dpi.config import Config, load_config

    if isinstance(config, Config):
        return config
    try:
        return load_config(Path(config) if config is not None else None)
    except ConfigError as exc:
        raise BuildError(str(exc)) from None


def load_schemas(
    proto: Iterable[PathLike] = (),
    descriptor_sets: Iterable[PathLike] = (),
    registry: SchemaRegistry | None = None,
) -> tuple[SchemaRegistry, list[str]]:
    """A registry (`registry`, or a new one) with the `.proto` files under `proto` and
    the descriptor sets loaded, and the warnings of loading (files that did not compile)."""
    from protocols.protobuf import SchemaError, SchemaRegistry

    registry = registry if registry is not None else SchemaRegistry()
    warnings: list[str] = []
    try:
        dirs = [Path(p) for p in proto]
        if dirs:
            warnings += registry.load_proto_dirs(dirs)
        for path in descriptor_sets:
            registry.load_descriptor_set(Path(path))
    except SchemaError as exc:
        raise BuildError(str(exc)) from None
    return registry, warnings


def resolve_topic_schemas(
    wanted: Mapping[str, str] | Iterable[str], schemas: SchemaRegistry
) -> dict[str, str]:
    """Kafka topic (a glob) -> protobuf message type: a mapping, or `TOPIC=MESSAGE`
    strings (`--topic-schema`). Every message type must be in `schemas`."""
    pairs: list[tuple[str, str]] = []
    if isinstance(wanted, Mapping):
        pairs = [(str(t), str(m)) for t, m in wanted.items()]
    else:
        for text in wanted:
            topic, sep, message = text.partition("=")
            if not sep:
                raise BuildError(f"--topic-schema wants TOPIC=MESSAGE, got {text!r}")
            pairs.append((topic, message))
    mapping: dict[str, str] = {}
    for topic, message in pairs:
        if not topic or not message:
            raise BuildError(f"topic schema wants TOPIC=MESSAGE, got {topic!r}={message!r}")
        if schemas.resolve(message) is None:
            raise BuildError(
                f"topic schema: message type {message!r} is not in the --proto/--descriptor-set schemas"
            )
        mapping[topic] = message
    return mapping


def scan_limits(
    config: Config, overrides: Mapping[str, int | str] | Iterable[str] = ()
) -> tuple[Limits, ReassemblyLimits]:
    """The default bounds, then dpi.toml's `[limits]`, then `overrides` (a mapping of
    name to value, `8m` style strings allowed, or `NAME=VALUE` strings like `--limit`)."""
    from dpi.limits import LimitError, apply_limits, parse_limit, parse_table

    merged = dict(getattr(config, "limits", {}))
    try:
        if isinstance(overrides, Mapping):
            merged.update(parse_table(overrides))
        else:
            for text in overrides:
                name, value = parse_limit(text)
                merged[name] = value
        return apply_limits(merged)
    except LimitError as exc:
        raise BuildError(str(exc)) from None


def load_keylog(paths: Iterable[PathLike] = ()) -> KeyLog:
    """SSLKEYLOGFILE files; a bad one is a `BuildError` naming the line, never a secret."""
    from dpi.tls import KeyLog, KeyLogError

    keylog = KeyLog()
    try:
        for path in paths:
            keylog.add_file(path)
    except KeyLogError as exc:
        raise BuildError(str(exc)) from None
    return keylog


@dataclass(slots=True, kw_only=True)
class ScanSetup:
    """Everything an engine is built from, loaded and checked."""

    config: Config
    schemas: SchemaRegistry
    topic_schemas: dict[str, str] = field(default_factory=dict)
    limits: Limits
    reassembly: ReassemblyLimits
    keylog: KeyLog
    strict: bool = False
    warnings: list[str] = field(default_factory=list)  # from loading the schemas

    @classmethod
    def load(
        cls,
        *,
        config: Config | PathLike | None = None,
        proto: Iterable[PathLike] = (),
        descriptor_sets: Iterable[PathLike] = (),
        topic_schemas: Mapping[str, str] | Iterable[str] = (),
        limits: Mapping[str, int | str] | Iterable[str] = (),
        keylogs: Iterable[PathLike] = (),
        strict: bool = False,
        schemas: SchemaRegistry | None = None,
    ) -> ScanSetup:
        """`schemas`: an already loaded registry (then `proto`/`descriptor_sets` add to it)."""
        loaded = load_config(config)
        registry, warnings = load_schemas(proto, descriptor_sets, schemas)
        bounds, reassembly = scan_limits(loaded, limits)
        return cls(
            config=loaded,
            schemas=registry,
            topic_schemas=resolve_topic_schemas(topic_schemas, registry),
            limits=bounds,
            reassembly=reassembly,
            keylog=load_keylog(keylogs),
            strict=strict,
            warnings=warnings,
        )

    def engine(self, observers: Sequence[Observer] = (), *, classifiers: Any = None) -> Engine:
        """An engine as `dpi scan` builds it. `classifiers`: a ready `ClassifierSet` (a
        worker reuses one), else one is made from the config."""
        from dpi.classify import ClassifierSet
        from dpi.engine import Engine
        from dpi.tls import TlsLayerFactory
        from protocols.base import DissectorOptions

        if classifiers is None:
            classifiers = ClassifierSet.with_extra(list(self.config.classifiers))
        return Engine(
            options=DissectorOptions(schemas=self.schemas, kafka_topic_schemas=dict(self.topic_schemas)),
            classifiers=classifiers,
            strict=self.strict,
            limits=self.limits,
            reassembly=self.reassembly,
            observers=list(observers),
            layers=[TlsLayerFactory(self.keylog)],
        )
