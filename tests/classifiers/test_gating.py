"""The fast classification path settles nothing differently.

`ClassifierSet.score` skips classifiers by context (`Classifier.gate`), by value shape
(`value_gates`) and repeats (the memo). Every test here compares it with the plain
reference: every classifier whose length bounds admit the value, called on it, findings
under REPORT_THRESHOLD dropped, the best per region kept. Values and contexts come from
the labelled corpus (each value in its own field and in many others), from the sample
captures' kinds of traffic, and from hypothesis over the characters the gates look at.
"""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifiers.base import REPORT_THRESHOLD, FieldContext, Finding
from dpi.classify import MAX_MEMO, ClassifierSet, pick_findings, sibling_tokens
from tests.corpus.evaluate import Case, load, part_siblings


def reference(classifiers: ClassifierSet, value: str, ctx: FieldContext) -> list[Finding]:
    n = len(value)
    found = []
    for classifier in classifiers.classifiers:
        if classifier.min_len <= n <= classifier.max_len:
            finding = classifier.score(value, ctx)
            if finding is not None and finding.confidence >= REPORT_THRESHOLD:
                found.append(finding)
    return pick_findings(found) if len(found) > 1 else found


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load()


@pytest.fixture(scope="module")
def classifiers() -> ClassifierSet:
    return ClassifierSet()


def _context(classifiers: ClassifierSet, case: Case) -> FieldContext:
    return classifiers.context(case.protocol, case.location, case.path, case.api,
                               part_siblings(case))


def test_every_corpus_value_in_its_own_field(classifiers: ClassifierSet,
                                              cases: list[Case]) -> None:
    differ = []
    reported = 0
    for case in cases:
        ctx = _context(classifiers, case)
        for value in (*case.values, *case.other_values):
            got = classifiers.score(value, ctx)
            reported += bool(got)
            if got != reference(classifiers, value, ctx):
                differ.append(case.id)
    assert differ == []
    assert reported > 30_000  # the comparison covers real findings, not only silence


def test_corpus_values_in_other_fields(classifiers: ClassifierSet, cases: list[Case]) -> None:
    """Each field's values in the contexts of other fields: a gate that is wrong for some
    context/value pairing shows up here (names, siblings, clinical APIs mixed)."""
    rng = random.Random(14)
    contexts = [_context(classifiers, c) for c in cases]
    differ = []
    for case in cases:
        for value in case.values[:2] + case.other_values[:1]:
            for ctx in rng.sample(contexts, 12):
                if classifiers.score(value, ctx) != reference(classifiers, value, ctx):
                    differ.append((case.id, ctx.path))
    assert differ == []


