"""dpi.toml: user classifiers and allow rules change a real scan's inventory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from classifiers._configured import ConfigError, build_classifier
from classifiers.base import FieldContext
from dpi.cli import main
from dpi.config import load_config
from tests.builders.conversation import Conversation, http_request, http_response

CONFIG = """
[[classifiers]]
data_type = "EMPLOYEE_ID"
category = "PII"
patterns = ['EMP-\\d{6}']
hints = ["employee"]
confidence = 0.8

[[classifiers]]
data_type = "LOYALTY_CARD"
category = "PII"
patterns = ['\\d{12}']
validator = "luhn"
confidence = 0.4
hints = ["loyalty"]
hint_boost = 0.4

[[allow]]
api = "GET /health"
"""


def _capture(path: Path) -> Path:
    conv = Conversation().handshake()
    body = {"employee": {"id": "EMP-204518", "email": "r.osei@mail.shopper-demo.net"},
            "loyalty": "123456789015"}
    conv.request(http_request("POST", "/v1/staff", json.dumps(body).encode()))
    conv.response(http_response(b"{}"))
    conv.request(http_request("GET", "/health"))
    conv.response(http_response(json.dumps({"admin_email": "ops@mail.shopper-demo.net"}).encode()))
    return conv.close().write(path)


def _scan(tmp_path: Path, config: str | None) -> list[list[str]]:
    args = ["scan", str(_capture(tmp_path / "c.pcap")), "-q", "--no-progress",
            "-o", str(tmp_path / "out.csv")]
    if config is not None:
        (tmp_path / "dpi.toml").write_text(config)
        args += ["--config", str(tmp_path / "dpi.toml")]
    assert main(args) == 0
    return [line.split(",") for line in (tmp_path / "out.csv").read_text().splitlines()[1:]]


def test_configured_classifiers_add_rows_and_allow_rules_silence_apis(tmp_path: Path) -> None:
    plain = _scan(tmp_path, None)
    assert any(r[3] == "GET /health" for r in plain)
    assert not any(r[7] in ("EMPLOYEE_ID", "LOYALTY_CARD") for r in plain)
    configured = _scan(tmp_path, CONFIG)
    found = {(r[6], r[7]) for r in configured}
    assert ("employee.id", "EMPLOYEE_ID") in found
    assert ("loyalty", "LOYALTY_CARD") in found  # luhn-valid and hinted
    assert not any(r[3] == "GET /health" for r in configured)


def test_validator_failure_means_no_finding() -> None:
    clf = build_classifier({"data_type": "LOYALTY_CARD", "category": "PII",
                            "patterns": [r"\d{12}"], "validator": "luhn"})
    assert clf.score("123456789012", FieldContext()) is None
    assert clf.score("123456789015", FieldContext()) is not None


@pytest.mark.parametrize(
    "spec",
    [
        {"data_type": "lower", "category": "PII", "patterns": ["x"]},
        {"data_type": "X_ID", "category": "NOPE", "patterns": ["x"]},
        {"data_type": "X_ID", "category": "PII", "patterns": ["("]},
        {"data_type": "X_ID", "category": "PII", "patterns": []},
        {"data_type": "X_ID", "category": "PII", "patterns": ["x"], "validator": "md5"},
        {"data_type": "X_ID", "category": "PII", "patterns": ["x"], "colour": "red"},
    ],
)
def test_bad_classifier_tables_are_refused(spec: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        build_classifier(spec)


def test_bad_config_file_is_one_line_and_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "dpi.toml"
    bad.write_text("[[classifiers]]\ndata_type = \n")
    cap = _capture(tmp_path / "c.pcap")
    result = subprocess.run([sys.executable, "-m", "dpi", "scan", str(cap), "--config", str(bad)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_no_file_gives_builtin_classifiers_only() -> None:
    assert load_config(None).allow == ()


def test_allow_rules_silence_explain_entries_too(tmp_path: Path) -> None:
    (tmp_path / "dpi.toml").write_text(CONFIG)
    explain = tmp_path / "explain.json"
    args = ["scan", str(_capture(tmp_path / "c.pcap")), "-q", "--no-progress", "-o", str(tmp_path / "o.csv"),
            "--config", str(tmp_path / "dpi.toml"), "--explain", str(explain)]
    assert main(args) == 0
    entries = json.loads(explain.read_text())
    assert entries and not [e for e in entries if e["api"] == "GET /health"]
