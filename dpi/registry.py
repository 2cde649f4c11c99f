"""Finds the concrete dissectors and classifiers (docs/architecture.md, "Adding a unit").

Every module of the package and its folders is imported (`_` modules are private helpers
and skipped); every concrete subclass found becomes a unit. Two units with the same name
are an import-time error: outputs key on those names.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import lru_cache
from types import ModuleType
from typing import TypeVar

from classifiers.base import Classifier
from protocols.base import Dissector

T = TypeVar("T")


class RegistryError(Exception):
    pass


def _modules(package: ModuleType) -> list[ModuleType]:
    found: list[ModuleType] = []
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf.startswith("_") or leaf == "base":
            continue
        found.append(importlib.import_module(info.name))
    return found


def _concrete(package_name: str, base: type[T]) -> list[type[T]]:
    package = importlib.import_module(package_name)
    seen: dict[int, type[T]] = {}
    for module in _modules(package):
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, base)
                and not inspect.isabstract(obj)
                and obj.__module__ == module.__name__
            ):
                seen[id(obj)] = obj
    return sorted(seen.values(), key=lambda c: (c.__module__, c.__name__))


@lru_cache(maxsize=1)
def dissector_classes() -> tuple[type[Dissector], ...]:
    classes = _concrete("protocols", Dissector)  # type: ignore[type-abstract]
    names: dict[str, str] = {}
    for cls in classes:
        if cls.name in names:
            raise RegistryError(
                f"dissector name {cls.name!r} defined twice: {names[cls.name]} and {cls.__module__}"
            )
        names[cls.name] = cls.__module__
    return tuple(classes)


def dissector_by_name(name: str) -> type[Dissector] | None:
    for cls in dissector_classes():
        if cls.name == name:
            return cls
    return None


@lru_cache(maxsize=1)
def classifier_classes() -> tuple[type[Classifier], ...]:
    classes = _concrete("classifiers", Classifier)  # type: ignore[type-abstract]
    names: dict[str, str] = {}
    for cls in classes:
        if cls.data_type in names:
            raise RegistryError(
                f"data type {cls.data_type!r} defined twice: "
                f"{names[cls.data_type]} and {cls.__module__}"
            )
        names[cls.data_type] = cls.__module__
    return tuple(classes)
