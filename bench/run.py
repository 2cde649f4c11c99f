"""The speed benchmark: `dpi scan` against tshark on the same large captures, same run.

    python bench/run.py [--size-mb 100] [--workload both|own|shared] [--jobs 1 2] [--profile]
                        [--stages] [--floor]
    python bench/run.py --file F [--keep] [--json OUT]
    python bench/run.py --memory-series 50 100 200
    python bench/run.py --verify --size-mb 20      # checks our generator with tshark

Two workloads, generated afresh: `own` is `bench/make_capture.py` (large bodies from
reused templates), `shared` is `bench/workloads/make_http_pcap.py`, the small-message
microservice workload the project did not write for its own code. On each it measures,
each as a child process: wall time, CPU time, MB/s, packets/s and the child's peak RSS
(from `os.wait4`, which reports the rusage of that one child, so dpi and tshark never
mix their peaks as RUSAGE_CHILDREN would):
1. `dpi scan FILE --out /dev/null --jobs N` for each N of `--jobs` (one file: N > 1
   shards its flows over N processes);
2. when tshark is installed, the reference command of the shared bench (`TSHARK_ARGS`):
   it reassembles out-of-order segments and decodes every HTTP body.
Then `dpi scan samples/rest-shop.pcap` (start-up cost), and with `--profile` a cProfile
of one in-process scan, its own time split by pipeline stage (`STAGES`); with `--stages`
the wall time by stage, measured by switching the later stages off (`bench/stages.py`:
no profiler's cost per call); with `--floor` the floor (`bench/floor.py`: the least a
pure-Python scan of this traffic does, with and without matching values) in the same run,
as two more rows of the table.

`--memory-series` runs dpi on captures of several sizes to show that peak memory does
not grow with the file. `--verify` checks a generated capture with tshark instead (the
HTTP requests counted, every response body decoded to JSON, gzip and chunked included).

Not a test: numbers depend on the machine. The capture goes to bench/out/ (ignored by
git) and is removed afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT_DIR = HERE / "out"
# make_capture is a sibling script, not a package module.
sys.path.insert(0, str(HERE))

import make_capture
import stages

SHARED_GENERATOR = HERE / "workloads" / "make_http_pcap.py"
# The reference tshark command of the shared bench (bench/workloads, its README).
TSHARK_ARGS = ["-o", "tcp.reassemble_out_of_order:TRUE", "-Y", "http", "-T", "fields",
               "-e", "http.request.uri", "-e", "http.file_data"]
SMALL_SAMPLE = ROOT / "samples" / "rest-shop.pcap"
# Own time of a function, by the file it is in: (stage, path fragments), first match wins.
STAGES = (
    ("capture read", ("dpi/capture.py", "dpi/runs/sources.py", "gzip.py", "zstandard")),
    ("frame decode", ("dpi/decode.py", "dpi/ipfrag.py")),
    ("tcp reassembly", ("dpi/reassembly.py",)),
    ("payload walk", ("protocols/payload.py", "orjson", "json/")),
    ("dissectors", ("protocols/",)),
    ("classification", ("classifiers/", "dpi/classify.py", "phonenumbers", "/re/", "stdnum")),
    ("inventory", ("dpi/inventory.py", "dpi/masking.py", "dpi/identifiers.py", "dpi/outputs/contract.py")),
    ("engine", ("dpi/engine.py", "dpi/flows.py", "dpi/field_scoring.py", "dpi/layers.py", "dpi/tls/")),
)

STDERR_TAIL = 1500  # characters of a failing child's stderr worth showing


def dpi_command() -> list[str]:
    """The `dpi` program of this tree: its main() through this interpreter, run from the
    tree's root (`measure`), so that it imports this tree's code. An installed `dpi`
    entry point could be another checkout's (an editable install of another worktree):
    a run of the tenth round measured the main tree while meaning a branch."""
    return [sys.executable, "-c", "import sys; from dpi.cli import main; sys.exit(main())"]


def count_packets(path: Path) -> int:
    """Record count of a classic pcap (used when there is no generator metadata)."""
    with open(path, "rb") as f:
        magic = f.read(24)[:4]
        endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        rec = struct.Struct(endian + "IIII")
        n = 0
        while True:
            header = f.read(16)
            if len(header) < 16:
                return n
            f.seek(rec.unpack(header)[2], os.SEEK_CUR)
            n += 1


def capture_info(path: Path) -> dict[str, Any]:
    meta_path = Path(str(path) + ".meta.json")
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("bytes") == path.stat().st_size:
            return meta
    return {"file": str(path), "bytes": path.stat().st_size, "packets": count_packets(path)}


# Runs the measured command from a small fresh interpreter and prints its rusage as JSON.
# Linux keeps the high-water RSS of a process across exec, so a tool forked straight from
# this (large, after an in-process profile) process would report this process's size as
# its own peak; forked from the small launcher, it reports its own.
_LAUNCHER = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss,
                  "cpu_s": usage.ru_utime + usage.ru_stime}))
"""


