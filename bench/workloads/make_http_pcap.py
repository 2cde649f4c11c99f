# Copied unchanged (below this header) from the project's shared bench workloads (shared/bench/
# make_http_pcap.py): a workload the project did not write for its own code, kept here so
# that bench/run.py measures it on a clone without ../shared.
#!/usr/bin/env python3
"""Write a deterministic, realistic REST/JSON-over-HTTP/1.1 classic pcap.

    python make_http_pcap.py SIZE_MB OUT.pcap [--seed 1] [--concurrency 32]

SIZE_MB is in 10^6 bytes; the file stops at the first connection boundary
after the target (a few hundred KB over it at most). Same seed + same size
gives a byte-identical file.

What is in it:
  * Ethernet / IPv4 / TCP, classic pcap (magic a1b2c3d4, usec, linktype 1),
    correct IPv4 and TCP checksums, TCP timestamps option on every segment,
    MSS/SACK-permitted/window-scale on SYNs (Linux-like 40-byte SYN header).
  * Many TCP connections, interleaved (a pool of concurrent ones), each with a
    three-way handshake, 1-10 keep-alive request/response pairs and a FIN
    teardown (client- or server-initiated).
  * Segmentation at 1448-byte payloads (MSS 1460 minus 12 bytes of TCP
    timestamps), pure ACKs every second segment, PSH on message ends.
  * A few percent of data segments retransmitted (an identical copy 1-3
    packets later) or out of order (swapped with the next one).
  * JSON bodies of about 200 B - 8 KB mixing ordinary fields with sensitive
    ones: names, emails, phones, Luhn-valid card numbers, SSN-shaped values,
    postal addresses, dates of birth, medical record numbers, diagnoses,
    IBANs, IPs, bearer tokens.
  * Some responses chunked (Transfer-Encoding), some gzip
    (Content-Encoding), some both; some request bodies gzip too.

Written with struct packing only (no scapy) so 100 MB takes seconds.
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import struct
import sys
import time

MSS = 1448
BASE_TIME_US = 1795860000 * 1_000_000  # 2026-11-28T10:00:00Z, fixed for determinism

FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
         "Richard Susan Joseph Jessica Thomas Sarah Carlos Maria Wei Yuki Ahmed Fatima Olga Ivan "
         "Priya Rahul Chloe Lucas Emma Noah Sofia Mateo Aisha Omar Hannah Lena Jonas Ingrid").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
        "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
        "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Nguyen Kim Patel "
        "Schmidt Muller Rossi Dubois Kowalski Novak Tanaka").split()
STREETS = ("Main St|Oak Ave|Pine Rd|Maple Dr|Cedar Ln|Elm St|Washington Blvd|Lake View Rd|Hillcrest Ave|"
           "Sunset Blvd|Park Pl|Mission St|Market St|Broadway|2nd Ave|Highland Dr").split("|")
CITIES = (("San Francisco", "CA", "941"), ("Austin", "TX", "787"), ("Seattle", "WA", "981"),
          ("Boston", "MA", "021"), ("Chicago", "IL", "606"), ("Denver", "CO", "802"),
          ("Miami", "FL", "331"), ("Portland", "OR", "972"), ("New York", "NY", "100"),
          ("Atlanta", "GA", "303"))
DOMAINS = ("example.com", "mail.example.org", "corp.example.net", "gmail.example", "outlook.example")
PRODUCTS = ("wireless mouse|usb-c hub|standing desk|noise cancelling headphones|4k monitor|"
            "mechanical keyboard|laptop sleeve|webcam|desk lamp|ergonomic chair|hdmi cable|"
            "portable ssd|phone charger|smart speaker|fitness tracker").split("|")
WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
         "ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco "
         "laboris nisi aliquip ex ea commodo consequat").split()
DIAG = (("E11.9", "Type 2 diabetes mellitus without complications"),
        ("I10", "Essential (primary) hypertension"), ("J45.909", "Unspecified asthma"),
        ("F41.1", "Generalized anxiety disorder"), ("M54.5", "Low back pain"),
        ("E78.5", "Hyperlipidemia, unspecified"), ("K21.9", "Gastro-esophageal reflux disease"),
        ("Z23", "Encounter for immunization"), ("B20", "Human immunodeficiency virus disease"))
MEDS = ("metformin 500mg", "lisinopril 10mg", "atorvastatin 20mg", "albuterol inhaler",
        "sertraline 50mg", "omeprazole 20mg", "amlodipine 5mg", "levothyroxine 50mcg")
STATUSES = ("active", "pending", "suspended", "closed", "verified")
UAS = ("okhttp/4.12.0", "python-requests/2.32.3", "Go-http-client/1.1", "axios/1.7.2",
       "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
       "Java/17.0.10", "curl/8.5.0")

# (ip, port, host) -- documentation address ranges
SERVERS = (((192, 0, 2, 10), 80, "api.shop.example"),
           ((192, 0, 2, 20), 8080, "ehr.clinic.example"),
           ((192, 0, 2, 30), 80, "pay.gateway.example"),
           ((198, 51, 100, 5), 8080, "crm.internal.example"),
           ((198, 51, 100, 9), 8088, "orders.shop.example"),
           ((203, 0, 113, 7), 80, "id.accounts.example"))


# ---------------------------------------------------------------- value makers
class Faker:
    def __init__(self, rng: random.Random):
        self.r = rng

    def hexs(self, n):
        return "%0*x" % (n, self.r.getrandbits(4 * n))

    def uuid(self):
        h = self.hexs(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def ts(self):
        r = self.r
        return (f"2026-{r.randint(1, 11):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:"
                f"{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999):03d}Z")

    def date(self, y0=1940, y1=2008):
        r = self.r
        return f"{r.randint(y0, y1)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"

    def name(self):
        return self.r.choice(FIRST), self.r.choice(LAST)

    def email(self, first=None, last=None):
        r = self.r
        if first is None:
            first, last = self.name()
        sep = r.choice((".", "_", ""))
        num = str(r.randint(1, 999)) if r.random() < 0.5 else ""
        return f"{first.lower()}{sep}{last.lower()}{num}@{r.choice(DOMAINS)}"

    def phone(self):
        r = self.r
        a, b, c = r.randint(201, 989), r.randint(200, 999), r.randint(0, 9999)
        k = r.randrange(5)
        if k == 0:
            return f"+1-{a}-{b}-{c:04d}"
        if k == 1:
            return f"({a}) {b}-{c:04d}"
        if k == 2:
            return f"{a}.{b}.{c:04d}"
        if k == 3:
            return f"+1{a}{b}{c:04d}"
        return f"+44 20 {r.randint(7000, 7999)} {c:04d}"

    def card(self):
        r = self.r
        kind = r.randrange(4)
        if kind == 0:
            prefix, length, brand = "4", 16, "visa"
        elif kind == 1:
            prefix, length, brand = str(r.randint(51, 55)), 16, "mastercard"
        elif kind == 2:
            prefix, length, brand = r.choice(("34", "37")), 15, "amex"
        else:
            prefix, length, brand = "6011", 16, "discover"
        digits = [int(c) for c in prefix] + [r.randrange(10) for _ in range(length - len(prefix) - 1)]
        # Luhn check digit
        total = 0
        for i, d in enumerate(reversed(digits)):
            if i % 2 == 0:
                d *= 2
                if d > 9:
                    d -= 9
            total += d
        digits.append((10 - total % 10) % 10)
        s = "".join(map(str, digits))
        style = r.randrange(4)
        if style == 1 and length == 16:
            s = " ".join(s[i:i + 4] for i in range(0, 16, 4))
        elif style == 2 and length == 16:
            s = "-".join(s[i:i + 4] for i in range(0, 16, 4))
        return s, brand

    def ssn(self):
        r = self.r
        area = r.choice([x for x in (r.randint(1, 665), r.randint(667, 899))])
        return f"{area:03d}-{r.randint(1, 99):02d}-{r.randint(1, 9999):04d}"

    def address(self):
        r = self.r
        city, st, z = r.choice(CITIES)
        a = {"line1": f"{r.randint(1, 9999)} {r.choice(STREETS)}", "city": city, "state": st,
             "zip": f"{z}{r.randint(0, 99):02d}", "country": "US"}
        if r.random() < 0.2:
            a["line2"] = f"Apt {r.randint(1, 40)}{r.choice('ABCD')}"
        return a

    def words(self, lo, hi):
        return " ".join(self.r.choice(WORDS) for _ in range(self.r.randint(lo, hi)))

    def iban(self):
        return "DE%02d%018d" % (self.r.randint(10, 99), self.r.getrandbits(59) % 10**18)

    def ip(self):
        r = self.r
        return f"{r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def token(self):
        return "eyJhbGciOiJIUzI1NiJ9." + self.hexs(40) + "." + self.hexs(24)

    # ------------------------------------------------------------- records
    def user(self):
        r = self.r
        f, l = self.name()
        u = {"id": r.randint(1, 10**7), "uuid": self.uuid(), "first_name": f, "last_name": l,
             "email": self.email(f, l), "phone": self.phone(), "status": r.choice(STATUSES),
             "created_at": self.ts(), "updated_at": self.ts(), "email_verified": r.random() < 0.7,
             "locale": r.choice(("en-US", "en-GB", "de-DE", "fr-FR", "ja-JP")),
             "address": self.address(),
             "preferences": {"newsletter": r.random() < 0.5, "theme": r.choice(("dark", "light")),
                             "currency": r.choice(("USD", "EUR", "GBP"))}}
        if r.random() < 0.4:
            u["date_of_birth"] = self.date()
        if r.random() < 0.25:
            u["ssn"] = self.ssn()
        if r.random() < 0.2:
            u["last_login_ip"] = self.ip()
        if r.random() < 0.3:
            u["tags"] = [r.choice(WORDS) for _ in range(r.randint(1, 4))]
        return u

    def patient(self):
        r = self.r
        f, l = self.name()
        code, desc = r.choice(DIAG)
        p = {"patient_id": self.uuid(), "mrn": f"MRN-{r.randint(0, 99999999):08d}",
             "name": {"given": f, "family": l}, "birth_date": self.date(),
             "gender": r.choice(("female", "male", "other", "unknown")),
             "contact": {"email": self.email(f, l), "phone": self.phone()},
             "address": self.address(), "ssn": self.ssn() if r.random() < 0.5 else None,
             "insurance": {"payer": r.choice(("Acme Health", "BlueSky Mutual", "CareFirst Demo")),
                           "member_id": f"{r.choice('ABCXYZ')}{r.randint(10**8, 10**9 - 1)}",
                           "group": f"GRP{r.randint(1000, 9999)}"},
             "conditions": [{"code": code, "system": "ICD-10-CM", "display": desc,
                             "onset": self.date(2000, 2026)}],
             "medications": r.sample(MEDS, r.randint(0, 3)),
             "allergies": r.sample(("penicillin", "peanuts", "latex", "sulfa"), r.randint(0, 2)),
             "updated_at": self.ts()}
        return p

    def encounter(self):
        r = self.r
        code, desc = r.choice(DIAG)
        return {"encounter_id": self.uuid(), "date": self.date(2020, 2026),
                "provider": {"npi": str(r.randint(10**9, 2 * 10**9 - 1)),
                             "name": "Dr. " + " ".join(self.name())},
                "diagnosis": {"code": code, "display": desc}, "notes": self.words(5, 25),
                "vitals": {"bp": f"{r.randint(100, 160)}/{r.randint(60, 100)}",
                           "hr": r.randint(50, 110), "temp_c": round(r.uniform(36.0, 38.5), 1)}}

    def charge_request(self):
        r = self.r
        num, brand = self.card()
        f, l = self.name()
        return {"amount": r.randint(100, 500000), "currency": r.choice(("usd", "eur", "gbp")),
                "description": f"Order #{r.randint(10**5, 10**6)}", "capture": r.random() < 0.8,
                "card": {"number": num, "exp_month": r.randint(1, 12), "exp_year": r.randint(2026, 2032),
                         "cvc": f"{r.randint(0, 9999 if brand == 'amex' else 999):0{4 if brand == 'amex' else 3}d}",
                         "name": f"{f} {l}"},
                "billing_details": {"email": self.email(f, l), "phone": self.phone(),
                                    "address": self.address()},
                "metadata": {"order_id": self.uuid(), "channel": r.choice(("web", "ios", "android"))},
                "idempotency_key": self.hexs(32)}

    def charge_response(self, req=None):
        r = self.r
        num = (req or {}).get("card", {}).get("number") or self.card()[0]
        return {"id": "ch_" + self.hexs(24), "object": "charge", "status": r.choice(("succeeded", "pending", "failed")),
                "amount": (req or {}).get("amount", r.randint(100, 50000)), "created": self.ts(),
                "payment_method_details": {"card": {"last4": num.replace(" ", "").replace("-", "")[-4:],
                                                    "brand": r.choice(("visa", "mastercard")),
                                                    "fingerprint": self.hexs(16)}},
                "receipt_email": self.email(), "risk_score": r.randint(0, 99), "livemode": False}

    def order(self):
        r = self.r
        f, l = self.name()
        items = [{"sku": f"SKU-{r.randint(10000, 99999)}", "name": r.choice(PRODUCTS),
                  "qty": r.randint(1, 5), "unit_price": round(r.uniform(3, 900), 2)}
                 for _ in range(r.randint(1, 5))]
        o = {"order_id": self.uuid(), "number": r.randint(10**5, 10**7), "placed_at": self.ts(),
             "status": r.choice(("placed", "shipped", "delivered", "returned")),
             "customer": {"name": f"{f} {l}", "email": self.email(f, l), "phone": self.phone()},
             "shipping_address": self.address(), "items": items,
             "total": round(sum(i["qty"] * i["unit_price"] for i in items), 2),
             "currency": "USD", "gift": r.random() < 0.1}
        if r.random() < 0.3:
            num, brand = self.card()
            o["payment"] = {"card_number": num, "brand": brand}
        return o

    def product(self):
        r = self.r
        return {"sku": f"SKU-{r.randint(10000, 99999)}", "name": r.choice(PRODUCTS),
                "description": self.words(6, 30), "price": round(r.uniform(3, 900), 2),
                "in_stock": r.random() < 0.8, "rating": round(r.uniform(1, 5), 1),
                "categories": [r.choice(WORDS) for _ in range(r.randint(1, 3))],
                "dimensions": {"w": r.randint(1, 100), "h": r.randint(1, 100), "d": r.randint(1, 100)}}

    def contact(self):
        r = self.r
        f, l = self.name()
        c = {"contact_id": r.randint(1, 10**6), "full_name": f"{f} {l}", "email": self.email(f, l),
             "mobile": self.phone(), "company": r.choice(("Initech", "Globex", "Umbrella", "Hooli")),
             "title": r.choice(("CTO", "Engineer", "Buyer", "Nurse", "Accountant")),
             "notes": self.words(3, 20), "owner_id": r.randint(1, 500)}
        if r.random() < 0.3:
            c["bank_account"] = {"iban": self.iban(), "bic": "DEUTDEFF"}
        if r.random() < 0.3:
            c["home_address"] = self.address()
        return c


def target_size(r: random.Random) -> int:
    return int(math.exp(r.uniform(math.log(200), math.log(8192))))


def list_of(maker, r, target, wrap):
    out, size = [], 40
    while True:
        rec = maker()
        s = len(json.dumps(rec))
        if out and size + s > target:
            break
        out.append(rec)
        size += s + 1
        if size >= target * 0.85:
            break
    return wrap(out)


# ------------------------------------------------- APIs: (method, path, req body, resp body)
def make_exchange(fk: Faker, host: str):
    """Return (method, path, request_obj_or_None, status, response_obj_or_None).

    About 45% of exchanges are list endpoints whose response size follows a
    log-uniform target in 200 B - 8 KB; the rest are single objects (~250 B -
    1.5 KB)."""
    r = fk.r
    t = target_size(r)
    want_list = r.random() < 0.45
    page = {"page": r.randint(1, 50), "per_page": 0, "total": r.randint(50, 5000)}

    def paged(items):
        page["per_page"] = len(items)
        return {"data": items, **page}

    def meta(obj):
        if len(json.dumps(obj)) < 200:
            obj["meta"] = {"request_id": fk.uuid(), "trace_id": fk.hexs(32), "server_time": fk.ts()}
        return obj

    if host == "api.shop.example" or host == "id.accounts.example":
        if want_list:
            if r.random() < 0.6:
                return "GET", f"/api/v1/users?page={page['page']}&limit=20", None, 200, list_of(fk.user, r, t, paged)
            return "GET", f"/api/v1/products?category={r.choice(WORDS)}", None, 200, list_of(fk.product, r, t, paged)
        k = r.randrange(4)
        if k == 0:
            return "GET", f"/api/v1/users/{r.randint(1, 10**7)}", None, 200, fk.user()
        if k == 1:
            u = fk.user()
            return "POST", "/api/v1/users", u, 201, meta({"id": u["id"], "uuid": u["uuid"], "status": "created",
                                                           "email": u["email"], "created_at": fk.ts(),
                                                           "links": {"self": f"/api/v1/users/{u['id']}"}})
        if k == 2:
            return "PATCH", f"/api/v1/users/{fk.uuid()}/address", meta({"address": fk.address(),
                                                                         "reason": "moved"}), 200, fk.user()
        return "DELETE", f"/api/v1/sessions/{fk.hexs(32)}", None, 204, None
    if host == "ehr.clinic.example":
        pid = fk.uuid()
        if want_list:
            if r.random() < 0.5:
                return "GET", f"/fhir/v2/patients/{pid}/encounters", None, 200, list_of(fk.encounter, r, t, paged)
            return "GET", f"/fhir/v2/patients?family={r.choice(LAST)}", None, 200, list_of(fk.patient, r, t, paged)
        if r.random() < 0.5:
            return "GET", f"/fhir/v2/patients/{pid}", None, 200, fk.patient()
        p = fk.patient()
        return "PUT", f"/fhir/v2/patients/{pid}", p, 200, p
    if host == "pay.gateway.example":
        if want_list:
            return "GET", f"/v1/charges?limit={r.randint(5, 50)}", None, 200, list_of(fk.charge_response, r, t, paged)
        if r.random() < 0.7:
            req = fk.charge_request()
            return "POST", "/v1/charges", req, 200, fk.charge_response(req)
        return "GET", f"/v1/charges/ch_{fk.hexs(24)}", None, 200, fk.charge_response()
    if host == "crm.internal.example":
        if want_list:
            return "GET", f"/crm/contacts?owner={r.randint(1, 500)}", None, 200, list_of(fk.contact, r, t, paged)
        if r.random() < 0.5:
            c = fk.contact()
            return "POST", "/crm/contacts", c, 201, meta({"contact_id": c["contact_id"], "ok": True,
                                                          "owner_id": c["owner_id"], "created_at": fk.ts(),
                                                          "audit": {"by": fk.email(), "ip": fk.ip()}})
        return "GET", f"/crm/contacts/{r.randint(1, 10**6)}", None, 200, fk.contact()
    # orders
    if want_list:
        return "GET", f"/orders?status=shipped&page={page['page']}", None, 200, list_of(fk.order, r, t, paged)
    if r.random() < 0.5:
        o = fk.order()
        return "POST", "/orders", o, 201, o
    return "GET", f"/orders/{fk.uuid()}", None, 200, fk.order()


REASON = {200: "OK", 201: "Created", 204: "No Content"}


def dumps(r, obj):
    compact = json.dumps(obj, separators=(",", ":")).encode()
    if r.random() < 0.1:
        pretty = json.dumps(obj, indent=2).encode()
        if len(pretty) <= 8192:
            return pretty
    return compact


def chunked(r, body: bytes) -> bytes:
    out, i = [], 0
    while i < len(body):
        n = r.randint(256, 4096)
        part = body[i:i + n]
        out.append(b"%x\r\n%s\r\n" % (len(part), part))
        i += n
    out.append(b"0\r\n\r\n")
    return b"".join(out)


class Stats:
    def __init__(self):
        self.packets = self.conns = self.requests = self.chunked = self.gzip = 0
        self.retx = self.ooo = self.data_segments = 0
        self.body_sizes = []


def build_messages(fk: Faker, host: str, ua: str, token: str | None, last: bool, st: Stats):
    r = fk.r
    method, path, req_obj, status, resp_obj = make_exchange(fk, host)
    h = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"User-Agent: {ua}", "Accept: application/json",
         "Accept-Encoding: gzip, deflate"]
    if token:
        h.append(f"Authorization: Bearer {token}")
    if r.random() < 0.15:
        h.append(f"Cookie: sid={fk.hexs(32)}; theme=dark")
    h.append(f"X-Request-Id: {fk.uuid()}")
    body = b""
    if req_obj is not None:
        body = dumps(r, req_obj)
        st.body_sizes.append(len(body))
        h.append("Content-Type: application/json")
        if r.random() < 0.05:
            body = gzip.compress(body, 6, mtime=0)
            h.append("Content-Encoding: gzip")
            st.gzip += 1
        h.append(f"Content-Length: {len(body)}")
    if last and r.random() < 0.5:
        h.append("Connection: close")
        server_closes = True
    else:
        h.append("Connection: keep-alive")
        server_closes = False
    req = ("\r\n".join(h) + "\r\n\r\n").encode() + body

    h = [f"HTTP/1.1 {status} {REASON[status]}",
         "Date: Sat, 28 Nov 2026 10:%02d:%02d GMT" % (r.randrange(60), r.randrange(60)),
         "Server: " + r.choice(("nginx/1.24.0", "envoy", "gunicorn", "Kestrel", "Jetty(11.0.20)")),
         f"X-Request-Id: {fk.uuid()}"]
    body = b""
    if resp_obj is not None:
        body = dumps(r, resp_obj)
        st.body_sizes.append(len(body))
        h.append("Content-Type: application/json; charset=utf-8")
        if r.random() < 0.25:
            body = gzip.compress(body, 6, mtime=0)
            h.append("Content-Encoding: gzip")
            h.append("Vary: Accept-Encoding")
            st.gzip += 1
        if r.random() < 0.25:
            body = chunked(r, body)
            h.append("Transfer-Encoding: chunked")
            st.chunked += 1
        else:
            h.append(f"Content-Length: {len(body)}")
    elif status != 204:
        h.append("Content-Length: 0")
    h.append("Connection: close" if server_closes else "Connection: keep-alive")
    resp = ("\r\n".join(h) + "\r\n\r\n").encode() + body
    st.requests += 1
    return req, resp, server_closes


# ---------------------------------------------------------------- packet layer
def csum(data: bytes) -> int:
    if len(data) & 1:
        data += b"\0"
    n = int.from_bytes(data, "big")
    s = n % 0xFFFF
    if s == 0 and n:
        s = 0xFFFF
    return (~s) & 0xFFFF


TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10
_ip_hdr = struct.Struct("!BBHHHBBH4s4s")
_tcp_hdr = struct.Struct("!HHIIHHHH")
_ts_opt = struct.Struct("!BBBBII")
_rec = struct.Struct("<IIII")


class Side:
    """One direction's sender state."""

    __slots__ = ("mac_src", "mac_dst", "ip_src", "ip_dst", "sport", "dport", "seq", "ipid", "pseudo", "eth")

    def __init__(self, mac_src, mac_dst, ip_src, ip_dst, sport, dport, isn, ipid):
        self.mac_src, self.mac_dst = mac_src, mac_dst
        self.ip_src, self.ip_dst = bytes(ip_src), bytes(ip_dst)
        self.sport, self.dport = sport, dport
        self.seq = isn
        self.ipid = ipid
        self.eth = mac_dst + mac_src + b"\x08\x00"
        self.pseudo = self.ip_src + self.ip_dst + b"\x00\x06"


