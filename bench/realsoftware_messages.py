"""What `bench/realsoftware_quality.py` sends: the messages of each protocol, built from the
hand-written values (`bench/realsoftware_values.py`) with a fixed seed, and the fields they
carry.

The field names are those of real APIs and schemas: camelCase REST resources
(`firstName`, `birthDate`), snake_case ones (`given_name`, `msisdn`), a FHIR `Patient`,
a form post (`user`, `tel`, `_csrf`), maps keyed by ids; Google-style protobuf messages;
MySQL tables named as Sakila, WordPress and the MySQL `employees` sample name their
columns; Kafka events as an outbox would publish them.

`*.fields()` lists every field a message carries as (protocol, api, direction, location,
field), paths as the inventory writes them (docs/spec/inventory.md, "field"): the bench
refuses to score when this set and the ground truth (`bench/realsoftware_truth.csv`)
disagree, so the truth always covers exactly what was sent.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from bench.realsoftware_values import (
    CARDS,
    CHANNELS,
    CURRENCIES,
    DEPARTMENTS,
    GENDERS,
    IBANS,
    LOCALES,
    MCCS,
    NOTES,
    ORGANISATIONS,
    PASSWORDS,
    PAYMENT_STATUSES,
    PEOPLE,
    ROLES,
    SKUS,
    SSNS,
    STATUSES,
    TEST_LOGINS,
    TIERS,
    Person,
)

SEED = 20261207
# Messages per API: enough distinct values for a field-level decision, few enough to be quick.
CALLS = 6

Field = tuple[str, str, str, str, str]  # protocol, api, direction, location, field


class IdMap(dict[str, Any]):
    """A JSON object keyed by ids: its keys are data, `{key}` in field paths."""


def json_fields(value: Any, prefix: str = "") -> set[str]:
    """Leaf paths of a JSON value: keys joined by `.`, `[]` per array, `{key}` in IdMaps."""
    def join(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    if isinstance(value, IdMap):
        return set().union(*(json_fields(v, join("{key}")) for v in value.values()))
    if isinstance(value, dict):
        return set().union(*(json_fields(v, join(k)) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(json_fields(v, prefix + "[]") for v in value))
    return {prefix}


# -- value shapes ------------------------------------------------------------------------


def dmy(iso: str, sep: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}{sep}{month}{sep}{year}"


def digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())


def card_expiry(rng: random.Random) -> str:
    return f"{rng.randint(1, 12):02d}/{rng.randint(27, 32)}"


def cvc(rng: random.Random, pan: str) -> str:
    # American Express prints four digits, the other networks three.
    return str(rng.randint(1000, 9999)) if pan.startswith("3") and len(digits(pan)) == 15 \
        else f"{rng.randint(0, 999):03d}"


def jwt(rng: random.Random, subject: str) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    issued = 1_780_000_000 + rng.randint(0, 10**6)
    payload = b64(json.dumps({"sub": subject, "iat": issued, "exp": issued + 3600,
                              "scope": "read write"}).encode())
    return f"{header}.{payload}.{b64(rng.randbytes(32))}"


def api_key(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "sk_test_" + "".join(rng.choice(alphabet) for _ in range(24))


def timestamp(rng: random.Random) -> str:
    moment = dt.datetime(2026, 3, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randint(0, 10**7))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def price(rng: random.Random) -> float:
    return round(rng.uniform(1, 500), 2)


def address_line2(rng: random.Random) -> str:
    return rng.choice(("Apt 4B", "Floor 2", "Unit 12", "Suite 300", "Wohnung 7", "Bloco C"))


def people(rng: random.Random, count: int = CALLS) -> list[Person]:
    return rng.sample(PEOPLE, count)


# -- REST ----------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One HTTP request and the response the server gives to it."""

    method: str
    path: str
    api: str  # the inventory's template of the path
    response: Any
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    form: dict[str, str] | None = None

    def fields(self) -> set[Field]:
        out: set[Field] = set()
        def add(direction: str, location: str, names: set[str]) -> None:
            out.update(("http", self.api, direction, location, n) for n in names)
        add("request", "query", set(self.query))
        add("request", "header", {h.lower() for h in self.headers})
        if self.form is not None:
            add("request", "body", set(self.form))
        if self.body is not None:
            add("request", "body", json_fields(self.body))
        add("response", "body", json_fields(self.response))
        return out


