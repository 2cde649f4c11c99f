"""A data policy: rules over inventory rows and findings that a CI build can fail on.

A policy is TOML (`--policy FILE`, or a `[policy]` table in dpi.toml). Each rule has an
`id`, a `severity` (`high`, `medium`, `low`, `info`), a `message`, and either:

- `allow`: what the APIs it names may carry. An API (row) is *covered* when it matches
  the rule's `api` glob (and `protocol`/`server`/`host` when given); every sensitive row
  of a covered API must match at least one allow rule that covers it
  (`categories`, `data_types`, `directions`, `locations`, `fields`), else it violates
  each allow rule that covers it. APIs no allow rule covers are not constrained by them.
- `deny`: anything it matches is a violation. It matches inventory rows by their columns
  (`category`/`categories`, `data_type`/`data_types`, `location`/`locations`,
  `direction`/`directions`, `protocol`, `api`, `server`, `host`, `field` as globs or
  lists, `egress = true` for servers outside the internal networks, `min_confidence`),
  or findings when it names `finding = "kind"` (with the same place keys).

Globs are `fnmatch` patterns, case-sensitive for APIs and fields as the inventory writes
them. A violation carries the row's masked sample, never a value: the policy sees only
what the inventory already shows.

`DEFAULT_POLICY` is what a team starts from without writing one: no secrets in query
strings or URLs, no credentials over cleartext, no PCI or PHI to external servers, no
full card numbers in responses, no unauthenticated API returning sensitive data.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dpi.findings.egress import Networks
    from dpi.findings.model import Finding
    from dpi.inventory import Row

SEVERITIES = ("high", "medium", "low", "info")
# Keys a rule's match table may use, with the item attribute each one reads.
_ROW_KEYS = {
    "category": "category",
    "categories": "category",
    "data_type": "data_type",
    "data_types": "data_type",
    "location": "location",
    "locations": "location",
    "direction": "direction",
    "directions": "direction",
    "protocol": "protocol",
    "protocols": "protocol",
    "api": "api",
    "server": "server",
    "host": "host",
    "field": "field",
    "fields": "field",
}
_SPECIAL_KEYS = {"egress", "min_confidence", "finding"}
# Keys of an allow rule that say which APIs it covers (the rest say what they may carry).
_COVER_KEYS = ("api", "protocol", "protocols", "server", "host")

DEFAULT_POLICY = """
# dpi's default policy: `dpi check CAPTURE` without --policy. Copy it and adapt.

[[rule]]
id = "no-secrets-in-urls"
severity = "high"
message = "Secrets must not travel in URLs: query strings and paths end up in logs and proxies."
deny = { category = "SECRET", locations = ["query", "path"] }

[[rule]]
id = "no-cleartext-credentials"
severity = "high"
message = "Credentials must not cross the network unencrypted."
deny = { finding = "cleartext_credentials" }

[[rule]]
id = "no-pci-phi-egress"
severity = "high"
message = "Card and health data must not be sent to servers outside the internal networks."
deny = { egress = true, categories = ["PCI", "PHI"], direction = "request" }

[[rule]]
id = "no-full-pan-in-responses"
severity = "high"
message = "Full card numbers must not be returned in responses (PCI DSS 3.4: mask the PAN when displayed)."
deny = { data_type = "CARD_NUMBER", direction = "response" }

[[rule]]
id = "no-unauthenticated-sensitive-api"
severity = "medium"
message = "An API that returns sensitive data must require authentication."
deny = { finding = "unauthenticated_sensitive_api" }
"""


class PolicyError(ValueError):
    """A policy that cannot be read or has a bad rule (the message names the rule)."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: str
    message: str
    kind: str  # "allow" or "deny"
    match: dict[str, Any]

    @property
    def covers(self) -> dict[str, Any]:
        return {k: v for k, v in self.match.items() if k in _COVER_KEYS}

    @property
    def permits(self) -> dict[str, Any]:
        return {k: v for k, v in self.match.items() if k not in _COVER_KEYS}


@dataclass(frozen=True, slots=True)
class Violation:
    """One row or finding that breaks one rule; every field is from the masked outputs."""

    rule: Rule
    protocol: str
    server: str
    host: str
    api: str
    direction: str
    location: str
    field: str
    data_type: str
    category: str
    sample: str
    finding: str = ""

    def where(self) -> str:
        place = f"{self.protocol} {self.server} {self.api}".strip()
        if self.finding:
            return f"{place} [{self.finding}]"
        return f"{place} {self.direction} {self.location} {self.field!r} {self.data_type}"