def measure(name: str, cmd: list[str], info: dict[str, Any]) -> dict[str, Any]:
    """Runs `cmd` once, stdout discarded; wall time and the command's own peak RSS."""
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], cwd=ROOT,
                              capture_output=True, check=False)
    except OSError as exc:
        return {"tool": name, "ok": False, "error": f"cannot start: {exc}"}
    wall = time.perf_counter() - started
    stderr = proc.stderr
    try:
        launched = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        text = stderr.decode("utf-8", "replace").strip()
        return {"tool": name, "ok": False, "error": f"cannot start: {text[-STDERR_TAIL:]}"}
    proc.returncode = launched["exit"]
    mb = info["bytes"] / 1e6
    result = {
        "tool": name, "ok": proc.returncode == 0, "exit": proc.returncode,
        "wall_s": round(wall, 3), "mb": round(mb, 1), "mb_per_s": round(mb / wall, 2),
        "packets": info["packets"], "packets_per_s": round(info["packets"] / wall),
        # ru_maxrss is in kilobytes on Linux
        "peak_rss_mb": round(launched["maxrss_kb"] / 1024, 1),
        "cpu_s": round(launched["cpu_s"], 3),
    }
    if proc.returncode != 0:
        text = stderr.decode("utf-8", "replace").strip()
        result["error"] = text[-STDERR_TAIL:] or "(no stderr)"
    return result


def run_dpi(path: Path, info: dict[str, Any], extra: list[str], jobs: int = 1,
            name: str = "dpi", out: Path | None = None) -> dict[str, Any]:
    jobs_args = ["--jobs", str(jobs)] if jobs > 1 else []
    return measure(name, [*dpi_command(), "scan", str(path), "--out", str(out or os.devnull),
                          "--no-progress", *jobs_args, *extra], info)


def compare_outputs(path: Path, outputs: dict[int, Path]) -> dict[str, Any]:
    """Whether the inventories of the --jobs runs are the same bytes (the issue asks for
    it), and how dpi splits this file over the most workers asked for."""
    from dpi.runs.shard_plan import plan_shards

    texts = {jobs: out.read_bytes() for jobs, out in outputs.items() if out.is_file()}
    first = next(iter(texts.values()), b"")
    rows = first.count(b"\n") - 1
    differing = {jobs: len(set(text.splitlines()) ^ set(first.splitlines())) // 2
                 for jobs, text in texts.items()}
    most = max(outputs)
    split = "one process"
    if most > 1:
        split = "by server" if plan_shards(path, most).by_server else "by API"
    return {"identical": len(texts) == len(outputs) and not any(differing.values()),
            "rows": rows, "rows_differing": differing, "split": split}


def run_floor(path: Path, info: dict[str, Any]) -> list[dict[str, Any]]:
    """bench/floor.py on `path`, whole and framing only, as rows of the table."""
    floor = [sys.executable, str(HERE / "floor.py"), str(path)]
    return [measure("floor", floor, info),
            measure("floor framing", [*floor, "--framing-only"], info)]