# Values of the kinds HTTP, gRPC, Kafka and MySQL traffic carry, including the ones the
# gates treat specially (non-ASCII, whitespace padding, long text, track data, keys).
TRAFFIC_VALUES = [
    "", " ", "0", "42", "1234", "12345", "4111111111111111", "4111 1111 1111 1111",
    " 4111-1111-1111-1111 ", "4111111111111111\t", "card 4111111111111111 used",
    "%B4111111111111111^DOE/JOHN^29121010000000000000?", ";4111111111111111=29121010000?",
    "078-05-1120", "536-90-4399", "ssn 536-90-4399 on file", "536904399", "536 90 4399",
    "+1 201-555-0123", "(201) 555-0123", "00 49 30 12345678", "0049 30 12345678",
    "+44 7400 123456 ext 12", "201.555.0123", "07400 123456", "+٤٩ ٣٠ ١٢٣٤٥٦٧٨",
    "jane.doe@example.org", "Jane Doe <jane@corp.io>", "ﬁle@corp.io", "a@b.cd",
    "DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "de89370400440532013000",
    "192.168.1.20", "8.8.8.8", "10.0.0.1:8080", "2001:db8::1", "::1", "::", "fe80::1%eth0",
    "AB123456C", "12345678Z", "X1234567L", "RSSMRA85T10A562S", "2345 6789 0124",
    "123.456.789-09", "046 454 286", "1EG4-TE5-MK73", "1EG4TE5MK73", "AB1234563",
    "E11.9", "e119", "S72.001A", "0002-3227-30", "00023227301", "1234567893",
    "1985-04-12", "04/12/1985", "12 April 1985", "Apr 12, 1985", "1985-04-12T00:00:00Z",
    "SW1A 1AA", "K1A 0B1", "1234 AB", "12345-6789", "〒100-0001", "10115",
    "742 Evergreen Terrace", "Musterstraße 12a", "12 rue de l'Exemple", "Flat 3, Block B7",
    "Jane Doe", "de Vries", "José María", "O'Brien", "Zoë", "李小龙", "JANE Q. PUBLIC",
    "AKIAIOSFODNN7EXAMPLE", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "ghp_" + "a1B2" * 9,
    "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx", "AIza" + "Sy" * 17 + "A",
    "SG." + "a" * 22 + "." + "b" * 43, "SK" + "0123456789abcdef" * 2,
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "Bearer abcdefghijklmnopqrstuvwxyz012345",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "Basic dXNlcjpwYXNzd29yZA==",
    "hunter2", "********", "true", "null", "N/A", "changeme",
    "-----BEGIN RSA PRIVATE KEY-----\\n" + "MIIB" * 30 + "\\n-----END RSA PRIVATE KEY-----",
    "Patient reports type 2 diabetes and hypertension.", "asthma", "amoxicillin 500mg",
    "3f2a9c1e-7b4d-4e8a-9f10-2b3c4d5e6f70", "application/json", "gzip, deflate",
    "Mon, 01 Dec 2026 10:00:00 GMT", "Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0.1.2",
    "keep-alive", "ok", "ACTIVE", "x" * 70, "1" * 70, "a1" * 40 + " " + "4111111111111111",
    "note: call +1 201-555-0123 or mail jane@corp.io, IBAN DE89 3704 0044 0532 0130 00",
    "word " * 300, "Ä" * 100, "\x1c12345\x1f", "12\u00a034", "١٢٣٤٥٦٧٨٩",
    # Credentials inside values: scheme-less tokens, userinfo, signatures, server address.
    "aDummyToken", "Negotiate", "0424bd59b807674191e7d77572075f33", "user:pass@host.org",
    "admin:pw@10.0.0.5", "svc:tok3n@proxy.corp.io:3128", "mailto:alice@corp.io",
    "postgres://app:S3cr3t-pw@db.internal:5432/orders", "https://u:{password}@h.io/x",
    "see https://deploy:hunter22@git.corp.io/repo.git", "::ffff:192.168.1.20",
    "3e1d2f8a9b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e",
]

