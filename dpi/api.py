"""The Python API: `dpi.scan(paths) -> pandas.DataFrame` and `dpi.scan_all(paths) ->
ScanResult` (inventory, findings and TLS coverage as DataFrames).

Both scan as `dpi scan` does (`dpi/build.py` builds the same engine): dpi.toml
classifiers and allow rules, entry-point classifiers, `.proto` schemas and descriptor
sets, Kafka topic schemas, bounds (`[limits]`, then `limits=`), TLS key logs, internal
networks. Columns are typed for analysis (`typed_inventory`): `first_seen`/`last_seen`
UTC datetimes, `count`/`clients` integers, `confidence` a float, and protocol,
direction, location, data_type and category categoricals. The CSV/JSON files of the
command line keep the contract's text form (spec/inventory.md).

Errors: `dpi.build.BuildError` (an option or input file that cannot be used),
`dpi.runs.scanner.ScanError` (no capture, none readable); one line each, never content.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dpi.build import PathLike, ScanSetup
from dpi.engine import Engine
from dpi.observer import Observer
from dpi.runs.scanner import ScanError, expand, scan_inputs

if TYPE_CHECKING:
    import pandas

    from dpi.config import Config
    from dpi.inventory import Row
    from protocols.protobuf import SchemaRegistry

Paths = PathLike | Iterable[PathLike]
# Columns whose few distinct values make them categoricals (memory, groupby speed).
CATEGORICAL_COLUMNS = ("protocol", "direction", "location", "data_type", "category")
FINDING_CATEGORICALS = ("severity", "kind", "protocol")
COVERAGE_CATEGORICALS = ("alpn", "version", "cipher", "reason")


def scan_engine(
    paths: Paths,
    *,
    schemas: SchemaRegistry | None = None,
    strict: bool = False,
    keylogs: Iterable[PathLike] = (),
    observers: list[Observer] | None = None,
    config: Config | PathLike | None = None,
    proto: Iterable[PathLike] = (),
    descriptor_sets: Iterable[PathLike] = (),
    topic_schemas: Mapping[str, str] | Iterable[str] = (),
    limits: Mapping[str, int | str] | Iterable[str] = (),
    separate_files: bool = False,
) -> Engine:
    """Scan and return the finished engine (inventory, stats and warnings). The rows of
    `engine.inventory` are before dpi.toml's allow rules (`scan_all` applies them).

    `keylogs`: SSLKEYLOGFILE files for TLS decryption; keys in pcapng Decryption Secrets
    Blocks are used too. `schemas`: a registry to use (reflection seen in the capture
    lands there); `proto`/`descriptor_sets` are loaded into it."""
    return _scan(
        paths,
        ScanSetup.load(
            config=config, proto=proto, descriptor_sets=descriptor_sets,
            topic_schemas=topic_schemas, limits=limits, keylogs=keylogs, strict=strict,
            schemas=schemas,
        ),
        observers or [],
        separate_files,
    )


def _scan(paths: Paths, setup: ScanSetup, observers: Sequence[Observer], separate_files: bool) -> Engine:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    warnings: list[str] = []
    inputs = expand(list(paths), warnings)
    engine = setup.engine(observers)
    engine.stats.warnings.extend(setup.warnings + warnings)
    if not inputs:
        raise ScanError("no capture to scan")
    if scan_inputs(engine, inputs, separate_files=separate_files) == 0:
        raise ScanError("no readable capture among the inputs")
    return engine


@dataclass(slots=True)
class ScanResult:
    """What `dpi scan --findings --tls-coverage` writes, as DataFrames.

    `inventory`: the contract's columns, typed (plus `egress` and `auth_share` when
    findings were gathered); `findings`: one row per finding (`dpi.findings.FINDING_COLUMNS`);
    `tls_coverage`: one row per TLS flow (`dpi.findings.coverage.COLUMNS`); `stats`: the scan's
    counters (`dpi scan --summary-json`); `warnings`: what was skipped, and where."""

    inventory: pandas.DataFrame
    findings: pandas.DataFrame
    tls_coverage: pandas.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def scan_all(
    paths: Paths,
    *,
    config: Config | PathLike | None = None,
    proto: Iterable[PathLike] = (),
    descriptor_sets: Iterable[PathLike] = (),
    keylogs: Iterable[PathLike] = (),
    topic_schemas: Mapping[str, str] | Iterable[str] = (),
    limits: Mapping[str, int | str] | Iterable[str] = (),
    internal: Sequence[str] = (),
    findings: bool = True,
    strict: bool = False,
    separate_files: bool = False,
) -> ScanResult:
    """Scan like `dpi scan`; see `ScanResult`. `config`: a dpi.toml path (None: no file,
    entry-point classifiers only). `internal`: CIDRs of the internal networks (default:
    the private ranges). `findings=False` skips the findings (a little faster)."""
    from dpi.findings.coverage import TlsCoverage

    setup = ScanSetup.load(
        config=config, proto=proto, descriptor_sets=descriptor_sets,
        topic_schemas=topic_schemas, limits=limits, keylogs=keylogs, strict=strict,
    )
    exposure = _findings_run(internal) if findings or internal else None
    coverage = TlsCoverage()
    observers: list[Observer] = [coverage] + ([exposure.observer] if exposure is not None else [])
    engine = _scan(paths, setup, observers, separate_files)
    rows = setup.config.allowed(engine.inventory.rows())
    inventory = typed_inventory(rows)
    found: list[Any] = []
    if exposure is not None:
        found = exposure.compute(rows)
        _add_exposure_columns(inventory, rows, exposure)
    return ScanResult(
        inventory=inventory,
        findings=findings_frame(found),
        tls_coverage=coverage_frame(coverage.rows()),
        stats=engine.stats.as_dict(),
        warnings=list(engine.stats.warnings),
    )


def scan_to_dataframe(paths: Paths, *, findings: bool = False, internal: Sequence[str] = (), **options: Any) -> pandas.DataFrame:
    """`dpi.scan`: the inventory of `scan_all` (with `egress`/`auth_share` only when
    `findings` or `internal` asks for them, as on the command line)."""
    return scan_all(paths, findings=findings, internal=internal, **options).inventory


def _findings_run(internal: Sequence[str]) -> Any:
    from dpi.build import BuildError
    from dpi.findings.egress import NetworkError
    from dpi.findings.run import FindingsRun

    try:
        return FindingsRun(internal)
    except NetworkError as exc:
        raise BuildError(str(exc)) from None


def _add_exposure_columns(frame: pandas.DataFrame, rows: Sequence[Row], exposure: Any) -> None:
    """`egress` (bool) and `auth_share` (float, NaN where unknown), as the CLI's columns."""
    shares = exposure.observer.auth_shares()
    networks = exposure.networks
    frame["egress"] = [not networks.endpoint_is_internal(r.server) for r in rows]
    frame["auth_share"] = [
        shares.get((r.protocol, r.server, r.api), float("nan")) for r in rows
    ]
    frame["egress"] = frame["egress"].astype("bool")
    frame["auth_share"] = frame["auth_share"].astype("float64")


