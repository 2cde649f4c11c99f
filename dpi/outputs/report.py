"""`dpi report INVENTORY --html FILE`: one self-contained HTML page to look at.

The header says what the page is about: when the inventory was written, the time span
of the traffic it covers, its scope (APIs, servers, protocols, internal networks), the
capture files behind it (from the scan's `--summary-json`, when given) and the dpi
version that made the page. Then APIs by category, a data-flow picture (clients -> APIs
-> servers, with external endpoints marked), findings by severity and the inventory
(with first and last seen), each table sortable by a click on its header. A search box
and filters (category, protocol, external only) narrow every table at once.
Everything is inline (CSS, a few lines of JS, SVG): the page fetches nothing, so it can
be mailed or archived and opened offline.

Inputs are the files `dpi scan` writes: the inventory (CSV, JSON, Parquet or Excel, with
or without the extra `egress`/`auth_share` columns; read by `dpi/outputs/inventory_io.py`) and
optionally the findings (CSV, JSON or Excel). Without findings, the ones the rows alone
tell (egress, overexposure) are computed. Every text is HTML-escaped; the inventory's
samples are already masked.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from dpi.findings.egress import Networks
from dpi.findings.model import Finding, Severity, findings_from_records, sort_findings
from dpi.findings.rules import findings as compute_findings
from dpi.inventory import COLUMNS, Row
from dpi.outputs import compliance
from dpi.runs.history import History

# APIs and servers drawn in the flow picture: beyond, the picture is unreadable and the
# tables below it carry everything.
MAX_FLOW_APIS = 40
MAX_FLOW_SERVERS = 40
# Characters of a label in the picture.
MAX_LABEL = 46
# Inventory rows in the page's inventory table (the CSV holds them all).
MAX_TABLE_ROWS = 5000
# Input file size read: a report of a bigger inventory is not a page anyone reads.
MAX_INPUT_BYTES = 256 * 1024 * 1024
MAX_SUMMARY_BYTES = 16 * 1024 * 1024
# Days drawn in the timeline picture (the table below it has them all).
MAX_TIMELINE_DAYS = 60
# Capture file names listed in the header (the summary may name thousands).
MAX_META_NAMES = 20

CATEGORIES = ("PCI", "PHI", "SECRET", "PII")
_CATEGORY_COLOR = {"PCI": "#c0392b", "PHI": "#8e44ad", "SECRET": "#d35400", "PII": "#2471a3"}
_SEVERITY_COLOR = {"high": "#c0392b", "medium": "#d68910", "low": "#2e86c1", "info": "#7f8c8d"}


class ReportError(Exception):
    """An input that is not an inventory or findings file (names the file, not content)."""


@dataclass(frozen=True, slots=True)
class InventoryRow:
    """One inventory line as read back: the contract's row plus the extra columns."""

    row: Row
    egress: str  # "yes", "no", or "" when the file has no such column
    auth_share: str


def _records(path: Path) -> list[dict[str, Any]]:
    """Every format `dpi scan` writes (dpi/outputs/inventory_io.py); errors name the file only."""
    from dpi.outputs.inventory_io import InventoryReadError, read_records

    try:
        return read_records(path, max_bytes=MAX_INPUT_BYTES)
    except InventoryReadError as exc:
        raise ReportError(str(exc)) from None