def rest_exchanges(rng: random.Random) -> list[Exchange]:
    out: list[Exchange] = []
    token = jwt(rng, "svc-frontend")
    bearer = {"Authorization": f"Bearer {token}"}

    for p in people(rng):
        user_id = rng.randint(10_000, 99_999)
        out.append(Exchange("POST", "/api/v1/users", "POST /api/v1/users", headers=bearer, body={
            "firstName": p.given, "lastName": p.family, "email": p.email, "phone": p.phone_intl,
            "dob": p.dob,
            "address": {"street": p.street, "city": p.city, "postalCode": p.postal_code,
                        "countryCode": p.country},
            "marketingOptIn": rng.random() < 0.5, "locale": rng.choice(LOCALES),
        }, response={"id": user_id, "status": "created", "createdAt": timestamp(rng),
                     "links": {"self": f"/api/v1/users/{user_id}"}}))

    for p in people(rng):
        user_id = rng.randint(10_000, 99_999)
        out.append(Exchange("GET", f"/api/v1/users/{user_id}", "GET /api/v1/users/{id}",
                            headers=bearer, response={
            "id": user_id, "given_name": p.given, "family_name": p.family,
            "contact": {"email": p.email, "msisdn": digits(p.phone_intl)},
            "birthDate": p.dob,
            "addresses": [{"addr1": p.street, "addr2": address_line2(rng), "zip": p.postal_code,
                           "city": p.city, "country": p.country}],
            "created_at": timestamp(rng), "version": rng.randint(1, 40),
            "roles": rng.sample(ROLES, 2),
        }))

    for p in people(rng):
        items = [{"customerId": rng.randint(1000, 9999), "name": q.given, "surname": q.family,
                  "mobile": q.phone_national, "login": rng.choice(TEST_LOGINS),
                  "tier": rng.choice(TIERS), "lastOrderAt": timestamp(rng)}
                 for q in people(rng, 3)]
        out.append(Exchange(
            "GET", "/api/v1/customers", "GET /api/v1/customers",
            query={"email": p.email, "page": str(rng.randint(1, 9)), "per_page": "25",
                   "sort": rng.choice(("created_at", "-created_at", "surname"))},
            headers=bearer, response={"items": items, "total": rng.randint(3, 400), "page": 1}))

    for p in people(rng):
        out.append(Exchange("POST", "/account/register", "POST /account/register", form={
            "user": p.email, "password": rng.choice(PASSWORDS), "tel": p.phone_national,
            "postcode": p.postal_code, "country": p.country,
            "newsletter": rng.choice(("on", "off")), "_csrf": rng.randbytes(16).hex(),
        }, response={"status": "created", "accountId": rng.randint(10**6, 10**7)}))

    for p in people(rng):
        pan = rng.choice(CARDS)
        out.append(Exchange("POST", "/api/v1/payments", "POST /api/v1/payments", headers=bearer,
                            body={
            "orderId": f"ORD-2026-{rng.randint(1, 999_999):06d}",
            "amount": {"value": price(rng), "currency": rng.choice(CURRENCIES)},
            "card": {"number": pan, "holder": f"{p.given} {p.family}".upper(),
                     "expiry": card_expiry(rng), "cvc": cvc(rng, pan)},
            "merchant": {"id": f"mch_{rng.randint(10**5, 10**6)}",
                         "name": rng.choice(ORGANISATIONS), "mcc": rng.choice(MCCS)},
            "billingAddress": {"line1": p.street, "line2": address_line2(rng), "city": p.city,
                               "postalCode": p.postal_code, "country": p.country},
            "customer": {"email": p.email, "id": rng.randint(1000, 9999)},
        }, response={
            "paymentId": new_uuid(rng), "status": rng.choice(PAYMENT_STATUSES),
            "authCode": f"{rng.randint(0, 999_999):06d}",
            "card": {"last4": digits(pan)[-4:], "brand": "visa" if pan[0] == "4" else "other"},
            "createdAt": timestamp(rng)}))

    for p in people(rng):
        balances = IdMap({new_uuid(rng): {
            "iban": rng.choice(IBANS),
            "available": {"amount": price(rng), "currency": rng.choice(CURRENCIES)},
            "updatedAt": timestamp(rng)} for _ in range(2)})
        out.append(Exchange("GET", f"/api/v1/accounts/{new_uuid(rng)}/balances",
                            "GET /api/v1/accounts/{uuid}/balances", headers=bearer,
                            response={"accountHolder": f"{p.given} {p.family}",
                                      "balances": balances}))

    for p in people(rng):
        out.append(Exchange("POST", "/api/v1/orders", "POST /api/v1/orders", headers=bearer,
                            body={
            "orderNumber": f"SO-{rng.randint(10**5, 10**6)}",
            "lines": [{"sku": rng.choice(SKUS), "qty": rng.randint(1, 5), "unitPrice": price(rng)}
                      for _ in range(rng.randint(1, 3))],
            "shipping": {"recipient": f"{p.given} {p.family}", "street": p.street,
                         "city": p.city, "postcode": p.postal_code, "contact": p.phone_intl},
            "customer": {"email": p.email, "id": rng.randint(1000, 9999)},
            "notes": rng.choice(NOTES), "channel": rng.choice(CHANNELS),
        }, response={"orderNumber": f"SO-{rng.randint(10**5, 10**6)}", "status": "accepted",
                     "estimatedDelivery": f"2026-04-{rng.randint(1, 28):02d}",
                     "total": price(rng)}))

    for p, ssn in zip(people(rng), SSNS, strict=False):
        employee = f"E{rng.randint(10**4, 10**5)}"
        out.append(Exchange("POST", "/hr/employees", "POST /hr/employees", headers=bearer, body={
            "employeeId": employee, "name": p.given, "surname": p.family, "ssn": ssn,
            "dateOfBirth": dmy(p.dob, "/"),
            "employer": {"name": rng.choice(ORGANISATIONS),
                         "registrationNumber": f"HRB {rng.randint(10**4, 10**6)}"},
            "department": rng.choice(DEPARTMENTS),
            "startDate": dmy(f"20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}-01", "/"),
        }, response={"employeeId": employee, "status": "onboarding"}))

    for p in people(rng):
        patient = rng.randint(100_000, 999_999)
        out.append(Exchange("GET", f"/fhir/Patient/{patient}", "GET /fhir/Patient/{id}",
                            headers={**bearer, "Accept": "application/fhir+json"}, response={
            "resourceType": "Patient", "id": str(patient),
            "meta": {"versionId": str(rng.randint(1, 9)), "lastUpdated": timestamp(rng)},
            "name": [{"use": "official", "family": p.family, "given": p.given.split(" ")}],
            "telecom": [{"system": "phone", "value": p.phone_intl, "use": "mobile"},
                        {"system": "email", "value": p.email, "use": "home"}],
            "gender": rng.choice(GENDERS), "birthDate": p.dob,
            "address": [{"line": [p.street], "city": p.city, "postalCode": p.postal_code,
                         "country": p.country}],
            "managingOrganization": {"display": rng.choice(ORGANISATIONS)},
        }))

    key = api_key(rng)
    for _ in range(CALLS):
        merchant = rng.randint(100, 999)
        organisation = rng.choice(ORGANISATIONS)
        out.append(Exchange("GET", f"/api/v2/merchants/{merchant}", "GET /api/v2/merchants/{id}",
                            headers={"X-Api-Key": key}, response={
            "id": merchant, "name": organisation, "legalName": organisation.upper(),
            "mcc": rng.choice(MCCS), "website": f"https://shop{merchant}.example.com",
            "status": rng.choice(STATUSES), "createdAt": timestamp(rng),
            "rating": round(rng.uniform(1, 5), 1), "currency": rng.choice(CURRENCIES),
        }))

    for _ in range(CALLS):
        members = IdMap({str(rng.randint(1000, 9999)): {
            "displayName": f"{q.given} {q.family}", "email": q.email, "role": rng.choice(ROLES)}
            for q in people(rng, 3)})
        team = rng.randint(10, 99)
        out.append(Exchange("GET", f"/api/v1/teams/{team}/members",
                            "GET /api/v1/teams/{id}/members", headers=bearer,
                            response={"teamId": team, "name": rng.choice(DEPARTMENTS),
                                      "members": members}))

    out += rest_exchanges_other_shapes(rng, bearer)
    for index, exchange in enumerate(out):
        # The server finds its answer by this id (a real tracing header, not sensitive).
        exchange.headers = {**exchange.headers, "X-Request-Id": str(uuid.UUID(int=index))}
    return out