def run_tshark(path: Path, info: dict[str, Any]) -> dict[str, Any] | None:
    tshark = shutil.which("tshark")
    if tshark is None:
        return None
    return measure("tshark", [tshark, "-n", "-r", str(path), *TSHARK_ARGS], info)


def ensure_capture(size_mb: float, seed: int) -> tuple[Path, dict[str, Any]]:
    OUT_DIR.mkdir(exist_ok=True)
    path = OUT_DIR / f"bench-{size_mb:g}mb-seed{seed}.pcap"
    started = time.perf_counter()
    meta = make_capture.generate(path, size_mb, seed)
    print(f"generated {path.relative_to(ROOT)}: {meta['bytes'] / 1e6:.1f} MB, "
          f"{meta['packets']} packets, {meta['connections']} connections, "
          f"{meta['http_requests']} requests in {time.perf_counter() - started:.1f} s",
          flush=True)
    return path, meta


def ensure_shared_capture(size_mb: float, seed: int) -> tuple[Path, dict[str, Any]]:
    """The shared workload, written by its own generator (a child process: it is a
    script, and its bytes must not depend on this interpreter's state)."""
    OUT_DIR.mkdir(exist_ok=True)
    path = OUT_DIR / f"shared-{size_mb:g}mb-seed{seed}.pcap"
    started = time.perf_counter()
    subprocess.run([sys.executable, str(SHARED_GENERATOR), f"{size_mb:g}", str(path),
                    "--seed", str(seed)], check=True, stdout=subprocess.DEVNULL)
    info = capture_info(path)
    print(f"generated {path.relative_to(ROOT)} (shared workload): {info['bytes'] / 1e6:.1f} MB, "
          f"{info['packets']} packets in {time.perf_counter() - started:.1f} s", flush=True)
    return path, info


def stage_of(filename: str) -> str:
    for stage, fragments in STAGES:
        if any(f in filename for f in fragments):
            return stage
    return "other"


