"""Runs the classifiers over the field values of one part (the first, per-value stage).

The inventory makes the second, per-field decision from all the evidence gathered here.
Each classifier sees only values within its length bounds; among the findings of one
value the best whole-value finding wins, while findings on separate spans of free text
(an e-mail and a phone number in one comment) are all kept.

The stage is built to cost a few microseconds per value, with exactly the findings that
calling every length-applicable classifier on every value would give:
- per field context (contexts are cached), each classifier's `gate` decides once whether
  it can report anything there and which value gate applies (a classifier that needs a
  field-name, sibling or clinical hint is never called without one), and its `scorer`
  is bound to the context once (declarative classifiers climb their confidence ladders
  then, not per value); contexts that differ only in sibling or object-key tokens no
  classifier asks about (`Classifier.context_words`: an optional `address.line2` in
  some messages) share that work and their memo entries, and contexts that differ only
  in their server (the same API behind many hosts) share the gates' answers when no
  gate reads the server (`Classifier.gate_reads_server`);
- per value, one cheap look (length, and the set of character classes: digits,
  letters, `@`, separators...) selects the classifiers whose value gate admits it; the
  gates' verdicts are cached per (length, classes), so a value costs a translate, a set
  and two dictionary lookups before any classifier runs; an ASCII value of at most
  GATE_MAX_LEN characters is looked up by its class string instead (`2024-01-05` is
  `dddd-dd-dd`; shapes, never values, in a bounded cache), which many new values share
  (timestamps, dates, numbers in one layout), without building the set;
- then one scan for the required patterns of the candidates that declare one
  (`Classifier.value_needs`, `classifiers/_scan.py`: `re`, or Hyperscan when the
  `[fast]` extra is installed) drops those whose pattern is absent, so the expensive
  validators (phonenumbers, the ICD-10 list, checksums, python-stdnum) run only on
  candidates; the alternatives of a pattern that a value's class string decides
  (`classifiers/_class_patterns.py`: the card, IBAN, SSN and dotted-quad shapes) are
  searched once per class string, the rest in every value;
- the same value in the same context is scored once: a bounded memo keyed by the
  value's hash (SipHash-1-3 under the interpreter's per-process key, 64 bits, mixed
  with a salt per context; the value itself is never kept) holds the findings, which
  never quote the value, or nothing when the gates or the pattern scan turned it away.
  It is looked up first, so a value met before in its context (the same header in
  every message) costs a hash and one lookup. It lives in memory only, is bounded
  (MAX_MEMO entries, about 5 MB full: the tuples of findings are shared), and
  `forget()` drops it.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar

from classifiers._class_patterns import split_by_classes
from classifiers._hints import last_segment, name_tokens, path_tokens
from classifiers._scan import scanner
from classifiers.base import (
    ANY,
    DIGIT,
    EXT,
    GATE_MAX_LEN,
    LETTER,
    OTHER,
    PUNCTUATION,
    REPORT_THRESHOLD,
    SPACE,
    SYMBOL,
    WHITESPACE,
    Classifier,
    FieldContext,
    Finding,
    Scorer,
    ValueGate,
)
from dpi.registry import classifier_classes
from protocols.base import FieldValue

# Sibling tokens are the names of the other fields of the same part; a part with more
# fields than this (a huge JSON array) contributes only its first names, which is enough
# to give context and keeps the work per part bounded.
MAX_SIBLING_NAMES = 256
# Bounds of the caches: contexts and plans (cheap to rebuild), value shapes, and the
# memo of scored values (findings only, never values). Each is cleared when full.
MAX_CONTEXTS = 100_000
MAX_SHAPES = 50_000
# Class strings of short ASCII values (`_scored`, `_by_shape`): shapes, never values;
# at most GATE_MAX_LEN bytes each, about 1.5 MB full.
MAX_SHAPE_STRINGS = 8192
MAX_MEMO = 65_536
_HASH_BITS = (1 << 64) - 1


def _class_table() -> bytes:
    """Byte -> character class (classifiers/base.py) for the 128 ASCII bytes."""
    table = bytearray(OTHER.encode() * 256)
    for i in range(128):
        ch = chr(i)
        if ch.isdigit():
            cls = DIGIT
        elif ch in "etxETX":
            cls = EXT
        elif ch.isalpha():
            cls = LETTER
        elif ch == " ":
            cls = SPACE
        elif ch.isspace():
            cls = WHITESPACE
        elif ch in PUNCTUATION:
            cls = ch
        else:
            cls = OTHER
        table[i] = ord(cls)
    return bytes(table)


_CLASSES = _class_table()
_DIGITS_ONLY = frozenset(DIGIT)
# Classes of single characters (see classifiers/base.py for the roles of non-ASCII ones),
# filled as characters are met; bounded like the other caches.
_ROLES: dict[str, frozenset[str]] = {chr(i): frozenset(chr(_CLASSES[i])) for i in range(128)}
MAX_ROLES = 65_536


def _role(ch: str) -> frozenset[str]:
    """Every class a non-ASCII character can stand for (classifiers/base.py)."""
    roles = set()
    if ch.isnumeric():  # isdigit and isdecimal (`\d`) are subsets
        roles.add(DIGIT)
    if ch.isalnum() or ch.upper() != ch or ch.lower() != ch:
        roles.update((LETTER, EXT))
    if ch.isspace():
        roles.add(WHITESPACE)
    if not roles:
        roles.add(SYMBOL)
    return frozenset(roles)


def _unicode_classes(value: str) -> tuple[frozenset[str], frozenset[frozenset[str]]]:
    """The classes of the ASCII characters, and the role sets of the others."""
    classes: set[str] = set()
    choices: set[frozenset[str]] = set()
    for ch in set(value):
        roles = _ROLES.get(ch)
        if roles is None:
            roles = _role(ch)
            if len(_ROLES) < MAX_ROLES:
                _ROLES[ch] = roles
        if len(roles) == 1:
            classes |= roles
        else:
            choices.add(roles)
    return frozenset(classes), frozenset(choices)


def _assignments(
    classes: frozenset[str], choices: frozenset[frozenset[str]]
) -> list[frozenset[str]]:
    """Every class set the value can have when each character plays one of its roles:
    the fixed classes plus a set of roles that takes at least one from each choice."""
    if not choices:
        return [classes]
    pool = sorted(frozenset().union(*choices))
    out = []
    for bits in range(1, 1 << len(pool)):
        chosen = frozenset(r for i, r in enumerate(pool) if bits >> i & 1)
        if all(not chosen.isdisjoint(c) for c in choices):
            out.append(classes | chosen)
    return out


@dataclass(slots=True)
class Classification:
    value: FieldValue = field(repr=False)
    ctx: FieldContext
    findings: list[Finding]


def _overlaps(a: Finding, b: Finding) -> bool:
    if a.span is None or b.span is None:
        return True
    return a.span[0] < b.span[1] and b.span[0] < a.span[1]


def pick_findings(findings: list[Finding]) -> list[Finding]:
    """The best finding per region of the value, most confident first."""
    kept: list[Finding] = []
    for finding in sorted(findings, key=lambda f: -f.confidence):
        if all(not _overlaps(finding, k) for k in kept):
            kept.append(finding)
    return kept


@dataclass(slots=True)
class ContextPlan:
    """What one field context needs: the gate bits of the classifiers that can report
    there (`mask`), the salt that keeps its memo entries apart from other contexts', the
    classifiers' scorers for the context (by position) and the runs of them per set of
    admitted gate bits. Scorers and runs are made when a value first needs them: a part
    with 20,000 fields of one value each makes 20,000 plans.

    Contexts that differ only in sibling or object-key tokens no classifier asks about
    (`Classifier.context_words`) share one plan, made for the first of them (`ctx`): the
    same `orders[].phone` next to an optional `address.line2` or without it is judged
    alike, and its values are scored once for both."""

    ctx: FieldContext
    mask: int
    salt: int
    runs: dict[int, tuple[Scorer, ...]] | None = None
    scorers: dict[int, Scorer] | None = None


class ClassifierSet:
    """All registered classifiers (or a given list), ready to score values."""

    def __init__(self, classifiers: list[Classifier] | None = None) -> None:
        if classifiers is None:
            classifiers = [cls() for cls in classifier_classes()]
        self.classifiers = classifiers
        self.by_type = {c.data_type: c for c in classifiers}
        # One bit per (classifier, value gate); `_bit_owner` maps a bit to the
        # classifier's position, which keeps the classifiers' order in every run list.
        self._bits: dict[tuple[int, str], int] = {}
        self._gates: list[tuple[int, int, int, ValueGate]] = []  # (bit, min, max, gate)
        self._bit_owner: dict[int, int] = {}
        needs: dict[int, str] = {}
        for index, classifier in enumerate(classifiers):
            for name, gate in classifier.value_gates.items():
                bit = 1 << len(self._gates)
                self._bits[(index, name)] = bit
                self._bit_owner[bit] = index
                self._gates.append((bit, classifier.min_len, classifier.max_len, gate))
                if name in classifier.value_needs:
                    needs[bit] = classifier.value_needs[name]
        # Per classifier whose `gate` is its own: the bound gate and its bits by gate
        # name. The base `Classifier.gate` answers ANY in every context: those bits are
        # in every plan's mask from the start, without a call per context.
        self._gated: list[tuple[Callable[[FieldContext], str | None], dict[str, int]]] = []
        self._ungated = 0
        server_gates = False
        for index, classifier in enumerate(classifiers):
            bits = {name: self._bits[(index, name)] for name in classifier.value_gates}
            if getattr(classifier.gate, "__func__", None) is Classifier.gate and ANY in bits:
                self._ungated |= bits[ANY]
            else:
                self._gated.append((classifier.gate, bits))
                server_gates = server_gates or classifier.gate_reads_server
        # Gate bits whose classifier needs a pattern in the value, and one scanner for
        # all those patterns (classifiers/_scan.py).
        self._needy = sum(needs)
        self._scanner = scanner(needs)
        # The same patterns for values of at most GATE_MAX_LEN ASCII characters
        # (`_by_shape`): the alternatives a value's class string decides
        # (classifiers/_class_patterns.py), searched once per class string, and the
        # rest, searched in every value whose decided part is absent; there the whole
        # pattern answers as its rest would, and is compiled already (the rest alone
        # of the IP address pattern costs more to compile than it saves on a small
        # capture).
        decided: dict[int, str] = {}
        rest: dict[int, str] = {}
        for bit, source in needs.items():
            decided_part, rest_part = split_by_classes(source, _CLASSES)
            if decided_part is not None:
                decided[bit] = decided_part
            if rest_part is not None:
                rest[bit] = source
        self._decided = sum(decided)
        self._decided_scanner = scanner(decided)
        self._undecided = sum(rest)
        self._rest_scanner = scanner(rest)
        # Lengths above GATE_MAX_LEN are represented by the largest length bound at or
        # below them: within such a bucket every classifier's min/max test is the same.
        edges = {GATE_MAX_LEN + 1}
        for c in classifiers:
            edges.update(b for b in (c.min_len, c.max_len + 1) if b > GATE_MAX_LEN)
        self._long_edges = sorted(edges)
        self._ctx_cache: dict[
            tuple[str, str, str, str, frozenset[str], str, frozenset[str]], FieldContext
        ] = {}
        # Plans by the id of a context the plan serves (kept, so that the id stays its
        # own), and by a context's key (`_plan_key`) when contexts can share plans.
        self._plans: dict[int, tuple[FieldContext, ContextPlan]] = {}
        self._shared_plans: dict[PlanKey, ContextPlan] = {}
        self._asked: dict[frozenset[str], frozenset[str]] = {}  # `_plan_key`
        words = [c.context_words for c in classifiers if c.context_words is not None]
        self._context_words = (
            frozenset().union(*words) if len(words) == len(classifiers) else None)
        # Plan masks by the plan key's second part (all but the server), when no gate reads
        # the server (`Classifier.gate_reads_server`): the same API behind many hosts
        # (a fifth of the new plans of the shared sample) asks its gates once.
        self._masks: dict[tuple[object, ...], int] | None = (
            {} if self._context_words is not None and not server_gates else None)
        self._shapes: dict[tuple[int, object], int] = {}
        # Per class string of a short ASCII value: (admitted gate bits, the bits whose
        # decided part is yet to be searched, those found).
        self._by_shape: dict[bytes, tuple[int, int, int]] = {}
        self._runs: dict[int, tuple[int, ...]] = {}
        self._memo: dict[int, tuple[Finding, ...]] = {}
        self._salt = int.from_bytes(os.urandom(8), "little")
        self._plans_made = 0

    @property
    def scan_engine(self) -> str:
        """The engine of the required-pattern scan: "re" or "hyperscan"."""
        return self._scanner.engine

    @classmethod
    def with_extra(cls, extra: list[Classifier]) -> ClassifierSet:
        """The registered classifiers plus user ones (config file, entry points)."""
        return cls([c() for c in classifier_classes()] + extra)

    def context(
        self, protocol: str, location: str, path: str, api: str, siblings: frozenset[str],
        server: str = "", object_keys: frozenset[str] = frozenset(),
    ) -> FieldContext:
        """The context of one field, cached: `server` is the flow's server IP address
        (`FieldContext.server`), `object_keys` the tokens of its object's keys
        (`object_tokens`), part of the key like the rest."""
        key = (protocol, location, path, api, siblings, server, object_keys)
        ctx = self._ctx_cache.get(key)
        if ctx is None:
            if len(self._ctx_cache) > MAX_CONTEXTS:
                # Bounded: contexts are cheap to rebuild, memory is not free.
                self._ctx_cache.clear()
            ctx = FieldContext(
                protocol=protocol,
                location=location,
                path=path,
                api=api,
                name_tokens=name_tokens(last_segment(path)),
                path_tokens=path_tokens(path),
                sibling_tokens=siblings,
                server=server,
                object_tokens=object_keys,
            )
            self._ctx_cache[key] = ctx
        return ctx

    def forget(self) -> None:
        """Drops the memo of scored values and the per-context plans (end of a scan)."""
        self._memo.clear()
        self._plans.clear()
        self._shared_plans.clear()
        self._asked.clear()
        if self._masks is not None:
            self._masks.clear()

    def _plan(self, ctx: FieldContext) -> ContextPlan:
        """The plan of a context met for the first time: that of an equivalent context
        (`_plan_key`) when one was met, else a new one (`_new_plan`)."""
        if len(self._plans) >= MAX_CONTEXTS:
            self._plans.clear()
            self._shared_plans.clear()
            self._asked.clear()
            if self._masks is not None:
                self._masks.clear()
        words = self._context_words
        key = None if words is None else _plan_key(ctx, words, self._asked)
        plan = None if key is None else self._shared_plans.get(key)
        if plan is None:
            plan = self._new_plan(ctx, key)
            if key is not None:
                self._shared_plans[key] = plan
        self._plans[id(ctx)] = (ctx, plan)
        return plan

    def _new_plan(self, ctx: FieldContext, key: PlanKey | None = None) -> ContextPlan:
        """Asks every classifier's `gate` once for this context (`_gated`, `_ungated`),
        or takes the answers given to a context of the same plan key (`key`) but for the
        server, when no gate reads the server (`_masks`): every `gate` answers alike
        for two contexts whose only other difference is in sibling and object tokens
        no classifier asks about, as for sharing a plan (`_plan_key`)."""
        masks = self._masks
        mask_key = None if key is None or masks is None else key[1]
        mask = None if mask_key is None or masks is None else masks.get(mask_key)
        if mask is None:
            mask = self._ungated
            for gate, bits in self._gated:
                name = gate(ctx)
                if name is not None:
                    mask |= bits[name]
            if mask_key is not None and masks is not None:
                masks[mask_key] = mask
        # Salts come from a counter that never restarts, so no two plans share one.
        self._plans_made += 1
        salt = (self._salt + self._plans_made * 0x9E3779B97F4A7C15) & _HASH_BITS
        return ContextPlan(ctx, mask, salt)

    def _admitted(
        self, n: int, classes: frozenset[str] | tuple[frozenset[str], frozenset[frozenset[str]]]
    ) -> int:
        """Bits of the gates that admit a value of length `n` and these classes (for a
        non-ASCII value: fixed classes and role choices, admitted when some choice is)."""
        key = (n, classes)
        mask = self._shapes.get(key)
        if mask is None:
            mask = 0
            options = _assignments(*classes) if isinstance(classes, tuple) else [classes]
            for bit, low, high, gate in self._gates:
                if low <= n <= high and any(gate(n, c) for c in options):
                    mask |= bit
            if len(self._shapes) >= MAX_SHAPES:
                self._shapes.clear()
            self._shapes[key] = mask
        return mask

    def _run(self, plan: ContextPlan, todo: int) -> tuple[Scorer, ...]:
        """The plan's scorers for these gate bits, in the classifiers' order."""
        owners = self._runs.get(todo)
        if owners is None:
            owners = tuple(sorted(self._bit_owner[1 << i] for i in range(todo.bit_length())
                                  if todo >> i & 1))
            self._runs[todo] = owners
        runs, scorers = plan.runs, plan.scorers
        if runs is None or scorers is None:
            runs = plan.runs = {}
            scorers = plan.scorers = {}
        run = []
        for index in owners:
            scorer = scorers.get(index)
            if scorer is None:
                scorer = scorers[index] = self.classifiers[index].scorer(plan.ctx)
            run.append(scorer)
        runs[todo] = found = tuple(run)
        return found

    def plan(self, ctx: FieldContext) -> ContextPlan:
        """The plan of a field context, for `findings`: one dict lookup once made (the
        field scorer asks once per field of a message, then scores its values)."""
        held = self._plans.get(id(ctx))
        if held is None or held[0] is not ctx:
            return self._plan(ctx)
        return held[1]

    def score(self, value: str, ctx: FieldContext) -> list[Finding]:
        return list(self.findings(value, self.plan(ctx)))

    def findings(self, value: str, plan: ContextPlan) -> tuple[Finding, ...]:
        """`score` for a context's plan (`plan`), as a shared tuple: the hot path.

        The memo is looked up first: most values were met before in their context
        (the same header in every message), and the verdict of the gates is memoized
        as well as the classifiers' (an empty tuple), so a repeated value costs a hash
        and a lookup, not its character classes."""
        if not plan.mask:
            return ()
        key = hash(value) ^ plan.salt
        found = self._memo.get(key)
        if found is None:
            found = self.memoized(value, plan, key)
        return found

    def memo_lookup(self) -> Callable[[int], tuple[Finding, ...] | None]:
        """The memo's lookup by key (`hash(value) ^ plan.salt`), for a caller that
        inlines `findings`' first step (the field scorer, once per value): valid as long
        as this set lives (the memo is emptied in place, never replaced)."""
        return self._memo.get

    def memoized(self, value: str, plan: ContextPlan, key: int) -> tuple[Finding, ...]:
        """`findings` of a value the memo does not hold under `key` (its key in the
        plan's context), a plan with gates (`plan.mask`): scored, and memoized."""
        found = self._scored(value, plan, plan.mask)
        memo = self._memo
        if len(memo) >= MAX_MEMO:
            memo.clear()
        memo[key] = found
        return found

    def _scored(self, value: str, plan: ContextPlan, mask: int) -> tuple[Finding, ...]:
        """The findings of a value the memo does not hold (`mask`: the plan's gates).

        An ASCII value of at most GATE_MAX_LEN characters is read as its class string
        (`2024-01-05T10:22:33Z`: `dddd-dd-ddedd:dd:ddL`), which many new values share
        (timestamps, dates, numbers in one layout): it decides the gates (its length
        and set of classes) and the class-decided parts of the required patterns
        (classifiers/_class_patterns.py), searched once per class string
        (`_decided_scanner`, `_by_shape`); the rest are searched in every value."""
        if len(value) > GATE_MAX_LEN or not value.isascii():
            return self._scored_long(value, plan, mask)
        shape = value.encode().translate(_CLASSES)
        known = self._by_shape.get(shape)
        if known is None:
            return self._scored_new_shape(value, plan, mask, shape)
        admitted, unsearched, hits = known
        todo = mask & admitted
        if not todo:
            return ()
        needy = todo & self._needy
        if needy:
            unasked = needy & unsearched
            if unasked:
                # The first value of this class string to need these patterns: their
                # decided parts answer alike for every value of it.
                hits |= self._decided_scanner.hits(value, unasked)
                self._by_shape[shape] = (admitted, unsearched ^ unasked, hits)
            found = needy & hits
            rest = needy & self._undecided
            if found:
                rest ^= rest & found
            if rest:
                found |= self._rest_scanner.hits(value, rest)
            # A classifier whose pattern is absent cannot report the value.
            todo ^= needy ^ found
            if not todo:
                return ()
        return self._findings(value, plan, todo)

    def _scored_long(self, value: str, plan: ContextPlan, mask: int) -> tuple[Finding, ...]:
        """`_scored` for a value longer than GATE_MAX_LEN or not ASCII: its classes and
        a scan of the whole required patterns (ASCII values only)."""
        n = len(value)
        if n > GATE_MAX_LEN:
            n = self._long_edges[bisect_right(self._long_edges, n) - 1]
        classes: frozenset[str] | tuple[frozenset[str], frozenset[frozenset[str]]]
        ascii_value = value.isascii()
        if not ascii_value:
            classes = _unicode_classes(value)
        elif value.isdigit():
            classes = _DIGITS_ONLY
        else:
            classes = frozenset(value.encode("ascii").translate(_CLASSES).decode("ascii"))
        admitted = self._shapes.get((n, classes))
        if admitted is None:
            admitted = self._admitted(n, classes)
        todo = mask & admitted
        if not todo:
            return ()
        needy = todo & self._needy
        if needy and ascii_value:
            # One scan for the candidates' required patterns; a classifier whose
            # pattern is absent cannot report the value.
            todo ^= needy ^ self._scanner.hits(value, needy)
            if not todo:
                return ()
        return self._findings(value, plan, todo)

    def _scored_new_shape(
        self, value: str, plan: ContextPlan, mask: int, shape: bytes
    ) -> tuple[Finding, ...]:
        """`_scored` for a value whose class string is met for the first time: as for a
        long value, one scan of the whole patterns (a class string met once, a random
        token's, costs no second scan), whose answers are kept for the patterns they
        settle: a wholly decided pattern's, and a mixed one's when it is absent."""
        n = len(shape)
        classes = frozenset(shape.decode("ascii"))
        admitted = self._shapes.get((n, classes))
        if admitted is None:
            admitted = self._admitted(n, classes)
        by_shape = self._by_shape
        if len(by_shape) >= MAX_SHAPE_STRINGS:
            by_shape.clear()
        todo = mask & admitted
        needy = todo & self._needy
        decided = self._decided
        if not needy:
            by_shape[shape] = (admitted, decided, 0)
            return self._findings(value, plan, todo) if todo else ()
        found = self._scanner.hits(value, needy)
        if found:
            wholly = decided & ~self._undecided
            settled = needy & (wholly | decided & ~found)
            by_shape[shape] = (admitted, decided ^ settled, found & wholly)
        else:
            by_shape[shape] = (admitted, decided ^ (needy & decided), 0)
        # A classifier whose pattern is absent cannot report the value.
        todo ^= needy ^ found
        return self._findings(value, plan, todo) if todo else ()

    def _findings(self, value: str, plan: ContextPlan, todo: int) -> tuple[Finding, ...]:
        """The findings of the classifiers of these gate bits (`todo`) on a value."""
        runs = plan.runs
        run = runs.get(todo) if runs is not None else None
        if run is None:
            run = self._run(plan, todo)
        ctx = plan.ctx
        found: list[Finding] = []
        for scorer in run:
            finding = scorer(value, ctx)
            if finding is not None and finding.confidence >= REPORT_THRESHOLD:
                found.append(finding)
        if not found:
            return ()
        if len(found) > 1:
            found = pick_findings(found)
        return _shared(found)


# A `_plan_key`: the context's server, and all else the classifiers can tell of it.
PlanKey = tuple[str, tuple[object, ...]]


def _plan_key(
    ctx: FieldContext, words: frozenset[str],
    asked: dict[frozenset[str], frozenset[str]] | None = None,
) -> PlanKey:
    """What the classifiers can tell of a context (`words`: every token of siblings and
    object keys any of them asks about, `Classifier.context_words`): every field of the
    context but those two token sets, of which only these words count, and whether
    each set is empty. Contexts with one key get the same answers from every `gate` and
    `scorer`, so they share a plan and its memo entries. The server stands apart (the
    key's first part): contexts whose second parts are equal get the same answers from
    every `gate` that does not read the server (`Classifier.gate_reads_server`). `asked`
    holds the words of sets met before: the fields of a part share one set of siblings."""
    siblings, objects = ctx.sibling_tokens, ctx.object_tokens
    if asked is None:
        asked = {}
    sibling_words = asked.get(siblings)
    if sibling_words is None:
        sibling_words = asked[siblings] = siblings & words
    object_words = asked.get(objects)
    if object_words is None:
        object_words = asked[objects] = objects & words
    return ctx.server, (ctx.protocol, ctx.location, ctx.path, ctx.api, ctx.name_tokens,
                        ctx.path_tokens, sibling_words, not siblings, object_words, not objects)


# The findings tuples the memo holds, shared: few distinct ones exist (findings are
# shared themselves, `Classifier.finding`), so a memo entry costs a key and a reference.
# Filed under the findings' ids, which stay theirs while the tuple keeps them alive
# (hashing the findings themselves would cost more than the sharing saves).
_TUPLES: dict[tuple[int, ...], tuple[Finding, ...]] = {(): ()}
MAX_SHARED_TUPLES = 4096


def _shared(found: list[Finding]) -> tuple[Finding, ...]:
    key = tuple(map(id, found))
    shared = _TUPLES.get(key)
    if shared is None:
        if len(_TUPLES) >= MAX_SHARED_TUPLES:
            _TUPLES.clear()
        shared = _TUPLES[key] = tuple(found)
    return shared


# Sibling tokens by the paths of a part (a tuple of at most MAX_CACHED_SIBLING_PATHS):
# parts of one shape recur in every message of an API, and the same headers in every
# API. Cleared when full (at most ~2 MB of references).
_SIBLINGS: dict[tuple[str, ...], frozenset[str]] = {}
MAX_CACHED_SIBLINGS = 4_096
MAX_CACHED_SIBLING_PATHS = 64


# Object tokens (`object_tokens`) by the paths of a part, bounded like `_SIBLINGS`: the
# same body shape recurs under many APIs and servers, each a new message shape.
_OBJECTS: dict[tuple[str, ...], tuple[frozenset[str], ...]] = {}
_Tokens = TypeVar("_Tokens")


def _by_paths(
    cache: dict[tuple[str, ...], _Tokens],
    paths: tuple[str, ...],
    work: Callable[[tuple[str, ...]], _Tokens],
) -> _Tokens:
    """`work(paths)`, kept in `cache` for parts of at most MAX_CACHED_SIBLING_PATHS
    paths (the cache is emptied when full)."""
    if len(paths) > MAX_CACHED_SIBLING_PATHS:
        return work(paths)
    tokens = cache.get(paths)
    if tokens is None:
        if len(cache) >= MAX_CACHED_SIBLINGS:
            cache.clear()
        tokens = cache[paths] = work(paths)
    return tokens


def sibling_tokens(paths: Iterable[str]) -> frozenset[str]:
    """Tokens of the names of the fields of one part (their last path segments)."""
    if type(paths) is tuple:
        return _by_paths(_SIBLINGS, paths, _sibling_tokens)
    return _sibling_tokens(paths)


def _sibling_tokens(paths: Iterable[str]) -> frozenset[str]:
    names = {last_segment(p) for p in islice(paths, MAX_SIBLING_NAMES)}
    tokens: set[str] = set()
    for name in names:
        tokens |= name_tokens(name)
    return frozenset(tokens)


def object_tokens(paths: tuple[str, ...]) -> tuple[frozenset[str], ...]:
    """Per path, the tokens of the keys of the object it belongs to: its parent's own
    keys, containers included (`members` for `members.{key}.email`), at most
    MAX_SIBLING_NAMES of them: `items[].name` gets the tokens of `name`, `surname` and
    `email` of its own item, not those of a `customer.email` elsewhere in the body."""
    return _by_paths(_OBJECTS, paths, _object_tokens)


def _object_tokens(paths: tuple[str, ...]) -> tuple[frozenset[str], ...]:
    children: dict[str, set[str]] = {}
    parents: list[str] = []
    for path in paths:
        segments = path.split(".")
        parents.append(path[: len(path) - len(segments[-1]) - 1] if len(segments) > 1 else "")
        prefix = ""
        for depth, segment in enumerate(segments):
            keys = children.get(prefix)
            if keys is None:
                keys = children[prefix] = set()
            if len(keys) < MAX_SIBLING_NAMES:
                keys.add(segment.replace("[]", ""))
            prefix = segment if depth == 0 else f"{prefix}.{segment}"
    tokens: dict[str, frozenset[str]] = {}
    out = []
    for parent in parents:
        found = tokens.get(parent)
        if found is None:
            found = tokens[parent] = frozenset().union(
                *(name_tokens(k) for k in children.get(parent, ()) if k))
        out.append(found)
    return tuple(out)