# -- typed frames ----------------------------------------------------------------------


def typed_inventory(rows: Sequence[Row]) -> pandas.DataFrame:
    """Inventory rows as a DataFrame with analysis types (see the module docstring)."""
    import pandas

    from dpi.inventory import COLUMNS

    frame = pandas.DataFrame([row.as_list() for row in rows], columns=list(COLUMNS))
    frame = frame.astype({"count": "int64", "clients": "int64", "confidence": "float64"})
    for name in ("first_seen", "last_seen"):
        # ISO 8601 with "Z" in the contract; empty when unknown -> NaT.
        frame[name] = pandas.to_datetime(frame[name].replace("", None), utc=True, format="ISO8601")
    for name in CATEGORICAL_COLUMNS:
        frame[name] = frame[name].astype("category")
    return frame


def findings_frame(found: Sequence[Any]) -> pandas.DataFrame:
    import pandas

    from dpi.findings.model import FINDING_COLUMNS, sort_findings

    records = [f.as_dict() for f in sort_findings(list(found))]
    frame = pandas.DataFrame(records, columns=list(FINDING_COLUMNS))
    frame = frame.astype({"count": "int64"})
    for name in FINDING_CATEGORICALS:
        frame[name] = frame[name].astype("category")
    return frame


def coverage_frame(rows: Sequence[dict[str, object]]) -> pandas.DataFrame:
    import pandas

    from dpi.findings.coverage import COLUMNS

    frame = pandas.DataFrame(list(rows), columns=list(COLUMNS))
    frame = frame.astype({"bytes_client": "int64", "bytes_server": "int64", "decrypted": "bool"})
    for name in COVERAGE_CATEGORICALS:
        frame[name] = frame[name].astype("category")
    return frame
