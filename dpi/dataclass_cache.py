"""The compiled methods of this project's dataclasses, kept between runs as bytecode is.

`dataclasses` writes each class's `__init__`, `__repr__`, `__eq__`, `__hash__` and, for a
frozen class, `__setattr__`/`__delattr__` as source text and compiles it with `exec` when
the class is made: about 350 method sources in a scan, parsed again in every process,
which was a fifth of a small scan (~180 M of the ~870 M instructions of a scan of an
empty capture). `install()`, called by `dpi/__init__.py` before any class of ours is
made, gives the `dataclasses` module an `exec` of its own (`_exec`) that takes the code
of a source it has compiled before from a cache, and otherwise compiles it exactly as
`dataclasses`' own `exec` call does (file name `<string>`, no `__future__` flags inherited).
A source text always compiles to the same code object, so the classes are the same:
same methods, signatures, annotations, equality, hashing, repr, frozenness and pickling
(tests/dpi/test_dataclass_cache.py). Only the classes of `dpi`, `protocols` and
`classifiers` use the cache; any other module's sources are compiled as before.

The cache is a file next to dpi's bytecode (`dpi/__pycache__/dataclass-methods.<tag>.bin`,
marked with the interpreter's bytecode magic number; a file that does not load is
ignored). It is read once per process, and written at exit only by a process that
compiled a source the file lacked, and, like `.pyc` files, not when bytecode writing is
off (`PYTHONDONTWRITEBYTECODE`, `-B`) or the directory cannot be written.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import marshal
import os
import sys
from importlib.util import MAGIC_NUMBER
from types import CodeType
from typing import Any

# Whose dataclasses use the cache: this project's packages.
OWN_PACKAGES = frozenset({"dpi", "protocols", "classifiers"})
# Entries the file keeps: a run uses ~400; entries of other runs (another subcommand,
# classes since edited) are kept after this run's, up to this bound.
MAX_ENTRIES = 4096

_cache: dict[str, CodeType] = {}
_used: dict[str, CodeType] = {}  # what this process compiled or took from the cache


class _State:
    path = ""  # the cache file ("" when there is none)
    new = False  # whether this process compiled a source the file lacked


def _file() -> str:
    tag = sys.implementation.cache_tag
    if tag is None:
        return ""
    return os.path.join(os.path.dirname(__file__), "__pycache__", f"dataclass-methods.{tag}.bin")


def _load(path: str) -> dict[str, CodeType]:
    """The cache in `path`; empty when it is missing, damaged or of another interpreter."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return {}
    if not data.startswith(MAGIC_NUMBER):
        return {}
    try:
        table = marshal.loads(data[len(MAGIC_NUMBER) :])
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(table, dict):
        return {}
    return {k: v for k, v in table.items() if isinstance(k, str) and isinstance(v, CodeType)}


def _save() -> None:
    """Writes the cache when this process compiled something new (at exit)."""
    path = _State.path
    if not _State.new or not path or sys.dont_write_bytecode:
        return
    table = dict(_used)
    for source, code in _cache.items():
        if len(table) >= MAX_ENTRIES:
            break
        table.setdefault(source, code)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(MAGIC_NUMBER + marshal.dumps(table))
        os.replace(temporary, path)  # whole or not at all, whoever else writes it
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _code(source: str) -> CodeType:
    code = _cache.get(source)
    if code is None:
        # What `exec(source, ...)` in `dataclasses` compiles: that module has no
        # `__future__` imports, and this one's must not leak into the methods.
        code = _cache[source] = compile(source, "<string>", "exec", dont_inherit=True)
        _State.new = True
    _used[source] = code
    return code


def _exec(source: Any, globals: Any = None, locals: Any = None) -> None:
    """`exec` as `dataclasses` calls it (`exec(text, module globals, namespace)`: it
    always passes both), with the code of our classes' method sources cached."""
    if isinstance(source, str):
        module = globals.get("__name__", "") if isinstance(globals, dict) else ""
        if str(module).partition(".")[0] in OWN_PACKAGES:
            source = _code(source)
        else:
            source = compile(source, "<string>", "exec", dont_inherit=True)
    builtins.exec(source, globals, locals)  # noqa: S102 - dataclasses' own generated source


def install() -> None:
    """Reads the cache and gives `dataclasses` the caching `exec`; once per process."""
    if vars(dataclasses).get("exec") is _exec:
        return
    _State.path = _file()
    if _State.path:
        _cache.update(_load(_State.path))
    setattr(dataclasses, "exec", _exec)  # noqa: B010 - a module global, not a typed attribute
    atexit.register(_save)
