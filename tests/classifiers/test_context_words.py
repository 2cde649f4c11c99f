"""Contexts that share a plan are judged alike (`Classifier.context_words`).

The classifier set gives contexts that differ only in sibling or object-key tokens no
classifier asks about one plan and one memo (`dpi.classify._plan_key`). These tests hold
each built-in classifier to its declaration: with the tokens outside its
`context_words` dropped and others added in their place (every word any classifier
module names, and their plurals), its gate and its findings stay the same, on the
labelled corpus' fields and values. And the key reads every other field of a context.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import random

import pytest

import classifiers
from classifiers.base import Classifier, FieldContext, Finding
from dpi.classify import ClassifierSet, _plan_key
from tests.corpus.evaluate import Case, load, part_siblings


def _words(obj: object, depth: int = 0) -> set[str]:
    """The strings of the token sets in a module-level or class-level constant."""
    if isinstance(obj, frozenset | set):
        return {w for w in obj if isinstance(w, str)}
    if isinstance(obj, tuple | list) and depth < 2:
        return set().union(*(_words(x, depth + 1) for x in obj))
    return set()


@pytest.fixture(scope="module")
def vocabulary() -> frozenset[str]:
    """Every word a classifier module names in a token set, and its plural."""
    found: set[str] = set()
    for info in pkgutil.walk_packages(classifiers.__path__, "classifiers."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            found |= _words(value)
            if isinstance(value, type):
                for attribute in vars(value).values():
                    found |= _words(attribute)
    return frozenset(found | {w + "s" for w in found})


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load()


# Fields whose type only siblings or object keys decide, rare in the corpus: a JSON-RPC
# `auth` member and a signed URL's signature (BEARER_TOKEN, `secret/bearer_token.py`).
_TOKEN = "c4f1a9e07b3d5f2e8a6b9c0d1e2f3a4b"
_SIBLING_DECIDED = (
    Case("jsonrpc-auth", "http", "POST /api_jsonrpc.php", "body", "auth",
         ("jsonrpc", "method", "params", "id"), (_TOKEN,), (), "BEARER_TOKEN", "", False),
    Case("signed-url", "http", "GET /files/{id}", "query", "Signature",
         ("Expires", "Key-Pair-Id"), (_TOKEN * 2,), (), "BEARER_TOKEN", "", False),
)


def _judged(classifier: Classifier, ctx: FieldContext, values: list[str]) -> tuple[object, ...]:
    gate = classifier.gate(ctx)
    if gate is None:
        return (None,)
    scorer = classifier.scorer(ctx)
    found: list[Finding | None] = [scorer(v, ctx) for v in values]
    return (gate, *found)


def test_every_builtin_classifier_declares_its_context_words() -> None:
    assert all(c.context_words is not None for c in ClassifierSet().classifiers)
    assert ClassifierSet()._context_words is not None  # plans are shared


# A token no classifier asks about: stands in for the tested ones, so that a set's
# emptiness stays the same.
_FILLER = "zzfiller"


def test_tokens_outside_context_words_change_nothing(
    vocabulary: frozenset[str], cases: list[Case]
) -> None:
    """Per classifier, fields of its own type and a few others: their siblings without
    the undeclared tokens, and with other words added (in groups of 16, two ways),
    as siblings and as object keys, judge every value alike."""
    rng = random.Random(11)
    classifier_set = ClassifierSet()
    checked = 0
    failures = []
    for classifier in classifier_set.classifiers:
        words = classifier.context_words
        assert words is not None
        own = [c for c in cases if c.expected == classifier.data_type]
        bases = [*rng.sample(own, min(6, len(own))), *rng.sample(cases, 2),
                 *_SIBLING_DECIDED]
        others = sorted(vocabulary - words)
        groups = []
        for _ in range(2):
            rng.shuffle(others)
            groups += [frozenset(others[i:i + 16]) for i in range(0, len(others), 16)]
        for case in bases:
            siblings = part_siblings(case)
            values = [*case.values[:3], *case.other_values[:1]]
            ctx = classifier_set.context(case.protocol, case.location, case.path, case.api,
                                         siblings)
            kept = (siblings & words) | {_FILLER} if siblings else siblings
            judged = _judged(classifier, ctx, values)
            pairs = [(ctx, dataclasses.replace(ctx, sibling_tokens=kept))]
            for group in groups:
                for name in ("sibling_tokens", "object_tokens"):
                    tokens = kept if name == "sibling_tokens" else kept & words
                    pairs.append((dataclasses.replace(ctx, **{name: tokens | {_FILLER}}),
                                  dataclasses.replace(ctx, **{name: tokens | group})))
            for one, other in pairs:
                checked += 1
                first = judged if one is ctx else _judged(classifier, one, values)
                if first != _judged(classifier, other, values):
                    failures.append((classifier.data_type, case.id))
                    break
    assert failures == []
    assert checked > 10_000


def test_plan_key_reads_every_other_field_of_a_context() -> None:
    words = frozenset({"card"})
    base = FieldContext()
    for field in dataclasses.fields(FieldContext):
        value = getattr(base, field.name)
        changed = "x" if isinstance(value, str) else frozenset({"card"})
        other = dataclasses.replace(base, **{field.name: changed})
        assert _plan_key(other, words) != _plan_key(base, words), field.name
    # Tokens no classifier asks about are not part of it; emptiness is.
    one = dataclasses.replace(base, sibling_tokens=frozenset({"card", "colour"}))
    two = dataclasses.replace(base, sibling_tokens=frozenset({"card", "size"}))
    assert _plan_key(one, words) == _plan_key(two, words)
    assert _plan_key(dataclasses.replace(base, object_tokens=frozenset({"size"})),
                     words) != _plan_key(base, words)


def test_contexts_with_one_key_share_a_plan_and_its_memo() -> None:
    """`data[].phone` with and without an optional sibling: one plan, one scoring."""
    classifier_set = ClassifierSet()
    with_line2 = classifier_set.context(
        "http", "body", "data[].phone", "GET /users",
        frozenset({"phone", "address", "line1", "line2", "city"}))
    without = classifier_set.context(
        "http", "body", "data[].phone", "GET /users",
        frozenset({"phone", "address", "line1", "city"}))
    assert with_line2 is not without
    plan = classifier_set.plan(with_line2)
    assert classifier_set.plan(without) is plan
    assert classifier_set.plan(with_line2) is plan
    found = classifier_set.findings("+44 7911 123456", plan)
    assert [f.data_type for f in found] == ["PHONE_NUMBER"]
    assert classifier_set.score("+44 7911 123456", without) == list(found)
    # A sibling a classifier asks about (a merchant's record) gets a plan of its own.
    shop = classifier_set.context(
        "http", "body", "data[].phone", "GET /users",
        frozenset({"phone", "shop", "name"}))
    assert classifier_set.plan(shop) is not plan


def test_gates_declared_blind_to_the_server_answer_alike_for_every_server(
    cases: list[Case]
) -> None:
    """`Classifier.gate_reads_server` False: on every field of the corpus, the gate
    answers the same with no server, an IPv4 and an IPv6 one, and the set shares the
    answers (one gate call per field, whatever the number of servers)."""
    classifier_set = ClassifierSet()
    blind = [c for c in classifier_set.classifiers if not c.gate_reads_server]
    assert len(blind) == len(classifier_set.classifiers)  # every built-in declares it
    assert classifier_set._masks is not None
    failures = []
    for case in cases:
        ctx = classifier_set.context(case.protocol, case.location, case.path, case.api,
                                     part_siblings(case))
        for server in ("10.0.0.7", "2001:db8::1", "198.51.100.20"):
            other = dataclasses.replace(ctx, server=server)
            for classifier in blind:
                if classifier.gate(other) != classifier.gate(ctx):
                    failures.append((classifier.data_type, case.id, server))
    assert failures == []
    # Through the set: a context per server, their gates asked for the first only.
    calls = []
    first = blind[0]
    gate = first.gate

    def counted(ctx: FieldContext) -> str | None:
        calls.append(ctx.server)
        return gate(ctx)

    first.gate = counted  # type: ignore[method-assign]
    fresh = ClassifierSet([first, *blind[1:]])
    case = cases[0]
    masks = set()
    for server in ("", "10.0.0.7", "2001:db8::1"):
        ctx = fresh.context(case.protocol, case.location, case.path, case.api,
                            part_siblings(case), server)
        masks.add(fresh.plan(ctx).mask)
    assert calls == [""] and len(masks) == 1


def test_a_gate_that_may_read_the_server_is_asked_for_every_server(cases: list[Case]) -> None:
    """One classifier left at the default (`gate_reads_server` True): no sharing."""
    classifier_set = ClassifierSet()
    reader = classifier_set.by_type["IP_ADDRESS"]
    calls = []
    gate = reader.gate

    def counted(ctx: FieldContext) -> str | None:
        calls.append(ctx.server)
        return gate(ctx)

    reader.gate = counted  # type: ignore[method-assign]
    reader.gate_reads_server = True  # type: ignore[misc]
    fresh = ClassifierSet(classifier_set.classifiers)
    assert fresh._masks is None
    case = cases[0]
    for server in ("", "10.0.0.7"):
        fresh.plan(fresh.context(case.protocol, case.location, case.path, case.api,
                                 part_siblings(case), server))
    assert calls == ["", "10.0.0.7"]