def rest_exchanges_other_shapes(rng: random.Random, bearer: dict[str, str]) -> list[Exchange]:
    """APIs whose keys do not say what they hold in English: Spanish and German resources,
    a mobile-money wallet keyed by its MSISDN, names split into `first`/`last`, a shipping
    label whose sender `name` is a company, an ACL keyed by e-mail addresses, a payout's
    `account_holder`."""
    out: list[Exchange] = []
    for p in people(rng):
        out.append(Exchange("POST", "/api/v1/registro", "POST /api/v1/registro", headers=bearer,
                            body={
            "nombre": p.given, "apellidos": p.family, "correo": p.email,
            "telefono": p.phone_national, "direccion": p.street, "codigoPostal": p.postal_code,
            "fechaNacimiento": dmy(p.dob, "/"), "ciudad": p.city, "idioma": "es",
        }, response={"id": rng.randint(10**5, 10**6), "estado": "pendiente"}))
    for p in people(rng):
        out.append(Exchange("POST", "/api/v1/kunden", "POST /api/v1/kunden", headers=bearer,
                            body={
            "vorname": p.given, "nachname": p.family, "handy": p.phone_intl,
            "strasse": p.street, "plz": p.postal_code, "ort": p.city,
            "geburtsdatum": dmy(p.dob, "."), "kundennummer": f"K-{rng.randint(10**5, 10**6)}",
        }, response={"kundennummer": f"K-{rng.randint(10**5, 10**6)}", "status": "angelegt"}))
    for p in people(rng):
        wallet = rng.randint(10**6, 10**7)
        out.append(Exchange("GET", f"/api/v1/wallets/{wallet}", "GET /api/v1/wallets/{id}",
                            headers=bearer, response={
            "walletId": wallet, "account": digits(p.phone_intl),
            "owner": {"name": {"first": p.given, "last": p.family}},
            "balance": price(rng), "currency": rng.choice(CURRENCIES),
            "kycLevel": rng.randint(1, 3)}))
    for p in people(rng):
        out.append(Exchange("POST", "/api/v1/shipments", "POST /api/v1/shipments",
                            headers=bearer, body={
            "to": {"name": f"{p.given} {p.family}", "street1": p.street,
                   "street2": address_line2(rng), "city": p.city, "zip": p.postal_code,
                   "country": p.country, "phone": p.phone_national},
            "from": {"name": rng.choice(ORGANISATIONS), "city": "Rotterdam", "country": "NL"},
            "parcel": {"weightGrams": rng.randint(100, 20_000), "sku": rng.choice(SKUS)},
            "service": rng.choice(("express", "standard", "economy")),
        }, response={"shipmentId": new_uuid(rng), "trackingCode": f"1Z{rng.randint(10**9, 10**10)}",
                     "status": "label_created"}))
    for p in people(rng):
        document = new_uuid(rng)
        acl = IdMap({q.email: rng.choice(ROLES) for q in people(rng, 3)})
        out.append(Exchange("GET", f"/api/v1/documents/{document}/acl",
                            "GET /api/v1/documents/{uuid}/acl", headers=bearer, response={
            "documentId": document, "owner": p.email, "permissions": acl,
            "updatedAt": timestamp(rng)}))
    for p in people(rng):
        out.append(Exchange("POST", "/api/v1/payouts", "POST /api/v1/payouts", headers=bearer,
                            body={
            "account_holder": f"{p.given} {p.family}", "iban": rng.choice(IBANS),
            "amount": price(rng), "currency": "EUR",
            "reference": f"INV-{rng.randint(10**4, 10**5)}",
        }, response={"payoutId": new_uuid(rng), "status": "queued"}))
    return out


