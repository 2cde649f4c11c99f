"""Whether enum candidates may be written: a last check, by value shape, before any value
from traffic reaches a document.

Enums are only proposed for places the inventory did not report (dpi.outputs.apispec.shapes);
this check also runs every candidate value through the classifiers with no field
context (as `dpi.identifiers` judges path segments): one hit, and the place gets no enum.
"""

from __future__ import annotations

from classifiers.base import FieldContext
from dpi.classify import ClassifierSet


class EnumVetter:
    """`vetter(values)` is True when none of the values looks sensitive."""

    def __init__(self, classifiers: ClassifierSet | None = None) -> None:
        self.classifiers = classifiers if classifiers is not None else ClassifierSet()
        self._ctx = FieldContext(location="path")
        self._verdicts: dict[str, bool] = {}

    def __call__(self, values: list[str]) -> bool:
        return all(self._clean(value) for value in values)

    def _clean(self, value: str) -> bool:
        verdict = self._verdicts.get(value)
        if verdict is None:
            verdict = not self.classifiers.score(value, self._ctx)
            self._verdicts[value] = verdict  # bounded: candidates are few and short
        return verdict