def _text(value: Any) -> str:
    """A cell as text (Parquet and Excel give numbers and times their own types)."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat()).replace("+00:00", "Z")
    return str(value)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def read_inventory(path: Path) -> list[InventoryRow]:
    records = _records(path)
    if records and not set(COLUMNS) <= set(records[0]):
        raise ReportError(f"{path}: not a dpi inventory (missing the contract's columns)")
    out = []
    for record in records:
        values: dict[str, Any] = {name: _text(record.get(name)) for name in COLUMNS}
        values["count"] = _int(record.get("count"))
        values["clients"] = _int(record.get("clients"))
        values["confidence"] = _float(record.get("confidence"))
        share = record.get("auth_share")
        out.append(
            InventoryRow(
                row=Row(**values),
                egress=str(record.get("egress") or ""),
                auth_share="" if share is None or share == "" else f"{_float(share):.2f}",
            )
        )
    return out


def read_findings(path: Path) -> list[Finding]:
    records = _records(path)
    if records and "severity" not in records[0]:
        raise ReportError(f"{path}: not a dpi findings file")
    return findings_from_records(records)


# -- page pieces ---------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1c2833;background:#fbfcfc}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d5d8dc;padding-bottom:4px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border:1px solid #d5d8dc;border-radius:6px;padding:10px 14px;min-width:110px}
.card b{display:block;font-size:22px}.sev{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px;font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}th,td{border:1px solid #e5e8e8;padding:4px 6px;text-align:left;vertical-align:top}
td{overflow-wrap:anywhere;max-width:420px}td.id{white-space:nowrap;overflow-wrap:normal}
th{background:#eaecee;cursor:pointer;user-select:none;white-space:nowrap}th:after{content:" \\2195";color:#99a3a4}
td.num{text-align:right}.cat{display:inline-block;color:#fff;border-radius:3px;padding:0 5px;margin:1px;font-size:11px}
.ext{color:#c0392b;font-weight:600}.muted{color:#7f8c8d}svg text{font:12px system-ui,sans-serif}
#meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0 14px}#meta dt{color:#5d6d7e}#meta dd{margin:0}
#filters{position:sticky;top:0;background:#fbfcfc;padding:8px 0;display:flex;gap:10px;align-items:center;flex-wrap:wrap;z-index:1}
#filters input[type=search]{width:280px;padding:4px}
"""

# Sort a table by the clicked column: numbers numerically (cells may carry data-v), text
# by locale; a second click reverses.
_JS = """
document.querySelectorAll('table.sortable th').forEach(function(th){
 th.addEventListener('click',function(){
  var table=th.closest('table'),body=table.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th);
  var asc=th.getAttribute('data-dir')!=='asc';th.setAttribute('data-dir',asc?'asc':'desc');
  var key=function(r){var c=r.cells[i];return c.hasAttribute('data-v')?c.getAttribute('data-v'):c.textContent;};
  Array.from(body.rows).sort(function(x,y){var a=key(x),b=key(y),na=parseFloat(a),nb=parseFloat(b);
   var d=(!isNaN(na)&&!isNaN(nb)&&isFinite(a)&&isFinite(b))?na-nb:a.localeCompare(b);return asc?d:-d;})
  .forEach(function(r){body.appendChild(r);});
 });
});
function dpiFilter(){
 var q=document.getElementById('q').value.trim().toLowerCase(),c=document.getElementById('f-category').value,
  p=document.getElementById('f-protocol').value,e=document.getElementById('f-external').checked,all=0,seen=0;
 document.querySelectorAll('tbody.filterable').forEach(function(b){var n=0;
  Array.from(b.rows).forEach(function(r){
   var ok=(!q||r.textContent.toLowerCase().indexOf(q)>=0)&&(!c||(' '+r.getAttribute('data-cat')+' ').indexOf(' '+c+' ')>=0)
    &&(!p||r.getAttribute('data-proto')===p)&&(!e||r.getAttribute('data-ext')==='1');
   r.style.display=ok?'':'none';if(ok){n++;}all++;});
  b.setAttribute('data-shown',n);seen+=n;});
 document.getElementById('shown').textContent=(q||c||p||e)?'showing '+seen+' of '+all+' rows':'';
}
['q','f-category','f-protocol','f-external'].forEach(function(id){var el=document.getElementById(id);
 el.addEventListener('input',dpiFilter);el.addEventListener('change',dpiFilter);});
dpiFilter();
document.body.setAttribute('data-ready','1');
"""


def _cell(value: object, *, num: bool = False, sort: object = None, raw: str = "") -> str:
    attrs = ' class="num"' if num else ""
    if sort is not None:
        attrs += f' data-v="{escape(str(sort))}"'
    return f"<td{attrs}>{raw or escape(str(value))}</td>"


