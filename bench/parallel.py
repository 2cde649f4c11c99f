"""Speed-up of `dpi scan --jobs N` over `--jobs 1` on a set of rotated captures.

    python bench/parallel.py                       # 4 x 50 MB, --jobs 1 then --jobs 2
    python bench/parallel.py --files 8 --size-mb 25 --jobs 2 4 --repeat 3
    python bench/parallel.py --dir DIR             # an existing directory of captures

Each run is one `dpi scan DIR --jobs N --no-progress -q -o OUT` child. Reported per run:
wall time, CPU seconds of the whole process tree (sampled with psutil every 0.1 s, since
forkserver workers are not reaped by the scan process and escape `wait4`), the CPU share
obtained (CPU / wall: 2.0 means two cores busy), and the load average at the start. The
speed-up is wall(--jobs 1) / wall(--jobs N), medians over `--repeat` runs; on a shared
machine read it next to the CPU share, which says how many cores the scan really got.
The outputs of all runs must be identical (the parallel merge is exact); run.py checks.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent


def _tree_cpu(proc: psutil.Process, seen: dict[int, float]) -> None:
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return
    for p in procs:
        try:
            t = p.cpu_times()
            seen[p.pid] = max(seen.get(p.pid, 0.0), t.user + t.system)
        except psutil.Error:
            continue


def run_once(directory: Path, jobs: int, out: Path) -> dict[str, float]:
    load = os.getloadavg()[0]
    cmd = [sys.executable, "-m", "dpi", "scan", str(directory), "--jobs", str(jobs),
           "--no-progress", "-q", "-o", str(out)]
    started = time.monotonic()
    child = subprocess.Popen(cmd, cwd=HERE.parent)
    proc = psutil.Process(child.pid)
    cpu: dict[int, float] = {}
    while child.poll() is None:
        _tree_cpu(proc, cpu)
        time.sleep(0.1)
    wall = time.monotonic() - started
    if child.returncode != 0:
        raise SystemExit(f"dpi scan --jobs {jobs} failed ({child.returncode})")
    total = sum(cpu.values())
    return {"wall": wall, "cpu": total, "share": total / wall, "load": load}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="existing directory of captures")
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--size-mb", type=float, default=50.0)
    parser.add_argument("--jobs", type=int, nargs="+", default=[2])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dpi-parallel-"))
    try:
        directory = args.dir
        if directory is None:
            directory = tmp / "captures"
            directory.mkdir()
            for i in range(args.files):
                subprocess.run([sys.executable, str(HERE / "make_capture.py"),
                                str(directory / f"mirror-{i:03d}.pcap"), "--size-mb",
                                str(args.size_mb), "--seed", str(i + 1)],
                               check=True, stdout=subprocess.DEVNULL)
                (directory / f"mirror-{i:03d}.pcap.meta.json").unlink(missing_ok=True)
        size = sum(p.stat().st_size for p in directory.iterdir()) / 1e6
        print(f"{len(list(directory.iterdir()))} files, {size:.0f} MB, {os.cpu_count()} cores")
        results: dict[int, list[dict[str, float]]] = {}
        outputs = set()
        for _ in range(args.repeat):
            for jobs in [1, *args.jobs]:
                out = tmp / f"out-{jobs}.csv"
                r = run_once(directory, jobs, out)
                results.setdefault(jobs, []).append(r)
                outputs.add(out.read_bytes())
                print(f"--jobs {jobs}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU, "
                      f"CPU share {r['share']:.2f}, load {r['load']:.1f} at start")
        base = statistics.median(r["wall"] for r in results[1])
        for jobs in args.jobs:
            wall = statistics.median(r["wall"] for r in results[jobs])
            share = statistics.median(r["share"] for r in results[jobs])
            print(f"speed-up --jobs {jobs}: {base / wall:.2f}x (median wall {wall:.1f} s vs "
                  f"{base:.1f} s; median CPU share {share:.2f})")
        print("outputs identical" if len(outputs) == 1 else "OUTPUTS DIFFER")
        return 0 if len(outputs) == 1 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
