"""PERSON_NAME: a person's first, last or full name, from the field name plus the value.

No standard defines names; the evidence is the field name (`firstName`, `surname`,
`customer.name`, synonyms in several languages via `_hints.SYNONYMS`) and a value shaped
like a name: 1-4 capitalised words of letters (accents and scripts without case, such as
CJK, included), with apostrophes, hyphens and initials, plus lowercase particles
(`de la`, `van`, `von`, `bin`). Without a field-name hint a value is never a name: any two
capitalised words would be.

A bare `name` field is weaker evidence (products, files and hosts have names too): it
needs a person-like parent path for full confidence, and is dropped when the field name
or its parents say it is something else (`product.name`, `hostname`, `userName`, which
is a login handle, not a name). Card-holder names are PCI's CARDHOLDER_NAME: skipped here
when the path says card/holder so that one field gets one row.

Weaker evidence, lower confidence (the inventory reports weak evidence only after
several values, never on one lucky value):
- split names: a part word under a `name` parent (`name.given[]`, `name.family` as FHIR
  `HumanName` has them, `name.first`, `name.last`) is as good as `firstName`; a bare
  part word whose siblings hold another part (a `last` column next to `given`), a
  little weaker;
- person-role fields that hold a whole name (`recipient`, `account_holder`,
  `beneficiary`): two or more name-shaped words; `holder_name` outside anything card
  (next to an IBAN) is an account holder's name;
- a bare `name` is a person's when the keys of its own object (`FieldContext.
  object_tokens`) describe a person (`email`, `surname`): a team's `name` beside its
  members' e-mails is not; under `items[]` (products, and also the usual page wrapper)
  an item with a surname or an e-mail of its own is a person;
- a bare `name` of the elements of a body that is an array, when the API's last path
  word names people (`GET /users` answering `[{"name": ...}]`);
- a bare `name` (or `name[]`) at the top of a body whose API names people (the last
  path word of `POST /customers`, the service or method of gRPC
  `/tutorial.PersonSearchService/Search`): a known given name, or two or more words
  opening with one (a single first name is what a person search sends);
- softer roles (`author`, `owner`, `assignee`, `contact`) and a bare `name` with no
  person context: two or more name-shaped words whose first is a known given name (the
  lists of `_name_lists.py`), or a CJK name of 2-4 characters opening with a known
  family name.
- a user or login name field (`user`, `userName`, `loginName`): a login handle is
  usually no name, but a Chinese name as written (2-4 Han characters opening with a
  known family name, `_name_lists.han_name`) is the account holder's, and a handle that
  is exactly a known given name (`john`) is a person's first name (weaker).
Organisations are never people (`_organisations.py`): the `name` of a merchant,
pharmacy, employer or bank, and values with a legal form or an institution word
(`Acme Corp`, `Central Pharmacy`).

Not covered: names in free text (no NER here), all-lowercase names, names with digits.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._hints import SYNONYMS, name_tokens
from classifiers._organisations import organisation_path, organisation_shaped
from classifiers.base import (
    BLANK,
    LETTERS,
    REPORT_THRESHOLD,
    SYMBOL,
    Category,
    Classifier,
    FieldContext,
    Finding,
    Scorer,
    ValueGate,
    bound_scorer,
)
from classifiers.pii._name_lists import han_name, known_given_name

# Tokens of a field's own name that leave it a person's name (`patient_full_name`,
# `displayName`, `name_en`): everything else qualifies it as something else's name.
_NAME_WORDS = frozenset(
    {"name", "names", "first", "last", "full", "given", "family", "middle", "maiden",
     "surname", "forename", "display", "nick", "nickname", "real", "legal", "preferred",
     "official", "person", "personal", "of", "en", "de", "fr", "es", "local", "native",
     "latin", "kana", "romanized",
     # abbreviations seen in schemas: `ptFirstNm`, `EmpLastNm`, `cust_nm`
     "nm", "pt", "emp", "cust", "pat", "mbr"}
)
# Tokens that make the field a name of one part of a person.
_SPECIFIC = frozenset({"first", "last", "full", "given", "family", "middle", "maiden"})
# Tokens that make a `name` field the name of something else.
_NOT_PERSON = frozenset(
    {
        "file",
        "host",
        "product",
        "item",
        "company",
        "org",
        "organization",
        "organisation",
        "business",
        "brand",
        "user",
        "login",
        "account",
        "app",
        "application",
        "service",
        "table",
        "column",
        "field",
        "key",
        "type",
        "class",
        "event",
        "domain",
        "bucket",
        "topic",
        "queue",
        "device",
        "model",
        "project",
        "repo",
        "branch",
        "server",
        "db",
        "database",
        "schema",
        "category",
        "tag",
        "label",
        "group",
        "team",
        "role",
        "plan",
        "store",
        "shop",
        "merchant",
        "city",
        "country",
        "street",
        "bank",
        "method",
        "operation",
        "function",
        "module",
        "package",
        "image",
        "container",
        "node",
        "pod",
        "cluster",
        "region",
        "zone",
        "network",
        "path",
        "dir",
        "folder",
        "screen",
        "nick",
        "card",
        "holder",
        "cardholder",
        "drug",
        "medication",
        "template",
        "campaign",
        "job",
        "task",
        "metric",
        "resource",
        "namespace",
        "channel",
        "venue",
    }
)
# Parents that make a bare `name` a person's.
# Parents that make a `name` the name of a thing (compared in singular form).
_NOT_PERSON_PARENTS = frozenset(
    {"card", "cardholder", "holder", "product", "company", "file", "item", "sku", "category",
     "tag", "service", "app", "team", "group", "store", "shop", "merchant", "plan", "drug",
     "medication", "package", "dependency", "repository", "image", "container", "node",
     "cluster", "region", "city", "country", "street", "channel", "role", "permission"}
)
# Sibling fields that show the object is a person.
_PERSON_SIBLINGS = frozenset(
    {"email", "phone", "birth", "ssn", "gender", "address", "first", "last", "surname",
     "patient", "mrn", "nationality", "passport"}
)
_PERSON_PARENTS = frozenset(
    {
        "customer",
        "patient",
        "person",
        "contact",
        "employee",
        "member",
        "owner",
        "recipient",
        "sender",
        "guest",
        "passenger",
        "traveller",
        "traveler",
        "student",
        "author",
        "applicant",
        "beneficiary",
        "driver",
        "buyer",
        "seller",
        "shipping",
        "billing",
        "emergency",
        "parent",
        "child",
        "spouse",
        "doctor",
        "physician",
        "nurse",
        "profile",
        "signer",
        "attendee",
        "candidate",
        "client",
        "tenant",
        "user",
        "users",
        "customers",
        "patients",
        "people",
        "persons",
        "contacts",
        "employees",
        "members",
    }
)
# Keys of an object that only a person has (with its own name).
_PERSON_ONLY_KEYS = frozenset({"surname", "last", "first", "given", "family", "email",
                               "birth", "gender"})
# Own-name tokens of an account holder's name field.
_HOLDER_NAME_WORDS = frozenset({"holder", "name", "account", "full", "bank"})
# Field names of one part of a split name, under a `name` parent (FHIR `HumanName`).
_PART_WORDS = frozenset({"given", "family", "first", "last", "middle", "surname"})
# Field names of a person's role that hold the person's whole name.
_ROLE_FIELDS = frozenset({"recipient", "addressee", "beneficiary", "payee", "holder",
                          "insured", "policyholder", "guarantor", "signatory", "patient",
                          "passenger", "person", "accountholder"})
# Softer roles: the value is often a login, a team or a system; a known given name
# must open it.
_SOFT_ROLE_FIELDS = frozenset({"author", "assignee", "reporter", "requester", "owner",
                               "contact", "attendee", "guest", "customer", "employee",
                               "sender", "creator", "approver", "reviewer", "manager"})
# Path words that make a holder field a card's or an account's in a payment sense.
_CARD_WORDS = frozenset({"card", "cardholder", "cards", "pan", "ccnum"})
# The sibling and object-key tokens the field's judgement asks about: card words and
# `iban` beside a holder name, person siblings beside a bare `name`, another part of a
# split name, a person's own keys in an `items[]` element (`Classifier.context_words`).
_CONTEXT_WORDS = (_CARD_WORDS | {"cvv", "iban"} | _PERSON_SIBLINGS | _PART_WORDS
                  | _PERSON_ONLY_KEYS)
# Confidence of the weaker kinds of evidence.
_ROLE = 0.75
_SOFT_ROLE = 0.7
_LISTED_NAME = 0.55
# Lowercase particles allowed between capitalised name words.
_PARTICLES = frozenset(
    {
        "de",
        "del",
        "della",
        "der",
        "den",
        "di",
        "da",
        "das",
        "do",
        "dos",
        "du",
        "la",
        "le",
        "van",
        "von",
        "ter",
        "ten",
        "bin",
        "binti",
        "ibn",
        "al",
        "el",
        "y",
        "e",
        "zu",
    }
)
# Placeholders that are capitalised words but no one's name.
_PLACEHOLDERS = frozenset(
    {
        "null",
        "none",
        "nil",
        "unknown",
        "anonymous",
        "guest",
        "test",
        "admin",
        "user",
        "default",
        "true",
        "false",
        "n/a",
        "na",
        "tbd",
        "undefined",
        "empty",
        "system",
        "customer",
        "name",
        "first",
        "last",
        "nobody",
        "root",
        "example",
        "redacted",
    }
)
_NAME_PUNCT = frozenset("'’-.")
_MAX_WORDS = 4  # capitalised words; `Ana María de la Cruz` has 3 plus particles
_MAX_CHARS = 64  # longer values are sentences, titles or lists
# Character classes a name-shaped value can have (`_name_shaped`; `’` is a SYMBOL).
_NAME_CLASSES = LETTERS | BLANK | {"'", "-", ".", SYMBOL}


_ROLE_REASON = "name shape, person-role field name"
_SOFT_ROLE_REASON = "known given name, person-role field name"
_GENERIC_REASON = "name shape, generic field name hint, no person context"
_PEOPLE_API_REASON = "known given name, generic field name in an API about people"
_LOGIN_REASON = "user or login name field"
# Field reasons whose verdict needs more from the value than the name shape.
_VALUE_DECIDES = frozenset({_ROLE_REASON, _SOFT_ROLE_REASON, _GENERIC_REASON,
                            _LOGIN_REASON, _PEOPLE_API_REASON})
# Own-name tokens of a login handle (`user`, `userName`, `loginName`, `accountName`).
# A handle is usually no name (`jsmith`, `admin`); it is one when written as a Chinese
# name in Han characters, or when it is exactly a known given name (`john`): people's
# first names are common logins.
_LOGIN_NAME_WORDS = frozenset({"user", "login", "account", "name", "username", "loginname"})
# Account names of systems and roles that some locale also lists as a given name.
_SYSTEM_ACCOUNTS = frozenset({"dev", "server", "admin", "root", "test", "guest", "user",
                              "demo", "operator", "service", "system", "support", "info",
                              "sales", "web", "api", "backup", "master", "manager",
                              "default", "office", "staff", "client", "owner", "tester"})
_LOGIN_HAN = 0.75
_LOGIN_GIVEN = 0.6
# A top-level `name` in an API about people: the value must be a listed name, and one
# message with two such names is enough (the inventory's weak-evidence bar is 0.6).
_PEOPLE_API = 0.65


def _account_holder_name(ctx: FieldContext) -> bool:
    """`holder_name`, `account_holder_name` outside anything card: a bank account's
    holder (the cardholder is CARDHOLDER_NAME's)."""
    tokens = ctx.name_tokens
    if "holder" not in tokens or not tokens <= _HOLDER_NAME_WORDS:
        return False
    if not ctx.path_tokens.isdisjoint(_CARD_WORDS):
        return False
    near = ctx.record_tokens
    return "account" in tokens or "iban" in near or near.isdisjoint(_CARD_WORDS | {"cvv"})


def _element_of_people(ctx: FieldContext) -> bool:
    """`[].name` in the answer of `GET /users`: the body is the collection the API's
    last path word names, and that word names people."""
    if not ctx.path.startswith("[].") or ctx.path.count(".") != 1:
        return False
    words = [w for w in ctx.api.partition(" ")[2].split("?")[0].split("/")
             if w and not w.startswith("{")]
    return bool(words) and words[-1].lower() in _PERSON_PARENTS


def _api_about_people(api: str) -> bool:
    """The API's own words name people: the last literal path word of an HTTP API
    (`POST /customers`), the service or method of a gRPC one (`/pkg.PersonService/Get`,
    `/pkg.Directory/FindUsers`)."""
    if api.startswith("/"):  # gRPC: /package.Service/Method
        service, _, method = api[1:].rpartition("/")
        words = name_tokens(service.rpartition(".")[2]) | name_tokens(method)
        return not words.isdisjoint(_PERSON_PARENTS)
    segments = [w for w in api.partition(" ")[2].split("?")[0].split("/")
                if w and not w.startswith("{")]
    return bool(segments) and segments[-1].lower() in _PERSON_PARENTS


def _listed_name(words: list[str]) -> bool:
    """Two or more words opening with a known given name, or a CJK name of 2-4
    characters (no spaces) opening with a known family name."""
    if len(words) >= 2:
        return len(words) <= _MAX_WORDS and known_given_name(words[0])
    return han_name(words[0])


def _never(value: str, ctx: FieldContext) -> Finding | None:
    """The scorer of a context where the field says no name can be meant."""
    return None


class PersonNameClassifier(Classifier):
    data_type: ClassVar[str] = "PERSON_NAME"
    category: ClassVar[Category] = Category.PII
    context_words: ClassVar[frozenset[str] | None] = _CONTEXT_WORDS
    gate_reads_server: ClassVar[bool] = False
    hints: ClassVar[frozenset[str]] = frozenset({"name", "surname", "forename"}) | _SPECIFIC
    min_len: ClassVar[int] = 1
    max_len: ClassVar[int] = _MAX_CHARS
    # Name-shaped values are common (titles, labels); most of the field should look so.
    min_share: ClassVar[float] = 0.5
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"name": lambda n, classes: not classes.isdisjoint(LETTERS) and classes <= _NAME_CLASSES}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        field = self._field(ctx)
        if field is None:
            return None
        # Weak fields are judged on the value (a known given name): under the threshold
        # on the field alone, yet able to report.
        return "name" if field[0] >= REPORT_THRESHOLD or field[1] in _VALUE_DECIDES else None

    def _field(self, ctx: FieldContext) -> tuple[float, str] | None:
        """The confidence and reason the field gives a name-shaped value, if any."""
        if organisation_path(ctx.path_tokens):
            return None
        tokens = ctx.name_tokens
        part = self._split_part(ctx) or self._sibling_part(ctx)
        if part is not None:
            return part
        if (not _ROLE_FIELDS.isdisjoint(tokens) and ctx.path_tokens.isdisjoint(_CARD_WORDS)
                and "name" not in tokens):
            return _ROLE, _ROLE_REASON
        if _account_holder_name(ctx):
            return 0.85, "name shape, account holder name field"
        if tokens <= _LOGIN_NAME_WORDS and not tokens <= {"name", "account"}:
            return _LOGIN_GIVEN, _LOGIN_REASON
        if not _SOFT_ROLE_FIELDS.isdisjoint(tokens) and "name" not in tokens and (
            tokens.isdisjoint(_NOT_PERSON) and len(tokens) <= 2
        ):
            return _SOFT_ROLE, _SOFT_ROLE_REASON
        # The hint comes first: without it nothing is a name, and it is the cheap test.
        if "name" not in tokens and not ("surname" in tokens or "forename" in tokens):
            return None
        # Parents are often plural collections (`items[].name`): compare singular forms.
        path = ctx.path_tokens | {t[:-1] for t in ctx.path_tokens if t.endswith("s")}
        if "item" in path and not ctx.object_tokens.isdisjoint(_PERSON_ONLY_KEYS):
            # `items` is also the usual page wrapper (`{"items": [...], "total": 40}`):
            # an item with a surname or an e-mail of its own is a person.
            path = path - {"item"}
        if not tokens.isdisjoint(_NOT_PERSON) or not path.isdisjoint(_NOT_PERSON_PARENTS):
            return None
        # `browserName`, `osName`, `planName`: a qualifier in the field's own name says
        # whose name it is; only person-like qualifiers keep it a person's.
        # Non-ASCII tokens (`姓名`, `имя`) were read through the synonym tables.
        qualifiers = {t for t in tokens if not t.isdigit() and t not in SYNONYMS
                      and t.isascii()} - _NAME_WORDS
        if qualifiers and qualifiers.isdisjoint(_PERSON_PARENTS):
            return None
        if not tokens.isdisjoint(_SPECIFIC) or "surname" in tokens or "forename" in tokens:
            return 0.85, "name shape, field name hint"
        if not path.isdisjoint(_PERSON_PARENTS):
            return 0.85, "name shape, field name hint, person context in path"
        # A bare `name` / `display_name`: products, places and teams have names too, so
        # it counts only when sibling fields describe a person.
        # Siblings of the field's own object when known: a team's `name` next to its
        # `members[].email` is no person's.
        siblings = ctx.record_tokens
        if not siblings.isdisjoint(_PERSON_SIBLINGS):
            return 0.7, "name shape, generic field name hint, person siblings"
        if _element_of_people(ctx):
            return 0.7, "name shape, generic field name hint, element of a people collection"
        if "." not in ctx.path and tokens == {"name"} and _api_about_people(ctx.api):
            return _PEOPLE_API, _PEOPLE_API_REASON
        return 0.45, _GENERIC_REASON

    @staticmethod
    def _split_part(ctx: FieldContext) -> tuple[float, str] | None:
        """`name.given[]`, `name.family`, `name.first`: a part under a `name` parent."""
        segments = ctx.path.replace("[]", "").rsplit(".", 2)
        if len(segments) < 2 or _PART_WORDS.isdisjoint(ctx.name_tokens):
            return None
        if len(ctx.name_tokens - _PART_WORDS - {"name", "names"}) > 0:
            return None
        parent = name_tokens(segments[-2])
        if "name" not in parent and "names" not in parent:
            return None
        return 0.85, "name shape, part of a split name"

    @staticmethod
    def _sibling_part(ctx: FieldContext) -> tuple[float, str] | None:
        """`last` next to `given` (a flattened `HumanName`): a bare part word whose
        sibling fields hold another part of the name."""
        own = ctx.name_tokens
        if not own or not own <= _PART_WORDS:
            return None
        if (ctx.sibling_tokens & _PART_WORDS) - own:
            return 0.75, "name shape, part of a split name (sibling parts)"
        return None

    def scorer(self, ctx: FieldContext) -> Scorer:
        # What the field says (`_field`) is asked once per context.
        field = self._field(ctx)
        return bound_scorer(self._judge, field) if field is not None else _never

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        field = self._field(ctx)
        return self._judge(value, field) if field is not None else None

    def _judge(self, value: str, field: tuple[float, str]) -> Finding | None:
        """`score` of a value in a field that gives a name-shaped value `field`."""
        value = value.strip()
        confidence, reason = field
        if reason == _LOGIN_REASON:
            return self._login_name(value)
        if not 1 <= len(value) <= _MAX_CHARS or not self._name_shaped(value):
            return None
        if organisation_shaped(value):
            return None
        if reason in _VALUE_DECIDES:
            words = value.split()
            if reason == _ROLE_REASON:
                ok = len(words) >= 2
            elif reason == _PEOPLE_API_REASON:
                ok = known_given_name(words[0]) if len(words) == 1 else _listed_name(words)
            else:
                ok = _listed_name(words)
            if not ok:
                # A bare `name` keeps its under-threshold finding (the shape alone).
                return self.finding(confidence, reason) if reason == _GENERIC_REASON else None
            if reason == _GENERIC_REASON:
                return self.finding(_LISTED_NAME, "generic field name, listed given or family name")
            return self.finding(confidence, reason)
        return self.finding(confidence, reason)

    def _login_name(self, value: str) -> Finding | None:
        """A login handle that is a name: Chinese in Han script, or one known given
        name (any case) that is no system account."""
        if han_name(value):
            return self.finding(_LOGIN_HAN, "Han-script personal name, " + _LOGIN_REASON)
        lowered = value.lower()
        if (3 <= len(value) <= 20 and value.isascii() and value.isalpha()
                and lowered not in _SYSTEM_ACCOUNTS and lowered not in _PLACEHOLDERS
                and known_given_name(value)):
            return self.finding(_LOGIN_GIVEN, "known given name, " + _LOGIN_REASON)
        return None

    @staticmethod
    def _name_shaped(value: str) -> bool:
        if value.lower() in _PLACEHOLDERS:
            return False
        words = value.split()
        capitalised = 0
        for word in words:
            # A word of letters only (most are) passes both tests below: `split` leaves
            # no empty word.
            if not word.isalpha():
                if not all(ch.isalpha() or ch in _NAME_PUNCT for ch in word):
                    return False  # digits, `@`, `_`, `/`: not a name
                if not any(ch.isalpha() for ch in word):
                    return False
            first = word[0]
            if first.isalpha() and not first.islower():
                # Uppercase, or a script without case (CJK, Arabic...).
                capitalised += 1
            elif word in _PARTICLES and len(words) > 1:
                # Also first: a surname field holds `de Vries`, `da Silva`, `van der Berg`
                # (the particle keeps its lower case when the surname stands alone).
                continue
            else:
                return False
        return 1 <= capitalised <= _MAX_WORDS