def _table(
    table_id: str, headers: Sequence[str], rows: Sequence[str], attrs: Sequence[str] = ()
) -> str:
    """`attrs`: per row, the filter attributes (`_filter_attrs`); given: the filters apply."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        f"<tr{attrs[i] if i < len(attrs) else ''}>{r}</tr>" for i, r in enumerate(rows)
    )
    tbody = '<tbody class="filterable">' if attrs else "<tbody>"
    return (
        f'<table class="sortable" id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"{tbody}{body}</tbody></table>"
    )


def _filter_attrs(categories: Sequence[str], protocol: str, external: bool) -> str:
    cats = " ".join(c for c in categories if c)
    return (
        f' data-cat="{escape(cats)}" data-proto="{escape(protocol)}"'
        f' data-ext="{"1" if external else "0"}"'
    )


def _badge(category: str) -> str:
    color = _CATEGORY_COLOR.get(category, "#566573")
    return f'<span class="cat" style="background:{color}">{escape(category)}</span>'


def _severity_badge(severity: str) -> str:
    color = _SEVERITY_COLOR.get(severity, "#566573")
    return f'<span class="sev" style="background:{color}">{escape(severity)}</span>'


def _label(text: str) -> str:
    return escape(text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…")


@dataclass(slots=True)
class _ApiView:
    protocol: str
    server: str
    host: str
    api: str
    categories: Counter[str]
    data_types: set[str]
    clients: int
    egress: bool
    auth_share: str
    findings: int


def _apis(rows: Sequence[InventoryRow], networks: Networks, found: Sequence[Finding]) -> list[_ApiView]:
    per_api = Counter((f.protocol, f.server, f.api) for f in found if f.api)
    views: dict[tuple[str, str, str], _ApiView] = {}
    for item in rows:
        row = item.row
        key = (row.protocol, row.server, row.api)
        view = views.get(key)
        if view is None:
            egress = item.egress == "yes" if item.egress else not networks.endpoint_is_internal(row.server)
            view = views[key] = _ApiView(
                row.protocol, row.server, row.host, row.api, Counter(), set(), 0, egress,
                item.auth_share, per_api.get(key, 0),
            )
        view.categories[row.category] += 1
        view.data_types.add(row.data_type)
        view.clients = max(view.clients, row.clients)
        if not view.host:
            view.host = row.host
    def rank(v: _ApiView) -> tuple[int, str, str]:
        top = min((CATEGORIES.index(c) for c in v.categories if c in CATEGORIES), default=9)
        return (top, v.server, v.api)
    return sorted(views.values(), key=rank)


def _flow_svg(apis: Sequence[_ApiView], found: Sequence[Finding]) -> str:
    """Clients (one node per protocol) -> APIs -> servers; external servers in red."""
    shown = list(apis[:MAX_FLOW_APIS])
    protocols = sorted({a.protocol for a in shown})
    servers: list[str] = []
    external: dict[str, bool] = {}
    names: dict[str, str] = {}
    for api in shown:
        if api.server not in servers and len(servers) < MAX_FLOW_SERVERS:
            servers.append(api.server)
        external[api.server] = external.get(api.server, False) or api.egress
        if api.host and api.server not in names:
            names[api.server] = api.host
    for finding in found:
        if finding.kind == "external_endpoint" and finding.host:
            for server in servers:
                if server.startswith(finding.server) and server not in names:
                    names[server] = finding.host.split(" ", 1)[0]
    step, top, box_h = 30, 40, 22
    height = top + step * max(len(shown), len(servers), len(protocols), 1) + 20
    xs = (10, 330, 860)
    widths = (200, 380, 330)
    y_client = {p: top + i * step for i, p in enumerate(protocols)}
    y_server = {s: top + i * step for i, s in enumerate(servers)}
    out = [
        (
            f'<svg id="flow" role="img" aria-label="data flow" width="1200" height="{height}" '
            f'viewBox="0 0 1200 {height}">'
        ),
        '<text x="10" y="20" font-weight="bold">clients</text>',
        '<text x="330" y="20" font-weight="bold">APIs</text>',
        '<text x="860" y="20" font-weight="bold">servers (external in red)</text>',
    ]
    edges: list[str] = []
    nodes: list[str] = []
    for i, api in enumerate(shown):
        y = top + i * step
        top_category = next((c for c in CATEGORIES if c in api.categories), "PII")
        color = _CATEGORY_COLOR[top_category]
        yc = y_client[api.protocol] + box_h / 2
        edges.append(
            f'<path d="M{xs[0] + widths[0]},{yc} C{xs[1] - 60},{yc} {xs[0] + widths[0] + 60},'
            f'{y + box_h / 2} {xs[1]},{y + box_h / 2}" stroke="{color}" fill="none" '
            f'stroke-width="1.5" opacity="0.6"/>'
        )
        if api.server in y_server:
            ys = y_server[api.server] + box_h / 2
            edges.append(
                f'<path d="M{xs[1] + widths[1]},{y + box_h / 2} C{xs[2] - 60},{y + box_h / 2} '
                f'{xs[1] + widths[1] + 60},{ys} {xs[2]},{ys}" stroke="{color}" fill="none" '
                f'stroke-width="1.5" opacity="0.6"/>'
            )
        cats = ",".join(c for c in CATEGORIES if c in api.categories)
        nodes.append(
            f'<g class="api-node"><rect x="{xs[1]}" y="{y}" width="{widths[1]}" height="{box_h}" '
            f'rx="4" fill="#fff" stroke="{color}"/><text x="{xs[1] + 6}" y="{y + 15}">'
            f"{_label(f'{api.api} [{cats}]')}</text></g>"
        )
    for protocol, y in y_client.items():
        count = sum(a.clients for a in shown if a.protocol == protocol)
        nodes.append(
            f'<g class="client-node"><rect x="{xs[0]}" y="{y}" width="{widths[0]}" height="{box_h}" '
            f'rx="4" fill="#eaf2f8" stroke="#5d6d7e"/><text x="{xs[0] + 6}" y="{y + 15}">'
            f"{_label(f'{protocol} clients (up to {count})')}</text></g>"
        )
    for server, y in y_server.items():
        ext = external.get(server, False)
        stroke, fill = ("#c0392b", "#fdedec") if ext else ("#5d6d7e", "#f4f6f6")
        label = server + (f" {names[server]}" if server in names else "") + (" EXTERNAL" if ext else "")
        nodes.append(
            f'<g class="server-node{" external" if ext else ""}"><rect x="{xs[2]}" y="{y}" '
            f'width="{widths[2]}" height="{box_h}" rx="4" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{xs[2] + 6}" y="{y + 15}">{_label(label)}</text></g>'
        )
    more = len(apis) - len(shown)
    if more > 0:
        out.append(f'<text x="330" y="{height - 6}" class="muted">and {more} more APIs (see the table)</text>')
    return "".join(out + edges + nodes) + "</svg>"


@dataclass(slots=True)
class ReportMeta:
    """What the header says about the scan behind the page (every field optional)."""

    inventory_name: str = ""
    written: str = ""  # when the inventory file was written (UTC, ISO 8601)
    made: str = ""  # when this page was made
    version: str = ""  # of dpi
    internal: list[str] = field(default_factory=list)  # CIDRs; empty: the private ranges
    summary: dict[str, Any] = field(default_factory=dict)  # the scan's --summary-json


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def dpi_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dpi-inventory")
    except PackageNotFoundError:  # a source tree that was never installed
        return "(not installed)"


def _files_text(summary: dict[str, Any]) -> str:
    if not summary:
        return "not given (pass --summary-json of the scan to show them)"
    files = summary.get("files")
    mb = _float(summary.get("bytes_read")) / 1e6
    text = (
        f"{_int(files)} capture file(s), {mb:.1f} MB, {_int(summary.get('frames'))} packets, "
        f"{_int(summary.get('flows'))} TCP flows"
    )
    names = summary.get("paths") or summary.get("inputs")
    if isinstance(names, list) and names:
        shown = [str(n) for n in names[:MAX_META_NAMES]]
        more = len(names) - len(shown)
        text += ": " + ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    return text


def _meta_html(meta: ReportMeta, rows: Sequence[InventoryRow], apis: Sequence[_ApiView]) -> str:
    firsts = [r.row.first_seen for r in rows if r.row.first_seen]
    lasts = [r.row.last_seen for r in rows if r.row.last_seen]
    traffic = f"{min(firsts)} to {max(lasts)}" if firsts and lasts else "no timestamps"
    protocols = ", ".join(sorted({a.protocol for a in apis})) or "none"
    servers = len({a.server for a in apis})
    internal = ", ".join(meta.internal) if meta.internal else "the private ranges (default)"
    items = [
        ("scan", f"inventory {meta.inventory_name or '(in memory)'} written {meta.written or 'at an unknown time'}"),
        ("traffic", traffic),
        ("scope", f"{len(apis)} APIs on {servers} servers; protocols: {protocols}; internal networks: {internal}"),
        ("files", _files_text(meta.summary)),
        ("dpi", f"version {meta.version or dpi_version()}; page made {meta.made or _utc(time.time())}"),
    ]
    body = "".join(
        f'<dt>{escape(k)}</dt><dd id="meta-{escape(k)}">{escape(v)}</dd>' for k, v in items
    )
    return f'<dl id="meta">{body}</dl>'


def _filters_html(rows: Sequence[InventoryRow], apis: Sequence[_ApiView]) -> str:
    protocols = sorted({a.protocol for a in apis} | {r.row.protocol for r in rows})
    cat_options = "".join(f'<option value="{c}">{c}</option>' for c in CATEGORIES)
    proto_options = "".join(f'<option value="{escape(p)}">{escape(p)}</option>' for p in protocols)
    return (
        '<div id="filters"><input type="search" id="q" placeholder="search APIs, servers, fields, findings" '
        'aria-label="search">'
        f'<select id="f-category" aria-label="category"><option value="">all categories</option>{cat_options}</select>'
        f'<select id="f-protocol" aria-label="protocol"><option value="">all protocols</option>{proto_options}</select>'
        '<label><input type="checkbox" id="f-external"> external only</label>'
        '<span id="shown" class="muted"></span></div>'
    )


def _view_categories(table_id: str, category: str, line: Sequence[str]) -> list[str]:
    """A GDPR line is PII, PHI (its special categories) or both; the others are one."""
    if table_id != "gdpr-article30":
        return [category]
    at = compliance.GDPR_COLUMNS.index
    return [c for c, col in (("PII", "personal_data_categories"), ("PHI", "special_categories")) if line[at(col)]]


def _timeline_svg(timeline: dict[str, Counter[str]]) -> str:
    """Fields seen per day, one stacked bar per day, by category."""
    days = list(timeline)[-MAX_TIMELINE_DAYS:]
    top = max((sum(timeline[d].values()) for d in days), default=1) or 1
    width, height, bar = 24 * len(days) + 20, 140, 18
    parts = [f'<svg id="timeline-svg" role="img" aria-label="fields per day" width="{width}" height="{height}">']
    for i, day in enumerate(days):
        y = height - 20
        for category in CATEGORIES:
            n = timeline[day].get(category, 0)
            if not n:
                continue
            h = max(1, round(100 * n / top))
            y -= h
            parts.append(f'<rect x="{10 + 24 * i}" y="{y}" width="{bar}" height="{h}" '
                         f'fill="{_CATEGORY_COLOR[category]}"><title>{escape(day)} {category} {n}</title></rect>')
        parts.append(f'<text x="{10 + 24 * i}" y="{height - 6}" font-size="9">{escape(day[5:])}</text>')
    return "".join(parts) + "</svg>"


def _history_sections(history: History, networks: Networks) -> list[str]:
    """When each sensitive field first appeared, a per-category timeline and what is new
    since the previous run (dpi/runs/history.py), from `dpi report --state`. The row tables
    follow the page's filters like the inventory does."""
    rows = history.runs[-1].rows if history.runs else []

    def attrs(selected: Sequence[Row]) -> list[str]:
        return [
            _filter_attrs([r.category], r.protocol, not networks.endpoint_is_internal(r.server))
            for r in selected
        ]

    first_sorted = sorted(rows, key=lambda r: (history.first_day(r), r.api, r.field))[:MAX_TABLE_ROWS]
    timeline = history.timeline()
    first_rows = [
        _cell(history.first_day(r)) + _cell(r.protocol) + _cell(r.server) + _cell(r.api)
        + _cell(r.direction) + _cell(r.location) + _cell(r.field) + _cell(r.data_type)
        + _cell("", sort=r.category, raw=_badge(r.category))
        for r in first_sorted
    ]
    day_rows = [
        _cell(day) + "".join(_cell(counts.get(c, 0), num=True) for c in CATEGORIES)
        for day, counts in timeline.items()
    ]
    new = history.new_since_previous()
    new_rows = [
        _cell(r.protocol) + _cell(r.server) + _cell(r.api) + _cell(r.direction) + _cell(r.location)
        + _cell(r.field) + _cell(r.data_type) + _cell("", sort=r.category, raw=_badge(r.category))
        for r in new[:MAX_TABLE_ROWS]
    ]
    runs = ", ".join(run.at for run in history.runs) or "none"
    return [
        f'<h2 id="h-history">Over time</h2><p class="muted" id="history-runs">runs compared: {escape(runs)}</p>',
        _timeline_svg(timeline),
        _table("timeline", ("day", *CATEGORIES), day_rows),
        "<h3>New since the previous run</h3>",
        _table("new-since", ("protocol", "server", "api", "direction", "location", "field", "data type", "category"),
               new_rows, attrs(new[:MAX_TABLE_ROWS])),
        "<h3>When each sensitive field first appeared</h3>",
        _table("first-seen", ("first day", "protocol", "server", "api", "direction", "location", "field",
                              "data type", "category"), first_rows, attrs(first_sorted)),
    ]


