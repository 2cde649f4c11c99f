"""A finding: one exposure of sensitive data, with a severity, a place and masked evidence.

The id is stable across scans: a hash of (kind, protocol, server, api, field), so a
finding can be tracked, suppressed or ticketed by id. Evidence is structural (header
names, signature names, data types, counts) or a sample made by `dpi.masking`; it never
quotes a payload value.

CSV: UTF-8, RFC 4180, the header `FINDING_COLUMNS`, rows by severity then id. JSON: a
list of objects with the same keys.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2, Severity.INFO: 3}

FINDING_COLUMNS = (
    "id",
    "severity",
    "kind",
    "protocol",
    "server",
    "host",
    "api",
    "field",
    "category",
    "count",
    "evidence",
)
# Evidence text kept per finding: a summary, not a log.
MAX_EVIDENCE_CHARS = 600


def finding_id(kind: str, protocol: str, server: str, api: str, field: str) -> str:
    """`F-` and 12 hex digits of SHA-256 over the identifying fields (NUL-separated, so
    that no two tuples share a preimage)."""
    key = f"{kind}\x00{protocol}\x00{server}\x00{api}\x00{field}"
    digest = hashlib.sha256(key.encode("utf-8"))
    return "F-" + digest.hexdigest()[:12]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """`category` lists the data categories involved (`PCI;PII`), `count` how many
    messages, requests or rows show it; `host` the names the server is known by."""

    severity: Severity
    kind: str
    protocol: str
    server: str
    host: str
    api: str
    field: str
    category: str
    count: int
    evidence: str

    @property
    def id(self) -> str:
        return finding_id(self.kind, self.protocol, self.server, self.api, self.field)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": str(self.severity),
            "kind": self.kind,
            "protocol": self.protocol,
            "server": self.server,
            "host": self.host,
            "api": self.api,
            "field": self.field,
            "category": self.category,
            "count": self.count,
            "evidence": self.evidence[:MAX_EVIDENCE_CHARS],
        }


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.severity.rank, f.kind, f.server, f.api, f.field))


def findings_to_csv(findings: list[Finding]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FINDING_COLUMNS)
    for finding in sort_findings(findings):
        item = finding.as_dict()
        writer.writerow([item[name] for name in FINDING_COLUMNS])
    return buffer.getvalue()


def findings_to_json(findings: list[Finding]) -> str:
    return json.dumps([f.as_dict() for f in sort_findings(findings)], indent=2) + "\n"


def findings_from_records(records: list[dict[str, Any]]) -> list[Finding]:
    """Findings read back from their CSV/JSON (for `dpi report`); unknown severities
    become `info`, missing fields empty."""
    out = []
    for record in records:
        try:
            severity = Severity(str(record.get("severity", "info")))
        except ValueError:
            severity = Severity.INFO
        try:
            count = int(record.get("count") or 0)
        except ValueError:
            count = 0
        out.append(
            Finding(
                severity=severity,
                kind=str(record.get("kind", "")),
                protocol=str(record.get("protocol", "")),
                server=str(record.get("server", "")),
                host=str(record.get("host", "")),
                api=str(record.get("api", "")),
                field=str(record.get("field", "")),
                category=str(record.get("category", "")),
                count=count,
                evidence=str(record.get("evidence", "")),
            )
        )
    return out


def summary_line(findings: list[Finding]) -> str:
    """`findings: 2 high, 1 medium, 0 low, 3 info` for the CLI's end report."""
    counts = {s: 0 for s in Severity}
    for finding in findings:
        counts[finding.severity] += 1
    return "findings: " + ", ".join(f"{counts[s]} {s}" for s in Severity)
