"""Inventory rows + what the observer saw -> findings.

Kinds (stable names; severities in parentheses):
- `egress_sensitive_data`: an API whose server is outside the internal networks receives
  sensitive data in requests (high for PCI/PHI/SECRET, medium for PII; low when all it
  receives is the caller's own credential for it: Authorization, API key, session).
- `external_sensitive_response`: an external server returns sensitive data (low: our
  clients fetch it; worth knowing where it comes from).
- `external_client_access`: an internal API returns sensitive data to clients outside
  the internal networks (medium for PCI/PHI/SECRET, low for PII).
- `external_endpoint`: every external address the capture talked to, by IP, Host, TLS
  server name and DNS names, with TLS volumes (info; low when nothing names it).
- `unauthenticated_sensitive_api`: an HTTP/gRPC API that accepts or returns sensitive
  data in requests without credentials which were not rejected (high for PCI/PHI/
  SECRET, medium for PII). Logging in is not a finding: passwords sent to, and tokens
  returned by, an API are what a login looks like.
- `error_details_leak`: responses with stack traces, SQL errors or debug pages (medium;
  high for debug pages).
- `version_disclosure`: `Server` with a version, `X-Powered-By` and the like (low).
- `response_overexposure`: an HTTP/gRPC response returns high-risk identifiers unmasked
  (full card numbers, SSNs, ...) that the API's requests did not carry (high/medium).
- `cleartext_credentials`: secrets (passwords, keys, tokens, protocol logins) read from
  flows that were not under TLS (high; `dpi/findings/cleartext.py`). Needs the observer:
  an inventory read back from a file cannot tell.

Only rows, counts, names and masked samples reach the evidence (spec: "no full value in
any output").
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dpi.findings.cleartext import cleartext_findings
from dpi.findings.egress import Networks, endpoint_address
from dpi.findings.leaks import SQL_SIGNATURES
from dpi.findings.model import Finding, Severity
from dpi.findings.observe import PER_REQUEST_AUTH, FindingsObserver
from dpi.identifiers import safe_host

if TYPE_CHECKING:
    from dpi.inventory import Row

SEVERE_CATEGORIES = frozenset({"PCI", "PHI", "SECRET"})
# Identifiers an API response should show masked, if at all (PCI DSS 3.4 for PANs).
OVEREXPOSED_HIGH = frozenset(
    {"CARD_NUMBER", "CARD_TRACK_DATA", "CARD_CVV", "US_SSN", "PRIVATE_KEY", "PASSWORD"}
)
OVEREXPOSED_MEDIUM = frozenset(
    {"NATIONAL_ID", "PASSPORT_NUMBER", "DRIVER_LICENSE", "IBAN", "BANK_ACCOUNT", "HEALTH_PLAN_ID"}
)
# What a login exchanges: not evidence of an unauthenticated API by itself.
LOGIN_REQUEST_TYPES = frozenset({"PASSWORD", "API_KEY", "BEARER_TOKEN"})
LOGIN_RESPONSE_TYPES = frozenset({"BEARER_TOKEN", "API_KEY"})
# Personal data that identifies a device more than a person: alone, a mild finding.
LOW_RISK_TYPES = frozenset({"IP_ADDRESS"})
# Items listed in one finding's evidence (the rest is counted).
MAX_EVIDENCE_ITEMS = 6


@dataclass(slots=True)
class _Api:
    protocol: str
    server: str
    api: str
    hosts: set[str] = field(default_factory=set)
    rows: list[Row] = field(default_factory=list)

    def side(self, direction: str) -> list[Row]:
        return [r for r in self.rows if r.direction == direction]


def _categories(rows: Iterable[Row]) -> str:
    return ";".join(sorted({r.category for r in rows}))


def _row_item(row: Row) -> str:
    where = f"{row.location} {row.field}".strip()
    return f"{row.data_type} in {where} ({row.count}x, e.g. {row.sample})"


def _listing(items: Sequence[str]) -> str:
    shown = "; ".join(items[:MAX_EVIDENCE_ITEMS])
    more = len(items) - MAX_EVIDENCE_ITEMS
    return shown + (f"; and {more} more" if more > 0 else "")


def _is_credential(row: Row) -> bool:
    """The row is the caller's credential for this very API (a token in Authorization,
    an API key parameter, a session cookie, a protocol login): sending it there is how
    the API is used, not data leaving."""
    if row.category != "SECRET":
        return False
    if row.location in ("auth", "cookie", "query"):
        return True
    return row.location in ("header", "metadata") and (
        row.field in ("authorization", "proxy-authorization") or "key" in row.field or "token" in row.field
    )


def _severity(rows: Iterable[Row], severe: Severity, mild: Severity) -> Severity:
    return severe if any(r.category in SEVERE_CATEGORIES for r in rows) else mild


class _Context:
    def __init__(self, rows: Sequence[Row], observed: FindingsObserver | None, networks: Networks):
        self.observed = observed
        self.networks = networks
        self.apis: dict[tuple[str, str, str], _Api] = {}
        for row in rows:
            key = (row.protocol, row.server, row.api)
            api = self.apis.get(key)
            if api is None:
                api = self.apis[key] = _Api(row.protocol, row.server, row.api)
            api.rows.append(row)
            if row.host:
                api.hosts.add(row.host)

    def names(self, server: str, hosts: Iterable[str] = ()) -> str:
        # Rows of this scan carry sanitized hosts; rows of an older state may not.
        names = [safe_host(h) for h in sorted(hosts) if h]
        address = endpoint_address(server)
        if self.observed is not None and address is not None:
            names += self.observed.names(address.packed)
        out: list[str] = []
        for name in names:
            bare = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
            if bare not in out:
                out.append(bare)
        return " ".join(out[:8])


def _egress(ctx: _Context) -> list[Finding]:
    out = []
    for api in ctx.apis.values():
        if ctx.networks.endpoint_is_internal(api.server):
            continue
        names = ctx.names(api.server, api.hosts)
        where = f"external {api.server}" + (f" ({names})" if names else "")
        for direction, kind in (
            ("request", "egress_sensitive_data"),
            ("response", "external_sensitive_response"),
        ):
            rows = api.side(direction)
            if not rows:
                continue
            if direction == "request":
                data = [r for r in rows if not _is_credential(r)]
                severity = _severity(data, Severity.HIGH, Severity.MEDIUM) if data else Severity.LOW
                lead = f"sent to {where}: " if data else f"only credentials for it sent to {where}: "
            else:
                severity = Severity.LOW
                lead = f"received from {where}: "
            out.append(
                Finding(
                    severity=severity,
                    kind=kind,
                    protocol=api.protocol,
                    server=api.server,
                    host=names,
                    api=api.api,
                    field="",
                    category=_categories(rows),
                    count=sum(r.count for r in rows),
                    evidence=lead + _listing([_row_item(r) for r in rows]),
                )
            )
    return out


def _external_clients(ctx: _Context) -> list[Finding]:
    observed = ctx.observed
    if observed is None:
        return []
    out = []
    for key, api in ctx.apis.items():
        stats = observed.apis.get(key)
        if stats is None or not stats.external_clients:
            continue
        if not ctx.networks.endpoint_is_internal(api.server):
            continue  # already an egress finding
        rows = api.side("response")
        if not rows:
            continue
        out.append(
            Finding(
                severity=_severity(rows, Severity.MEDIUM, Severity.LOW),
                kind="external_client_access",
                protocol=api.protocol,
                server=api.server,
                host=ctx.names(api.server, api.hosts),
                api=api.api,
                field="",
                category=_categories(rows),
                count=len(stats.external_clients),
                evidence=f"{len(stats.external_clients)} client address(es) outside the internal "
                f"networks received: " + _listing([_row_item(r) for r in rows]),
            )
        )
    return out


def _endpoints(ctx: _Context) -> list[Finding]:
    observed = ctx.observed
    if observed is None:
        return []
    sent: dict[str, set[str]] = defaultdict(set)
    for api in ctx.apis.values():
        for row in api.side("request"):
            sent[str(endpoint_address(api.server) or api.server)].add(row.category)
    out = []
    for address, endpoint in observed.endpoints.items():
        if observed.networks.packed_is_internal(address):
            continue
        server = str(ipaddress.ip_address(address))
        names = ctx.names(server)
        protocols = ", ".join(f"{p} {n}" for p, n in sorted(endpoint.protocols.items()))
        parts = [
            "ports " + ",".join(str(p) for p in sorted(endpoint.ports)),
            f"{endpoint.flows} flow(s)" + (f" ({protocols})" if protocols else ""),
        ]
        if endpoint.tls_flows:
            undecrypted = endpoint.tls_flows - endpoint.decrypted_flows
            parts.append(
                f"TLS {endpoint.tls_flows} flow(s), {undecrypted} not decrypted, "
                f"{endpoint.bytes_client} bytes sent, {endpoint.bytes_server} bytes received"
            )
        if endpoint.unidentified_flows:
            parts.append(f"{endpoint.unidentified_flows} flow(s) of unknown protocols")
        if endpoint.sni:
            parts.append("TLS server name " + " ".join(sorted(endpoint.sni)))
        dns = [safe_host(name) for name in observed.dns.names(address)]
        if dns:
            parts.append("DNS " + " ".join(dns))
        categories = sorted(sent.get(server, ()))
        if categories:
            parts.append("sensitive data sent: " + ", ".join(categories))
        out.append(
            Finding(
                severity=Severity.INFO if names else Severity.LOW,
                kind="external_endpoint",
                protocol=";".join(sorted(endpoint.protocols)) or "unknown",
                server=server,
                host=names,
                api="",
                field="",
                category=";".join(categories),
                count=endpoint.flows,
                evidence="; ".join(parts) + ("" if names else "; no name seen (Host, SNI or DNS)"),
            )
        )
    return out


def _unauthenticated(ctx: _Context) -> list[Finding]:
    observed = ctx.observed
    if observed is None:
        return []
    out = []
    for key, api in ctx.apis.items():
        if api.protocol not in PER_REQUEST_AUTH:
            continue
        stats = observed.apis.get(key)
        if stats is None or not stats.requests:
            continue
        uncredentialed = stats.requests - stats.credentialed
        if uncredentialed <= stats.uncredentialed_rejected:
            continue
        if any(r.data_type == "PASSWORD" for r in api.side("request")):
            continue  # a login or sign-up: credentials are what it receives, not what it needs
        accepted = [r for r in api.side("request") if r.data_type not in LOGIN_REQUEST_TYPES]
        returned = (
            [r for r in api.side("response") if r.data_type not in LOGIN_RESPONSE_TYPES]
            if stats.uncredentialed_answered
            else []
        )
        rows = accepted + returned
        if not rows:
            continue
        verbs = []
        if accepted:
            verbs.append("accepts " + ", ".join(sorted({r.data_type for r in accepted})))
        if returned:
            verbs.append("returns " + ", ".join(sorted({r.data_type for r in returned})))
        seen = ", ".join(f"{k} {n}" for k, n in sorted(stats.kinds.items())) or "none"
        evidence = (
            f"{uncredentialed} of {stats.requests} request(s) without credentials"
            f" ({stats.uncredentialed_rejected} rejected with 401/403/407,"
            f" {stats.uncredentialed_answered} answered otherwise); "
            + "; ".join(verbs)
            + f"; credentials seen: {seen} (mutual TLS is not visible)"
        )
        severity = _severity(rows, Severity.HIGH, Severity.MEDIUM)
        if all(r.data_type in LOW_RISK_TYPES for r in rows):
            severity = Severity.LOW
        out.append(
            Finding(
                severity=severity,
                kind="unauthenticated_sensitive_api",
                protocol=api.protocol,
                server=api.server,
                host=ctx.names(api.server, api.hosts),
                api=api.api,
                field="",
                category=_categories(rows),
                count=uncredentialed,
                evidence=evidence,
            )
        )
    return out


def _leaks(ctx: _Context) -> list[Finding]:
    observed = ctx.observed
    if observed is None:
        return []
    out = []
    for (protocol, server, api_name), stats in observed.apis.items():
        for name, count in sorted(stats.errors.items()):
            statuses = stats.error_statuses.get(name)
            shown = ", ".join(f"{s} x{n}" for s, n in sorted(statuses.items())) if statuses else "unknown"
            kind_of = "SQL error" if name in SQL_SIGNATURES else "error details"
            out.append(
                Finding(
                    severity=Severity.HIGH if name == "debug_page" else Severity.MEDIUM,
                    kind="error_details_leak",
                    protocol=protocol,
                    server=server,
                    host=ctx.names(server),
                    api=api_name,
                    field=name,
                    category="",
                    count=count,
                    evidence=f"{kind_of} ({name}) in {count} response body(ies); status {shown}",
                )
            )
    for (protocol, server, header), version in observed.versions.items():
        apis = len(version.apis)
        out.append(
            Finding(
                severity=Severity.LOW,
                kind="version_disclosure",
                protocol=protocol,
                server=server,
                host=ctx.names(server),
                api="",
                field=header,
                category="",
                count=version.responses,
                evidence=f"{header} header names the stack ({version.product}"
                + (", with a version" if header == "server" else "")
                + f") in {version.responses} response(s) on {apis} API(s)",
            )
        )
    return out


def _overexposure(ctx: _Context) -> list[Finding]:
    out = []
    for api in ctx.apis.values():
        if api.protocol not in PER_REQUEST_AUTH:
            continue
        asked = {r.data_type for r in api.side("request")}
        by_field: dict[str, list[Row]] = defaultdict(list)
        for row in api.side("response"):
            if row.data_type in asked:
                continue
            if row.data_type in OVEREXPOSED_HIGH or row.data_type in OVEREXPOSED_MEDIUM:
                by_field[row.field].append(row)
        for field_path, rows in sorted(by_field.items()):
            high = any(r.data_type in OVEREXPOSED_HIGH for r in rows)
            types = ", ".join(sorted({r.data_type for r in rows}))
            out.append(
                Finding(
                    severity=Severity.HIGH if high else Severity.MEDIUM,
                    kind="response_overexposure",
                    protocol=api.protocol,
                    server=api.server,
                    host=ctx.names(api.server, api.hosts),
                    api=api.api,
                    field=field_path,
                    category=_categories(rows),
                    count=sum(r.count for r in rows),
                    evidence=f"response returns {types} unmasked, which no request of the API "
                    "carried: " + _listing([_row_item(r) for r in rows]),
                )
            )
    return out


def findings(
    rows: Sequence[Row], observed: FindingsObserver | None = None, networks: Networks | None = None
) -> list[Finding]:
    """Every finding of a scan. Without `observed` (an inventory read back from a file),
    only what rows alone tell: egress and overexposure."""
    if networks is None:
        networks = observed.networks if observed is not None else Networks()
    ctx = _Context(rows, observed, networks)
    out: list[Finding] = []
    for rule in (_egress, _external_clients, _endpoints, _unauthenticated, _leaks, _overexposure):
        out.extend(rule(ctx))
    if observed is not None:
        out.extend(cleartext_findings(rows, observed.cleartext))
    # One finding per id: the first rule to name a place wins.
    unique: dict[str, Finding] = {}
    for finding in out:
        unique.setdefault(finding.id, finding)
    return list(unique.values())