class Writer:
    def __init__(self, fh):
        self.fh = fh
        self.clock = BASE_TIME_US
        self.bytes = 24
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def frame(self, side: Side, seq, ack, flags, payload=b"", syn_opts=False, tsecr=0):
        tsval = (self.clock // 1000) & 0xFFFFFFFF
        if syn_opts:
            # MSS 1460, SACK permitted, timestamps, NOP, window scale 7  (20 bytes)
            opts = struct.pack("!BBHBBBBIIBBBB", 2, 4, 1460, 4, 2, 8, 10, tsval, tsecr, 1, 3, 3, 7)
        else:
            opts = _ts_opt.pack(1, 1, 8, 10, tsval, tsecr)
        thl = 20 + len(opts)
        tcp = _tcp_hdr.pack(side.sport, side.dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                            ((thl // 4) << 12) | flags, 502 if not syn_opts else 64240, 0, 0) + opts
        seglen = thl + len(payload)
        c = csum(side.pseudo + struct.pack("!H", seglen) + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        side.ipid = (side.ipid + 1) & 0xFFFF
        ip = _ip_hdr.pack(0x45, 0, 20 + seglen, side.ipid, 0x4000, 64, 6, 0, side.ip_src, side.ip_dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        return side.eth + ip + tcp + payload

    def write(self, frames, gap_us):
        fh = self.fh
        for f in frames:
            self.clock += gap_us
            n = len(f)
            fh.write(_rec.pack(self.clock // 1_000_000, self.clock % 1_000_000, n, n))
            fh.write(f)
            self.bytes += 16 + n


def send_message(w: Writer, rng: random.Random, snd: Side, rcv: Side, data: bytes, st: Stats,
                 p_retx: float, p_ooo: float):
    """Yield bursts (lists of frames) carrying `data` from snd to rcv."""
    segs = []
    for off in range(0, len(data), MSS):
        chunk = data[off:off + MSS]
        last = off + MSS >= len(data)
        segs.append((snd.seq + off, chunk, TCP_ACK | (TCP_PSH if last else 0)))
    end_seq = snd.seq + len(data)
    order = list(range(len(segs)))
    i = 0
    while i < len(order) - 1:
        if rng.random() < p_ooo:
            order[i], order[i + 1] = order[i + 1], order[i]
            st.ooo += 1
            i += 2
        else:
            i += 1
    plan = []  # list of ("d", idx) / ("a", acked_upto)
    for k, idx in enumerate(order):
        plan.append(("d", idx))
        if k % 2 == 1 and k != len(order) - 1:
            plan.append(("a", None))
    # retransmissions: identical copy 1-3 slots later
    out_plan = list(plan)
    for k in range(len(plan) - 1, -1, -1):
        kind, idx = plan[k]
        if kind == "d" and rng.random() < p_retx:
            pos = min(len(out_plan), k + 1 + rng.randint(1, 3))
            out_plan.insert(pos, ("d", idx))
            st.retx += 1
    frames = []
    got = set()
    for kind, idx in out_plan:
        if kind == "d":
            seq, chunk, fl = segs[idx]
            frames.append(w.frame(snd, seq, rcv.seq, fl, chunk))
            got.add(idx)
            st.data_segments += 1
        else:
            # cumulative ack: highest contiguous segment received
            j = 0
            while j in got:
                j += 1
            ackno = segs[j - 1][0] + len(segs[j - 1][1]) if j else snd.seq
            frames.append(w.frame(rcv, rcv.seq, ackno, TCP_ACK))
    snd.seq = end_seq
    # the final ack always covers everything (the receiver got the retransmissions)
    frames.append(w.frame(rcv, rcv.seq, end_seq, TCP_ACK))
    i = 0
    while i < len(frames):
        n = rng.randint(1, 4)
        yield frames[i:i + n]
        i += n


def connection(w: Writer, rng: random.Random, fk: Faker, cid: int, st: Stats, stop, args):
    sip, sport, host = SERVERS[rng.randrange(len(SERVERS))]
    cip = (10, rng.randint(0, 3), rng.randint(0, 255), rng.randint(2, 254))
    cport = 32768 + (cid * 7919) % 28000
    cmac = b"\x02\x00" + bytes(cip)
    smac = b"\x02\x42" + bytes(sip)
    c = Side(cmac, smac, cip, sip, cport, sport, rng.getrandbits(32), rng.getrandbits(16))
    s = Side(smac, cmac, sip, cip, sport, cport, rng.getrandbits(32), rng.getrandbits(16))
    st.conns += 1
    yield [w.frame(c, c.seq, 0, TCP_SYN, syn_opts=True)]
    c.seq += 1
    yield [w.frame(s, s.seq, c.seq, TCP_SYN | TCP_ACK, syn_opts=True)]
    s.seq += 1
    yield [w.frame(c, c.seq, s.seq, TCP_ACK)]
    n_req = rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10))
    ua = rng.choice(UAS)
    token = fk.token() if rng.random() < 0.6 else None
    server_closes = False
    for i in range(n_req):
        last = i == n_req - 1 or stop()
        req, resp, server_closes = build_messages(fk, host, ua, token, last, st)
        yield from send_message(w, rng, c, s, req, st, args.retx, args.ooo)
        yield from send_message(w, rng, s, c, resp, st, args.retx, args.ooo)
        if last:
            break
    a, b = (s, c) if server_closes else (c, s)
    yield [w.frame(a, a.seq, b.seq, TCP_FIN | TCP_ACK)]
    a.seq += 1
    yield [w.frame(b, b.seq, a.seq, TCP_FIN | TCP_ACK)]
    b.seq += 1
    yield [w.frame(a, a.seq, b.seq, TCP_ACK)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("size_mb", type=float, help="target size in MB (10^6 bytes)")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=32, help="connections open at once (interleaved)")
    ap.add_argument("--retx", type=float, default=0.03, help="probability a data segment is retransmitted")
    ap.add_argument("--ooo", type=float, default=0.03, help="probability a data segment is swapped with the next")
    args = ap.parse_args(argv)
    target = int(args.size_mb * 1_000_000)
    rng = random.Random(args.seed)
    fk = Faker(random.Random(args.seed * 7919 + 1))
    st = Stats()
    t0 = time.perf_counter()
    with open(args.out, "wb", buffering=1 << 20) as fh:
        w = Writer(fh)
        stop = lambda: w.bytes >= target  # noqa: E731
        conc = max(1, min(args.concurrency, target // 150_000 or 1))
        active, cid = [], 0
        while True:
            while len(active) < conc and not stop():
                active.append(connection(w, rng, fk, cid, st, stop, args))
                cid += 1
            if not active:
                break
            k = rng.randrange(len(active))
            try:
                burst = next(active[k])
            except StopIteration:
                active[k] = active[-1]
                active.pop()
                continue
            w.write(burst, rng.randint(20, 400))
            st.packets += len(burst)
    dt = time.perf_counter() - t0
    bs = sorted(st.body_sizes)
    print(f"wrote {args.out}: {w.bytes} bytes, {st.packets} packets, {st.conns} connections, "
          f"{st.requests} request/response pairs, {st.data_segments} data segments "
          f"({st.retx} retransmitted, {st.ooo} out-of-order swaps), {st.chunked} chunked responses, "
          f"{st.gzip} gzip bodies; JSON body bytes min/median/max {bs[0]}/{bs[len(bs) // 2]}/{bs[-1]} "
          f"(n={len(bs)}); {dt:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
