"""dpi: a per-API inventory of the sensitive data in packet captures.

    import dpi
    inventory = dpi.scan("captures/", config="dpi.toml")        # a pandas DataFrame
    result = dpi.scan_all("captures/", internal=["10.0.0.0/8"])  # .inventory .findings .tls_coverage

Both scan as `dpi scan` does; see `dpi.api` for the options and the column types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dpi import dataclass_cache

# First, before any of our dataclasses is made (dpi/dataclass_cache.py).
dataclass_cache.install()

if TYPE_CHECKING:
    import pandas

    from dpi.api import ScanResult

__all__ = ["scan", "scan_all"]


def scan(paths: Any, **options: Any) -> pandas.DataFrame:
    """Scan capture files or directories; return the inventory as a pandas DataFrame.

    The columns are the contract's (spec/inventory.md), in its order, typed: UTC
    datetimes for first/last seen, integers for count and clients, categoricals for
    protocol, direction, location, data_type and category. `findings=True` (or
    `internal=[...]`) adds the `egress` and `auth_share` columns, as `dpi scan --findings`.
    Options: config, proto, descriptor_sets, keylogs, topic_schemas, limits, internal,
    findings, strict, separate_files (`dpi.api.scan_all`).
    """
    from dpi.api import scan_to_dataframe

    return scan_to_dataframe(paths, **options)


def scan_all(paths: Any, **options: Any) -> ScanResult:
    """Scan like `scan`; return `.inventory`, `.findings` and `.tls_coverage` DataFrames,
    `.stats` and `.warnings` (`dpi.api.ScanResult`). Findings are gathered by default."""
    from dpi.api import scan_all as _scan_all

    return _scan_all(paths, **options)