# -- gRPC ----------------------------------------------------------------------------------


@dataclass
class GrpcCall:
    """One rpc: request message(s) and response message(s) as dicts of the .proto's fields."""

    method: str  # /package.Service/Method
    requests: list[dict[str, Any]]
    responses: list[dict[str, Any]]
    metadata: dict[str, str]

    def fields(self) -> set[Field]:
        out: set[Field] = {("grpc", self.method, "request", "metadata", k) for k in self.metadata}
        for direction, messages in (("request", self.requests), ("response", self.responses)):
            for message in messages:
                out.update(("grpc", self.method, direction, "body", f)
                           for f in json_fields(proto_paths(message)))
        return out


def proto_paths(message: Any) -> Any:
    """A message dict as protobuf field paths see it: a map is repeated key/value entries."""
    if isinstance(message, IdMap):
        return [{"key": k, "value": proto_paths(v)} for k, v in message.items()]
    if isinstance(message, dict):
        return {k: proto_paths(v) for k, v in message.items()}
    if isinstance(message, list):
        return [proto_paths(v) for v in message]
    return message


def _customer(rng: random.Random, p: Person, with_id: bool) -> dict[str, Any]:
    customer: dict[str, Any] = {
        "given_name": p.given, "family_name": p.family, "email_address": p.email,
        "mobile_number": p.phone_intl, "birth_date": p.dob,
        "address": {"address_lines": [p.street], "locality": p.city,
                    "postal_code": p.postal_code, "region_code": p.country},
        "status": rng.choice(STATUSES), "tags": rng.sample(TIERS, 2),
        "preferred_language": rng.choice(LOCALES),
    }
    if with_id:
        customer = {"customer_id": f"cus_{rng.randint(10**7, 10**8)}", **customer,
                    "create_time": 1_780_000_000 + rng.randint(1, 10**6)}
    return customer


