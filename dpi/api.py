"""The Python API: `dpi.scan(paths) -> pandas.DataFrame` (columns per spec/inventory.md)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dpi.engine import Engine
from dpi.inventory import to_dataframe
from dpi.observer import Observer
from dpi.scanner import ScanError, expand, scan_inputs
from protocols.base import DissectorOptions

if TYPE_CHECKING:
    import pandas


def scan_engine(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    schemas: Any = None,
    strict: bool = False,
    keylogs: Iterable[str | os.PathLike[str]] = (),
    observers: list[Observer] | None = None,
) -> Engine:
    """Scan and return the finished engine (inventory, stats and warnings).

    `keylogs`: SSLKEYLOGFILE files for TLS decryption (`dpi.tls.KeyLogError` when one
    is unreadable or invalid); keys in pcapng Decryption Secrets Blocks are used too."""
    from dpi.tls import KeyLog, TlsLayerFactory

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    keylog = KeyLog()
    for keylog_path in keylogs:
        keylog.add_file(keylog_path)
    warnings: list[str] = []
    inputs = expand(paths, warnings)
    if schemas is None:
        from protocols.protobuf import SchemaRegistry

        schemas = SchemaRegistry()  # reflection seen in the capture lands here
    engine = Engine(
        options=DissectorOptions(schemas=schemas),
        strict=strict,
        layers=[TlsLayerFactory(keylog)],
        observers=observers,
    )
    engine.stats.warnings.extend(warnings)
    if not inputs:
        raise ScanError("no capture to scan")
    if scan_inputs(engine, inputs) == 0:
        raise ScanError("no readable capture among the inputs")
    return engine


def scan_to_dataframe(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], **options: Any
) -> pandas.DataFrame:
    return to_dataframe(scan_engine(paths, **options).inventory.rows())
