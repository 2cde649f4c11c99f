"""dpi: a per-API inventory of the sensitive data in packet captures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas

__all__ = ["scan"]


def scan(paths: Any, **options: Any) -> pandas.DataFrame:
    """Scan capture files or directories; return the inventory as a pandas DataFrame.

    The columns are the contract's (spec/inventory.md), in its order.
    """
    from dpi.api import scan_to_dataframe

    return scan_to_dataframe(paths, **options)
