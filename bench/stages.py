"""Wall time by stage, measured by switching the later stages off one at a time.

    python bench/stages.py FILE [--repeat 3]

cProfile (`bench/run.py --profile`) adds a fixed cost to every Python call, so it charges
the stages with many small calls (the field scorer's loop, the classifiers) more than
they cost in a plain run. Here each variant is a plain scan in a child process of its
own (no caches carried over), timed around `dpi.api.scan_engine` (building the engine
and scanning; not the interpreter's start nor writing an output):

- `full`: the scan as `dpi scan` runs it;
- `no classifiers`: every value a miss (`ClassifierSet.memoized` answers no finding), so
  the classifiers never run and no hit is recorded;
- `values only`: each message's parts decoded into values by path (HTTP headers,
  cookies, the JSON walk: `FieldScorer._grouped_parts`), nothing scored;
- `messages only`: capture read, frame decode, TCP reassembly, the flow router and the
  dissectors; the messages are dropped.

The differences are the stages: classifiers (with recording their hits), the field
scorer's loop (shapes, evidence, settling, the memo), the payload walk, and reading to
messages. Each variant runs `--repeat` times; the fastest run counts (the machine's
noise only ever adds). Not a test: the figures depend on the machine. The variants
patch three internal functions by name: a rename there must be followed here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("full", "no classifiers", "values only", "messages only")


def _switch_off(variant: str) -> None:
    """Patch this process's engine for `variant` (run in the child only)."""
    from dpi.classify import ClassifierSet
    from dpi.field_scoring import FieldScorer

    if variant == "no classifiers":
        ClassifierSet.memoized = lambda self, value, plan, key: ()  # type: ignore[method-assign]
    elif variant == "values only":
        grouped = FieldScorer._grouped_parts

        def values_only(self: FieldScorer, inventory: object, flow: object, message: object,
                        names: object) -> None:
            grouped(self, message)  # type: ignore[arg-type]

        FieldScorer.score = values_only  # type: ignore[method-assign]
    elif variant == "messages only":
        FieldScorer.score = lambda *args: None  # type: ignore[method-assign]


def _child(variant: str, path: str) -> None:
    """One scan of `path` with `variant`'s stages off; prints its seconds as JSON."""
    sys.path.insert(0, str(ROOT))
    from dpi.api import scan_engine

    _switch_off(variant)
    started = time.perf_counter()
    engine = scan_engine([path])
    seconds = time.perf_counter() - started
    # What the variant left of the scan: the same messages, fewer rows (checked by
    # tests/test_bench_stages.py, so that a renamed function fails there, not here).
    print(json.dumps({"variant": variant, "seconds": seconds,
                      "messages": sum(engine.stats.messages.values()),
                      "fields": len(engine.inventory.fields),
                      "rows": len(engine.inventory.rows())}))


def measure(path: Path, repeat: int = 3) -> dict[str, float]:
    """The fastest of `repeat` runs of each variant, in seconds, the variants interleaved
    so that a slow minute of the machine hits all of them alike."""
    best = dict.fromkeys(VARIANTS, float("inf"))
    for _ in range(repeat):
        for variant in VARIANTS:
            out = subprocess.run(
                [sys.executable, __file__, "--child", variant, str(path)],
                capture_output=True, text=True, check=True, cwd=ROOT,
            )
            seconds = json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
            best[variant] = min(best[variant], seconds)
    return best


def split(best: dict[str, float]) -> dict[str, float]:
    """Seconds per stage from the variants' times (a difference below zero, the noise of
    a stage that costs nothing, shows as 0)."""
    stages = {
        "reading to messages": best["messages only"],
        "payload walk": best["values only"] - best["messages only"],
        "field scorer": best["no classifiers"] - best["values only"],
        "classifiers": best["full"] - best["no classifiers"],
    }
    return {name: max(0.0, seconds) for name, seconds in stages.items()}


def describe(best: dict[str, float]) -> str:
    total = best["full"]
    return ", ".join(f"{name} {seconds:.2f} s ({100 * seconds / total:.0f} %)"
                     for name, seconds in split(best).items()) + f"; whole scan {total:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", metavar="VARIANT", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, str(args.file))
        return 0
    print(describe(measure(args.file, args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
