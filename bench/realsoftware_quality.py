"""Detection quality on traffic from real client and server software, field level.

    python bench/realsoftware_quality.py                  # all parts: tables, misses, FPs
    python bench/realsoftware_quality.py --parts rest     # only some (rest grpc mysql kafka)
    python bench/realsoftware_quality.py --json OUT --keep DIR

Known data through real software: `bench/realsoftware_messages.py` builds REST, gRPC,
MySQL and Kafka messages (fixed seed) from hand-written values that are not from the
project's lists or generators (`bench/realsoftware_values.py`); `bench/realsoftware_traffic.py`
sends them through Python's http.server and urllib, grpcio, MariaDB with
mysql-connector-python, and kafka-python with the stand-in broker, while tcpdump records
`lo`. dpi then scans the captures (`dpi.scan`, the gRPC services' `.proto` given as
`--proto` would give it) and every inventory row is compared with the ground truth
`bench/realsoftware_truth.csv`: one row per field sent, with the data type an analyst
reports for it or none. The truth was written, and committed, before dpi first ran on
this traffic; the bench refuses to score when the fields sent and the truth disagree.

Keys as bench/heldout_quality.py compares them (placeholders by position, field paths
case-insensitive, `[]` ignored). A row whose key is in the truth is a true positive;
any other row is a false positive: on a field the truth says is not sensitive, on a
sensitive field with another type, or on a field the bench did not send (a header the
library added). A sensitive field no row matches is a miss.

Only keys are printed, never a value or a sample: the inventory is sensitive.
Needs root and tcpdump; parts whose software is missing are skipped and named.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.heldout_quality import Evaluation, Key, evaluate, normalise
from bench.realsoftware_messages import Field, Traffic, build
from bench.realsoftware_traffic import (
    PROTO,
    Unavailable,
    can_capture,
    run_grpc,
    run_kafka,
    run_mysql,
    run_rest,
)

TRUTH = Path(__file__).resolve().parent / "realsoftware_truth.csv"
PARTS = ("rest", "grpc", "mysql", "kafka")
# The truth's protocol column per part.
PROTOCOL = {"rest": "http", "grpc": "grpc", "mysql": "mysql", "kafka": "kafka"}
CAPTURE = ""  # keys carry no capture name: the parts' captures are scanned as one


def field_key(f: Field) -> tuple[str, ...]:
    """A field's key without its data type (normalised as the labels are)."""
    return normalise(CAPTURE, *f, "")[:6]


@dataclass
class Truth:
    sensitive: dict[Key, str]  # key -> note
    fields: set[tuple[str, ...]]  # every field sent, sensitive or not

    @classmethod
    def load(cls, path: Path, protocols: set[str]) -> Truth:
        sensitive: dict[Key, str] = {}
        fields: set[tuple[str, ...]] = set()
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["protocol"] not in protocols:
                    continue
                f = (row["protocol"], row["api"], row["direction"], row["location"], row["field"])
                fields.add(field_key(f))
                if row["data_type"]:
                    sensitive[normalise(CAPTURE, *f, row["data_type"])] = row["note"]
        return cls(sensitive, fields)


def disagreement(traffic: Traffic, parts: tuple[str, ...], truth: Truth) -> list[str]:
    """Fields sent that the truth lacks, and truth rows for fields not sent."""
    sent = {field_key(f) for f in traffic.fields(parts)}
    return ([f"sent, not in the truth: {' | '.join(k)}" for k in sorted(sent - truth.fields)] +
            [f"in the truth, not sent: {' | '.join(k)}" for k in sorted(truth.fields - sent)])


def capture(traffic: Traffic, parts: tuple[str, ...], workdir: Path) -> tuple[list[Path], dict[str, str]]:
    """One capture per part; parts that cannot run are returned with the reason."""
    captures: list[Path] = []
    skipped: dict[str, str] = {}
    for part in parts:
        pcap = workdir / f"realsoftware-{part}.pcap"
        try:
            if part == "rest":
                run_rest(traffic.rest, pcap)
            elif part == "grpc":
                run_grpc(traffic.grpc, pcap, workdir)
            elif part == "mysql":
                run_mysql(traffic.mysql, pcap)
            else:
                run_kafka(traffic.kafka, pcap)
        except Unavailable as exc:
            skipped[part] = str(exc)
            continue
        captures.append(pcap)
    return captures, skipped


def scan(captures: list[Path]) -> set[Key]:
    import dpi

    frame = dpi.scan(captures, proto=[PROTO])
    return {normalise(CAPTURE, str(r.protocol), str(r.api), str(r.direction), str(r.location),
                      str(r.field), str(r.data_type)) for r in frame.itertuples(index=False)}


