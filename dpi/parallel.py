"""Runs per-file scan tasks in this process, in worker processes or on a Dask cluster.

Every runner yields partial results (`dpi/worker.py`) in file order, so the caller folds
them left to right and the inventory is the same whatever ran where (`Inventory.merge`
is associative, ties keep the left side). Locally at most `jobs * WINDOW_PER_JOB` files
are in flight, so results that finished early wait in a bounded buffer. On Dask, files
are grouped in batches; each batch is scanned in parallel and merged as a binary tree on
the cluster (in file order), and one merged result per batch comes back: that is the
unit the caller checkpoints.

Workers die with the run. A worker is a child of the forkserver, itself a child of the
run; when the run is killed (`kill -9`, the OOM killer) nothing tells the workers: they
finish their file, then wait on the task queue forever, holding the caller's pipes, and
keep the forkserver alive too (each holds the pipe whose end-of-file would tell the
forkserver the run is gone). So each worker watches the run's process from a daemon
thread (a pidfd on Linux, polling elsewhere) and ends itself at once when the run is
gone; the forkserver and the resource tracker then see their pipes close and exit. Each
worker also asks the kernel (Linux `PR_SET_PDEATHSIG`) to kill it if the forkserver
itself dies.

Not supported: retrying a file that crashed a worker process (the run fails; the state
keeps what was finished and the next run retries).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from dpi.worker import EngineSpec, FileTask, Result, merge_results, scan_file

log = logging.getLogger(__name__)

# Files submitted ahead of the oldest unfinished one, per worker: enough to keep every
# worker busy while a long file holds the head of the queue, few enough that buffered
# partial inventories stay small.
WINDOW_PER_JOB = 4
# How long to try reaching a Dask scheduler before the run fails (exit 2).
DASK_CONNECT_TIMEOUT = "20s"
# linux/prctl.h
PR_SET_PDEATHSIG = 1
# Polling period of the run watch where a pidfd is not available.
WATCH_SECONDS = 0.5


def _worker_init(run_pid: int) -> None:
    """Initializer of every local worker process."""
    # Ctrl-C reaches the whole process group; the parent decides what to do with it,
    # workers just finish or get torn down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Unconfigured, a worker's warnings would reach stderr through logging's last-resort
    # handler, unfiltered: give them the run's value filter (dpi/logsetup.py).
    from dpi import logsetup

    logsetup.configure()
    die_with_parent()
    watch_run(run_pid)


def die_with_parent() -> bool:
    """Linux: SIGKILL this process when its parent dies. False where not available."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the parent died before the request: too late for it
        os._exit(1)
    return True


def watch_run(run_pid: int) -> threading.Thread:
    """A daemon thread that ends this process as soon as `run_pid` is gone."""
    thread = threading.Thread(target=_watch, args=(run_pid,), name="dpi-run-watch", daemon=True)
    thread.start()
    return thread


def _watch(run_pid: int) -> None:
    try:
        pidfd = os.pidfd_open(run_pid)
    except (AttributeError, OSError):  # not Linux >= 5.3, or the run is already gone
        pidfd = -1
    if pidfd >= 0:
        # Readable when the process exits; no pid-reuse race once it is open.
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        while not poller.poll():
            pass
        os._exit(1)
    while True:
        try:
            os.kill(run_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass  # someone else's process (reused pid): cannot tell, keep going
        time.sleep(WATCH_SECONDS)


def run_serial(spec: EngineSpec, tasks: list[FileTask]) -> Iterator[Result]:
    for task in tasks:
        yield scan_file(spec, task)


def run_local(spec: EngineSpec, tasks: list[FileTask], jobs: int) -> Iterator[Result]:
    """`jobs` worker processes (forkserver: clean, and forked from a process that has
    already imported the engine); results in file order."""
    if jobs <= 1 or len(tasks) <= 1:
        yield from run_serial(spec, tasks)
        return
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["dpi.worker"])
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(tasks)),
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(os.getpid(),),
    )
    pending: deque[Future[Result]] = deque()
    queue = iter(tasks)
    try:
        for task in queue:
            pending.append(pool.submit(scan_file, spec, task))
            if len(pending) >= jobs * WINDOW_PER_JOB:
                break
        while pending:
            result = pending.popleft().result()
            for task in queue:
                pending.append(pool.submit(scan_file, spec, task))
                break
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _batches(tasks: list[FileTask], size: int) -> Iterator[list[FileTask]]:
    for start in range(0, len(tasks), size):
        yield tasks[start : start + size]


def run_dask(
    address: Any, spec: EngineSpec, tasks: list[FileTask], batch_size: int
) -> Iterator[Result]:
    """On the cluster at `address` (a scheduler URL, or a `distributed.Client`): one
    merged result per batch of `batch_size` files, in order."""
    from distributed import Client  # only for --dask

    client: Any = address
    if not isinstance(address, Client):
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
    try:
        heads = []
        # Everything is submitted at once: the scheduler balances the files; the merge
        # tree of each batch starts as soon as its leaves are done.
        for batch in _batches(tasks, max(1, batch_size)):
            level = [client.submit(scan_file, spec, task, pure=False) for task in batch]
            while len(level) > 1:
                nxt = [
                    client.submit(merge_results, level[i], level[i + 1], pure=False)
                    for i in range(0, len(level) - 1, 2)
                ]
                if len(level) % 2:
                    nxt.append(level[-1])
                level = nxt
            heads.append(level[0])
        for head in heads:
            yield head.result()
            head.release()
    finally:
        if client is not address:
            client.close()
