"""The inventory over time (dpi/runs/history.py): days per row kept in `--state`, bounded;
`dpi diff --state` compares the last two runs; `dpi report --state` shows first
appearance, a timeline and what is new; older states load with an empty history."""

from __future__ import annotations

import csv
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from dpi.cli import main
from dpi.inventory import Row
from dpi.runs.history import MAX_DAYS, History, history_from_obj, history_to_obj, row_key
from dpi.runs.state import State, encode_state, read_state_document, state_paths
from tests.dpi.test_report import _chromium, chromium  # noqa: F401 - the fixture

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _expected(name: str) -> list[dict[str, str]]:
    with (SAMPLES / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _row(field: str, day: str, count: int = 1, category: str = "PII") -> Row:
    stamp = f"{day}T10:00:00.000Z"
    return Row(protocol="http", server="10.0.0.5:80", host="h", api="GET /x", direction="request",
               location="body", field=field, data_type="EMAIL_ADDRESS", category=category,
               count=count, first_seen=stamp, last_seen=stamp, clients=1, sample="***", confidence=0.5)


def test_days_new_rows_and_timeline() -> None:
    history = History()
    a = _row("a", "2026-01-01")
    history.record_run([a], "r1")
    b = _row("b", "2026-01-02", category="PCI")
    a2 = replace(a, count=2, last_seen="2026-01-03T08:00:00.000Z")
    history.record_run([a2, b], "r2")
    assert history.days[row_key(a)] == ["2026-01-01", "2026-01-03"]
    assert history.new_since_previous() == [b]
    assert history.first_day(a2) == "2026-01-01"
    timeline = history.timeline()
    assert list(timeline) == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert timeline["2026-01-02"]["PCI"] == 1 and timeline["2026-01-03"]["PII"] == 1
    # An unchanged row in a third run was not seen: no new day.
    history.record_run([a2, b], "r3")
    assert history.days[row_key(a)] == ["2026-01-01", "2026-01-03"]
    assert [r.at for r in history.runs] == ["r2", "r3"]
    again = history_from_obj(history_to_obj(history))
    assert again.days == history.days and again.runs == history.runs


def test_days_are_bounded_and_the_first_day_stays() -> None:
    history = History()
    row = _row("a", "2020-01-01")
    history.record_run([row], "r0")
    for i in range(1, MAX_DAYS + 50):
        day = f"{2021 + i // 365}-{(i // 28) % 12 + 1:02d}-{i % 28 + 1:02d}"
        row = replace(row, count=row.count + 1, last_seen=f"{day}T00:00:00.000Z")
        history.record_run([row], f"r{i}")
    days = history.days[row_key(row)]
    assert len(days) == MAX_DAYS and days[0] == "2020-01-01" and days == sorted(days)
    assert len(history.runs) == 2


def test_older_state_loads_with_empty_history(tmp_path: Path) -> None:
    with State.open(tmp_path / "st") as state:
        state.save()
    path = state_paths(tmp_path / "st")[0]
    doc = read_state_document(path)
    assert "history" in doc
    del doc["history"]
    path.write_bytes(encode_state(doc))
    with State.open(tmp_path / "st") as state:
        assert state.history.days == {} and state.history.runs == []


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("history")
    captures, state = base / "caps", base / "st"
    captures.mkdir()
    shutil.copy(SAMPLES / "rest-shop.pcap", captures)
    scan = ["scan", str(captures), "--state", str(state), "--settle-seconds", "0", "--jobs", "1",
            "--no-progress", "-q", "-o"]
    assert main([*scan, str(base / "inv1.csv")]) == 0
    shutil.copy(SAMPLES / "grpc-patients.pcap", captures)
    assert main([*scan, str(base / "inv2.csv")]) == 0
    return state


def _run_rows(state: Path, name: str) -> list[dict[str, str]]:
    with (state.parent / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


_KEY = ("protocol", "server", "api", "direction", "location", "field", "data_type")


def _new_rows(state: Path) -> list[dict[str, str]]:
    before = {tuple(r[k] for k in _KEY) for r in _run_rows(state, "inv1.csv")}
    return [r for r in _run_rows(state, "inv2.csv") if tuple(r[k] for k in _KEY) not in before]


def test_diff_state_compares_the_last_two_runs(two_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["diff", "--state", str(two_runs), "--format", "json", "--fail-on", "new"]) == 1
    out = capsys.readouterr().out
    grpc_apis = {r["api"] for r in _new_rows(two_runs)}
    assert grpc_apis == {r["api"] for r in _expected("grpc-patients.expected.csv")}
    assert set(re.findall(r'"api": "([^"]+)"', out)) == grpc_apis
    assert "rest-shop" not in out and "/v1/users" not in out


def test_diff_state_needs_two_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--state", str(tmp_path / "none")]) == 2
    assert "no dpi state here" in capsys.readouterr().err


def test_report_state_shows_first_seen_timeline_and_new(two_runs: Path, tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    assert main(["report", "--state", str(two_runs), "--html", str(page), "-q"]) == 0
    html = page.read_text(encoding="utf-8")
    rest, grpc = _run_rows(two_runs, "inv1.csv"), _new_rows(two_runs)
    assert len(rest) == len(_expected("rest-shop.expected.csv")) and grpc

    def body(table: str) -> str:
        match = re.search(rf'<table class="sortable" id="{table}">.*?<tbody[^>]*>(.*?)</tbody>', html)
        assert match is not None, table
        return match.group(1)

    assert body("new-since").count("<tr") == len(grpc)
    assert body("first-seen").count("<tr") == len(rest) + len(grpc)
    days = {r["first_seen"][:10] for r in rest + grpc} | {r["last_seen"][:10] for r in rest + grpc}
    assert body("timeline").count("<tr") == len(days)
    assert '<svg id="timeline-svg"' in html
    for sample in {r["sample"] for r in grpc if len(r["sample"]) > 6}:
        assert f"<td>{sample}</td>" in html or sample not in html  # masked samples only


def test_diff_state_with_one_run_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    captures = tmp_path / "caps"
    captures.mkdir()
    shutil.copy(SAMPLES / "rest-shop.pcap", captures)
    state = tmp_path / "st"
    assert main(["scan", str(captures), "--state", str(state), "--settle-seconds", "0", "--jobs",
                 "1", "--no-progress", "-q", "-o", str(tmp_path / "inv.csv")]) == 0
    capsys.readouterr()
    assert main(["diff", "--state", str(state)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dpi: error:") and err.count("\n") == 1


def test_history_keeps_only_what_the_allow_rules_keep(tmp_path: Path) -> None:
    """A field silenced in dpi.toml is silenced in the state's history too."""
    captures = tmp_path / "caps"
    captures.mkdir()
    shutil.copy(SAMPLES / "rest-shop.pcap", captures)
    config = tmp_path / "dpi.toml"
    config.write_text('[[allow]]\ndata_type = "EMAIL_ADDRESS"\n', encoding="utf-8")
    state = tmp_path / "st"
    assert main(["scan", str(captures), "--state", str(state), "--settle-seconds", "0", "--jobs",
                 "1", "--no-progress", "-q", "--config", str(config), "-o", str(tmp_path / "inv.csv")]) == 0
    with State.open(state) as opened:
        history = opened.history
    recorded = {r.data_type for r in history.runs[-1].rows}
    assert recorded and "EMAIL_ADDRESS" not in recorded
    assert not [key for key in history.days if "EMAIL_ADDRESS" in key]


_TIMELINE_PROBE = """<script>
function visible(t){var b=document.getElementById(t).tBodies[0];
 return [...b.rows].filter(r=>r.style.display!=='none').length;}
var svg=document.getElementById('timeline-svg');
var out={heading:document.getElementById('h-history').textContent,
 bars:svg?svg.querySelectorAll('rect').length:-1,
 timeline:visible('timeline'),newSince:visible('new-since'),firstSeen:visible('first-seen')};
document.getElementById('f-category').value='PHI';
document.getElementById('f-category').dispatchEvent(new Event('change'));
out.firstSeenPhi=visible('first-seen');
document.body.setAttribute('data-history',JSON.stringify(out));
</script></body>"""


def test_chromium_shows_the_timeline_and_filters_it(
    chromium: str, two_runs: Path, tmp_path: Path  # noqa: F811 - the fixture
) -> None:
    page = tmp_path / "r.html"
    assert main(["report", "--state", str(two_runs), "--html", str(page), "-q"]) == 0
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _TIMELINE_PROBE), encoding="utf-8")
    result = _chromium(chromium, tmp_path / "profile", "--dump-dom", probe.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r'data-history="([^"]*)"', result.stdout)
    assert match is not None, "the probe did not run"
    got = json.loads(match.group(1).replace("&quot;", '"'))
    rows = _run_rows(two_runs, "inv2.csv")
    assert got["heading"] == "Over time" and got["bars"] > 0
    assert got["newSince"] == len(_new_rows(two_runs)) and got["firstSeen"] == len(rows)
    assert got["timeline"] >= 1  # one line per day the traffic covers
    assert got["firstSeenPhi"] == sum(r["category"] == "PHI" for r in rows) > 0