@dataclass
class Result:
    parts: tuple[str, ...]
    skipped: dict[str, str]
    truth: Truth
    overall: Evaluation
    per_protocol: dict[str, Evaluation]
    seconds: float

    def fp_kind(self, key: Key) -> str:
        """Why a row is a false positive: what the truth says about its field."""
        field = key[:6]
        if field not in self.truth.fields:
            return "field not sent by the bench"
        types = [k[6] for k in self.truth.sensitive if k[:6] == field]
        return f"field is {'/'.join(types)}" if types else "field is not sensitive"


def measure(parts: tuple[str, ...] = PARTS, keep: Path | None = None) -> Result:
    """Run the traffic, scan it and score it. Raises Unavailable when nothing can be captured
    and ValueError when the fields sent and the truth disagree."""
    started = time.monotonic()
    reason = can_capture()
    if reason:
        raise Unavailable(reason)
    traffic = build()
    truth = Truth.load(TRUTH, {PROTOCOL[p] for p in parts})
    problems = disagreement(traffic, parts, truth)
    if problems:
        raise ValueError("the ground truth does not cover the traffic:\n" + "\n".join(problems))
    with tempfile.TemporaryDirectory(prefix="dpi-realsoftware-") as tmp:
        workdir = Path(keep) if keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        captures, skipped = capture(traffic, parts, workdir)
        if not captures:
            raise Unavailable("no part could run: " + "; ".join(skipped.values()))
        found = scan(captures)
    ran = {PROTOCOL[p] for p in parts if p not in skipped}
    truth = Truth.load(TRUTH, ran)
    found = {k for k in found if k[1] in ran}
    per_protocol = {
        protocol: evaluate({k for k in found if k[1] == protocol},
                           {k: n for k, n in truth.sensitive.items() if k[1] == protocol}, {})
        for protocol in sorted(ran)}
    return Result(parts, skipped, truth, evaluate(found, truth.sensitive, {}), per_protocol,
                  time.monotonic() - started)


def _table(title: str, evaluation: Evaluation, per_type: bool = True) -> list[str]:
    lines = [title, f"{'data_type':<24}{'prec':>8}{'recall':>8}{'tp':>6}{'fp':>6}{'fn':>6}"]
    rows = sorted(evaluation.per_type.items()) if per_type else []
    for name, c in [*rows, ("OVERALL", evaluation.overall)]:
        lines.append(f"{name:<24}{c.precision:>8.3f}{c.recall:>8.3f}{c.tp:>6}{c.fp:>6}{c.fn:>6}")
    return lines


def key_text(key: Key) -> str:
    return " | ".join(key[1:])


def render(result: Result) -> str:
    sensitive = len(result.truth.sensitive)
    plain = len(result.truth.fields) - len({k[:6] for k in result.truth.sensitive})
    out = [(f"traffic from real software: parts {', '.join(result.parts)}; "
            f"{len(result.truth.fields)} fields sent, {sensitive} sensitive (field, type) labels, "
            f"{plain} non-sensitive fields; {result.seconds:.0f} s"), ""]
    for part, reason in result.skipped.items():
        out.append(f"skipped {part}: {reason}")
    out += [*_table("ALL PROTOCOLS", result.overall), ""]
    for protocol, evaluation in result.per_protocol.items():
        out += [*_table(protocol, evaluation, per_type=False), ""]
    out.append(f"missed ({len(result.overall.missed)}):")
    out += [f"  {key_text(k)}" for k in result.overall.missed] or ["  none"]
    out.append(f"false positives ({len(result.overall.false_positives)}):")
    out += [f"  {key_text(k)}   [{result.fp_kind(k)}]" for k in result.overall.false_positives] \
        or ["  none"]
    return "\n".join(out)


def figures(result: Result) -> dict[str, object]:
    def block(evaluation: Evaluation) -> dict[str, object]:
        return {"overall": evaluation.overall.as_dict(),
                "per_type": {t: c.as_dict() for t, c in sorted(evaluation.per_type.items())}}
    return {
        "parts": list(result.parts), "skipped": result.skipped,
        "fields_sent": len(result.truth.fields), "sensitive_labels": len(result.truth.sensitive),
        "label_counts": dict(sorted(Counter(k[6] for k in result.truth.sensitive).items())),
        "all": block(result.overall),
        "per_protocol": {p: e.overall.as_dict() for p, e in result.per_protocol.items()},
        "missed": [list(k[1:]) for k in result.overall.missed],
        "false_positives": [[*k[1:], result.fp_kind(k)] for k in result.overall.false_positives],
        "seconds": round(result.seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Detection quality on traffic from real software.")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--keep", type=Path, help="keep the captures in this directory")
    args = parser.parse_args(argv)
    # Scan warnings and client libraries' chatter are not the measurement.
    logging.disable(logging.WARNING)
    try:
        result = measure(tuple(args.parts), args.keep)
    except (Unavailable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(figures(result), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