def _compliance_sections(
    rows: Sequence[InventoryRow], networks: Networks, found: Sequence[Finding]
) -> list[str]:
    """PCI DSS scope, HIPAA PHI flows, GDPR Article 30 (dpi/outputs/compliance.py): the same lines
    as the CSVs `--compliance-dir` writes, filterable like the other tables."""
    views = compliance.compute(rows, networks, found)
    out = []
    for table_id, title, columns, lines, category, note in (
        ("pci-scope", "PCI DSS scope", compliance.PCI_COLUMNS, views.pci, "PCI",
         "Servers and APIs that send or receive card data, and the flows to and from their clients (counted, never named)."),
        ("phi-flows", "HIPAA PHI flows", compliance.PHI_COLUMNS, views.phi, "PHI",
         "APIs and servers that carry PHI, by direction, with the identifiers that travel with it."),
        ("gdpr-article30", "GDPR Article 30 records", compliance.GDPR_COLUMNS, views.gdpr, "PII",
         "Per API: categories of personal data, recipients, egress destinations, transfers outside the internal networks."),
    ):
        external_at = columns.index("transfer_outside_internal" if table_id == "gdpr-article30" else "external")
        cells = [
            "".join(_cell(v, num=columns[i] in ("fields", "clients_at_least")) for i, v in enumerate(line))
            for line in lines
        ]
        attrs = [_filter_attrs(_view_categories(table_id, category, line), line[0], line[external_at] == "yes")
                 for line in lines]
        out += [
            f'<h2 id="h-{table_id}">{escape(title)}</h2><p class="muted">{escape(note)}</p>',
            _table(table_id, columns, cells, attrs),
        ]
        if not lines:
            out.append(f'<p class="muted" id="no-{table_id}">None seen.</p>')
    return out


