"""Builds the scan engine from the user's options, one way for every entry point.

`build_engine(EngineSpec)` is the only place an `Engine` is made for a scan: `dpi scan`
and `dpi watch` (dpi/cli/), the Python API (dpi/api.py) and batch workers
(dpi/runs/worker.py) describe what they want in an `EngineSpec` and get the same engine:
dpi.toml classifiers (and entry-point classifiers), protobuf schemas (`.proto`
directories, descriptor sets), Kafka topic and Avro schemas, bounds (dpi.toml
`[limits]`, then per-call overrides), TLS key logs, observers, the inventory's salt.

A spec is plain data (text and paths) where it must cross to a worker process; a caller
that has already read an input passes it loaded instead, so that nothing is read twice:
a scan reads dpi.toml once (`load_config` remembers each config by its text, and a batch
worker running in the same process takes it from there). `ScanSetup.load` reads and
checks the API's inputs once; `ScanSetup.engine` builds from them.

Problems with the user's inputs raise `BuildError` with one line naming the input (a
path, an option), never quoting file contents or secrets.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dpi.classify import ClassifierSet
    from dpi.config import Config
    from dpi.engine import Engine
    from dpi.observer import Observer
    from dpi.reassembly import ReassemblyLimits
    from dpi.tls import KeyLog
    from protocols.avro import AvroSchemas
    from protocols.base import Limits
    from protocols.protobuf import SchemaRegistry

PathLike = str | os.PathLike[str]

# The dpi.toml configs this process has read, by text (None: no file), and the
# classifier set built from each once an engine was built from the text: a batch worker
# in this process reuses the config its parent read, and a worker process parses each
# text and builds its set once (building one loads every classifier module; a set is
# stateless between values and safe to reuse).
_CONFIGS: dict[str | None, Config] = {}
_CLASSIFIERS: dict[str | None, ClassifierSet] = {}


class BuildError(ValueError):
    """An option or input file that cannot be used; one line."""


def load_config(config: Config | PathLike | None) -> Config:
    """`config`: a loaded `Config`, a dpi.toml path, or None (no file: entry-point
    classifiers only). What is read is remembered by its text (see `_CONFIGS`)."""
    from classifiers._configured import ConfigError
    from dpi.config import Config, load_config

    if isinstance(config, Config):
        return config
    try:
        loaded = load_config(Path(config) if config is not None else None)
    except ConfigError as exc:
        raise BuildError(str(exc)) from None
    _CONFIGS[loaded.text] = loaded
    return loaded


def _configured(text: str | None) -> tuple[Config, ClassifierSet]:
    """The config of this dpi.toml text (parsed unless this process has read it) and its
    classifier set, each made once per process."""
    from dpi.classify import ClassifierSet
    from dpi.config import load_config

    config = _CONFIGS.get(text)
    if config is None:
        if text is None:
            config = load_config(None)
        else:
            import tempfile  # here: tempfile pulls in shutil and random; most runs have no file

            with tempfile.TemporaryDirectory(prefix="dpi-config-") as tmp:
                path = Path(tmp) / "dpi.toml"
                path.write_text(text, encoding="utf-8")
                config = load_config(path)
        _CONFIGS[text] = config
    classifiers = _CLASSIFIERS.get(text)
    if classifiers is None:
        classifiers = _CLASSIFIERS[text] = ClassifierSet.with_extra(list(config.classifiers))
    return config, classifiers


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
    from dpi.tls.library import NO_LIBRARY, crypto_available

    keylog = KeyLog()
    paths = list(paths)
    if paths and not crypto_available():
        raise BuildError(f"keylogs given, but {NO_LIBRARY}")
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

    def engine(self, observers: Sequence[Observer] = ()) -> Engine:
        """An engine as `dpi scan` builds it, from what was loaded."""
        return build_engine(
            EngineSpec(
                config=self.config,
                schemas=self.schemas,
                topic_schemas=tuple(self.topic_schemas.items()),
                bounds=(self.limits, self.reassembly),
                keylog=self.keylog,
                strict=self.strict,
                observers=tuple(observers),
            )
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineSpec:
    """What an engine is built from (`build_engine`).

    The data fields are text and paths only, so that a spec crosses to worker processes
    and Dask: a batch worker rebuilds its parent's engine from them. A caller in this
    process that has read an input already passes it loaded (`config`, `schemas`,
    `avro`, `bounds`, `keylog`, `observers`), which is then used instead of the data.
    Loaded fields never leave the process: batch runs leave them unset."""

    salt_hex: str = ""  # the inventory's salt; "": the process's own (dpi/inventory.py)
    config_text: str | None = None  # dpi.toml contents, None: no file
    proto_dirs: tuple[str, ...] = ()  # must exist at the same path on every worker
    descriptor_sets: tuple[str, ...] = ()
    limit_args: tuple[str, ...] = ()  # --limit NAME=VALUE, applied after dpi.toml [limits]
    keylogs: tuple[str, ...] = ()  # TLS key log files (paths, as for the schemas)
    topic_schemas: tuple[tuple[str, str], ...] = ()  # --topic-schema TOPIC=MESSAGE
    strict: bool = False
    # Evidence beside the inventory, for batch workers (dpi/runs/worker.py adds the
    # observers, dpi/runs/evidence.py): --findings/--internal, --tls-coverage.
    findings: bool = False
    internal: tuple[str, ...] = ()
    tls_coverage: bool = False
    # Loaded in this process.
    config: Config | None = None
    schemas: SchemaRegistry | None = None  # filled further by reflection seen in the capture
    avro: AvroSchemas | None = None  # None: an empty store (Schema Registry answers fill it)
    bounds: tuple[Limits, ReassemblyLimits] | None = None
    keylog: KeyLog | None = None
    observers: tuple[Observer, ...] = ()


def build_engine(spec: EngineSpec) -> Engine:
    """The engine `spec` describes. A spec given as data is loaded here: a fresh schema
    registry each time (reflection seen in one file stays there), the config and its
    classifier set once per process. The scan's fact store (dpi/facts.py) is made here:
    the protobuf registry and the Avro schemas, which the capture then teaches. Bad
    inputs raise `BuildError`."""
    from dpi.classify import ClassifierSet
    from dpi.engine import Engine
    from dpi.facts import FactStore
    from dpi.inventory import Inventory
    from dpi.tls import TlsLayerFactory
    from protocols.base import DissectorOptions

    if spec.config is not None:
        config, classifiers = spec.config, ClassifierSet.with_extra(list(spec.config.classifiers))
    else:
        config, classifiers = _configured(spec.config_text)
    schemas = spec.schemas
    if schemas is None:
        schemas, _ = load_schemas(spec.proto_dirs, spec.descriptor_sets)
    limits, reassembly = spec.bounds if spec.bounds is not None else scan_limits(config, spec.limit_args)
    options = DissectorOptions(schemas=schemas, kafka_topic_schemas=dict(spec.topic_schemas))
    facts = FactStore(schemas, spec.avro) if spec.avro is not None else FactStore.for_scan(schemas)
    salt = bytes.fromhex(spec.salt_hex)
    engine = Engine(
        options=options,
        classifiers=classifiers,
        strict=spec.strict,
        limits=limits,
        reassembly=reassembly,
        observers=list(spec.observers),
        layers=[TlsLayerFactory(spec.keylog if spec.keylog is not None else load_keylog(spec.keylogs))],
        facts=facts,
    )
    if salt:
        engine.inventory = Inventory(engine.inventory.min_share, salt=salt)
    return engine
