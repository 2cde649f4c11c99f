"""A faster `__init__` for frozen slots dataclasses made once per packet or per field.

The `__init__` that `dataclasses` generates for a frozen class sets every field through
`object.__setattr__`, about twice the cost of setting it through the slot's own
descriptor (measured 0.93 vs 0.51 us for the 9 fields of a TCP segment, 1.3 vs 0.6 us
for a `Part`). `dataclasses` has no option for that, so `slot_init` writes the same
`__init__` (same parameters, same defaults, positional or keyword-only as declared)
with descriptor setters, the way `dataclasses` writes its own: as source, once per class.
The class stays frozen: assignment from outside still raises.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import TypeVar

T = TypeVar("T")


def slot_init(cls: type[T]) -> type[T]:
    """Gives `cls` (a frozen `slots=True` dataclass without default factories) an
    `__init__` that sets its fields through their slot descriptors. Apply it above
    `@dataclass(...)`, which makes the slotted class."""
    namespace: dict[str, object] = {}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    # What the generated constructor would not do as `dataclasses` does: refused.
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"slot_init: {cls.__name__} has __post_init__")
    if list(inspect.signature(cls).parameters) != [f.name for f in fields]:
        raise TypeError(f"slot_init: {cls.__name__} has InitVar or init=False fields")
    for f in fields:
        # Through the MRO: a subclass's inherited slots live on its base.
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"slot_init: {cls.__name__}.{f.name} has a default factory")
        if f.default is dataclasses.MISSING:
            param = f.name
        else:
            namespace[f"_default_{f.name}"] = f.default
            param = f"{f.name}=_default_{f.name}"
        (keyword if f.kw_only else positional).append(param)
        body.append(f"    _set_{f.name}(self, {f.name})")
    params = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({params}):\n" + "\n".join(body or ["    pass"]) + "\n"
    exec(source, namespace)  # noqa: S102 - our own source, built from field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses assigning a method
    return cls