def grpc_calls(rng: random.Random) -> list[GrpcCall]:
    metadata = {"authorization": f"Bearer {jwt(rng, 'svc-checkout')}",
                "x-request-id": new_uuid(rng)}
    crm, pay = "/crm.v1.CustomerService", "/crm.v1.PaymentService"
    out: list[GrpcCall] = []
    for p in people(rng):
        request_id = new_uuid(rng)
        fields = _customer(rng, p, with_id=False)
        request = {"request_id": request_id, "customer": fields}
        response = {**_customer(rng, p, with_id=True), **fields}
        out.append(GrpcCall(f"{crm}/CreateCustomer", [request], [response], metadata))
    for p in people(rng):
        response = _customer(rng, p, with_id=True)
        out.append(GrpcCall(f"{crm}/GetCustomer", [{"customer_id": response["customer_id"]}],
                            [response], metadata))
    out.append(GrpcCall(f"{crm}/ListCustomers",
                        [{"page_size": 50, "page_token": "eyJvZmZzZXQiOjEwMH0",
                          "filter": "status=active"}],
                        [_customer(rng, p, with_id=True) for p in people(rng)], metadata))
    for p in people(rng):
        pan = rng.choice(CARDS)
        out.append(GrpcCall(f"{pay}/Authorize", [{
            "idempotency_key": new_uuid(rng),
            "card": {"pan": pan, "cardholder": f"{p.given} {p.family}", "expiry": card_expiry(rng),
                     "cvv": cvc(rng, pan)},
            "amount": {"currency_code": rng.choice(CURRENCIES), "units": rng.randint(1, 900),
                       "nanos": rng.randint(1, 99) * 10**7},
            "merchant": {"merchant_id": f"mch_{rng.randint(10**5, 10**6)}",
                         "name": rng.choice(ORGANISATIONS), "category_code": rng.choice(MCCS)},
            "payer_email": p.email,
        }], [{"authorization_id": new_uuid(rng), "status": rng.choice(PAYMENT_STATUSES),
              "approval_code": f"{rng.randint(1, 999_999):06d}",
              "processed_at": 1_780_000_000 + rng.randint(1, 10**6)}], metadata))
    for p in people(rng, 4):
        customer = f"cus_{rng.randint(10**7, 10**8)}"
        accounts = IdMap({f"acc_{rng.randint(10**5, 10**6)}": {
            "iban": rng.choice(IBANS), "holder_name": f"{p.given} {p.family}",
            "balance": {"currency_code": rng.choice(CURRENCIES), "units": rng.randint(1, 10**5),
                        "nanos": rng.randint(1, 99) * 10**7}} for _ in range(2)})
        out.append(GrpcCall(f"{pay}/GetAccounts", [{"customer_id": customer}],
                            [{"accounts": accounts, "customer_id": customer}], metadata))
    return out


# -- MySQL ---------------------------------------------------------------------------------


