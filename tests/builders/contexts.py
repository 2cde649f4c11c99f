"""`FieldContext` factories for classifier tests: a field path as it would come out of
`protocols/payload.py` (`patients[].address.zip`), tokenised the way the engine does.

The field's own name is the last path segment (`classifiers._hints.last_segment`), the
path tokens come from every segment, and sibling tokens from the names of the other
fields of the same part.
"""

from __future__ import annotations

from collections.abc import Iterable

from classifiers._hints import last_segment, name_tokens, path_tokens
from classifiers.base import FieldContext


def field_context(
    path: str = "", siblings: Iterable[str] = (), *, location: str = "", api: str = ""
) -> FieldContext:
    """The context of the field at `path`, next to fields named `siblings`."""
    sibling_tokens: frozenset[str] = frozenset().union(*(name_tokens(s) for s in siblings))
    return FieldContext(
        location=location,
        path=path,
        api=api,
        name_tokens=name_tokens(last_segment(path)),
        path_tokens=path_tokens(path),
        sibling_tokens=sibling_tokens,
    )


def located_context(
    path: str = "", location: str = "body", siblings: Iterable[str] = ()
) -> FieldContext:
    """`field_context` with the location second and a body field by default: where a value
    travels (header, cookie, query) matters to the secret classifiers."""
    return field_context(path, siblings, location=location)
