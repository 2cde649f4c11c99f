"""dpi/build.py: every entry point builds its engine with `build_engine(EngineSpec)`, and a
scan reads dpi.toml once, whichever way it runs (plain, batch in this process, `dpi
check`, the Python API); a batch worker parses a config text once per process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dpi.build
import dpi.config
from dpi.api import scan_all
from dpi.build import EngineSpec, build_engine
from dpi.cli import main
from tests.builders.conversation import Conversation, http_request, http_response

CONFIG = """\
[[classifiers]]
data_type = "EMPLOYEE_ID"
category = "PII"
patterns = ['EMP-\\d{6}']
hints = ["employee"]
"""


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path | None]:
    """Every dpi.toml parse of the test, by path (a fresh process: nothing read before)."""
    calls: list[Path | None] = []
    real = dpi.config.load_config

    def counting(path: Path | None) -> dpi.config.Config:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(dpi.config, "load_config", counting)
    monkeypatch.setattr(dpi.build, "_CONFIGS", {})
    monkeypatch.setattr(dpi.build, "_CLASSIFIERS", {})
    return calls


def _staff(tmp_path: Path) -> tuple[Path, Path]:
    """A capture with an employee id (found only by the dpi.toml classifier), the config."""
    body = json.dumps({"employee": "EMP-204817", "team": "billing"}).encode()
    conv = Conversation().handshake().request(http_request("POST", "/v1/staff", body))
    capture = conv.response(http_response(b"{}")).close().write(tmp_path / "staff.pcap")
    config = tmp_path / "dpi.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return capture, config


@pytest.mark.parametrize("batch", [[], ["--jobs", "1"], ["--state", "STATE", "--settle-seconds", "0"]])
def test_a_scan_reads_dpi_toml_once(
    tmp_path: Path, loads: list[Path | None], batch: list[str]
) -> None:
    capture, config = _staff(tmp_path)
    out = tmp_path / "inventory.csv"
    batch = [str(tmp_path / "state") if a == "STATE" else a for a in batch]
    argv = ["scan", str(capture), "--config", str(config), "-o", str(out), "-q", "--no-progress"]
    assert main([*argv, *batch]) == 0
    assert "EMPLOYEE_ID" in out.read_text()  # the config's classifier scanned
    assert loads == [config]


def test_dpi_check_and_the_api_read_dpi_toml_once(tmp_path: Path, loads: list[Path | None]) -> None:
    capture, config = _staff(tmp_path)
    main(["check", str(capture), "--config", str(config), "-q", "--no-progress"])
    assert loads == [config]
    loads.clear()
    result = scan_all(capture, config=config)
    assert "EMPLOYEE_ID" in set(result.inventory["data_type"])
    assert loads == [config]


def test_a_worker_parses_a_config_text_once_per_process(loads: list[Path | None]) -> None:
    first = build_engine(EngineSpec(salt_hex="00" * 16, config_text=CONFIG))
    second = build_engine(EngineSpec(salt_hex="00" * 16, config_text=CONFIG))
    assert len(loads) == 1
    assert first.classifiers is second.classifiers  # built once, too
    assert "EMPLOYEE_ID" in first.classifiers.by_type
    assert first.inventory is not second.inventory and first.inventory.salt == bytes(16)