@dataclass
class Table:
    """One table: its DDL, the rows written, how they are written, and what is read back."""

    schema: str
    name: str
    ddl: str  # column definitions
    rows: list[dict[str, Any]]
    prepared_insert: bool  # server-side prepared INSERTs (param) or literal values (column)
    lookup: str | None = None  # a column also queried with a prepared `WHERE col = ?`

    @property
    def api(self) -> str:
        return f"{self.schema}.{self.name}"

    def fields(self) -> set[Field]:
        columns = set(self.rows[0])
        location = "param" if self.prepared_insert else "column"
        out: set[Field] = {("mysql", self.api, "request", location, c) for c in columns}
        out |= {("mysql", self.api, "response", "column", c) for c in columns}
        if self.lookup:
            out.add(("mysql", self.api, "request", "param", self.lookup))
        return out


def mysql_tables(rng: random.Random) -> list[Table]:
    created = "2026-02-14 22:04:36"
    tables = [
        Table("sakila", "customer",
              "customer_id SMALLINT PRIMARY KEY, store_id TINYINT, first_name VARCHAR(45), "
              "last_name VARCHAR(45), email VARCHAR(50), address_id SMALLINT, active TINYINT, "
              "create_date DATETIME",
              [{"customer_id": 100 + i, "store_id": rng.randint(1, 2), "first_name": p.given,
                "last_name": p.family, "email": p.email, "address_id": 300 + i, "active": 1,
                "create_date": created} for i, p in enumerate(people(rng))],
              prepared_insert=False),
        Table("sakila", "address",
              "address_id SMALLINT PRIMARY KEY, address VARCHAR(50), district VARCHAR(20), "
              "city_id SMALLINT, postal_code VARCHAR(12), phone VARCHAR(20)",
              [{"address_id": 300 + i, "address": p.street, "district": p.region,
                "city_id": rng.randint(1, 600), "postal_code": p.postal_code,
                "phone": digits(p.phone_national)} for i, p in enumerate(people(rng))],
              prepared_insert=False),
        Table("wordpress", "wp_users",
              "ID BIGINT PRIMARY KEY, user_login VARCHAR(60), user_email VARCHAR(100), "
              "user_url VARCHAR(100), user_registered DATETIME, user_status INT, "
              "display_name VARCHAR(250)",
              [{"ID": 2 + i, "user_login": p.email.split("@")[0],
                "user_email": p.email, "user_url": rng.choice(("https://example.com/blog", "")),
                "user_registered": created, "user_status": 0,
                "display_name": f"{p.given} {p.family}"} for i, p in enumerate(people(rng))],
              prepared_insert=False),
        Table("crm", "contacts",
              "contact_id INT PRIMARY KEY, name VARCHAR(80), surname VARCHAR(80), "
              "mobile VARCHAR(30), email_addr VARCHAR(120), street VARCHAR(120), zip VARCHAR(12), "
              "city VARCHAR(60), company VARCHAR(120)",
              [{"contact_id": 5000 + i, "name": p.given, "surname": p.family,
                "mobile": p.phone_intl, "email_addr": p.email, "street": p.street,
                "zip": p.postal_code, "city": p.city, "company": rng.choice(ORGANISATIONS)}
               for i, p in enumerate(people(rng))],
              prepared_insert=False, lookup="email_addr"),
        Table("hr", "employees",
              "emp_no INT PRIMARY KEY, birth_date DATE, first_name VARCHAR(14), "
              "last_name VARCHAR(16), gender ENUM('M','F'), hire_date DATE, ssn CHAR(11), "
              "dept_name VARCHAR(40)",
              [{"emp_no": 10001 + i, "birth_date": dt.date.fromisoformat(p.dob),
                "first_name": p.given, "last_name": p.family, "gender": rng.choice("MF"),
                "hire_date": dt.date(rng.randint(2005, 2025), rng.randint(1, 12), 1),
                "ssn": ssn, "dept_name": rng.choice(DEPARTMENTS)}
               for i, (p, ssn) in enumerate(zip(people(rng), SSNS, strict=False))],
              prepared_insert=True),
        Table("shop", "payments",
              "id INT PRIMARY KEY, order_ref VARCHAR(20), card_pan VARCHAR(25), "
              "card_holder VARCHAR(80), card_expiry CHAR(5), amount DECIMAL(10,2), "
              "currency CHAR(3), merchant_name VARCHAR(120), iban VARCHAR(34), "
              "created_at DATETIME",
              [{"id": 90001 + i, "order_ref": f"ORD-{rng.randint(10**5, 10**6)}",
                "card_pan": rng.choice(CARDS), "card_holder": f"{p.given} {p.family}".upper(),
                "card_expiry": card_expiry(rng), "amount": str(price(rng)),
                "currency": rng.choice(CURRENCIES), "merchant_name": rng.choice(ORGANISATIONS),
                "iban": rng.choice(IBANS), "created_at": created}
               for i, p in enumerate(people(rng))],
              prepared_insert=True),
        Table("tienda", "clientes",
              "id INT PRIMARY KEY, nombre VARCHAR(60), apellidos VARCHAR(80), "
              "telefono VARCHAR(30), correo VARCHAR(120), direccion VARCHAR(120), cp VARCHAR(12), "
              "fecha_nacimiento DATE, alta DATETIME",
              [{"id": 700 + i, "nombre": p.given, "apellidos": p.family,
                "telefono": p.phone_national, "correo": p.email, "direccion": p.street,
                "cp": p.postal_code, "fecha_nacimiento": p.dob, "alta": created}
               for i, p in enumerate(people(rng))],
              prepared_insert=False),
    ]
    return tables


