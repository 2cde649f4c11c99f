"""The `cleartext_credentials` finding: secrets seen on flows that were not under TLS.

A credential (password, API key, bearer or session token, private key, a protocol login)
read from a flow without TLS crossed the network in the clear: anyone on the path could
take it. What was decrypted with session keys was under TLS and is not a finding.

The observer counts, per server endpoint (`ip:port`, the inventory's `server`), the
flows a dissector read and which of them were under a TLS layer (at any point: a MySQL
STARTTLS upgrade counts as TLS). A server whose every readable flow was under TLS is
never flagged; one with cleartext flows is, for the SECRET rows of its APIs (high).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dpi.findings.model import Finding, Severity
from dpi.observer import Observer

if TYPE_CHECKING:
    from dpi.inventory import Row
    from dpi.reassembly import Flow

# Flows remembered per scan for the TLS check; beyond it new flows are counted as plain
# (the finding then errs toward flagging, never toward silence).
MAX_TRACKED_FLOWS = 1_000_000
MAX_EVIDENCE_ITEMS = 6


def _server(flow: Flow) -> str:
    from dpi.engine import format_endpoint

    return format_endpoint(flow.server)


class CleartextObserver(Observer):
    """Which server endpoints carried readable flows without TLS."""

    def __init__(self) -> None:
        self._tls_flows: set[int] = set()
        self._identified: dict[int, str] = {}

    def flow_layer(self, flow: Flow, layer: str, info: dict[str, object]) -> None:
        if layer == "tls" and len(self._tls_flows) < MAX_TRACKED_FLOWS:
            self._tls_flows.add(flow.id)

    def flow_identified(self, flow: Flow, protocol: str) -> None:
        if len(self._identified) < MAX_TRACKED_FLOWS:
            self._identified[flow.id] = _server(flow)

    def plain_servers(self) -> dict[str, int]:
        """Server endpoint -> flows read without TLS."""
        out: dict[str, int] = {}
        for flow_id, server in self._identified.items():
            if flow_id not in self._tls_flows:
                out[server] = out.get(server, 0) + 1
        return out


def cleartext_findings(rows: Sequence[Row], observer: CleartextObserver) -> list[Finding]:
    """One finding per API whose SECRET rows came from a server with cleartext flows."""
    plain = observer.plain_servers()
    by_api: dict[tuple[str, str, str], list[Row]] = {}
    for row in rows:
        if row.category == "SECRET" and row.server in plain:
            by_api.setdefault((row.protocol, row.server, row.api), []).append(row)
    out = []
    for (protocol, server, api), secret_rows in sorted(by_api.items()):
        items = [
            f"{r.data_type} in {r.direction} {r.location} {r.field}".rstrip() + f" ({r.count}x)"
            for r in secret_rows
        ]
        shown = "; ".join(items[:MAX_EVIDENCE_ITEMS])
        if len(items) > MAX_EVIDENCE_ITEMS:
            shown += f"; and {len(items) - MAX_EVIDENCE_ITEMS} more"
        out.append(
            Finding(
                severity=Severity.HIGH,
                kind="cleartext_credentials",
                protocol=protocol,
                server=server,
                host=" ".join(sorted({r.host for r in secret_rows if r.host})),
                api=api,
                field="",
                category="SECRET",
                count=sum(r.count for r in secret_rows),
                evidence=f"{plain[server]} flow(s) to {server} without TLS carried: {shown}",
            )
        )
    return out