def render(
    rows: Sequence[InventoryRow],
    found: Sequence[Finding],
    *,
    title: str = "dpi data inventory",
    networks: Networks | None = None,
    meta: ReportMeta | None = None,
    history: History | None = None,
) -> str:
    """The whole page as a string."""
    networks = networks or Networks()
    meta = meta or ReportMeta()
    found = sort_findings(list(found))
    apis = _apis(rows, networks, found)
    severities = Counter(str(f.severity) for f in found)
    categories = Counter(item.row.category for item in rows)
    cards = [
        ("APIs", len(apis)),
        ("sensitive fields", len(rows)),
        *((c, categories.get(c, 0)) for c in CATEGORIES),
        ("external APIs", sum(a.egress for a in apis)),
        *((f"{s} findings", severities.get(str(s), 0)) for s in Severity),
    ]
    card_html = "".join(f'<div class="card"><b>{n}</b>{escape(label)}</div>' for label, n in cards)

    finding_rows = [
        f'<td class="id">{escape(f.id)}</td>'
        + _cell("", sort=f.severity.rank, raw=_severity_badge(str(f.severity)))
        + _cell(f.kind)
        + _cell(f.protocol)
        + _cell(f.server)
        + _cell(f.host)
        + _cell(f.api)
        + _cell(f.field)
        + _cell("", sort=f.category, raw="".join(_badge(c) for c in f.category.split(";") if c))
        + _cell(f.count, num=True)
        + _cell(f.evidence)
        for f in found
    ]
    finding_attrs = [
        _filter_attrs(f.category.split(";"), f.protocol, not networks.endpoint_is_internal(f.server))
        for f in found
    ]
    api_attrs = [_filter_attrs(list(a.categories), a.protocol, a.egress) for a in apis]
    api_rows = [
        _cell(a.protocol)
        + _cell(a.server, raw=f'<span class="ext">{escape(a.server)}</span>' if a.egress else "")
        + _cell(a.host)
        + _cell(a.api)
        + "".join(_cell(a.categories.get(c, 0), num=True) for c in CATEGORIES)
        + _cell(", ".join(sorted(a.data_types)))
        + _cell(a.clients, num=True)
        + _cell("yes" if a.egress else "no")
        + _cell(a.auth_share, num=True, sort=a.auth_share or -1)
        + _cell(a.findings, num=True)
        for a in apis
    ]
    inventory_rows = [
        _cell(i.row.protocol)
        + _cell(i.row.server)
        + _cell(i.row.host)
        + _cell(i.row.api)
        + _cell(i.row.direction)
        + _cell(i.row.location)
        + _cell(i.row.field)
        + _cell(i.row.data_type)
        + _cell("", sort=i.row.category, raw=_badge(i.row.category))
        + _cell(i.row.count, num=True)
        + _cell(i.row.first_seen)
        + _cell(i.row.last_seen)
        + _cell(i.row.clients, num=True)
        + _cell(i.row.sample)
        + _cell(i.row.confidence, num=True)
        for i in rows[:MAX_TABLE_ROWS]
    ]
    inventory_attrs = [
        _filter_attrs(
            [i.row.category], i.row.protocol,
            i.egress == "yes" if i.egress else not networks.endpoint_is_internal(i.row.server),
        )
        for i in rows[:MAX_TABLE_ROWS]
    ]
    endpoints = [f for f in found if f.kind == "external_endpoint"]
    endpoint_rows = [
        _cell(f.server) + _cell(f.host) + _cell(f.protocol) + _cell(f.count, num=True)
        + _cell("", sort=f.category, raw="".join(_badge(c) for c in f.category.split(";") if c))
        + _cell(f.evidence)
        for f in endpoints
    ]
    endpoint_attrs = [_filter_attrs(f.category.split(";"), f.protocol, True) for f in endpoints]
    by_severity = " ".join(
        f"{_severity_badge(str(s))} {severities.get(str(s), 0)}" for s in Severity
    )
    cut = len(rows) - MAX_TABLE_ROWS
    sections = [
        f"<h1>{escape(title)}</h1>",
        _meta_html(meta, rows, apis),
        '<p class="muted">Samples are masked; evidence names structures, never values.</p>',
        f'<div class="cards">{card_html}</div>',
        _filters_html(rows, apis),
        "<h2>Data flow</h2>",
        f'<div style="overflow-x:auto">{_flow_svg(apis, found)}</div>',
        f'<h2>Findings by severity</h2><p id="severity-counts">{by_severity}</p>',
        _table(
            "findings",
            ("id", "severity", "kind", "protocol", "server", "host", "api", "field",
             "category", "count", "evidence"),
            finding_rows,
            finding_attrs,
        ) if finding_rows else '<p id="no-findings">No findings.</p>',
        "<h2>APIs by category</h2>",
        _table(
            "apis",
            ("protocol", "server", "host", "api", *CATEGORIES, "data types", "clients",
             "egress", "auth share", "findings"),
            api_rows,
            api_attrs,
        ),
    ]
    if endpoint_rows:
        sections += [
            "<h2>External endpoints</h2>",
            _table("endpoints", ("address", "names", "protocols", "flows", "sent", "evidence"),
                   endpoint_rows, endpoint_attrs),
        ]
    sections += _compliance_sections(rows, networks, found)
    if history is not None:
        sections += _history_sections(history, networks)
    sections += [
        "<h2>Inventory</h2>",
        _table(
            "inventory",
            ("protocol", "server", "host", "api", "direction", "location", "field", "data type",
             "category", "count", "first seen", "last seen", "clients", "sample", "confidence"),
            inventory_rows,
            inventory_attrs,
        ),
    ]
    if cut > 0:
        sections.append(f'<p class="muted">and {cut} more rows (see the inventory file)</p>')
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        # No network at all: the policy forbids every fetch, inline code only.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        + "".join(sections)
        + f"<script>{_JS}</script></body></html>\n"
    )


