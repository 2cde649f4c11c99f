"""Asserts shared by the classifier tests (tables of positives and near-misses run
through `score`, docs/architecture.md convention 14). `conftest.py` registers this module for
pytest's assertion rewriting, so a failure shows the finding."""

from __future__ import annotations

from classifiers.base import REPORT_THRESHOLD, Category, Finding


def assert_reported(
    found: Finding | None,
    minimum: float = REPORT_THRESHOLD,
    *,
    validated: bool = False,
    kind: tuple[str, Category] | None = None,
) -> Finding:
    """A finding with at least `minimum` confidence; `validated`: its checksum or
    structure check passed; `kind`: its (data_type, category)."""
    assert found is not None
    if validated:
        assert found.validated
    assert found.confidence >= minimum
    if kind is not None:
        assert (found.data_type, found.category) == kind
    return found


def assert_not_reported(found: Finding | None) -> None:
    """No finding, or one under the reporting threshold."""
    assert found is None or found.confidence < REPORT_THRESHOLD


def assert_reason_hides(
    found: Finding | None, *fragments: str, ignore_case: bool = False
) -> Finding:
    """A finding whose reason quotes none of `fragments` (the value, or telling parts of
    it), compared lower-cased when `ignore_case`."""
    assert found is not None
    reason = found.reason.lower() if ignore_case else found.reason
    for fragment in fragments:
        assert (fragment.lower() if ignore_case else fragment) not in reason
    return found
