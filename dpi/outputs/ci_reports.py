"""Policy results in the formats CI systems render: JUnit XML, SARIF 2.1.0, a short table.

- JUnit: one `<testcase>` per rule (classname `dpi.findings.policy`, name the rule id); a rule
  that is broken has one `<failure>` per violation (type = severity, message = the rule's
  message, text = where: protocol, server, API, direction, location, field, data type and
  the masked sample). The suite's `failures` counts broken rules, its `violations`
  property the violations.
- SARIF: one run of tool `dpi` whose `rules` are the policy's (level from severity:
  high -> error, medium -> warning, low/info -> note) and one `result` per violation, at
  the capture or inventory scanned (physical location) and the API and field (logical
  location), with a stable fingerprint so that code-scanning dashboards track it.

Every text comes from the masked inventory: no value ever reaches these files.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from dpi.findings.policy import Policy, Violation

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"high": "error", "medium": "warning", "low": "note", "info": "note"}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dpi-inventory")
    except PackageNotFoundError:
        return "0"


def _detail(v: Violation) -> str:
    if v.finding:
        return f"{v.where()}"
    return f"{v.where()} sample={v.sample}"


def to_junit(policy: Policy, violations: Sequence[Violation]) -> str:
    by_rule: dict[str, list[Violation]] = {r.id: [] for r in policy.rules}
    for v in violations:
        by_rule[v.rule.id].append(v)
    broken = sum(1 for vs in by_rule.values() if vs)
    suites = ET.Element("testsuites", name="dpi check", tests=str(len(policy.rules)),
                        failures=str(broken), errors="0")
    suite = ET.SubElement(suites, "testsuite", name="dpi policy", tests=str(len(policy.rules)),
                          failures=str(broken), errors="0", skipped="0")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="violations", value=str(len(violations)))
    for rule in policy.rules:
        case = ET.SubElement(suite, "testcase", classname="dpi.findings.policy", name=rule.id)
        for v in by_rule[rule.id]:
            failure = ET.SubElement(case, "failure", message=rule.message, type=rule.severity)
            failure.text = _detail(v)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _fingerprint(v: Violation) -> str:
    parts = [v.rule.id, v.protocol, v.server, v.api, v.direction, v.location, v.field,
             v.data_type, v.finding]
    key = "\x00".join(parts)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def to_sarif(policy: Policy, violations: Sequence[Violation], artifact: str) -> str:
    """`artifact`: the capture (or inventory) the results are about, as a relative URI."""
    index = {r.id: i for i, r in enumerate(policy.rules)}
    rules = [
        {
            "id": r.id,
            "name": r.id,
            "shortDescription": {"text": r.message},
            "fullDescription": {"text": f"{r.kind} rule: {r.message}"},
            "defaultConfiguration": {"level": _LEVELS[r.severity]},
            "properties": {"severity": r.severity, "kind": r.kind,
                           "match": {k: v for k, v in r.match.items()}},
        }
        for r in policy.rules
    ]
    results = []
    for v in violations:
        logical = " ".join(p for p in (v.protocol, v.server, v.api) if p)
        results.append(
            {
                "ruleId": v.rule.id,
                "ruleIndex": index[v.rule.id],
                "level": _LEVELS[v.rule.severity],
                "message": {"text": f"{v.rule.message} ({_detail(v)})"},
                "locations": [
                    {
                        "physicalLocation": {"artifactLocation": {"uri": artifact}},
                        "logicalLocations": [
                            {"name": v.api or v.server, "fullyQualifiedName": logical,
                             "kind": "resource"}
                        ],
                    }
                ],
                "partialFingerprints": {"dpiViolation/v1": _fingerprint(v)},
                "properties": {
                    "protocol": v.protocol, "server": v.server, "host": v.host,
                    "api": v.api, "direction": v.direction, "location": v.location,
                    "field": v.field, "data_type": v.data_type, "category": v.category,
                    "sample": v.sample, "finding": v.finding,
                },
            }
        )
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "dpi", "version": _version(),
                                    "informationUri": "https://pypi.org/project/dpi-inventory/",
                                    "rules": rules}},
                "artifacts": [{"location": {"uri": artifact}}],
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def table(policy: Policy, violations: Sequence[Violation]) -> str:
    """The few lines on stderr: one per broken rule with its count, then the verdict."""
    counts: dict[str, int] = {}
    for v in violations:
        counts[v.rule.id] = counts.get(v.rule.id, 0) + 1
    lines = []
    for rule in policy.rules:
        n = counts.get(rule.id, 0)
        mark = "FAIL" if n else "ok"
        lines.append(f"  {mark:<4} {rule.severity:<6} {rule.id}" + (f": {n} violation(s)" if n else ""))
        shown = [v for v in violations if v.rule.id == rule.id][:5]
        lines.extend(f"         {_detail(v)}" for v in shown)
        if n > len(shown):
            lines.append(f"         ... and {n - len(shown)} more")
    verdict = (f"policy: {len(violations)} violation(s) of {len(counts)} rule(s)"
               if violations else f"policy: all {len(policy.rules)} rules pass")
    return "\n".join([verdict, *lines])
