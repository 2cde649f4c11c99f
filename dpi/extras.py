"""Optional features and the extras that install them (pyproject `[project.optional-dependencies]`).

The core install scans and writes CSV and JSON. Parquet, Excel, Dask and object stores
need libraries too large or too rarely used to install for everyone: when a feature is
asked for and its library is missing, the user gets one line naming the extra, e.g.
``--format parquet needs pyarrow: pip install 'dpi-inventory[parquet]'``, before any work
is done. The check only looks the module up (`importlib.util.find_spec`): nothing heavy
is imported here.
"""

from __future__ import annotations

import importlib.util

DISTRIBUTION = "dpi-inventory"

# module -> the extra that installs it
EXTRA_OF_MODULE = {
    "pyarrow": "parquet",
    "openpyxl": "excel",
    "dask": "dask",
    "distributed": "dask",
    "fsspec": "s3",
    "s3fs": "s3",
    "cryptography": "tls",
    "fastavro": "avro",
}
# URL schemes -> the fsspec backend module they need (schemes fsspec serves itself map
# to fsspec alone).
URL_BACKENDS = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "abfs": "adlfs",
    "az": "adlfs",
}
# Backends with no extra of ours: the message names the package itself.
_PACKAGE_OF_BACKEND = {"gcsfs": "gcsfs", "adlfs": "adlfs"}


class MissingExtra(Exception):
    """A feature was asked for whose library is not installed; the message is the one
    line to show."""


def installed(module: str) -> bool:
    """Whether `module` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent that fails, or a module set to None
        return False


def install_hint(module: str) -> str:
    """`pip install ...` for `module`: its extra when it has one."""
    extra = EXTRA_OF_MODULE.get(module)
    if extra is not None:
        return f"pip install '{DISTRIBUTION}[{extra}]'"
    return f"pip install {_PACKAGE_OF_BACKEND.get(module, module)}"


def require(module: str, feature: str) -> None:
    """Raise MissingExtra when `feature` (as the user spelled it: `--format parquet`)
    cannot run for want of `module`."""
    if not installed(module):
        raise MissingExtra(f"{feature} needs {module}: {install_hint(module)}")


def require_format(fmt: str, feature: str) -> None:
    """Writing or reading `fmt` (an inventory, findings, coverage or diff format)."""
    if fmt == "parquet":
        require("pyarrow", feature)
    elif fmt == "xlsx":
        require("openpyxl", feature)


def url_scheme(location: str) -> str | None:
    """The scheme of a URL path (`s3` of `s3://bucket/x`), None for local paths."""
    scheme, sep, _ = location.partition("://")
    if not sep or scheme in ("", "file") or not scheme.replace("+", "").isalnum():
        return None
    return scheme.lower()


def require_url(location: str) -> None:
    """A capture given as a URL needs fsspec and the scheme's backend."""
    scheme = url_scheme(location)
    if scheme is None:
        return
    require("fsspec", f"reading {scheme}:// paths")
    backend = URL_BACKENDS.get(scheme)
    if backend is not None:
        require(backend, f"reading {scheme}:// paths")


def hint_for(error: ModuleNotFoundError) -> str | None:
    """The one line for an optional module found missing only at run time (a library
    importing another optional one), or None when it is not one of ours."""
    name = (error.name or "").split(".")[0]
    if name in EXTRA_OF_MODULE or name in _PACKAGE_OF_BACKEND:
        return f"{name} is not installed: {install_hint(name)}"
    return None