@dataclass(slots=True)
class Policy:
    rules: list[Rule] = field(default_factory=list)

    def evaluate(
        self, rows: Sequence[Row], findings: Sequence[Finding] = (), networks: Networks | None = None
    ) -> list[Violation]:
        """Every violation, in rule order then inventory order."""
        if networks is None:
            from dpi.findings.egress import Networks

            networks = Networks()
        items = [_row_item(r, networks) for r in rows]
        found = [_finding_item(f, networks) for f in findings]
        out: list[Violation] = []
        allows = [r for r in self.rules if r.kind == "allow"]
        for rule in self.rules:
            if rule.kind == "deny":
                pool = found if "finding" in rule.match else items
                out.extend(_violation(rule, item) for item in pool if _matches(rule.match, item))
            else:
                for item in items:
                    if not _matches(rule.covers, item):
                        continue
                    covering = [a for a in allows if _matches(a.covers, item)]
                    if not any(_matches(a.permits, item) for a in covering):
                        out.append(_violation(rule, item))
        return out


def load_policy(path: Path | None = None, table: dict[str, Any] | None = None) -> Policy:
    """A policy from a TOML file, from an already-parsed table (dpi.toml `[policy]`), or
    the default one when neither is given."""
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PolicyError(f"{path}: {exc.strerror or type(exc).__name__}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{path}: not valid TOML ({type(exc).__name__})") from None
        data = data.get("policy", data)
    elif table is not None:
        data = table
    else:
        data = tomllib.loads(DEFAULT_POLICY)
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise PolicyError("a policy needs at least one [[rule]]")
    rules = [_rule(raw, i) for i, raw in enumerate(raw_rules, 1)]
    ids = [r.id for r in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise PolicyError(f"rule ids must be unique: {', '.join(duplicates)}")
    return Policy(rules)


def _rule(raw: Any, index: int) -> Rule:
    if not isinstance(raw, dict):
        raise PolicyError(f"rule {index}: not a table")
    rule_id = str(raw.get("id") or f"rule-{index}")
    severity = str(raw.get("severity", "high")).lower()
    if severity not in SEVERITIES:
        raise PolicyError(f"rule {rule_id}: severity must be one of {', '.join(SEVERITIES)}")
    kinds = [k for k in ("allow", "deny") if k in raw]
    if len(kinds) != 1:
        raise PolicyError(f"rule {rule_id}: needs exactly one of allow or deny")
    kind = kinds[0]
    match = raw[kind]
    if not isinstance(match, dict):
        raise PolicyError(f"rule {rule_id}: {kind} must be a table")
    unknown = sorted(set(match) - set(_ROW_KEYS) - _SPECIAL_KEYS)
    if unknown:
        raise PolicyError(f"rule {rule_id}: unknown key(s) {', '.join(unknown)}")
    if kind == "allow" and "api" not in match:
        raise PolicyError(f"rule {rule_id}: an allow rule names the api it covers")
    if kind == "allow" and "finding" in match:
        raise PolicyError(f"rule {rule_id}: findings can only be denied")
    message = str(raw.get("message") or f"violates {rule_id}")
    return Rule(rule_id, severity, message, kind, dict(match))


def _row_item(row: Row, networks: Networks) -> dict[str, Any]:
    item = {name: getattr(row, name) for name in set(_ROW_KEYS.values())}
    item["sample"] = row.sample
    item["confidence"] = row.confidence
    item["egress"] = not networks.endpoint_is_internal(row.server)
    item["finding"] = ""
    return item


def _finding_item(finding: Finding, networks: Networks) -> dict[str, Any]:
    return {
        "protocol": finding.protocol,
        "server": finding.server,
        "host": finding.host,
        "api": finding.api,
        "field": finding.field,
        "category": finding.category,
        "data_type": "",
        "location": "",
        "direction": "",
        "sample": "",
        "confidence": 1.0,
        "egress": not networks.endpoint_is_internal(finding.server) if finding.server else False,
        "finding": finding.kind,
    }


def _values(spec: Any) -> list[str]:
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, Iterable):
        return [str(v) for v in spec]
    return [str(spec)]


def _matches(match: dict[str, Any], item: dict[str, Any]) -> bool:
    for key, spec in match.items():
        if key == "egress":
            if bool(spec) is not bool(item["egress"]):
                return False
        elif key == "min_confidence":
            if float(item["confidence"]) < float(spec):
                return False
        elif key == "finding":
            if not any(fnmatchcase(item["finding"], v) for v in _values(spec)):
                return False
        else:
            value = str(item[_ROW_KEYS[key]])
            if key in ("category", "categories") and ";" in value:
                # A finding names every category involved (`PCI;PII`): any one matches.
                if not any(fnmatchcase(c, v) for c in value.split(";") for v in _values(spec)):
                    return False
            elif not any(fnmatchcase(value, v) for v in _values(spec)):
                return False
    return True


def _violation(rule: Rule, item: dict[str, Any]) -> Violation:
    return Violation(
        rule=rule,
        protocol=item["protocol"],
        server=item["server"],
        host=item["host"],
        api=item["api"],
        direction=item["direction"],
        location=item["location"],
        field=item["field"],
        data_type=item["data_type"],
        category=item["category"],
        sample=item["sample"],
        finding=item["finding"],
    )
