"""Imported once by the forkserver of local parallel scans (`dpi/runs/parallel.py`): builds
one engine there, so that every worker forked from it starts with what building an engine
loads and makes once per process.

Building the first engine of a process imports the dissectors (`protocols/`), the
classifier modules and their data (phone number metadata), the TLS layer, and builds the
classifier set of the default configuration (`dpi/build.py` keeps it per config text):
about as much work as starting Python and importing the engine. Done in each worker, it
was paid once per worker; done here, it is paid once per run and the workers share it
through fork. A worker whose run has a dpi.toml still finds the modules imported and
builds only that config's classifier set. The bundled word lists (person names, ICD-10-CM
codes), which a classifier loads only when a value first needs one, are loaded here too:
a few milliseconds and 1.3 MB once, shared by every worker instead of paid by each.

The forkserver also tunes the garbage collector as the `dpi` program does
(`dpi/collector.py`). Nothing here changes what a worker computes: the engine built
here is dropped, and each file still gets a fresh engine (`dpi/runs/worker.py`).
"""

from __future__ import annotations

import logging

from classifiers.phi.diagnosis_code import _code_list
from classifiers.pii._name_lists import name_lists
from dpi.build import EngineSpec, build_engine
from dpi.collector import tune_collector

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Build (and drop) one engine with the default configuration; load the word lists."""
    try:
        build_engine(EngineSpec(salt_hex=""))
        name_lists()
        _code_list()
    except Exception as exc:  # noqa: BLE001 - a warm-up: the worker will build (and fail) itself
        # The forkserver must not die of it (every worker would): the worker meets the
        # same problem when it builds its engine, and reports it there.
        log.debug("warm-up engine not built: %s", type(exc).__name__)


warm_up()
# After the warm-up: what it made is frozen with the rest, and the workers forked from
# here inherit the frozen objects and the thresholds.
tune_collector()
