"""Classifier quality benchmark on the labelled corpus (tests/corpus/fields.jsonl).

    python bench/classifier_quality.py                 # tables on stdout
    python bench/classifier_quality.py --json OUT      # also the figures as JSON
    python bench/classifier_quality.py --repeat 20     # throughput with settling
    python bench/classifier_quality.py --explain       # ids of missed / false fields
    python bench/classifier_quality.py --engine re     # without Hyperscan even if installed

Prints precision, recall and F1 per data type and overall at the field level (the
inventory's decision after all the values of a field) and at the value level (one value
and its field path), the share of hard-negative fields flagged, the expected calibration
error of row confidence, how confidence ranks true fields above hard negatives (AUC),
and throughput (values per second, this process, one core, classification only), with
the engine of the required-pattern scan (classifiers/_scan.py). The field level runs
after the value level on the same classifier set, as further messages of the same
fields would: values already scored in their field come from the memo.

The evaluation itself lives in `tests/corpus/evaluate.py`, shared with the tests.
Not a test: throughput depends on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from classifiers._scan import ENGINE_VARIABLE
from dpi.classify import ClassifierSet
from tests.corpus.evaluate import CORPUS, Report, evaluate, load


def _table(title: str, per_type: dict[str, dict[str, float]], overall: dict[str, float]) -> str:
    lines = [title, f"{'data_type':<24}{'prec':>8}{'recall':>8}{'f1':>8}{'tp':>7}{'fp':>6}{'fn':>6}"]
    for name, c in sorted(per_type.items()):
        lines.append(f"{name:<24}{c['precision']:>8.3f}{c['recall']:>8.3f}{c['f1']:>8.3f}"
                     f"{c['tp']:>7}{c['fp']:>6}{c['fn']:>6}")
    c = overall
    lines.append(f"{'OVERALL':<24}{c['precision']:>8.3f}{c['recall']:>8.3f}{c['f1']:>8.3f}"
                 f"{c['tp']:>7}{c['fp']:>6}{c['fn']:>6}")
    return "\n".join(lines)


def render(report: Report, explain: bool = False, engine: str = "") -> str:
    d = report.as_dict()
    corpus, fl, vl, tp = d["corpus"], d["field_level"], d["value_level"], d["throughput"]
    out = [
        (f"corpus: {corpus['fields']} fields, {corpus['values']} values, "
         f"{corpus['hard_negative_fields']} hard-negative fields"),
        "",
        _table("FIELD LEVEL (inventory decision after all values)", fl["per_type"], fl["overall"]),
        "",
        _table("VALUE LEVEL (one value and its field path)", vl["per_type"], vl["overall"]),
        "",
        (f"hard-negative fields flagged: {fl['hard_negatives_flagged']}/"
         f"{corpus['hard_negative_fields']} ({fl['hard_negative_share_flagged']:.2%})"),
        f"calibration error (ECE, 10 bins, field rows): {fl['calibration_error']:.3f}",
        (f"confidence ranking: AUC {fl['ranking']['auc']:.4f}, mean true field "
         f"{fl['ranking']['mean_true']:.3f}, mean hard negative "
         f"{fl['ranking']['mean_hard_negative']:.3f}"),
        (f"throughput: value level {tp['value_level_values_per_second']:,} values/s, field "
         f"level {tp['field_level_values_per_second']:,} values/s")
        + (f", with settling {tp['settled_values_per_second']:,} values/s"
           if tp["settled_values_per_second"] else "")
        + " (one core" + (f", {engine} scan" if engine else "") + ")",
    ]
    if explain:
        out += ["", "missed fields: " + json.dumps(fl["missed"]),
                "false rows: " + json.dumps(fl["false"]),
                "flagged hard negatives: " + json.dumps(fl["flagged_hard_negatives"])]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Classifier quality on the labelled corpus.")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--repeat", type=int, default=10,
                        help="replays per field for the settled-throughput figure (1: skip)")
    parser.add_argument("--explain", action="store_true", help="list missed and false fields")
    parser.add_argument("--engine", choices=("re", "hyperscan"),
                        help="engine of the required-pattern scan (default: Hyperscan when "
                             "installed, else re)")
    args = parser.parse_args(argv)
    if args.engine:
        os.environ[ENGINE_VARIABLE] = args.engine
    classifiers = ClassifierSet()
    report = evaluate(load(args.corpus), classifiers, repeat=args.repeat)
    print(render(report, args.explain, classifiers.scan_engine))
    if args.json:
        args.json.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
