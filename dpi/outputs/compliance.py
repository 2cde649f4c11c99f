"""Compliance views of an inventory: PCI DSS scope, HIPAA PHI flows, GDPR Article 30.

Auditors ask three questions the inventory already answers, each in its own shape:

- PCI DSS scope: which servers and APIs send or receive card data, from or to how many
  clients, in which direction (`pci-scope.csv`);
- HIPAA: which APIs and servers carry PHI, in which direction, internal or external, and
  which identifiers travel with it (PHI is health data plus an identifier)
  (`hipaa-phi-flows.csv`);
- GDPR Article 30 (records of processing): per API the categories of personal data
  (the PII data types; health data, an Article 9 special category, apart), the
  recipients, the egress destinations and whether data leaves the internal networks,
  first and last seen (`gdpr-article30.csv`).

Everything is computed from the inventory's masked columns (data types, fields, counts,
clients, times) and the internal networks: no value, and no sample either, is ever in a
view. Clients are counted, never named (the inventory has only their number).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dpi.findings.egress import Networks
from dpi.findings.model import Finding
from dpi.inventory import Row

PCI_COLUMNS = (
    "protocol", "server", "host", "api", "flow", "card_data_types", "fields",
    "clients_at_least", "external", "first_seen", "last_seen",
)
PHI_COLUMNS = (
    "protocol", "server", "host", "api", "direction", "phi_data_types", "with_identifiers",
    "fields", "clients_at_least", "external", "first_seen", "last_seen",
)
GDPR_COLUMNS = (
    "protocol", "server", "host", "api", "personal_data_categories", "special_categories",
    "recipients", "egress_destinations", "transfer_outside_internal", "clients_at_least",
    "first_seen", "last_seen",
)
# The file each view is written to by `dpi report --compliance-dir DIR`.
FILE_NAMES = {"pci": "pci-scope.csv", "phi": "hipaa-phi-flows.csv", "gdpr": "gdpr-article30.csv"}
# Who sends what in the PCI view: a request goes from the clients to the server.
_FLOW = {"request": "clients -> server", "response": "server -> clients"}
# Egress findings name the external destination of an API (dpi/findings/rules.py).
_EGRESS_KINDS = ("egress_sensitive_data", "external_sensitive_response")


class ComplianceRow(Protocol):
    """An inventory line as `dpi report` reads it: the row and its `egress` column
    ("yes", "no", or "" when the file has none)."""

    @property
    def row(self) -> Row: ...

    @property
    def egress(self) -> str: ...


@dataclass(slots=True)
class _Group:
    """Rows of one (protocol, server, api[, direction]) folded together."""

    protocol: str
    server: str
    host: str
    api: str
    direction: str
    external: bool
    data_types: set[str] = field(default_factory=set)
    others: set[str] = field(default_factory=set)  # identifiers (PHI) / special (GDPR)
    fields: set[tuple[str, str, str]] = field(default_factory=set)
    directions: set[str] = field(default_factory=set)
    clients: int = 0
    first_seen: str = ""
    last_seen: str = ""

    def add(self, row: Row) -> None:
        self.fields.add((row.direction, row.location, row.field))
        self.directions.add(row.direction)
        # Distinct clients per field are known, not their union: the largest is a floor.
        self.clients = max(self.clients, row.clients)
        if not self.host:
            self.host = row.host
        if row.first_seen and (not self.first_seen or row.first_seen < self.first_seen):
            self.first_seen = row.first_seen
        self.last_seen = max(self.last_seen, row.last_seen)


def is_external(item: ComplianceRow, networks: Networks) -> bool:
    """The scan's `egress` column when the file has it, else the given networks (as the
    rest of the report decides)."""
    if item.egress:
        return item.egress == "yes"
    return not networks.endpoint_is_internal(item.row.server)


def _group(
    groups: dict[tuple[str, ...], _Group], key: tuple[str, ...], item: ComplianceRow,
    networks: Networks, direction: str = "",
) -> _Group:
    group = groups.get(key)
    if group is None:
        row = item.row
        group = groups[key] = _Group(
            row.protocol, row.server, row.host, row.api, direction, is_external(item, networks)
        )
    return group


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _join(items: Iterable[str]) -> str:
    return ";".join(sorted(items))


def pci_scope(rows: Sequence[ComplianceRow], networks: Networks) -> list[list[str]]:
    """One line per API and direction that carries card data (category PCI)."""
    groups: dict[tuple[str, ...], _Group] = {}
    for item in rows:
        row = item.row
        if row.category != "PCI":
            continue
        key = (row.protocol, row.server, row.api, row.direction)
        group = _group(groups, key, item, networks, row.direction)
        group.data_types.add(row.data_type)
        group.add(row)
    return [
        [g.protocol, g.server, g.host, g.api, _FLOW.get(g.direction, g.direction),
         _join(g.data_types), str(len(g.fields)), str(g.clients), _yes(g.external),
         g.first_seen, g.last_seen]
        for g in sorted(groups.values(), key=lambda g: (g.protocol, g.server, g.api, g.direction))
    ]


def phi_flows(rows: Sequence[ComplianceRow], networks: Networks) -> list[list[str]]:
    """One line per API and direction that carries PHI; `with_identifiers` lists the PII
    data types of the same API and direction (what makes health data identifiable)."""
    groups: dict[tuple[str, ...], _Group] = {}
    identifiers: dict[tuple[str, ...], set[str]] = {}
    for item in rows:
        row = item.row
        key: tuple[str, ...] = (row.protocol, row.server, row.api, row.direction)
        if row.category == "PII":
            identifiers.setdefault(key, set()).add(row.data_type)
        if row.category != "PHI":
            continue
        group = _group(groups, key, item, networks, row.direction)
        group.data_types.add(row.data_type)
        group.add(row)
    out = []
    for group_key, g in sorted(groups.items()):
        out.append([
            g.protocol, g.server, g.host, g.api, g.direction, _join(g.data_types),
            _join(identifiers.get(group_key, ())), str(len(g.fields)), str(g.clients),
            _yes(g.external), g.first_seen, g.last_seen,
        ])
    return out


def _destination_names(found: Sequence[Finding]) -> dict[tuple[str, str, str], str]:
    names: dict[tuple[str, str, str], str] = {}
    for finding in found:
        if finding.kind in _EGRESS_KINDS and finding.host:
            names.setdefault((finding.protocol, finding.server, finding.api), finding.host)
    return names


def gdpr_article30(
    rows: Sequence[ComplianceRow], networks: Networks, found: Sequence[Finding] = ()
) -> list[list[str]]:
    """One line per API that carries personal data (PII, or PHI as a special category).
    Recipients: the server when personal data is sent to it (requests), the clients
    (counted) when it is sent to them (responses). Egress destinations: the server when
    it is outside the internal networks, with the names it is known by."""
    groups: dict[tuple[str, ...], _Group] = {}
    for item in rows:
        row = item.row
        if row.category not in ("PII", "PHI"):
            continue
        group = _group(groups, (row.protocol, row.server, row.api), item, networks)
        (group.data_types if row.category == "PII" else group.others).add(row.data_type)
        group.add(row)
    names = _destination_names(found)
    out = []
    for key, g in sorted(groups.items()):
        server_name = f"{g.host} ({g.server})" if g.host else g.server
        recipients = []
        if "request" in g.directions:
            recipients.append(f"server {server_name}")
        if "response" in g.directions:
            recipients.append(f"clients ({g.clients})")
        destination = ""
        if g.external:
            known = names.get((g.protocol, g.server, g.api), "") or g.host
            destination = f"{g.server} ({known})" if known else g.server
        out.append([
            g.protocol, g.server, g.host, g.api, _join(g.data_types), _join(g.others),
            "; ".join(recipients), destination, _yes(g.external), str(g.clients),
            g.first_seen, g.last_seen,
        ])
    return out


@dataclass(frozen=True, slots=True)
class ComplianceViews:
    """The three views, each a list of lines in its `*_COLUMNS` order."""

    pci: list[list[str]]
    phi: list[list[str]]
    gdpr: list[list[str]]


def compute(
    rows: Sequence[ComplianceRow], networks: Networks, found: Sequence[Finding] = ()
) -> ComplianceViews:
    return ComplianceViews(
        pci_scope(rows, networks), phi_flows(rows, networks), gdpr_article30(rows, networks, found)
    )


def to_csv(columns: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    """RFC 4180, UTF-8, CRLF, the header first (as the inventory's CSV)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(lines)
    return buffer.getvalue()


def write_csvs(views: ComplianceViews, directory: Path) -> list[Path]:
    """`pci-scope.csv`, `hipaa-phi-flows.csv`, `gdpr-article30.csv` in `directory`
    (created when missing); returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for key, columns, lines in (
        ("pci", PCI_COLUMNS, views.pci),
        ("phi", PHI_COLUMNS, views.phi),
        ("gdpr", GDPR_COLUMNS, views.gdpr),
    ):
        path = directory / FILE_NAMES[key]
        path.write_text(to_csv(columns, lines), encoding="utf-8", newline="")
        written.append(path)
    return written
