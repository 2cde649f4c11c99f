"""The entry points of one group (`importlib.metadata.entry_points(group=...)`), without
importing `importlib.metadata` when no installed distribution can declare the group.

Every scan asks for the `dpi.classifiers` plug-ins (dpi/config.py), and almost none has
any: importing `importlib.metadata` (it pulls in `email`, `zipfile`, `csv`...) and reading
every distribution's metadata cost ~26 ms, a tenth of a small scan. A distribution
declares entry points in the `entry_points.txt` of its `.dist-info` (or `.egg-info`)
folder, where a group is a `[group]` section: when no such file on `sys.path` holds the
group's name, the full lookup would find nothing, and is skipped. Anything this shortcut
cannot see through (a zip file or an egg on `sys.path`, an import hook that lists
distributions of its own) takes the full lookup, as does any file that names the group.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import PathFinder
from typing import Any

_METADATA_DIRS = (".dist-info", ".egg-info")


def entry_points(group: str) -> Sequence[Any]:
    """`importlib.metadata.entry_points(group=group)`; empty when nothing declares it."""
    if not _may_declare(group):
        return ()
    from importlib.metadata import entry_points as lookup

    return tuple(lookup(group=group))


def _may_declare(group: str) -> bool:
    """False only when no distribution importlib.metadata would find declares `group`."""
    if any(hasattr(finder, "find_distributions") and finder is not PathFinder for finder in sys.meta_path):
        return True  # an import hook with distributions of its own
    for entry in sys.path:
        folder = entry or "."
        if folder.lower().endswith(".egg"):
            return True  # an egg folder: its metadata is in EGG-INFO
        try:
            names = os.listdir(folder)
        except NotADirectoryError:
            return True  # a zip file: its metadata is read through zipfile
        except OSError:
            continue  # not there: importlib.metadata skips it too
        for name in names:
            if not name.lower().endswith(_METADATA_DIRS):
                continue
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), "rb") as handle:
                    if group.encode() in handle.read():
                        return True
            except OSError:
                continue  # no entry points (or an `.egg-info` file, which has none)
    return False
