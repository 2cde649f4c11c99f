"""DRIVER_LICENSE: driver/driving + licence hint plus a licence-number shape."""

from __future__ import annotations

import pytest

from classifiers.pii.driver_license import DriverLicenseClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = DriverLicenseClassifier()


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
    assert_reported(CLF.score(value, ctx(path)), minimum)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_near_miss_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    assert_reason_hides(CLF.score(value, ctx(path)), value)
