"""Worker processes of `dpi scan --jobs N` die with the run, even when it is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.builders.capture_sets import write_set

ROOT = Path(__file__).resolve().parents[2]

# Imported by every Python process of the test run (the dpi run, its forkserver and the
# workers forked from it): makes each file's scan sleep first, so the workers are busy
# when the run is killed. Test-only: nothing in dpi knows about it.
SLOW_SCAN = """
import os
import time

import dpi.runs.scanner as _scanner

_scan_inputs = _scanner.scan_inputs


def _slow(*args, **kwargs):
    time.sleep(float(os.environ["DPI_TEST_SLOW_SCAN"]))
    return _scan_inputs(*args, **kwargs)


_scanner.scan_inputs = _slow
"""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _descendants(pid: int) -> set[int]:
    tree = _children()
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and PR_SET_PDEATHSIG")
def test_workers_are_gone_within_seconds_of_a_sigkill_of_the_run(tmp_path: Path) -> None:
    captures = tmp_path / "c"
    write_set(captures, 4)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SLOW_SCAN)
    env = os.environ | {"PYTHONPATH": f"{hook}{os.pathsep}{ROOT}", "DPI_TEST_SLOW_SCAN": "120"}
    run = subprocess.Popen(
        [sys.executable, "-m", "dpi", "scan", str(captures), "--jobs", "2", "--no-progress", "-q"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and run.poll() is None:
            # The workers are the forkserver's children: the run's grandchildren.
            workers = {g for c in _children().get(run.pid, []) for g in _children().get(c, [])}
            if len(workers) >= 2:
                break
            time.sleep(0.05)
        assert len(workers) >= 2, "the workers did not start"
        time.sleep(0.5)  # past the initializer: the workers are scanning (sleeping)
        started = _descendants(run.pid)
        run.kill()  # SIGKILL: no handler, no cleanup in the run
        run.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(p) for p in started):
            time.sleep(0.05)
        left = [p for p in started if _alive(p)]
        assert left == [], f"{len(left)} of {len(started)} processes of the run outlived it"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for pid in started:  # only the processes this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


WATCHER = """
import os, sys, time
from dpi.runs import parallel
if sys.argv[2] == "poll":
    def _no_pidfd(pid):
        raise OSError("no pidfd here")
    os.pidfd_open = _no_pidfd
parallel.watch_run(int(sys.argv[1]))
print("watching", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("how", ["pidfd", "poll"])
def test_the_run_watch_ends_the_worker_when_the_run_ends(how: str) -> None:
    run = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    worker = subprocess.Popen([sys.executable, "-c", WATCHER, str(run.pid), how], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "watching"
        time.sleep(0.2)
        assert worker.poll() is None  # the run is alive: the worker goes on
        run.kill()
        run.wait()
        assert worker.wait(timeout=5) == 1
    finally:
        for proc in (run, worker):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
