"""`dpi check`: the default and a custom policy on the policy sample, the CI reports
(JUnit parsed and counted, SARIF validated against the vendored 2.1.0 schema), exit
codes, and that no value reaches any report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dpi.cli import main
from dpi.findings.policy import PolicyError, load_policy
from tests.conftest import ROOT, SAMPLES

SAMPLE = SAMPLES / "policy-violations.pcap"
POLICY = SAMPLES / "dpi-policy.toml"
SARIF_SCHEMA = ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json"
# Values the sample's generator put in the traffic (samples/make_samples.py).
VALUES = ("4539578763621486", "5425233430109903", "4916338506082832", "4485275742308327",
          "Lantern-Quarry-58!", "olivia.hart@mail.shopper-demo.net", "sk_live_")


def _check(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, ET.Element, dict]:
    junit, sarif = tmp_path / "dpi.xml", tmp_path / "dpi.sarif"
    status = main(["check", *args, "--junit", str(junit), "--sarif", str(sarif)])
    err = capsys.readouterr().err
    return status, err, ET.parse(junit).getroot(), json.loads(sarif.read_text())


def _failures(root: ET.Element) -> dict[str, list[str]]:
    return {case.get("name", ""): [f.text or "" for f in case.findall("failure")]
            for case in root.iter("testcase")}


def test_default_policy_reports_each_violation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, err, root, sarif = _check(tmp_path, capsys, str(SAMPLE))
    assert status == 1
    failures = _failures(root)
    assert len(failures) == 5  # one test case per rule of the default policy
    assert any("GET /v1/reports/daily" in f and "api_key" in f for f in failures["no-secrets-in-urls"])
    cleartext = failures["no-cleartext-credentials"]
    assert any("POST /v1/auth/login" in f for f in cleartext)
    assert any("198.51.100.20:80 POST /charges" in f and "CARD_NUMBER" in f
               for f in failures["no-pci-phi-egress"])
    assert [f for f in failures["no-full-pan-in-responses"] if "POST /v1/payments response" in f]
    # The payments API is internal: its card data is no egress.
    assert not [f for f in failures["no-pci-phi-egress"] if "/v1/payments" in f]
    total = sum(len(v) for v in failures.values())
    assert root.find(".//property[@name='violations']").get("value") == str(total)  # type: ignore[union-attr]
    assert len(sarif["runs"][0]["results"]) == total
    assert "FAIL" in err and "no-secrets-in-urls" in err


def test_custom_policy_allows_what_it_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, root, _ = _check(tmp_path, capsys, str(SAMPLE), "--policy", str(POLICY))
    assert status == 1
    failures = _failures(root)
    allowed = failures["payments-take-cards"]
    # Card data in payment requests is allowed; the card number in the response is not.
    assert allowed and all("POST /v1/payments response" in f for f in allowed)
    assert not [f for f in allowed if "request" in f.split("POST /v1/payments", 1)[1][:9]]
    assert failures["no-pci-egress"]


def test_a_policy_that_allows_everything_seen_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "open.toml"
    policy.write_text(
        '[[rule]]\nid = "anything"\nseverity = "low"\nmessage = "all allowed"\n'
        'allow = { api = "*" }\n', encoding="utf-8")
    status, err, root, sarif = _check(tmp_path, capsys, str(SAMPLE), "--policy", str(policy))
    assert status == 0, err
    assert not any(_failures(root).values()) and sarif["runs"][0]["results"] == []


def test_sarif_validates_against_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    _, _, _, sarif = _check(tmp_path, capsys, str(SAMPLE))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(sarif)
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules][:2] == ["no-secrets-in-urls", "no-cleartext-credentials"]
    assert {r["level"] for r in sarif["runs"][0]["results"]} <= {"error", "warning", "note"}


def test_no_value_in_any_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, err, _, _ = _check(tmp_path, capsys, str(SAMPLE))
    texts = [err, (tmp_path / "dpi.xml").read_text(), (tmp_path / "dpi.sarif").read_text()]
    for value in VALUES:
        assert not any(value in text for text in texts), value


def test_inventory_mode_reads_what_scan_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inventory, findings = tmp_path / "inv.csv", tmp_path / "findings.json"
    assert main(["scan", str(SAMPLE), "-o", str(inventory), "--findings", str(findings), "-q"]) == 0
    capsys.readouterr()
    status, _, root, _ = _check(tmp_path, capsys, "--inventory", str(inventory),
                                "--findings-in", str(findings))
    assert status == 1
    failures = _failures(root)
    assert failures["no-cleartext-credentials"] and failures["no-secrets-in-urls"]


@pytest.mark.parametrize(
    "text",
    [
        "not toml [",
        '[[rule]]\nid = "x"\n',  # neither allow nor deny
        '[[rule]]\nid = "x"\ndeny = { colour = "red" }\n',
        '[[rule]]\nid = "x"\nseverity = "fatal"\ndeny = { category = "PII" }\n',
        '[[rule]]\nid = "x"\nallow = { categories = ["PII"] }\n',  # allow without api
    ],
)
def test_bad_policy_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    policy = tmp_path / "bad.toml"
    policy.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError):
        load_policy(policy)
    assert main(["check", str(SAMPLE), "--policy", str(policy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dpi: error:") and err.count("\n") == 1


def test_check_without_input_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert "dpi: error:" in capsys.readouterr().err


def test_print_default_policy_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--print-default-policy"]) == 0
    text = capsys.readouterr().out
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    assert len(load_policy(path).rules) == 5


def test_policy_table_in_dpi_toml_is_used_without_policy_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`[policy]` in dpi.toml: the rules `dpi check` applies when no --policy is given."""
    config = tmp_path / "dpi.toml"
    config.write_text(
        '[[policy.rule]]\nid = "no-pci-anywhere"\nseverity = "high"\n'
        'message = "no card data"\ndeny = { category = "PCI" }\n',
        encoding="utf-8",
    )
    status, _, root, _ = _check(tmp_path, capsys, str(SAMPLE), "--config", str(config))
    assert status == 1
    failures = _failures(root)
    assert list(failures) == ["no-pci-anywhere"]  # the table's rules, not the default policy
    assert any("CARD_NUMBER" in f for f in failures["no-pci-anywhere"])