# -- Kafka ---------------------------------------------------------------------------------


@dataclass
class KafkaRecord:
    topic: str
    key: str
    value: dict[str, Any]
    headers: dict[str, str]

    def fields(self) -> set[Field]:
        out: set[Field] = set()
        for direction in ("request", "response"):  # produced, then fetched back
            out.add(("kafka", self.topic, direction, "key", ""))
            out.update(("kafka", self.topic, direction, "header", h) for h in self.headers)
            out.update(("kafka", self.topic, direction, "value", f)
                       for f in json_fields(self.value))
        return out


def kafka_records(rng: random.Random) -> list[KafkaRecord]:
    out: list[KafkaRecord] = []
    # The topics are the stand-in broker's (samples/make_kafka_samples.py knows these two).
    for p in people(rng):
        out.append(KafkaRecord("customers", p.email, {
            "eventType": "CustomerRegistered", "eventId": new_uuid(rng),
            "occurredAt": timestamp(rng),
            "customer": {"id": rng.randint(10**5, 10**6), "fullName": f"{p.given} {p.family}",
                         "emailAddress": p.email, "phoneNumber": p.phone_national,
                         "dateOfBirth": dmy(p.dob, "."),
                         "homeAddress": {"streetAddress": p.street, "postcode": p.postal_code,
                                         "city": p.city, "country": p.country}},
            "source": rng.choice(CHANNELS),
        }, {"correlation-id": new_uuid(rng), "event-type": "CustomerRegistered"}))
    for p in people(rng):
        payment = new_uuid(rng)
        out.append(KafkaRecord("payments", payment, {
            "paymentId": payment, "accountHolder": f"{p.given} {p.family}",
            "iban": rng.choice(IBANS), "amount": price(rng), "currency": rng.choice(CURRENCIES),
            "merchant": {"name": rng.choice(ORGANISATIONS), "id": rng.randint(100, 999)},
            "card": {"pan": rng.choice(CARDS), "holderName": f"{p.given} {p.family}".upper()},
            "status": rng.choice(PAYMENT_STATUSES),
        }, {"correlation-id": new_uuid(rng)}))
    return out


# -- all -------------------------------------------------------------------------------------


@dataclass
class Traffic:
    rest: list[Exchange]
    grpc: list[GrpcCall]
    mysql: list[Table]
    kafka: list[KafkaRecord]

    def fields(self, parts: tuple[str, ...]) -> set[Field]:
        out: set[Field] = set()
        for part in parts:
            for item in getattr(self, part):
                out |= item.fields()
        return out


def build() -> Traffic:
    """Every message of every protocol; the same on every run (one seeded generator each)."""
    return Traffic(rest=rest_exchanges(random.Random(SEED)),
                   grpc=grpc_calls(random.Random(SEED + 1)),
                   mysql=mysql_tables(random.Random(SEED + 2)),
                   kafka=kafka_records(random.Random(SEED + 3)))