# Field contexts of those kinds: hinted, hint-less, clinical, card, bank, headers...
TRAFFIC_FIELDS = [
    ("http", "body", "card.number", "POST /v1/payments", ("card.cvv", "card.exp")),
    ("http", "body", "order_id", "POST /v1/orders", ("total",)),
    ("http", "body", "cvv", "POST /v1/cards", ("pan",)),
    ("http", "body", "cid", "GET /v1/items", ()),
    ("http", "body", "exp", "POST /v1/customers/{id}/cards", ()),
    ("http", "body", "expires_in", "POST /oauth/token", ("access_token",)),
    ("http", "body", "valid_thru", "POST /v1/wallet", ("card_number",)),
    ("http", "body", "cardholder_name", "POST /v1/payments", ()),
    ("http", "body", "billing.name", "POST /v1/payments", ("card_number",)),
    ("http", "body", "patients[].diagnosis.code", "GET /v1/patients", ()),
    ("http", "body", "code", "GET /fhir/Encounter", ("patient", "status")),
    ("http", "body", "ndc", "GET /v1/rx", ()),
    ("http", "body", "medication.code", "GET /v1/meds", ()),
    ("http", "body", "notes", "GET /v1/visits", ("patient_id",)),
    ("http", "body", "member_id", "GET /v1/coverage", ("insurance",)),
    ("http", "body", "mrn", "GET /v1/records", ()),
    ("http", "body", "patient.id", "GET /v1/records", ()),
    ("http", "body", "provider.npi", "GET /v1/claims", ()),
    ("http", "body", "created_at", "GET /v1/events", ()),
    ("http", "body", "routing_number", "POST /v1/payouts", ("account_number",)),
    ("http", "body", "sort_code", "POST /v1/payouts", ()),
    ("http", "body", "account_number", "POST /v1/payouts", ("bank_name",)),
    ("http", "body", "dob", "POST /v1/users", ()),
    ("http", "body", "driver_license", "POST /v1/drivers", ()),
    ("http", "body", "email", "POST /v1/users", ()),
    ("http", "body", "iban", "POST /v1/payees", ()),
    ("http", "body", "client_ip", "POST /v1/logs", ()),
    ("http", "body", "app_version", "POST /v1/logs", ()),
    ("http", "header", "host", "GET /", ()),
    ("http", "body", "national_id", "POST /v1/kyc", ()),
    ("http", "body", "sin", "POST /v1/kyc", ()),
    ("http", "body", "passport.number", "POST /v1/travel", ()),
    ("http", "body", "phone", "POST /v1/users", ()),
    ("http", "body", "contact", "POST /v1/users", ()),
    ("http", "body", "first_name", "POST /v1/users", ()),
    ("http", "body", "name", "POST /v1/users", ("email", "phone")),
    ("http", "body", "name", "GET /v1/products", ("price",)),
    ("http", "body", "address.zip", "POST /v1/users", ()),
    ("http", "body", "address.code", "POST /v1/users", ()),
    ("http", "body", "address.line1", "POST /v1/users", ()),
    ("http", "body", "street", "POST /v1/users", ()),
    ("http", "body", "ip_address", "POST /v1/users", ()),
    ("http", "body", "ssn", "POST /v1/users", ()),
    ("http", "body", "social_insurance_number", "POST /v1/users", ()),
    ("http", "query", "api_key", "GET /v1/search", ()),
    ("http", "body", "aws_secret_access_key", "POST /v1/creds", ()),
    ("http", "body", "api_key_created_at", "GET /v1/keys", ()),
    ("http", "cookie", "JSESSIONID", "GET /", ()),
    ("http", "body", "next_page_token", "GET /v1/list", ()),
    ("http", "header", "authorization", "GET /v1/me", ()),
    ("http", "body", "password", "POST /login", ()),
    ("http", "body", "password_changed_at", "POST /login", ()),
    ("http", "body", "client_secret", "POST /oauth/token", ()),
    ("http", "body", "comment", "POST /v1/tickets", ()),
    ("http", "body", "data[].items[].name", "GET /v1/orders", ("sku", "qty")),
    ("grpc", "body", "2.1.4", "/pkg.Svc/Method", ()),
    ("kafka", "value", "payload.msisdn", "topic:events", ()),
    ("mysql", "column", "customers.email", "SELECT customers", ("customers.phone",)),
    ("http", "body", "", "", ()),
    ("grpc", "metadata", "authorization", "/greet.GreetService/Greet", ()),
    ("http", "header", ":authority", "GET /", ()),
    ("http", "body", "auth", "POST /zabbix/api_jsonrpc.php", ("jsonrpc", "method", "params")),
    ("http", "query", "X-Amz-Signature", "GET /bucket/{param}", ("X-Amz-Expires",)),
    ("http", "body", "download_url.sig", "GET /v1/files", ("se", "sv")),
    ("http", "query", "sig", "GET /url", ("url",)),
    ("http", "cookie", "SESS{key}", "GET /", ()),
    ("http", "body", "https_proxy", "PUT /v1/settings", ()),
]
# The same fields seen on a flow whose server has one of the addresses above.
SERVER_FIELDS = [
    ("http", "body", "client_ip", "POST /v1/logs", (), "192.168.1.20"),
    ("http", "body", "comment", "POST /v1/tickets", (), "192.168.1.20"),
    ("http", "header", "x-forwarded-for", "GET /", (), "10.0.0.1"),
]


