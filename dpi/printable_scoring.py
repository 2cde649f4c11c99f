"""Scoring the binary fallback's value: the printable runs of one undecoded payload
(`protocols._printable.PrintableText`) count as ONE value of their field.

Why: the inventory decides per field from the share of its values that hit a type
(`min_share`: 0.6 for card numbers). Were each run a value, a record holding an e-mail,
a phone number, a card number and a note would give each type a quarter of the field,
and none would be reported. Scored per payload, a type hits the payload when any of its
runs hits, so the share is "payloads that carry one", as for a named field.

Each run is scored alone (a run is a whole value to the classifiers: an e-mail alone is
judged as an e-mail, not as a mention in free text), the best finding per data type is
kept, and its span is moved onto the joined text so that the sample masks that run only.
The reason says that the value came from the fallback (`--explain`).
"""

from __future__ import annotations

from dataclasses import replace

from classifiers.base import FieldContext, Finding
from dpi.classify import ClassifierSet
from protocols._printable import RUN_SEPARATOR

# Appended to the reason of every finding made on fallback text.
FALLBACK_REASON = "printable text of an undecoded binary payload"


def score_runs(classifiers: ClassifierSet, text: str, ctx: FieldContext) -> list[Finding]:
    """The findings of one payload's printable runs (`text`, joined by RUN_SEPARATOR):
    at most one per data type, spans on `text`."""
    best: dict[str, Finding] = {}
    start = 0
    for run in text.split(RUN_SEPARATOR):
        for finding in classifiers.score(run, ctx):
            held = best.get(finding.data_type)
            if held is not None and held.confidence >= finding.confidence:
                continue
            low, high = finding.span if finding.span else (0, len(run))
            best[finding.data_type] = replace(
                finding,
                span=(start + low, start + high),
                reason=f"{finding.reason}, {FALLBACK_REASON}",
            )
        start += len(run) + len(RUN_SEPARATOR)
    return list(best.values())