def read_summary(path: Path) -> dict[str, Any]:
    """The scan's `--summary-json` (counts only are shown: files, bytes, packets, flows,
    and the scanned paths when the summary names them)."""
    try:
        loaded = json.loads(path.read_bytes()[:MAX_SUMMARY_BYTES])
    except OSError as exc:
        raise ReportError(f"{path}: {exc.strerror or 'unreadable'}") from None
    except ValueError:
        raise ReportError(f"{path}: not a dpi scan summary (JSON)") from None
    if not isinstance(loaded, dict) or "files" not in loaded:
        raise ReportError(f"{path}: not a dpi scan summary (--summary-json)")
    return loaded


def _read_history(state: str) -> History:
    from dpi.runs.state import StateError, read_history

    try:
        return read_history(state)
    except StateError as exc:
        raise ReportError(str(exc)) from None


def write_report(
    inventory: Path | None,
    out: Path,
    *,
    findings_path: Path | None = None,
    internal: Sequence[str] = (),
    summary_path: Path | None = None,
    compliance_dir: Path | None = None,
    state: str | None = None,
) -> int:
    """Read the inputs, write the page (and the compliance CSVs into `compliance_dir`
    when given); returns the number of findings shown."""
    networks = Networks(internal) if internal else Networks()
    history = _read_history(state) if state else None
    if inventory is None:
        # `dpi report --state DIR`: the rows of the state's last run.
        if history is None or not history.runs:
            raise ReportError(f"{state}: no run recorded in this state (scan with --state first)")
        rows = [InventoryRow(row=r, egress="", auth_share="") for r in history.runs[-1].rows]
    else:
        rows = read_inventory(inventory)
    if findings_path is not None:
        found = read_findings(findings_path)
    else:
        found = compute_findings([r.row for r in rows], None, networks)
    meta = ReportMeta(
        inventory_name=inventory.name if inventory is not None else f"state {state}",
        written=_utc(inventory.stat().st_mtime) if inventory is not None else history.runs[-1].at if history else "",
        made=_utc(time.time()),
        version=dpi_version(),
        internal=list(internal),
        summary=read_summary(summary_path) if summary_path is not None else {},
    )
    page = render(rows, found, title=f"dpi report: {meta.inventory_name}", networks=networks, meta=meta,
                  history=history)
    out.write_text(page, encoding="utf-8")
    if compliance_dir is not None:
        try:
            compliance.write_csvs(compliance.compute(rows, networks, found), compliance_dir)
        except OSError as exc:
            raise ReportError(f"{compliance_dir}: {exc.strerror or 'not writable'}") from None
    return len(found)

