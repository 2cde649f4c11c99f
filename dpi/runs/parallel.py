"""Runs per-file scan tasks in this process, in worker processes or on a Dask cluster.

Every runner yields partial results (`dpi/runs/worker.py`) in file order, so the caller folds
them left to right and the inventory is the same whatever ran where (`Inventory.merge`
is associative, ties keep the left side).

One big capture uses every core: a file larger than its fair share of the run (the
bytes to scan over the parallelism: the local jobs, or the cluster's threads) is split
into flow shards (`shard_tasks`, `dpi/runs/sharding.py`), as many as it needs up to the
parallelism, and each (file, shard) is a task. A file is at least `min_shard_bytes` per
shard: smaller ones are not worth reading twice. The shards of a file are merged
(`merge_shards`) before its result is yielded, so the caller only ever sees whole files:
with a state, a file is done when all its shards are, and a run that stops in between
scans the file again whole.

Locally at most `jobs * WINDOW_PER_JOB` tasks are in flight, so results that finished
early wait in a bounded buffer. Local runners yield results decoded (`Decoded`): the
shards of a file are decoded as each finishes, while the others still run, so that
what is left once the last worker is done is decoding its shard and the merges.

On Dask, files are grouped in batches; each batch is scanned in parallel (every shard
of every file a task), the shards of each file merged, then the files merged as a
binary tree on the cluster (in file order), and one merged result per batch comes
back: that is the unit the caller checkpoints.

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
import dataclasses
import logging
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from functools import partial
from multiprocessing import forkserver
from typing import Any

from dpi.build import EngineSpec
from dpi.runs.run_progress import RunProgress
from dpi.runs.shard_plan import ShardPlan, plan_shards
from dpi.runs.sources import is_url, local_copy
from dpi.runs.worker import (
    Decoded,
    FileTask,
    Result,
    decode_result,
    merge_decoded_shards,
    merge_results,
    merge_unit,
    report_reading,
    rescan_by_api,
    scan_file,
)

log = logging.getLogger(__name__)

# Files submitted ahead of the oldest unfinished one, per worker: enough to keep every
# worker busy while a long file holds the head of the queue, few enough that buffered
# partial inventories stay small.
WINDOW_PER_JOB = 4
# Smallest share of a file worth a shard of its own: each shard reads and decodes the
# whole file and builds its own engine, which a small file does not repay.
MIN_SHARD_BYTES = 1 << 20
# How long to try reaching a Dask scheduler before the run fails (exit 2).
DASK_CONNECT_TIMEOUT = "20s"
# linux/prctl.h
PR_SET_PDEATHSIG = 1
# Polling period of the run watch where a pidfd is not available.
WATCH_SECONDS = 0.5
# How often a waiting run reads the workers' count of bytes read, for its progress bar.
PROGRESS_SECONDS = 0.25


def _worker_init(run_pid: int, read: Any = None) -> None:
    """Initializer of every local worker process; `read`: the run's shared count of
    bytes read (`dpi/runs/run_progress.py`), None when nobody shows progress."""
    # Ctrl-C reaches the whole process group; the parent decides what to do with it,
    # workers just finish or get torn down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Unconfigured, a worker's warnings would reach stderr through logging's last-resort
    # handler, unfiltered: give them the run's value filter (dpi/logsetup.py).
    from dpi import logsetup

    logsetup.configure()
    die_with_parent()
    watch_run(run_pid)
    if read is not None:
        report_reading(partial(_count_read, read))


def _count_read(read: Any, count: float) -> None:
    with read.get_lock():
        read.value += count


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


def shard_counts(sizes: list[int], parallelism: int, min_shard_bytes: int | None = None) -> list[int]:
    """Shards per file: a file gets one per fair share of the run's bytes it holds (so
    one big file among small ones is split, equal files are not), at most
    `parallelism`, and no shard under `min_shard_bytes`."""
    if parallelism <= 1 or not sizes:
        return [1] * len(sizes)
    if min_shard_bytes is None:
        min_shard_bytes = MIN_SHARD_BYTES
    fair = max(1, sum(sizes) // parallelism)
    counts = []
    for size in sizes:
        wanted = -(-size // fair)  # ceiling
        if min_shard_bytes > 0:
            wanted = min(wanted, size // min_shard_bytes)
        counts.append(max(1, min(parallelism, wanted)))
    return counts


def shard_tasks(
    tasks: list[FileTask], parallelism: int, min_shard_bytes: int | None = None
) -> list[list[FileTask]]:
    """Per file, its tasks: the file itself, or one per flow shard, all with the file's
    one plan."""
    units = []
    for task, count in zip(tasks, shard_counts(bytes_to_read(tasks), parallelism, min_shard_bytes)):
        if count > 1:
            plan = _plan(task.location, count)
            units.append([dataclasses.replace(task, shard=i, shards=count, plan=plan)
                          for i in range(count)])  # fmt: skip
        else:
            units.append([task])
    return units


def bytes_to_read(tasks: list[FileTask]) -> list[int]:
    """The bytes each task has to scan (a grown file: what was appended)."""
    return [task.size - min(task.skip_bytes, task.size) for task in tasks]


def _plan(location: str, count: int) -> ShardPlan:
    """A local file's plan, made here once: workers that each made their own could
    disagree after a read error in one of them, and then read a server twice or never.
    An object (a URL) is split by API, which needs no plan: planning would mean fetching
    it here too."""
    if is_url(location):
        return ShardPlan(count)
    with local_copy(location) as path:  # the path itself for a local file
        return plan_shards(path, count)


def run_serial(
    spec: EngineSpec, tasks: list[FileTask], bar: RunProgress | None = None
) -> Iterator[Decoded]:
    for task, size in zip(tasks, bytes_to_read(tasks)):
        yield decode_result(scan_file(spec, task, bar.read if bar is not None else None))
        if bar is not None:
            bar.finished(size)


def run_local(
    spec: EngineSpec,
    tasks: list[FileTask],
    jobs: int,
    min_shard_bytes: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Decoded]:
    """`jobs` worker processes (forkserver: clean, and forked from a process that has
    already imported the engine); one decoded result per file, in file order. The
    bytes read go to `progress` as the workers read them."""
    sizes = bytes_to_read(tasks)
    bar = RunProgress(progress, sum(sizes)) if progress is not None else None
    if jobs <= 1 or sum(shard_counts(sizes, jobs, min_shard_bytes)) <= 1:
        yield from run_serial(spec, tasks, bar)
        return
    ctx = multiprocessing.get_context("forkserver")
    # The forkserver also builds one engine (dpi/runs/warm.py): what that loads is then
    # loaded once per run, not once per worker. It boots (an interpreter and those
    # imports, ~0.3 s of another core) while this process plans the split files.
    ctx.set_forkserver_preload(["dpi.runs.worker", "dpi.runs.warm"])
    forkserver.ensure_running()
    units = shard_tasks(tasks, jobs, min_shard_bytes)
    flat = [task for unit in units for task in unit]
    read = ctx.Value("d", 0.0) if bar is not None else None
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(flat)),
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(os.getpid(), read),
    )
    pending: deque[Future[Result]] = deque()
    queue = iter(flat)
    try:
        for task in queue:
            pending.append(pool.submit(scan_file, spec, task))
            if len(pending) >= jobs * WINDOW_PER_JOB:
                break
        for unit, size in zip(units, sizes):
            futures = [pending.popleft() for _ in unit]
            for task in queue:
                pending.append(pool.submit(scan_file, spec, task))
                if len(pending) >= jobs * WINDOW_PER_JOB:
                    break
            # Decoded in the order they finish (decoding is independent of the others),
            # merged in shard order.
            at = {future: i for i, future in enumerate(futures)}
            shards: list[Decoded | None] = [None] * len(futures)
            waiting: set[Future[Result]] = set(futures)
            while waiting:
                finished, waiting = wait(waiting, PROGRESS_SECONDS, FIRST_COMPLETED)
                for future in finished:
                    shards[at[future]] = decode_result(future.result())
                if bar is not None and read is not None:
                    bar.reached(read.value)
            done = [shard for shard in shards if shard is not None]
            merged = merge_decoded_shards(done) if len(done) > 1 else done[0]
            again = rescan_by_api(unit, merged)
            if again:  # rare: Kafka past the plan's sample (the pool runs it behind the rest)
                log.info("%s: Kafka found past the sample, scanned again split by API",
                         unit[0].location)  # fmt: skip
                rescans = [pool.submit(scan_file, spec, task) for task in again]
                merged = merge_decoded_shards([decode_result(f.result()) for f in rescans])
            if bar is not None:
                bar.finished(size)
            yield merged
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _batches(units: list[list[FileTask]], size: int) -> Iterator[list[list[FileTask]]]:
    for start in range(0, len(units), size):
        yield units[start : start + size]


def cluster_threads(client: Any) -> int:
    """The parallelism of a Dask cluster: its workers' threads (at least 1)."""
    workers = client.scheduler_info().get("workers", {})
    return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))


def run_dask(
    address: Any,
    spec: EngineSpec,
    tasks: list[FileTask],
    batch_size: int,
    min_shard_bytes: int | None = None,
) -> Iterator[Result]:
    """On the cluster at `address` (a scheduler URL, or a `distributed.Client`): one
    merged result per batch of `batch_size` files, in order; big files in flow shards
    over the cluster's threads."""
    from distributed import Client  # only for --dask

    client: Any = address
    if not isinstance(address, Client):
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
    try:
        heads = []
        # Everything is submitted at once: the scheduler balances the files; the merge
        # tree of each batch starts as soon as its leaves are done.
        units = shard_tasks(tasks, cluster_threads(client), min_shard_bytes)
        for batch in _batches(units, max(1, batch_size)):
            level = []
            for unit in batch:
                shards = [client.submit(scan_file, spec, task, pure=False) for task in unit]
                if len(shards) > 1:
                    shards = [client.submit(merge_unit, spec, unit, *shards, pure=False)]
                level.extend(shards)
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
