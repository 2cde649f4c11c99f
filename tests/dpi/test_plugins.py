"""Plug-in classifiers from installed distributions (`dpi.classifiers` entry points,
dpi/plugins.py): a distribution that declares the group is found and its classifier
runs in a scan; with none declaring it, the scan does not import importlib.metadata."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from importlib.machinery import PathFinder
from pathlib import Path

import pytest

from dpi.plugins import _may_declare, entry_points

ROOT = Path(__file__).resolve().parents[2]
REST_SHOP = ROOT / "samples" / "rest-shop.pcap"

_PLUGIN = '''
from classifiers.base import Classifier


class EveryPathClassifier(Classifier):
    data_type = "PLUGIN_SEEN"
    category = "PII"

    def score(self, value, ctx):
        return self.finding(0.99, "plug-in") if "@" in value else None
'''


def _site(tmp_path: Path, group: str) -> Path:
    """A folder with one installed distribution whose entry points declare `group`."""
    site = tmp_path / "site"
    info = site / "dpi_plugin_test-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dpi-plugin-test\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\nevery = dpi_plugin_test:EveryPathClassifier\n")
    (site / "dpi_plugin_test.py").write_text(_PLUGIN)
    return site


def _scan(site: Path | None) -> tuple[set[str], list[dict[str, str]]]:
    """(modules imported, rows) of `dpi scan rest-shop.pcap` in a new interpreter."""
    env = dict(os.environ)
    paths = [str(site)] if site is not None else []
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("DPI_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dpi", "scan", str(REST_SHOP), "-q"],
        cwd=site or ROOT / "samples", env=env, capture_output=True, text=True, timeout=300, check=True,
    )
    names = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    return names, list(csv.DictReader(io.StringIO(done.stdout)))


def test_an_installed_plugin_is_found_and_runs(tmp_path: Path) -> None:
    names, rows = _scan(_site(tmp_path, "dpi.classifiers"))
    assert "importlib.metadata" in names
    assert any(row["data_type"] == "PLUGIN_SEEN" for row in rows)


def test_without_a_plugin_the_scan_does_not_read_distribution_metadata(tmp_path: Path) -> None:
    names, rows = _scan(_site(tmp_path, "other.group"))
    assert "dpi.engine" in names and rows  # the listing is real
    assert "importlib.metadata" not in names
    assert not any(row["data_type"] == "PLUGIN_SEEN" for row in rows)


def test_the_shortcut_sees_the_group_in_any_metadata_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _site(tmp_path, "dpi.classifiers")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing"), str(site)])
    assert [ep.name for ep in entry_points("dpi.classifiers")] == ["every"]
    assert entry_points("dpi.other") == ()
    # The shortcut itself, with the import system's own finder only (a process that
    # imported the importlib_metadata backport, as Dask does, has that one's finder
    # instead, and always takes the full lookup).
    monkeypatch.setattr(sys, "meta_path", [PathFinder])
    assert _may_declare("dpi.classifiers") and not _may_declare("dpi.other")
    # An egg-info folder (older installs) counts as a dist-info one does.
    (site / "dpi_plugin_test-1.0.dist-info").rename(site / "dpi_plugin_test-1.0.egg-info")
    assert _may_declare("dpi.classifiers")
    # What it cannot look into (a zip file on sys.path) takes the full lookup.
    zipped = tmp_path / "plugins.zip"
    zipped.write_bytes(b"PK\x05\x06" + bytes(18))
    monkeypatch.setattr(sys, "path", [str(zipped)])
    assert _may_declare("dpi.other")
    # So does an import hook that lists distributions of its own.
    monkeypatch.setattr(sys, "path", [str(site)])
    assert not _may_declare("dpi.other")
    monkeypatch.setattr(sys, "meta_path", [PathFinder, _HookWithDistributions()])
    assert _may_declare("dpi.other")


class _HookWithDistributions:
    def find_distributions(self, *args: object) -> list[object]:
        return []
