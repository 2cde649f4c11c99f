"""Detection quality on the held-out real captures (tests/heldout/), field level.

    python bench/heldout_quality.py               # tables, misses and false positives
    python bench/heldout_quality.py --json OUT    # also the figures as JSON
    python bench/heldout_quality.py --first-pass  # only the labels written before dpi ran

The held-out captures come from public repositories and were labelled by hand, before
dpi ever ran on them (tests/heldout/MANIFEST.md says how): `labels.csv` holds one row
per sensitive field an analyst reports, `negatives.csv` the hard negatives (fields that
look sensitive but are not). Each capture is scanned on its own with `dpi.scan`, and
each inventory row is reduced to the key the labels use:

    capture, protocol, api, direction, location, field, data_type

compared as the contract says readers compare (docs/spec/inventory.md): placeholders in
the api by position only (`{id}` equals `{uuid}`), field paths case-insensitively and
ignoring `[]`. A row whose key is a label is a true positive; any other row is a false
positive (and is named a hard negative that fired when negatives.csv lists it); a label
no row matches is a miss. Precision and recall are given per data type and overall,
once over every type and once without IP_ADDRESS (the issue's headline figure).

Labels and negatives whose note starts with `second pass` were added later by a labeller
who never saw dpi's output, reading the raw stream bytes of messages tshark does not decode
(MANIFEST.md, "Second pass"); `--first-pass` leaves them out, to show the figures of the
labels as first written.

Only keys are printed, never a value or a sample: the inventory is sensitive.
Not a test: the figures are a measurement, to be reported, not asserted.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.fetch_heldout import external_captures  # captures not redistributed

# Precision and recall counts, the same as the in-sample corpus benchmark uses.
from tests.corpus.evaluate import Counts

HELDOUT = ROOT / "tests" / "heldout"
KEY_COLUMNS = ("capture", "protocol", "api", "direction", "location", "field", "data_type")
EXCLUDED_TYPE = "IP_ADDRESS"

Key = tuple[str, str, str, str, str, str, str]

_PLACEHOLDER = re.compile(r"\{[^{}/\s]*\}")


def normalise(capture: str, protocol: str, api: str, direction: str, location: str,
              field_path: str, data_type: str) -> Key:
    """The comparison key: placeholders by position, field case- and `[]`-insensitive."""
    return (
        capture,
        protocol.strip().lower(),
        _PLACEHOLDER.sub("{}", api.strip()),
        direction.strip().lower(),
        location.strip().lower(),
        field_path.strip().replace("[]", "").lower(),
        data_type.strip().upper(),
    )


# The start of the note of a label or negative added by the blind second pass.
SECOND_PASS = "second pass"


def load_keys(path: Path) -> dict[Key, str]:
    """Key -> note, from labels.csv or negatives.csv."""
    keys: dict[Key, str] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            keys[normalise(*(row[c] for c in KEY_COLUMNS))] = row.get("note", "")
    return keys


def scan_keys(captures: list[Path]) -> tuple[set[Key], list[str]]:
    """Every inventory key of every capture, each capture scanned on its own."""
    import dpi

    found: set[Key] = set()
    errors: list[str] = []
    for capture in captures:
        try:
            frame = dpi.scan(capture)
        except Exception as exc:  # noqa: BLE001 - one failing capture must not hide the others
            errors.append(f"{capture.name}: {type(exc).__name__}")
            continue
        for row in frame.itertuples(index=False):
            found.add(normalise(capture.name, str(row.protocol), str(row.api),
                                str(row.direction), str(row.location), str(row.field),
                                str(row.data_type)))
    return found, errors


@dataclass
class Evaluation:
    per_type: dict[str, Counts] = field(default_factory=dict)
    overall: Counts = field(default_factory=Counts)
    missed: list[Key] = field(default_factory=list)
    false_positives: list[Key] = field(default_factory=list)
    negatives_fired: list[Key] = field(default_factory=list)


def evaluate(found: set[Key], labels: dict[Key, str], negatives: dict[Key, str],
             exclude: frozenset[str] = frozenset()) -> Evaluation:
    result = Evaluation()
    found = {k for k in found if k[6] not in exclude}
    wanted = {k for k in labels if k[6] not in exclude}

    def counts(data_type: str) -> Counts:
        return result.per_type.setdefault(data_type, Counts())

    for key in sorted(found):
        if key in wanted:
            counts(key[6]).tp += 1
            result.overall.tp += 1
        else:
            counts(key[6]).fp += 1
            result.overall.fp += 1
            result.false_positives.append(key)
            if key in negatives:
                result.negatives_fired.append(key)
    for key in sorted(wanted - found):
        counts(key[6]).fn += 1
        result.overall.fn += 1
        result.missed.append(key)
    return result


def _table(title: str, evaluation: Evaluation) -> str:
    lines = [title, f"{'data_type':<24}{'prec':>8}{'recall':>8}{'tp':>6}{'fp':>6}{'fn':>6}"]
    for name, c in sorted(evaluation.per_type.items()):
        lines.append(f"{name:<24}{c.precision:>8.3f}{c.recall:>8.3f}{c.tp:>6}{c.fp:>6}{c.fn:>6}")
    c = evaluation.overall
    lines.append(f"{'OVERALL':<24}{c.precision:>8.3f}{c.recall:>8.3f}{c.tp:>6}{c.fp:>6}{c.fn:>6}")
    return "\n".join(lines)


def _key_text(key: Key) -> str:
    capture, protocol, api, direction, location, field_path, data_type = key
    return f"{capture} | {protocol} | {api} | {direction} | {location} | {field_path} | {data_type}"


def render(everything: Evaluation, without_ip: Evaluation, captures: int, labels: int,
           negatives: int, errors: list[str]) -> str:
    out = [(f"held-out set: {captures} captures, {labels} labelled fields, "
            f"{negatives} hard negatives"), ""]
    if errors:
        out += ["captures not scanned: " + ", ".join(errors), ""]
    out += [_table("ALL DATA TYPES", everything), "",
            _table(f"EXCLUDING {EXCLUDED_TYPE}", without_ip), ""]
    out.append(f"missed ({len(everything.missed)}):")
    out += [f"  {_key_text(k)}" for k in everything.missed] or ["  none"]
    out.append(f"false positives ({len(everything.false_positives)}):")
    fired = set(everything.negatives_fired)
    out += [f"  {_key_text(k)}" + ("   [hard negative]" if k in fired else "")
            for k in everything.false_positives] or ["  none"]
    out.append(f"hard negatives that fired: {len(everything.negatives_fired)}/{negatives}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Detection quality on the held-out captures.")
    parser.add_argument("--heldout", type=Path, default=HELDOUT,
                        help="directory with captures/, labels.csv and negatives.csv")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--first-pass", action="store_true",
                        help="leave out the second-pass labels and negatives")
    args = parser.parse_args(argv)
    # Scan warnings (damaged captures) are not the measurement; keep the output to figures.
    logging.disable(logging.WARNING)

    captures = sorted(p for p in (args.heldout / "captures").iterdir() if p.is_file())
    labels = load_keys(args.heldout / "labels.csv")
    negatives = load_keys(args.heldout / "negatives.csv")
    if args.first_pass:
        labels = {k: note for k, note in labels.items() if not note.startswith(SECOND_PASS)}
        negatives = {k: note for k, note in negatives.items()
                     if not note.startswith(SECOND_PASS)}
    # Captures listed in external.csv are not redistributed (scripts/fetch_heldout.py
    # fetches them): without them, their labels leave the measurement and the output says so.
    external = {row["capture"] for row in external_captures(args.heldout)}
    absent = external - {p.name for p in captures}
    labels = {k: note for k, note in labels.items() if k[0] not in absent}
    negatives = {k: note for k, note in negatives.items() if k[0] not in absent}
    if absent:
        print(f"not fetched (python scripts/fetch_heldout.py), left out: {', '.join(sorted(absent))}",
              file=sys.stderr)
    unknown = {k[0] for k in [*labels, *negatives]} - {p.name for p in captures}
    if unknown:
        print(f"error: labels name captures that are missing: {', '.join(sorted(unknown))}",
              file=sys.stderr)
        return 2
    found, errors = scan_keys(captures)
    everything = evaluate(found, labels, negatives)
    without_ip = evaluate(found, labels, negatives, frozenset({EXCLUDED_TYPE}))
    print(render(everything, without_ip, len(captures), len(labels), len(negatives), errors))
    if args.json:
        figures = {
            "captures": len(captures), "labels": len(labels), "negatives": len(negatives),
            "not_scanned": errors, "not_fetched": sorted(absent),
            "label_counts": dict(sorted(Counter(k[6] for k in labels).items())),
            "all": {"overall": everything.overall.as_dict(),
                    "per_type": {t: c.as_dict() for t, c in sorted(everything.per_type.items())}},
            "excluding_ip_address": {
                "overall": without_ip.overall.as_dict(),
                "per_type": {t: c.as_dict() for t, c in sorted(without_ip.per_type.items())}},
            "missed": [list(k) for k in everything.missed],
            "false_positives": [list(k) for k in everything.false_positives],
            "hard_negatives_fired": [list(k) for k in everything.negatives_fired],
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
