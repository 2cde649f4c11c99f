"""The held-out set (tests/heldout/) stays what its MANIFEST says: files intact, labels usable.

The held-out captures measure detection on traffic nobody here wrote
(bench/heldout_quality.py). These checks keep the set honest: each file is the blob
the MANIFEST names (SHA-256), none is a copy of a capture of the in-sample corpus,
and every label and hard negative names an existing capture, a protocol, direction,
location and data type of the contract, so that no row silently never matches.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
from pathlib import Path

import pytest

from scripts.fetch_heldout import external_captures

HELDOUT = Path(__file__).parent / "heldout"
CAPTURES = HELDOUT / "captures"
IN_SAMPLE = Path(__file__).parent / "captures"

PROTOCOLS = {"http", "grpc", "kafka", "mysql"}
DIRECTIONS = {"request", "response"}
LOCATIONS = {"body", "query", "header", "cookie", "path", "metadata", "key", "value",
             "column", "param", "auth"}
DATA_TYPES = {
    "EMAIL_ADDRESS", "PHONE_NUMBER", "PERSON_NAME", "STREET_ADDRESS", "POSTAL_CODE",
    "DATE_OF_BIRTH", "US_SSN", "NATIONAL_ID", "PASSPORT_NUMBER", "DRIVER_LICENSE",
    "IP_ADDRESS", "IBAN", "BANK_ACCOUNT", "MEDICAL_RECORD_NUMBER", "HEALTH_PLAN_ID", "NPI",
    "DEA_NUMBER", "DIAGNOSIS_CODE", "DRUG_CODE", "HEALTH_CONDITION", "CARD_NUMBER",
    "CARD_EXPIRY", "CARD_CVV", "CARD_TRACK_DATA", "CARDHOLDER_NAME", "PASSWORD", "API_KEY",
    "BEARER_TOKEN", "PRIVATE_KEY",
}
COLUMNS = ["capture", "protocol", "api", "direction", "location", "field", "data_type", "note"]


def _rows(name: str) -> list[dict[str, str]]:
    with (HELDOUT / name).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == COLUMNS
        return list(reader)


def _content_digest(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return hashlib.sha256(data).hexdigest()


def _external() -> dict[str, str]:
    """Captures the set labels but does not redistribute (scripts/fetch_heldout.py)."""
    return {row["capture"]: row["sha256"] for row in external_captures(HELDOUT)}


def test_every_capture_matches_its_manifest_digest() -> None:
    manifest = (HELDOUT / "MANIFEST.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `([^`]+)` \|.*?\| `([0-9a-f]{64})` \|", manifest, re.MULTILINE))
    on_disk = {p.name for p in CAPTURES.iterdir() if p.is_file()}
    external = _external()
    assert set(listed) == on_disk | set(external)
    for name, digest in external.items():
        assert listed[name] == digest, name
    for name in on_disk:
        assert hashlib.sha256((CAPTURES / name).read_bytes()).hexdigest() == listed[name], name


def test_captures_not_redistributed_are_not_in_git() -> None:
    ignored = (HELDOUT.parents[1] / ".gitignore").read_text(encoding="utf-8").splitlines()
    for name in _external():
        assert f"tests/heldout/captures/{name}" in ignored, name


def test_no_heldout_capture_is_an_in_sample_capture() -> None:
    in_sample = {_content_digest(p) for p in IN_SAMPLE.rglob("*") if p.is_file()}
    for capture in CAPTURES.iterdir():
        assert _content_digest(capture) not in in_sample, capture.name


@pytest.mark.parametrize("name", ["labels.csv", "negatives.csv"])
def test_rows_use_the_contract_vocabulary(name: str) -> None:
    captures = {p.name for p in CAPTURES.iterdir()} | set(_external())
    rows = _rows(name)
    assert rows
    for row in rows:
        assert row["capture"] in captures, row["capture"]
        assert row["protocol"] in PROTOCOLS
        assert row["direction"] in DIRECTIONS
        assert row["location"] in LOCATIONS
        assert row["data_type"] in DATA_TYPES
        assert row["api"] and row["field"] and row["note"]


def test_no_field_is_both_a_label_and_a_hard_negative() -> None:
    def keys(name: str) -> set[tuple[str, ...]]:
        return {tuple(r[c] for c in COLUMNS[:-1]) for r in _rows(name)}

    assert not keys("labels.csv") & keys("negatives.csv")
