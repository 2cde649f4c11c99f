"""DRIVER_LICENSE: driver/driving + licence hint plus a licence-number shape."""

from __future__ import annotations

import pytest

from classifiers._hints import last_segment, name_tokens, path_tokens
from classifiers.base import REPORT_THRESHOLD, FieldContext
from classifiers.pii.driver_license import DriverLicenseClassifier

CLF = DriverLicenseClassifier()


def ctx(path: str = "") -> FieldContext:
    return FieldContext(
        path=path, name_tokens=name_tokens(last_segment(path)), path_tokens=path_tokens(path)
    )


POSITIVES = [
    ("D1234567", "driver_license", 0.7),  # California shape
    ("D1234567", "driversLicenseNumber", 0.7),
    ("123456789", "dl_number", 0.6),  # New York shape
    ("MORGA657054SM9IJ", "driving_licence_number", 0.75),  # UK DVLA shape
    ("S530-4603-1215-00", "driver.license.number", 0.6),  # Florida-style dashes
]

NEGATIVES = [
    ("D1234567", "reference"),  # no hint: never
    ("ABCD-1234-EFGH-5678", "license_key"),  # software licence, not a driver's
    ("MIT", "license"),
    ("D1234567", "license"),  # licence alone is too ambiguous
    ("B", "driver_license_class"),
    ("CA", "driver_license_state"),
    ("2030-01-01", "driver_license_expiry"),
    ("ABCDEFGH", "driver_license"),  # no digits
    ("0000000", "driver_license"),
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_hinted_licence_is_found(value: str, path: str, minimum: float) -> None:
    found = CLF.score(value, ctx(path))
    assert found is not None
    assert found.confidence >= minimum


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_near_miss_is_not_reported(value: str, path: str) -> None:
    found = CLF.score(value, ctx(path))
    assert found is None or found.confidence < REPORT_THRESHOLD


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    found = CLF.score(value, ctx(path))
    assert found is not None
    assert value not in found.reason