def profile_split(path: Path) -> dict[str, float]:
    """Own time per pipeline stage of one in-process scan (cProfile: slower than a plain
    run, so only the shares mean something)."""
    import cProfile
    import pstats

    from dpi.api import scan_engine

    profiler = cProfile.Profile()
    profiler.enable()
    scan_engine(path)
    profiler.disable()
    stats = pstats.Stats(profiler)
    split: dict[str, float] = {}
    for (filename, _, _), (_, _, own, _, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if filename == "~" and callers:
            # A builtin (regex match, dict ops, bytes.find): its time belongs to the
            # stages that called it, in proportion to the time each call site spent in it.
            total = sum(c[2] for c in callers.values()) or 1.0
            for (caller_file, _, _), c in callers.items():
                stage = stage_of(caller_file)
                split[stage] = split.get(stage, 0.0) + own * c[2] / total
            continue
        stage = stage_of(filename)
        split[stage] = split.get(stage, 0.0) + own
    total = sum(split.values()) or 1.0
    return {k: round(100 * v / total, 1) for k, v in sorted(split.items(), key=lambda kv: -kv[1])}


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    Path(str(path) + ".meta.json").unlink(missing_ok=True)


def print_table(results: list[dict[str, Any]]) -> None:
    print(f"\n{'tool':<14}{'MB':>8}{'wall s':>9}{'CPU s':>9}{'MB/s':>9}{'packets/s':>12}"
          f"{'peak RSS MB':>13}")
    for r in results:
        if not r.get("ok"):
            print(f"{r['tool']:<14} FAILED (exit {r.get('exit', '-')})")
            continue
        print(f"{r['tool']:<14}{r['mb']:>8.1f}{r['wall_s']:>9.2f}{r['cpu_s']:>9.2f}"
              f"{r['mb_per_s']:>9.1f}"
              f"{r['packets_per_s']:>12,}{r['peak_rss_mb']:>13.1f}")
    ok = {r["tool"]: r for r in results if r.get("ok")}
    if "tshark" in ok:
        for name, r in ok.items():
            if name.startswith(("dpi", "floor")):
                ratio = ok["tshark"]["wall_s"] / r["wall_s"]
                print(f"{name} is {ratio:.2f}x tshark's speed (tshark wall / {name} wall)")
    for r in results:
        if not r.get("ok"):
            print(f"\n{r['tool']} failed; its stderr ends with:\n{r.get('error', '')}",
                  file=sys.stderr)
            if r["tool"].startswith("dpi"):
                print("(the engine may not be complete yet: run `dpi scan FILE` by hand to see "
                      "why; the tshark figures above stand on their own)", file=sys.stderr)


def verify(path: Path, meta: dict[str, Any]) -> bool:
    """tshark sees every generated request and decodes every response body to JSON."""
    tshark = shutil.which("tshark")
    if tshark is None:
        print("tshark is not installed: nothing to verify against", file=sys.stderr)
        return False
    # Reordered segments exist on purpose; tshark only reassembles them when asked.
    base = [tshark, "-n", "-r", str(path), "-o", "tcp.reassemble_out_of_order:TRUE"]
    req = subprocess.run([*base, "-Y", "http.request", "-T", "fields",
                          "-e", "http.request.method", "-E", "occurrence=a"],
                         capture_output=True, text=True, check=False)
    requests = sum(len([m for m in line.split(",") if m]) for line in req.stdout.splitlines())
    resp = subprocess.run([*base, "-Y", "http.response", "-T", "fields",
                           "-e", "http.content_encoding", "-e", "http.transfer_encoding",
                           "-e", "http.file_data"], capture_output=True, text=True, check=False)
    responses = gz = chunked = bad = 0
    for line in resp.stdout.splitlines():
        encoding, transfer, body = line.split("\t", 2)
        responses += 1
        gz += "gzip" in encoding
        chunked += "chunked" in transfer
        try:
            json.loads(body)
        except ValueError:
            bad += 1
    checks = {
        "requests": (requests, meta["http_requests"]),
        "responses": (responses, meta["http_responses"]),
        "gzip responses": (gz, meta["gzip_responses"]),
        "chunked responses": (chunked, meta["chunked_responses"]),
        "bodies not decoding to JSON": (bad, 0),
    }
    ok = req.returncode == 0 and resp.returncode == 0
    for name, (seen, expected) in checks.items():
        mark = "ok" if seen == expected else "MISMATCH"
        ok &= seen == expected
        print(f"{name:<30} tshark {seen:>8}  generator {expected:>8}  {mark}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--workload", choices=("both", "own", "shared"), default="both",
                        help="which generated capture(s) to measure (default both)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], metavar="N",
                        help="dpi --jobs values to run on each file (default 1 2)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one in-process scan and split its time by stage")
    parser.add_argument("--stages", action="store_true",
                        help="also time plain scans with the later stages switched off "
                             "(bench/stages.py) and split the wall time by stage")
    parser.add_argument("--floor", action="store_true",
                        help="also time bench/floor.py (the least a Python scan does) on "
                             "each file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--file", type=Path, help="benchmark this capture instead of generating")
    parser.add_argument("--keep", action="store_true", help="keep the generated capture(s)")
    parser.add_argument("--json", type=Path, help="append the results as one JSON line here")
    parser.add_argument("--no-tshark", action="store_true", help="skip the tshark baseline")
    parser.add_argument("--dpi-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for `dpi scan` (repeatable)")
    parser.add_argument("--memory-series", type=float, nargs="*", metavar="MB",
                        help="run dpi on captures of these sizes (default 50 100 200)")
    parser.add_argument("--verify", action="store_true",
                        help="check the generated capture with tshark instead of timing")
    args = parser.parse_args(argv)

    record: dict[str, Any] = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              "host_cpus": os.cpu_count()}
    status = 0
    if args.memory_series is not None:
        series = []
        for size in args.memory_series or [50.0, 100.0, 200.0]:
            path, meta = ensure_capture(size, args.seed)
            result = run_dpi(path, meta, args.dpi_arg)
            series.append(result)
            if not args.keep:
                remove(path)
            if not result["ok"]:
                print_table([result])
                status = 1
                break
            print(f"{size:>7g} MB: {result['wall_s']:.2f} s, peak RSS "
                  f"{result['peak_rss_mb']:.1f} MB", flush=True)
        record["memory_series"] = series
    elif args.verify:
        path, info = ensure_capture(args.size_mb, args.seed)
        try:
            status = 0 if verify(path, info) else 1
            record["verify"] = status == 0
        finally:
            if not args.keep:
                remove(path)
    else:
        if args.file:
            targets = [("file", args.file)]
        else:
            targets = [(w, None) for w in ("own", "shared") if args.workload in ("both", w)]
        record["workloads"] = []
        for workload, given in targets:
            if given is not None:
                path, info = given, capture_info(given)
            elif workload == "own":
                path, info = ensure_capture(args.size_mb, args.seed)
            else:
                path, info = ensure_shared_capture(args.size_mb, args.seed)
            try:
                status |= measure_workload(workload, path, info, args, record)
            finally:
                if given is None and not args.keep:
                    remove(path)
        small = run_dpi(SMALL_SAMPLE, capture_info(SMALL_SAMPLE), args.dpi_arg,
                        name="dpi rest-shop")
        print(f"\nsmall sample {SMALL_SAMPLE.name}: {small['wall_s']:.2f} s, peak RSS "
              f"{small['peak_rss_mb']:.1f} MB")
        record["small_sample"] = small
    if args.json:
        with open(args.json, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    return status


def measure_workload(workload: str, path: Path, info: dict[str, Any],
                     args: argparse.Namespace, record: dict[str, Any]) -> int:
    """dpi with each --jobs value and tshark on one capture; prints the table."""
    print(f"\n== workload {workload}: {path.name}", flush=True)
    OUT_DIR.mkdir(exist_ok=True)
    outputs = {jobs: OUT_DIR / f"{path.stem}.jobs{jobs}.csv" for jobs in args.jobs}
    results = [run_dpi(path, info, args.dpi_arg, jobs, f"dpi --jobs {jobs}", outputs[jobs])
               for jobs in args.jobs]
    if not args.no_tshark:
        tshark = run_tshark(path, info)
        if tshark is None:
            print("tshark is not installed: no baseline", file=sys.stderr)
        else:
            results.append(tshark)
    if args.floor:
        results.extend(run_floor(path, info))
    print_table(results)
    same = compare_outputs(path, outputs)
    for out in outputs.values():
        out.unlink(missing_ok=True)
    verdict = "identical" if same["identical"] else f"DIFFERENT (rows differing: {same['rows_differing']})"
    split = f"; one file on {max(args.jobs)} workers is split {same['split']}"
    print(f"inventories of --jobs {', '.join(map(str, args.jobs))}: {verdict}, "
          f"{same['rows']} rows{split if max(args.jobs) > 1 else ''}")
    entry: dict[str, Any] = {
        "workload": workload,
        "capture": {k: info.get(k) for k in ("file", "bytes", "packets", "connections",
                                             "http_requests")},
        "results": results,
        "outputs": same,
    }
    if args.profile:
        entry["profile_split_pct"] = split = profile_split(path)
        print("profile (own time by stage): "
              + ", ".join(f"{k} {v:.1f} %" for k, v in split.items()))
    if args.stages:
        best = stages.measure(path)
        entry["stages_s"] = stages.split(best) | {"whole scan": best["full"]}
        print("wall time by stage (stages switched off, fastest of 3): " + stages.describe(best))
    record["workloads"].append(entry)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