@pytest.fixture(scope="module")
def traffic_contexts(classifiers: ClassifierSet) -> list[FieldContext]:
    contexts = []
    for protocol, location, path, api, siblings in TRAFFIC_FIELDS:
        tokens = sibling_tokens([path, *siblings])
        contexts.append(classifiers.context(protocol, location, path, api, tokens))
    for protocol, location, path, api, siblings, server in SERVER_FIELDS:
        tokens = sibling_tokens([path, *siblings])
        contexts.append(classifiers.context(protocol, location, path, api, tokens, server))
    # A context made outside `context()` (as dpi/identifiers.py does) is scored too.
    contexts.append(FieldContext(location="path"))
    return contexts


def test_traffic_values_in_traffic_fields(classifiers: ClassifierSet,
                                          traffic_contexts: list[FieldContext]) -> None:
    differ = []
    for ctx in traffic_contexts:
        for value in TRAFFIC_VALUES:
            # Twice: the second answer comes from the memo.
            for _ in range(2):
                if classifiers.score(value, ctx) != reference(classifiers, value, ctx):
                    differ.append((ctx.path, len(value)))
    assert differ == []


# Characters the gates tell apart, and some they do not.
_ALPHABET = (string.digits * 3 + "etxETX" + "AKIZbcdsq" + " \t\n\x1f" + "@.:-/+()=^_',"
             + "*#;~%?&" + "äßſﬁıİK€’〒•٣１Ⅻ½\u00a0\u2028＠")


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(value=st.text(alphabet=_ALPHABET, max_size=40), which=st.integers(0, 10_000))
def test_random_values_in_traffic_fields(classifiers: ClassifierSet,
                                         traffic_contexts: list[FieldContext],
                                         value: str, which: int) -> None:
    ctx = traffic_contexts[which % len(traffic_contexts)]
    assert classifiers.score(value, ctx) == reference(classifiers, value, ctx)


def test_the_memo_keeps_no_values_and_stays_bounded(traffic_contexts: list[FieldContext]) -> None:
    classifiers = ClassifierSet()
    ctx = traffic_contexts[0]  # card.number: every digit value reaches the classifiers
    first = classifiers.score("4111111111111111", ctx)
    assert first and first[0].data_type == "CARD_NUMBER"
    again = classifiers.score("4111111111111111", ctx)
    assert again == first and again is not first  # a copy: callers may keep or change it
    for i in range(MAX_MEMO + 10):
        classifiers.score(str(10**15 + i), ctx)
    memo = classifiers._memo
    assert 0 < len(memo) <= MAX_MEMO
    assert all(isinstance(k, int) for k in memo)
    assert all(isinstance(f, Finding) for found in memo.values() for f in found)
    classifiers.forget()
    assert not classifiers._memo


def test_same_value_different_fields_are_scored_apart(classifiers: ClassifierSet,
                                                      traffic_contexts: list[FieldContext]) -> None:
    by_path = {ctx.path: ctx for ctx in traffic_contexts}
    assert [f.data_type for f in classifiers.score("536904399", by_path["ssn"])] == ["US_SSN"]
    assert classifiers.score("536904399", by_path["order_id"]) == []
    assert [f.data_type for f in classifiers.score("536904399", by_path["ssn"])] == ["US_SSN"]


def test_digits_of_other_scripts_do_not_break_a_checksum(classifiers: ClassifierSet,
                                                         traffic_contexts: list[FieldContext]) -> None:
    """`isdigit` accepts Arabic-Indic digits; the Verhoeff tables cannot index them (an
    Aadhaar-shaped value of them raised IndexError before)."""
    by_path = {ctx.path: ctx for ctx in traffic_contexts}
    value = "2" + "٣" * 11
    assert classifiers.score(value, by_path["national_id"]) == []
    assert classifiers.score(value, by_path["comment"]) == []
