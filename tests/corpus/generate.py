"""Generates the labelled classifier corpus, `tests/corpus/fields.jsonl`.

    python tests/corpus/generate.py            # rewrites fields.jsonl (fixed seed)
    python tests/corpus/generate.py --check    # exits 1 if the file is not up to date

One line per field: `id`, `protocol` (http, grpc, kafka, mysql), `api` (in spec form),
`location`, `path` (in the protocol's shape: JSON paths with `[]`, header names,
protobuf names or schema-less field numbers, Kafka value paths, MySQL columns),
`siblings` (the other field names of the same part), `values` (20-30, all of the
expected type), `other_values` (placeholders the same field also carried, such as `N/A`:
not of any type), `expected` (one taxonomy data type, or null), `domain` and
`hard_negative`.

Every value is synthetic and computed here from a fixed seed: card numbers are Luhn
completed over brand prefixes, SSNs drawn from SSA-valid ranges avoiding known fakes,
IBANs completed with mod 97, NPIs with the 80840 Luhn, DEA numbers with their check
digit, ICD-10-CM codes sampled from the code list the DIAGNOSIS_CODE classifier reads,
phone numbers built from `phonenumbers` example numbers and kept only when valid, keys
and tokens in their real formats with random bodies. No real person's data, no real
secret.

Expected labels are decided from what a person reading the field would say, not from
what the classifiers do: a Luhn-valid PAN in a schema-less gRPC field (`2.1.4`) is still
CARD_NUMBER, a bare nine-digit number with no name is not a US_SSN.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import json
import random
import string
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

HERE = Path(__file__).resolve().parent
OUT = HERE / "fields.jsonl"
SEED = 20261128

Gen = Callable[[random.Random], str]

# --------------------------------------------------------------------------- words

FIRST = [
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sofia", "Mateo",
    "Hannah", "Jonas", "Lea", "Felix", "Marie", "Lukas", "Chloé", "Louis", "Camille",
    "Hugo", "Lucía", "Javier", "Carmen", "Alejandro", "Giulia", "Marco", "Francesca",
    "Sanne", "Daan", "Priya", "Arjun", "Ananya", "Wei", "Mei", "Hiroshi", "Yuki",
    "Fatima", "Omar", "Amara", "Kwame", "Ingrid", "Sven", "Zoë", "Seán", "Aoife",
    "José", "Ana María", "Jean-Luc", "Mary-Kate", "Björn", "Élodie", "Grzegorz",
]
LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Martinez",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Martin", "Bernard", "Dubois",
    "Moreau", "García", "Fernández", "López", "Rossi", "Russo", "Bianchi", "de Vries",
    "van der Berg", "Jansen", "Sharma", "Patel", "Iyer", "Wang", "Li", "Zhang",
    "Tanaka", "Suzuki", "Al-Sayed", "Haddad", "Mensah", "Okafor", "Johansson", "Nilsson",
    "O'Brien", "Murphy", "Kowalski", "Nowak", "Dupont-Leroy", "da Silva", "dos Santos",
]
STREETS_EN = ["Maple", "Oak", "Cedar", "Elm", "Pine", "Lakeview", "Hillcrest", "Sunset",
              "Riverside", "Willow", "Highland", "Church", "Station", "Mill", "Park"]
SUFFIX_EN = ["Street", "St", "Avenue", "Ave", "Road", "Rd", "Lane", "Drive", "Dr", "Court",
             "Boulevard", "Way", "Place", "Terrace", "Close"]
STREETS_DE = ["Haupt", "Bahnhof", "Schiller", "Goethe", "Linden", "Berg", "Garten", "Kirch",
              "Wald", "Ring", "Mozart", "Sonnen"]
SUFFIX_DE = ["straße", "strasse", "str.", "weg", "gasse", "platz", "allee"]
STREETS_FR = ["rue de la Paix", "rue Victor Hugo", "avenue des Lilas", "boulevard Voltaire",
              "rue du Moulin", "chemin des Vignes", "allée des Tilleuls", "quai de la Gare"]
STREETS_ES = ["Calle Mayor", "Calle de Alcalá", "Avenida de la Constitución",
              "Paseo del Prado", "Calle Real", "Plaza Mayor"]
STREETS_IT = ["Via Roma", "Via Garibaldi", "Corso Italia", "Viale dei Mille",
              "Piazza Dante", "Via Verdi"]
STREETS_NL = ["Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsplein", "Prinsengracht",
              "Schoollaan"]
CITIES = ["Springfield", "Berlin", "Lyon", "Madrid", "Milano", "Utrecht", "Austin",
          "Leeds", "Toronto", "Pune", "Osaka", "Porto", "Denver", "Graz", "Malmö"]
MAIL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.co.uk", "web.de", "orange.fr",
                "proton.me", "icloud.com", "gmx.net", "contoso-health.org",
                "northwind-traders.com", "fabrikam.io", "acme-logistics.eu", "hotmail.es",
                "libero.it", "ziggo.nl", "posteo.de"]
PRODUCTS = ["Wireless Mouse", "USB-C Hub 7-in-1", "Stainless Water Bottle", "Yoga Mat",
            "Noise Cancelling Headphones", "Ceramic Mug", "LED Desk Lamp",
            "Running Shoes", "Mechanical Keyboard", "Phone Case", "Backpack 25L",
            "Coffee Grinder", "Smart Plug", "Desk Organizer", "Bluetooth Speaker"]
COMPANIES = ["Northwind Traders", "Contoso Ltd", "Fabrikam Inc", "Globex Corporation",
             "Initech", "Umbrella Logistics", "Wayne Enterprises", "Stark Industries",
             "Acme Health Partners", "Blue Ridge Clinic Group"]
CONDITIONS = [
    "Type 2 diabetes mellitus without complications", "Essential hypertension",
    "Mild intermittent asthma", "Major depressive disorder, single episode",
    "Generalized anxiety disorder", "Chronic obstructive pulmonary disease (COPD)",
    "Hyperlipidemia, unspecified", "Atrial fibrillation", "Community-acquired pneumonia",
    "Migraine without aura", "Osteoarthritis of the right knee", "Hypothyroidism",
    "Chronic kidney disease stage 3", "Iron deficiency anemia", "Seasonal allergic rhinitis",
    "Gastroesophageal reflux disease", "Low back pain", "Acute bronchitis",
    "Rheumatoid arthritis", "Obesity, BMI 32", "Penicillin allergy - hives",
    "Metformin 500 mg twice daily", "Lisinopril 10 mg once daily",
    "Atorvastatin 20 mg at bedtime", "Albuterol inhaler as needed",
    "Sertraline 50 mg daily", "History of myocardial infarction (2019)",
    "Epilepsy, well controlled on levetiracetam", "Gestational diabetes, 28 weeks pregnant",
    "HIV on antiretroviral therapy", "Shortness of breath and chest tightness",
    "Persistent cough for three weeks", "Fever, headache and fatigue",
    "Allergic to peanuts and shellfish", "Post-operative wound infection",
    "Insomnia", "Psoriasis on both elbows", "ADHD, combined type",
]
SYMPTOMS = ["headache and nausea", "chest pain radiating to left arm", "dizziness on standing",
            "productive cough, fever", "abdominal pain, lower right quadrant",
            "rash on forearms", "joint stiffness in the morning", "blurred vision",
            "shortness of breath on exertion", "sore throat and swollen glands",
            "fatigue, weight loss", "palpitations at night"]
NOTES = ["Leave parcel at the back door", "Customer requested evening delivery",
         "Gift wrap please", "Call on arrival", "Fragile - handle with care",
         "Deliver to reception", "Ring bell twice", "Second attempt scheduled",
         "Address confirmed by phone", "Invoice to be sent by post"]
PROSE = ["Thanks for your order! It will ship within 2 business days.",
         "Great product, works as described.", "The battery lasts about 10 hours.",
         "Please update the shipping method to express.", "Item arrived damaged, need refund.",
         "Meeting moved to Thursday 3pm.", "Quarterly report attached for review.",
         "See section 4 of the onboarding guide.", "Password reset requested by the user.",
         "Payment received, thank you.", "Sensor calibrated on site."]


# --------------------------------------------------------------------------- checksums


def luhn_digit(partial: str) -> str:
    """Check digit that makes `partial + digit` pass Luhn."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(number: str) -> bool:
    return luhn_digit(number[:-1]) == number[-1]


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


# --------------------------------------------------------------------------- generators

CARD_PREFIXES = [("4", 16), ("4", 16), ("4", 16), ("51", 16), ("53", 16), ("55", 16),
                 ("2221", 16), ("2720", 16), ("34", 15), ("37", 15), ("6011", 16),
                 ("65", 16), ("3530", 16), ("36", 14), ("62", 16), ("6759", 16), ("4", 19)]


def pan(rng: random.Random) -> str:
    prefix, length = rng.choice(CARD_PREFIXES)
    body = prefix + digits(rng, length - len(prefix) - 1)
    return body + luhn_digit(body)


def group_pan(number: str, sep: str) -> str:
    if len(number) in (14, 15):  # Amex 4-6-5, Diners 4-6-4
        parts = [number[:4], number[4:10], number[10:]]
    else:
        parts = [number[i:i + 4] for i in range(0, len(number), 4)]
    return sep.join(parts)


def card_number(rng: random.Random) -> str:
    number = pan(rng)
    style = rng.random()
    if style < 0.6:
        return number
    return group_pan(number, " " if style < 0.85 else "-")


def expiry(rng: random.Random, style: str) -> str:
    month, year = rng.randint(1, 12), rng.randint(2025, 2032)
    if style == "mm/yy":
        return f"{month:02d}/{year % 100:02d}"
    if style == "mm/yyyy":
        return f"{month:02d}/{year}"
    if style == "mmyy":
        return f"{month:02d}{year % 100:02d}"
    if style == "month":
        return str(month) if rng.random() < 0.5 else f"{month:02d}"
    if style == "year":
        return str(year)
    return f"{month:02d}-{year % 100:02d}"


def ssn(rng: random.Random) -> tuple[str, str, str]:
    while True:
        area = rng.randint(1, 899)
        if area == 666:
            continue
        group, serial = rng.randint(1, 99), rng.randint(1, 9999)
        a, g, s = f"{area:03d}", f"{group:02d}", f"{serial:04d}"
        if a + g + s not in {"078051120", "219099999", "123456789"}:
            return a, g, s


IBAN_FORMATS = {  # country: BBAN layout (n = digit, a = upper letter)
    "DE": "n" * 18, "FR": "n" * 23, "GB": "aaaa" + "n" * 14, "ES": "n" * 20,
    "IT": "a" + "n" * 22, "NL": "aaaa" + "n" * 10, "BE": "n" * 12, "CH": "n" * 17,
    "AT": "n" * 16, "PL": "n" * 24, "IE": "aaaa" + "n" * 14, "PT": "n" * 21,
}


def iban(rng: random.Random, country: str | None = None) -> str:
    country = country or rng.choice(sorted(IBAN_FORMATS))
    bban = "".join(rng.choice(string.ascii_uppercase) if c == "a" else rng.choice(string.digits)
                   for c in IBAN_FORMATS[country])
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    check = 98 - int(numeric) % 97
    return f"{country}{check:02d}{bban}"


def iban_printed(rng: random.Random) -> str:
    value = iban(rng)
    if rng.random() < 0.4:
        return " ".join(value[i:i + 4] for i in range(0, len(value), 4))
    return value


def aba(rng: random.Random) -> str:
    while True:
        prefix = rng.choice(["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11",
                             "12", "21", "22", "26", "31", "32"])
        body = prefix + digits(rng, 6)
        w = (3, 7, 1, 3, 7, 1, 3, 7)
        total = sum(int(c) * k for c, k in zip(body, w))
        check = (10 - total % 10) % 10
        return body + str(check)


def npi(rng: random.Random) -> str:
    body = rng.choice("12") + digits(rng, 8)
    full = "80840" + body
    return body + luhn_digit(full)


def dea(rng: random.Random) -> str:
    d = [rng.randint(0, 9) for _ in range(6)]
    check = ((d[0] + d[2] + d[4]) + 2 * (d[1] + d[3] + d[5])) % 10
    return rng.choice("ABFGM") + rng.choice("ABCDGHJKLMPRSTW") + "".join(map(str, d)) + str(check)


def _icd_codes() -> list[str]:
    spec = importlib.util.find_spec("simple_icd_10_cm")
    assert spec is not None and spec.submodule_search_locations
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    codes = max(data.glob("code-list-*.txt")).read_text(encoding="ascii").split()
    return sorted(c for c in codes if "-" not in c and len(c) >= 3 and c[0].isalpha()
                  and c[1].isdigit())


ICD = _icd_codes()
ICD_SET = frozenset(ICD)


def icd(rng: random.Random, dotted: float = 0.85) -> str:
    code = rng.choice(ICD)
    if len(code) > 3 and rng.random() < dotted:
        return code[:3] + "." + code[3:]
    return code


def ndc(rng: random.Random) -> str:
    layout = rng.choice(["442", "532", "541", "542", "11"])
    if layout == "11":
        return digits(rng, 11)
    a, b, c = (int(x) for x in layout)
    return f"{digits(rng, a)}-{digits(rng, b)}-{digits(rng, c)}"


MBI_A = "ACDEFGHJKMNPQRTUVWXY"


def mbi(rng: random.Random) -> str:
    an = MBI_A + string.digits
    s = (rng.choice("123456789") + rng.choice(MBI_A) + rng.choice(an) + rng.choice(string.digits)
         + rng.choice(MBI_A) + rng.choice(an) + rng.choice(string.digits)
         + rng.choice(MBI_A) + rng.choice(MBI_A) + rng.choice(string.digits)
         + rng.choice(string.digits))
    if rng.random() < 0.3:
        return f"{s[:4]}-{s[4:7]}-{s[7:]}"
    return s


def member_id(rng: random.Random) -> str:
    style = rng.random()
    if style < 0.4:
        return "".join(rng.choice(string.ascii_uppercase) for _ in range(3)) + digits(rng, 9)
    if style < 0.7:
        return rng.choice("WHKM") + digits(rng, 8) + (f"-0{rng.randint(1, 4)}" if rng.random() < 0.5 else "")
    return digits(rng, 11)


def mrn(rng: random.Random, style: int) -> str:
    if style == 0:
        return "MRN" + digits(rng, 8)
    if style == 1:
        return digits(rng, 8)
    if style == 2:
        return f"{digits(rng, 2)}-{digits(rng, 3)}-{digits(rng, 3)}"
    return rng.choice(string.ascii_uppercase) + digits(rng, 7)


# Phone numbers: each region's example numbers (mobile and fixed line) with their last
# digits replaced, kept only when `phonenumbers` still validates them.
PHONE_REGIONS = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "AU", "ES", "IT", "NL", "CA",
                 "MX", "CH", "SE", "PL"]


def phone(rng: random.Random, region: str, fmt: str) -> str:
    kind = rng.choice([phonenumbers.PhoneNumberType.MOBILE,
                       phonenumbers.PhoneNumberType.FIXED_LINE])
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    national = str(example.national_number)
    for _ in range(50):
        candidate = national[:-4] + digits(rng, 4)
        number = phonenumbers.parse("+" + str(example.country_code) + candidate, None)
        if phonenumbers.is_valid_number(number):
            break
    else:
        number = example
    if fmt == "e164":
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if fmt == "intl":
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if fmt == "00":
        return "00" + phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    if fmt == "national_compact":
        return "".join(ch for ch in text if ch.isdigit())
    return text


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


COMPANY_SUFFIX = ["Corp", "Inc.", "LLC", "GmbH", "Ltd", "S.A.", "Pharmacy", "Hospital",
                  "Bank", "Store", "& Sons", "Group", "Holdings", "Clinic"]


def company(rng: random.Random) -> str:
    """An organisation's name: a family name and a legal form or institution word."""
    return f"{rng.choice(LAST)} {rng.choice(COMPANY_SUFFIX)}"


def example_email(rng: random.Random) -> str:
    """Test data is data: addresses at reserved example domains (RFC 2606/6761)."""
    local = rng.choice(FIRST).lower().replace(" ", "")
    local = "".join(ch for ch in local if ch.isascii() and ch.isalnum()) or "user"
    domain = rng.choice(["example.com", "example.net", "example.org", "shop.test",
                         "qa.example", "app.invalid"])
    return f"{local}{rng.randint(1, 999)}@{domain}"


def cn_mobile(rng: random.Random) -> str:
    """A Chinese mobile number in national form, valid as MOBILE for `phonenumbers`."""
    while True:
        number = rng.choice(["13", "15", "18", "17"]) + digits(rng, 9)
        parsed = phonenumbers.parse(number, "CN")
        if phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE:
            return number


_CN_REGIONS = ["110105", "310101", "440305", "510104", "330106", "420102"]


def cn_ric(rng: random.Random) -> str:
    """A Chinese resident identity number: region, birth date, sequence, ISO 7064 check."""
    from stdnum.cn import ric

    body = (rng.choice(_CN_REGIONS) + f"{rng.randint(1950, 2004)}{rng.randint(1, 12):02d}"
            f"{rng.randint(1, 28):02d}" + digits(rng, 3))
    return body + ric.calc_check_digit(body + "0")  # the function skips the last digit


def email(rng: random.Random) -> str:
    first = rng.choice(FIRST).lower().replace(" ", "").replace("é", "e").replace("ë", "e")
    last = rng.choice(LAST).lower().replace(" ", "").replace("'", "")
    first = first.encode("ascii", "ignore").decode() or "user"
    last = last.encode("ascii", "ignore").decode() or "user"
    style = rng.random()
    if style < 0.4:
        local = f"{first}.{last}"
    elif style < 0.6:
        local = f"{first[0]}{last}{rng.randint(1, 99)}"
    elif style < 0.75:
        local = f"{first}_{last}"
    elif style < 0.85:
        local = f"{first}.{last}+{rng.choice(['shop', 'news', 'work'])}"
    else:
        local = f"{last}{rng.randint(1970, 2005)}"
    value = f"{local}@{rng.choice(MAIL_DOMAINS)}"
    return value if rng.random() < 0.9 else value.capitalize()


def street(rng: random.Random) -> str:
    style = rng.randint(0, 6)
    n = rng.randint(1, 2400)
    if style <= 1:
        unit = f", Apt {rng.randint(1, 40)}" if rng.random() < 0.25 else ""
        return f"{n} {rng.choice(STREETS_EN)} {rng.choice(SUFFIX_EN)}{unit}"
    if style == 2:
        return f"{rng.choice(STREETS_DE)}{rng.choice(SUFFIX_DE)} {rng.randint(1, 180)}" + (
            rng.choice(["", "", "a", "b"]))
    if style == 3:
        return f"{rng.randint(1, 120)} {rng.choice(STREETS_FR)}"
    if style == 4:
        return f"{rng.choice(STREETS_ES)} {rng.randint(1, 150)}" + rng.choice(["", ", 2º B", ", 4"])
    if style == 5:
        return f"{rng.choice(STREETS_IT)} {rng.randint(1, 99)}"
    return f"{rng.choice(STREETS_NL)} {rng.randint(1, 300)}"


def postal(rng: random.Random) -> str:
    style = rng.randint(0, 7)
    if style <= 1:
        return f"{rng.randint(1001, 99950):05d}"
    if style == 2:
        return f"{rng.randint(1001, 99950):05d}-{rng.randint(1, 9999):04d}"
    if style == 3:
        a = rng.choice(["SW", "EC", "M", "B", "LS", "G", "CF", "N"])
        return f"{a}{rng.randint(1, 20)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    if style == 4:
        return f"{rng.choice('ABCEGHJKLMNPRSTVXY')}{rng.randint(0, 9)}{rng.choice('ABCEGHJKLMNPRSTVWXYZ')} {rng.randint(0, 9)}{rng.choice('ABCEGHJKLMNPRSTVWXYZ')}{rng.randint(0, 9)}"
    if style == 5:
        return f"{rng.randint(1000, 9999)} {rng.choice(['AB', 'CD', 'GH', 'KL', 'MN', 'PR'])}"
    if style == 6:
        return f"{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}"
    return f"{rng.randint(1000, 9999)}"


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def dob(rng: random.Random, style: str) -> str:
    y, m, d = rng.randint(1940, 2008), rng.randint(1, 12), rng.randint(1, 28)
    if style == "iso":
        return f"{y}-{m:02d}-{d:02d}"
    if style == "us":
        return f"{m:02d}/{d:02d}/{y}"
    if style == "de":
        return f"{d:02d}.{m:02d}.{y}"
    if style == "eu":
        return f"{d:02d}/{m:02d}/{y}"
    if style == "compact":
        return f"{y}{m:02d}{d:02d}"
    if style == "datetime":
        return f"{y}-{m:02d}-{d:02d}T00:00:00Z"
    if style == "name":
        return f"{d} {MONTHS[m - 1]} {y}"
    return f"{MONTHS[m - 1][:3]} {d}, {y}"


NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
CF_ODD = (1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10,
          22, 25, 24, 23)


def nino(rng: random.Random) -> str:
    while True:
        p = rng.choice(NINO_FIRST) + rng.choice(NINO_SECOND)
        if p not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}:
            break
    d = digits(rng, 6)
    if rng.random() < 0.3:
        return f"{p} {d[:2]} {d[2:4]} {d[4:]} {rng.choice('ABCD')}"
    return p + d + rng.choice("ABCD")


def dni(rng: random.Random) -> str:
    if rng.random() < 0.25:
        x = rng.randint(0, 2)
        body = digits(rng, 7)
        return "XYZ"[x] + body + DNI_LETTERS[int(str(x) + body) % 23]
    n = digits(rng, 8)
    return n + DNI_LETTERS[int(n) % 23]


def codice_fiscale(rng: random.Random) -> str:
    up = string.ascii_uppercase
    body = ("".join(rng.choice(up) for _ in range(6)) + digits(rng, 2) + rng.choice("ABCDEHLMPRST")
            + f"{rng.randint(1, 71):02d}" + rng.choice(up) + digits(rng, 3))
    total = 0
    for i, ch in enumerate(body):
        n = ord(ch) - 48 if ch.isdigit() else ord(ch) - 65
        total += CF_ODD[n] if i % 2 == 0 else n
    return body + chr(65 + total % 26)


V_D = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
       (2, 3, 4, 0, 1, 7, 8, 9, 5, 6), (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
       (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
       (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
       (8, 7, 6, 5, 9, 3, 2, 1, 0, 4), (9, 8, 7, 6, 5, 4, 3, 2, 1, 0))
V_P = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
       (5, 8, 0, 3, 7, 9, 6, 1, 4, 2), (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
       (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
       (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8))
V_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def aadhaar(rng: random.Random) -> str:
    body = rng.choice("23456789") + digits(rng, 10)
    c = 0
    for i, ch in enumerate(reversed(body)):
        c = V_D[c][V_P[(i + 1) % 8][int(ch)]]
    number = body + str(V_INV[c])
    return f"{number[:4]} {number[4:8]} {number[8:]}" if rng.random() < 0.6 else number


def cpf(rng: random.Random) -> str:
    nums = [rng.randint(0, 9) for _ in range(9)]
    for n in (9, 10):
        total = sum(d * w for d, w in zip(nums, range(n + 1, 1, -1)))
        nums.append(total * 10 % 11 % 10)
    s = "".join(map(str, nums))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}" if rng.random() < 0.6 else s


def sin(rng: random.Random) -> str:
    body = rng.choice("1234567") + digits(rng, 7)
    s = body + luhn_digit(body)
    return f"{s[:3]} {s[3:6]} {s[6:]}" if rng.random() < 0.5 else s


def passport(rng: random.Random, style: int) -> str:
    if style == 0:  # US: 9 digits or a letter and 8 digits
        return digits(rng, 9) if rng.random() < 0.5 else rng.choice("ACEFHJKNPRVXYZ") + digits(rng, 8)
    if style == 1:  # DE: 9 characters from a restricted alphabet
        alpha = "CFGHJKLMNPRTVWXYZ0123456789"
        return rng.choice("CFGHJK") + "".join(rng.choice(alpha) for _ in range(8))
    if style == 2:  # FR: 2 digits, 2 letters, 5 digits
        return digits(rng, 2) + "".join(rng.choice(string.ascii_uppercase) for _ in range(2)) + digits(rng, 5)
    if style == 3:  # IN: a letter and 7 digits
        return rng.choice("JKLMNPRSTUVWZ") + digits(rng, 7)
    return digits(rng, 9)  # UK


def driver_license(rng: random.Random, style: int) -> str:
    if style == 0:  # California
        return rng.choice(string.ascii_uppercase) + digits(rng, 7)
    if style == 1:  # New York
        d = digits(rng, 9)
        return f"{d[:3]} {d[3:6]} {d[6:]}" if rng.random() < 0.5 else d
    if style == 2:  # Florida
        d = digits(rng, 12)
        return f"{rng.choice(string.ascii_uppercase)}{d[:3]}-{d[3:6]}-{d[6:8]}-{d[8:11]}-{d[11]}"
    if style == 3:  # Texas
        return digits(rng, 8)
    # UK DVLA
    surname = "".join(rng.choice(string.ascii_uppercase) for _ in range(5))
    dec, mon, day, yr = rng.randint(4, 9), rng.choice(["0", "1", "5", "6"]), rng.randint(0, 2), rng.randint(0, 9)
    return (f"{surname}{dec}{mon}{rng.randint(1, 9)}{day}{rng.randint(1, 9)}{yr}"
            f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}9"
            f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}")


def public_ipv4(rng: random.Random) -> str:
    while True:
        a = rng.choice([23, 31, 37, 45, 52, 62, 77, 81, 91, 104, 109, 145, 151, 176, 185, 188, 203, 213])
        octets = [a, rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)]
        if not all(o < 10 for o in octets):
            return ".".join(map(str, octets))


def ip(rng: random.Random) -> str:
    style = rng.random()
    if style < 0.55:
        return public_ipv4(rng)
    if style < 0.75:
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if style < 0.85:
        return f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    groups = [f"{rng.randint(0, 0xffff):x}" for _ in range(5)]
    return f"2a02:{groups[0]}:{groups[1]}:{groups[2]}::{groups[3]}:{groups[4]}"


B64 = string.ascii_letters + string.digits + "+/"
B64URL = string.ascii_letters + string.digits + "-_"
ALNUM = string.ascii_letters + string.digits


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(rng: random.Random) -> str:
    header = {"alg": rng.choice(["RS256", "HS256", "ES256"]), "typ": "JWT"}
    if rng.random() < 0.5:
        header["kid"] = rand(rng, ALNUM, 12)
    claims = {"sub": str(uuid.UUID(int=rng.getrandbits(128))), "iat": 1767225600 + rng.randint(0, 10**6),
              "exp": 1767229200 + rng.randint(0, 10**6), "iss": rng.choice(["https://idp.fabrikam.io", "auth.contoso-health.org"]),
              "scope": rng.choice(["read", "read write", "openid profile email"])}
    sig = bytes(rng.getrandbits(8) for _ in range(rng.choice([32, 64])))
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()), b64url(sig)])


def api_key(rng: random.Random, kind: str) -> str:
    if kind == "aws":
        return "AKIA" + rand(rng, string.ascii_uppercase + string.digits, 16)
    if kind == "stripe":
        return rng.choice(["sk_live_", "sk_test_", "rk_live_"]) + rand(rng, ALNUM, 24)
    if kind == "github":
        return "ghp_" + rand(rng, ALNUM, 36)
    if kind == "slack":
        return f"xoxb-{digits(rng, 12)}-{digits(rng, 13)}-{rand(rng, ALNUM, 24)}"
    if kind == "google":
        return "AIza" + rand(rng, ALNUM + "-_", 35)
    if kind == "sendgrid":
        return f"SG.{rand(rng, B64URL, 22)}.{rand(rng, B64URL, 43)}"
    if kind == "openai":
        return "sk-proj-" + rand(rng, ALNUM, 48)
    if kind == "twilio":
        return "SK" + rand(rng, "0123456789abcdef", 32)
    if kind == "hex":
        return rand(rng, "0123456789abcdef", rng.choice([32, 40]))
    return rand(rng, ALNUM, 32)


def password(rng: random.Random) -> str:
    style = rng.random()
    if style < 0.5:
        n = rng.randint(10, 20)
        return rand(rng, ALNUM + "!@#$%^&*-_", n)
    if style < 0.75:
        words = ["correct", "horse", "battery", "staple", "purple", "monkey", "river",
                 "castle", "orange", "silent", "window", "tiger"]
        return rng.choice(["-", " ", ""]).join(rng.sample(words, 4))
    return rng.choice(["Summer", "Winter", "Welcome", "Berlin", "Sunshine"]) + str(rng.randint(2000, 2026)) + rng.choice("!#?$")


def userinfo_url(rng: random.Random) -> str:
    """A connection string or URL with credentials: `scheme://user:pass@host[:port]/x`."""
    from urllib.parse import quote

    scheme, port = rng.choice([("postgres", 5432), ("mysql", 3306), ("amqp", 5672),
                               ("redis", 6379), ("https", 443), ("mongodb", 27017)])
    host = rng.choice(["db.fabrikam.internal", "mq.contoso.io", f"10.0.{rng.randint(0, 9)}.{rng.randint(2, 250)}"])
    user = rng.choice(["app", "svc-orders", "deploy", "admin", "reporter"])
    return f"{scheme}://{user}:{quote(password(rng), safe='')}@{host}:{port}/{rng.choice(['app', 'orders', 'vhost', ''])}"


def userinfo_authority(rng: random.Random) -> str:
    """An HTTP/2 `:authority` carrying userinfo: `user:pass@host[:port]`."""
    from urllib.parse import quote

    user = rng.choice(["admin", "jdoe", "api", "monitor"])
    host = rng.choice(["api.fabrikam.io", "intranet.contoso.com", "grafana.fabrikam.io"])
    port = rng.choice(["", ":8443", ":443"])
    return f"{user}:{quote(password(rng), safe='')}@{host}{port}"


def pem(rng: random.Random, escaped: bool) -> str:
    label, size = rng.choice([("EC PRIVATE KEY", 121), ("PRIVATE KEY", 138),
                              ("OPENSSH PRIVATE KEY", 300), ("RSA PRIVATE KEY", 340),
                              ("ENCRYPTED PRIVATE KEY", 220)])
    body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(size))).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    nl = "\\n" if escaped else "\n"
    return nl.join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + nl


def track(rng: random.Random, kind: int) -> str:
    number = pan(rng)
    yymm = f"{rng.randint(26, 32)}{rng.randint(1, 12):02d}"
    service = rng.choice(["101", "201", "121"])
    disc = digits(rng, rng.randint(8, 16))
    if kind == 1:
        name = f"{rng.choice(LAST).upper().replace(' ', '')}/{rng.choice(FIRST).upper().split()[0]}"
        name = name.encode("ascii", "ignore").decode()
        return f"%B{number}^{name}^{yymm}{service}{disc}?"
    if kind == 2:
        return f";{number}={yymm}{service}{disc}?"
    return f"{number}={yymm}{service}{disc}"


# --------------------------------------------------------------------------- negatives


def imei(rng: random.Random) -> str:
    """A Luhn-valid IMEI (TAC 35...): 15 digits, the check digit of ISO 7812 too."""
    body = "35" + digits(rng, 12)
    return body + luhn_digit(body)


def not_luhn_16(rng: random.Random) -> str:
    while True:
        v = rng.choice("3456") + digits(rng, 15)
        if not luhn_ok(v):
            return v


def epoch(rng: random.Random, unit: str) -> str:
    s = rng.randint(1_700_000_000, 1_800_000_000)
    if unit == "ms":
        return str(s * 1000 + rng.randint(0, 999))
    if unit == "ns":
        return str(s * 10**9 + rng.randint(0, 10**9 - 1))
    return str(s)


def iso_ts(rng: random.Random) -> str:
    return (f"20{rng.randint(24, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}."
            f"{rng.randint(0, 999):03d}Z")


def price(rng: random.Random) -> str:
    return f"{rng.randint(1, 2500)}.{rng.choice(['00', '99', '49', '95', '50'])}"


def version(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.randint(1, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 200)}"
    return f"{rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(1000, 25000)}.{rng.randint(1, 999)}"


def user_agent(rng: random.Random) -> str:
    chrome = f"{rng.randint(110, 131)}.0.{rng.randint(5000, 6800)}.{rng.randint(10, 200)}"
    return rng.choice([
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome} Safari/537.36",
        f"okhttp/4.{rng.randint(9, 12)}.{rng.randint(0, 3)}",
        f"MyShopApp/{rng.randint(3, 7)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(100, 999)} (iPhone; iOS 17.{rng.randint(0, 5)})",
        f"grpc-java-netty/1.{rng.randint(50, 66)}.{rng.randint(0, 3)}",
    ])


def sku_icd_like(rng: random.Random) -> str:
    # Product and part codes: letter, two digits, optional suffix, like ICD-10 codes
    # (and sometimes exactly one, `K20`), in catalogue fields.
    style = rng.random()
    if style < 0.4:
        return f"{rng.choice('ABCDEFGHJKLMNPRSTV')}{rng.randint(10, 99)}"
    if style < 0.8:
        return f"{rng.choice('ABCDEFGHJKLMNPRSTV')}{rng.randint(10, 99)}.{rng.randint(1, 9)}"
    return f"{rng.choice('ABCDEFGHJKLMNPRSTV')}{rng.randint(10, 99)}-{rng.choice(['BLK', 'WHT', 'RED', 'XL', 'S'])}"


def bad_phone(rng: random.Random) -> str:
    return rng.choice([
        "555-555-5555", "000-000-0000", "123-456-7890", f"(555) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        f"+1 555 01{rng.randint(0, 99):02d}", f"111-111-{rng.randint(1000, 9999)}", "999-999-9999",
        f"+1 800 000 {rng.randint(1000, 9999)}",
    ])


def example_text(rng: random.Random) -> str:
    return rng.choice([
        f"For help write to support@example.com or see https://docs.example.org/v{rng.randint(1, 3)}",
        f"Sample payload: {{\"email\": \"jane.doe@example.net\", \"id\": {rng.randint(1, 999)}}}",
        "Replace user@test.example with your own address before running the script.",
        f"Webhook test sent to hooks@example.com at step {rng.randint(1, 9)}",
        "Use admin@localhost.localhost for the local stack only.",
        f"Docs: alice@example.org is the placeholder account (ticket {rng.randint(100, 999)}).",
    ])


def blob(rng: random.Random) -> str:
    return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.choice([24, 48, 96, 150])))).decode()


def sha256_hex(rng: random.Random) -> str:
    return hashlib.sha256(rng.randbytes(16)).hexdigest()


def git_remote(rng: random.Random) -> str:
    org = rng.choice(["fabrikam", "contoso", "northwind", "acme-labs"])
    repo = rng.choice(["checkout", "ehr-gateway", "payroll", "shipping-api", "auth-service"])
    return rng.choice([f"git@github.com:{org}/{repo}.git", f"git@gitlab.com:{org}/{repo}.git",
                       f"https://github.com/{org}/{repo}.git"])


def public_pem(rng: random.Random) -> str:
    label = rng.choice(["PUBLIC KEY", "CERTIFICATE", "RSA PUBLIC KEY"])
    body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.choice([91, 162, 294])))).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


def rf_reference(rng: random.Random) -> str:
    ref = digits(rng, rng.randint(8, 14))
    numeric = "".join(str(int(ch, 36)) for ch in ref + "RF00")
    check = 98 - int(numeric) % 97
    value = f"RF{check:02d}{ref}"
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4))


def bad_iban(rng: random.Random) -> str:
    good = iban(rng)
    check = int(good[2:4])
    return good[:2] + f"{(check + rng.randint(1, 50)) % 97 + 2:02d}" + good[4:]


# --------------------------------------------------------------------------- shapes

PROTOCOLS = ("http", "grpc", "kafka", "mysql")
PLACEHOLDERS = ("N/A", "null", "unknown", "-", "none", "TBD", "0", "n/a", "REDACTED")

APIS: dict[str, dict[str, list[str]]] = {
    "payments": {
        "http": ["POST /v1/payments", "POST /v1/customers/{id}/cards", "GET /v2/charges/{id}",
                 "POST /api/checkout/{uuid}/pay", "PUT /v1/payment-methods/{id}"],
        "grpc": ["/payments.v1.PaymentService/Authorize", "/billing.v2.CardVault/StoreCard",
                 "/payments.v1.PayoutService/CreatePayout"],
        "kafka": ["payments.authorized", "billing.card-updated", "payouts.requested"],
        "mysql": ["billing.cards", "payments.transactions", "billing.payouts"],
    },
    "health": {
        "http": ["GET /fhir/Patient/{id}", "POST /v1/encounters", "GET /api/patients/{id}/claims",
                 "POST /v1/prescriptions", "GET /api/v2/practitioners/{id}"],
        "grpc": ["/health.v1.PatientService/GetPatient", "/ehr.v1.EncounterService/Create",
                 "/pharmacy.v1.PrescriptionService/Submit", "/claims.v1.ClaimService/Submit"],
        "kafka": ["ehr.encounters", "pharmacy.prescriptions", "claims.submitted", "patients.updated"],
        "mysql": ["clinic.patients", "ehr.encounters", "pharmacy.prescriptions", "claims.members"],
    },
    "hr": {
        "http": ["GET /api/employees/{id}", "POST /v1/employees", "PUT /api/v1/people/{uuid}",
                 "POST /payroll/v1/runs"],
        "grpc": ["/hr.v1.EmployeeService/GetEmployee", "/payroll.v1.PayrollService/AddEmployee"],
        "kafka": ["hr.employee-updated", "payroll.run-completed"],
        "mysql": ["hr.employees", "payroll.bank_details", "hr.candidates"],
    },
    "ecommerce": {
        "http": ["POST /api/orders", "GET /api/orders/{id}", "POST /v1/carts/{uuid}/checkout",
                 "GET /api/products/{id}", "POST /v1/reviews"],
        "grpc": ["/shop.v1.OrderService/PlaceOrder", "/catalog.v1.ProductService/GetProduct"],
        "kafka": ["orders.created", "catalog.product-updated", "carts.abandoned"],
        "mysql": ["shop.orders", "shop.customers", "catalog.products"],
    },
    "identity": {
        "http": ["POST /oauth/token", "POST /v1/login", "GET /v1/me", "POST /v1/users",
                 "POST /api/v1/sessions"],
        "grpc": ["/auth.v1.AuthService/Login", "/iam.v1.UserService/CreateUser",
                 "/secrets.v1.VaultService/GetSecret"],
        "kafka": ["auth.sessions", "iam.user-created", "config.service-credentials"],
        "mysql": ["idp.users", "idp.sessions", "ops.service_credentials"],
    },
    "logistics": {
        "http": ["POST /v1/shipments", "GET /v1/shipments/{id}/tracking", "POST /api/v2/deliveries",
                 "GET /v1/drivers/{id}"],
        "grpc": ["/logistics.v1.ShipmentService/Create", "/fleet.v1.DriverService/GetDriver"],
        "kafka": ["shipments.dispatched", "deliveries.completed", "fleet.telemetry"],
        "mysql": ["logistics.deliveries", "fleet.drivers", "logistics.shipments"],
    },
}
DOMAINS = tuple(APIS)


def style_name(tokens: list[str], style: str) -> str:
    if style == "camel":
        return tokens[0] + "".join(t.capitalize() for t in tokens[1:])
    if style == "pascal":
        return "".join(t.capitalize() for t in tokens)
    if style == "kebab":
        return "-".join(tokens)
    if style == "upper":
        return "_".join(t.upper() for t in tokens)
    return "_".join(tokens)


@dataclass
class Variant:
    """One way a field of some type shows up: names, parents, siblings, values."""

    expected: str | None
    domains: tuple[str, ...]
    names: list[list[str]]
    gen: Gen
    parents: list[list[str]] = field(default_factory=lambda: [[]])
    siblings: list[str] = field(default_factory=list)
    protocols: tuple[str, ...] = PROTOCOLS
    location: str | None = None  # fixed location (header, cookie, auth); else by protocol
    literal: bool = False  # names are used as written (header names, cookie names)
    numeric: bool = False  # schema-less protobuf: field-number paths, no names
    hard: bool = False
    weight: int = 1


def segments(parents: list[str]) -> list[tuple[list[str], bool]]:
    """Parent names as written in the table (`["diagnoses", "[]"]`, `["shipping_address"]`)
    -> (tokens, is_array) per path segment."""
    out: list[tuple[list[str], bool]] = []
    for item in parents:
        if item == "[]":
            out[-1] = (out[-1][0], True)
        else:
            out.append((item.split("_"), False))
    return out


# Leaf names too generic to stand alone once the parents are flattened away (MySQL
# columns, query parameters): the parent's name becomes part of the column name.
IRREGULAR = {"diagnoses": "diagnosis", "addresses": "address"}
GENERIC_LEAVES = frozenset({"name", "code", "id", "number", "line1", "line", "registration"})


def build_field(rng: random.Random, v: Variant, fid: int) -> dict[str, Any]:
    protocol = rng.choice(v.protocols)
    domain = rng.choice(v.domains)
    api = rng.choice(APIS[domain][protocol])
    if v.numeric:
        protocol, location = "grpc", "body"
        api = rng.choice(APIS[domain]["grpc"])
        depth = rng.randint(1, 3)
        nums = [str(rng.randint(1, 12)) for _ in range(depth)]
        path = ".".join(nums)
        siblings = sorted({".".join(nums[:-1] + [str(rng.randint(1, 15))]).lstrip(".")
                           for _ in range(rng.randint(2, 6))} - {path})
    else:
        name_tokens = rng.choice(v.names)
        parents = rng.choice(v.parents)
        if v.location is not None:
            location = v.location
        else:
            location = {"http": rng.choice(["body"] * 5 + ["query"]), "grpc": "body",
                         "kafka": "value", "mysql": rng.choice(["column"] * 3 + ["param"])}[protocol]
        if v.literal:
            path = " ".join(name_tokens)
            siblings = list(v.siblings)
            rng.shuffle(siblings)
            siblings = siblings[: rng.randint(2, max(2, len(siblings)))]
        else:
            if protocol in ("grpc", "mysql"):
                style = "snake"
            elif location == "query":
                style = rng.choice(["snake", "camel"])
            else:
                style = rng.choice(["camel", "camel", "snake", "pascal"])
            segs = segments(parents)
            if protocol == "mysql" or location == "query":
                # Columns and query parameters are flat: `card.name` becomes `card_name`,
                # `driver.license.number` becomes `driver_license_number`.
                if segs and (name_tokens[-1] in GENERIC_LEAVES or rng.random() < 0.3):
                    flat: list[str] = []
                    for tokens, arr in segs:
                        if arr and tokens[-1].endswith("s"):  # `patients[]` -> patient
                            last = IRREGULAR.get(tokens[-1], tokens[-1][:-1])
                            tokens = [*tokens[:-1], last]
                        flat += [t for t in tokens if t not in flat]
                    name_tokens = flat + [t for t in name_tokens if t not in flat]
                segs = []
            parts = [style_name(t, style) + ("[]" if arr else "") for t, arr in segs]
            path = ".".join([*parts, style_name(name_tokens, style)])
            sib = list(v.siblings)
            rng.shuffle(sib)
            siblings = [style_name(s.split("_"), style) for s in sib[: rng.randint(2, max(2, len(sib)))]]
    n = rng.randint(20, 30)
    values = [v.gen(rng) for _ in range(n)]
    # Real fields of a sensitive type also carry placeholders now and then (a form left
    # blank, a redacted test row): labelled null at the value level, and part of the
    # field's values at the field level.
    other: list[str] = []
    if v.expected is not None and rng.random() < 0.35:
        other = [rng.choice(PLACEHOLDERS) for _ in range(rng.randint(1, 3))]
    return {
        "id": f"f{fid:05d}",
        "protocol": protocol,
        "api": api,
        "location": location,
        "path": path,
        "siblings": siblings,
        "values": values,
        "other_values": other,
        "expected": v.expected,
        "domain": domain,
        "hard_negative": v.hard,
    }


# --------------------------------------------------------------------------- variants


def fixed(fn: Callable[[random.Random, Any], str], arg: Any) -> Gen:
    return lambda rng: fn(rng, arg)


def schemed(fn: Callable[[random.Random, Any], str], choices: Any) -> Gen:
    """A generator whose scheme (`fn`'s second argument) is chosen once per field."""
    options = list(choices)

    def make(rng: random.Random) -> Gen:
        choice = rng.choice(options)
        return lambda r: fn(r, choice)

    return per_field(make)


def per_field(make: Callable[[random.Random], Gen]) -> Gen:
    """Marks a factory called once per field (a scheme chosen per field, not per value)."""
    make.per_field = True  # type: ignore[attr-defined]
    return make  # type: ignore[return-value]


def variants() -> list[Variant]:
    """The variant table: every data type, then the hard and easy negatives."""
    V = Variant
    card_sibs = ["cvv", "expiry", "cardholder_name", "brand", "amount", "currency"]
    out: list[Variant] = [
        # ---------------------------------------------------------------- PCI
        V("CARD_NUMBER", ("payments", "ecommerce"), [["card", "number"], ["pan"], ["cc", "num"],
          ["credit", "card"], ["card", "no"], ["number"], ["primary", "account", "number"]],
          card_number, parents=[["card"], ["payment", "card"], ["payment", "method"], []],
          siblings=card_sibs, weight=5),
        V("CARD_NUMBER", ("payments", "ecommerce"), [[]], card_number, numeric=True, weight=2),
        V("CARD_EXPIRY", ("payments", "ecommerce"), [["expiry"], ["exp", "date"], ["expiration", "date"],
          ["card", "expiry"], ["expiry", "date"], ["valid", "thru"]],
          lambda r: expiry(r, r.choice(["mm/yy", "mm/yy", "mm/yyyy", "mm-yy"])),
          parents=[["card"], ["payment", "card"], []], siblings=["card_number", "cvv", "holder_name"],
          weight=3),
        V("CARD_EXPIRY", ("payments",), [["exp", "month"], ["expiry", "month"], ["expiration", "month"]],
          lambda r: expiry(r, "month"), parents=[["card"], ["payment", "card"]],
          siblings=["number", "cvc", "exp_year", "brand"]),
        V("CARD_EXPIRY", ("payments",), [["exp", "year"], ["expiry", "year"]],
          lambda r: expiry(r, "year"), parents=[["card"], ["payment", "card"]],
          siblings=["number", "cvc", "exp_month", "brand"]),
        V("CARD_EXPIRY", ("payments",), [["card", "exp"], ["cc", "exp"], ["card", "expiry"]],
          lambda r: expiry(r, "mmyy"), protocols=("mysql", "kafka", "grpc"),
          siblings=["card_number", "cvv", "cardholder"]),
        V("CARD_CVV", ("payments", "ecommerce"), [["cvv"], ["cvc"], ["cvv2"], ["card", "cvc"],
          ["security", "code"], ["csc"], ["card", "verification", "code"]],
          lambda r: digits(r, 3) if r.random() < 0.85 else digits(r, 4),
          parents=[["card"], ["payment", "card"], []], siblings=["card_number", "expiry", "holder"],
          weight=5),
        V("CARD_TRACK_DATA", ("payments",), [["track2"], ["track", "data"], ["track1"], ["swipe", "data"],
          ["magstripe"], ["raw", "track"]], lambda r: track(r, r.choice([1, 2, 2, 3])),
          parents=[["card", "present"], ["emv"], []], siblings=["terminal_id", "entry_mode", "amount"],
          weight=5),
        V("CARD_TRACK_DATA", ("payments",), [[]], lambda r: track(r, r.choice([1, 2])), numeric=True),
        V("CARDHOLDER_NAME", ("payments", "ecommerce"), [["cardholder", "name"], ["card", "holder"],
          ["name", "on", "card"], ["holder", "name"], ["cardholder"]],
          lambda r: person(r).upper() if r.random() < 0.5 else person(r),
          parents=[["card"], ["payment", "card"], []], siblings=["card_number", "expiry", "cvv"],
          weight=5),
        V("CARDHOLDER_NAME", ("payments",), [["name"]],
          lambda r: person(r).upper() if r.random() < 0.5 else person(r),
          parents=[["card"], ["payment", "card"]], siblings=["number", "exp_month", "cvc"]),
        # ---------------------------------------------------------------- SECRET
        V("PASSWORD", ("identity", "hr", "ecommerce"), [["password"], ["pwd"], ["passwd"],
          ["new", "password"], ["current", "password"], ["passwort"], ["db", "password"],
          ["passphrase"]], password, parents=[["user"], ["credentials"], []],
          siblings=["username", "email", "remember_me"], weight=5),
        V("PASSWORD", ("identity",), [["authorization"]],
          lambda r: "Basic " + base64.b64encode(f"{r.choice(['svc-report', 'jdoe', 'admin', 'api-user'])}:{password(r)}".encode()).decode(),
          protocols=("http",), location="header", literal=True,
          siblings=["host", "accept", "content-type", "user-agent"], weight=2),
        V("PASSWORD", ("identity",), [["password"]], password, protocols=("mysql", "kafka"),
          location="auth", literal=True, siblings=["user", "database"], weight=1),
        # Credentials in URLs and authorities (issue #15): any field, any name.
        V("PASSWORD", ("identity", "logistics", "ecommerce"), [["database", "url"], ["dsn"],
          ["broker", "uri"], ["upstream"], ["mirror"], ["target"]], userinfo_url,
          parents=[["config"], ["settings"], []], siblings=["timeout", "retries", "enabled"],
          weight=1),
        V("PASSWORD", ("identity",), [[":authority"]], userinfo_authority, protocols=("http",),
          location="header", literal=True, siblings=[":method", ":path", ":scheme"], weight=1),
        V("API_KEY", ("identity", "payments", "logistics"), [["api", "key"], ["access", "key", "id"],
          ["secret", "key"], ["client", "key"], ["apikey"], ["stripe", "key"], ["service", "key"]],
          schemed(api_key, ["aws", "stripe", "github", "slack", "google", "sendgrid", "openai", "twilio",
               "hex", "alnum"]),
          parents=[["credentials"], ["integration"], ["config"], []],
          siblings=["provider", "region", "enabled"], weight=4),
        V("API_KEY", ("identity", "payments", "ecommerce"), [["x-api-key"], ["x-goog-api-key"], ["apikey"]],
          schemed(api_key, ["hex", "alnum", "google"]),
          protocols=("http", "grpc"),
          location="header", literal=True, siblings=["host", "accept", "user-agent"], weight=2),
        V("API_KEY", ("identity",), [[]],
          schemed(api_key, ["aws", "stripe", "github", "slack", "sendgrid"]), numeric=True),
        V("BEARER_TOKEN", ("identity", "payments", "health", "ecommerce"), [["authorization"]],
          lambda r: "Bearer " + (jwt(r) if r.random() < 0.6 else rand(r, ALNUM + "-._~", 40)),
          protocols=("http", "grpc"), location="header", literal=True,
          siblings=["host", "accept", "content-type"], weight=3),
        V("BEARER_TOKEN", ("identity",), [["access", "token"], ["id", "token"], ["refresh", "token"],
          ["auth", "token"], ["token"], ["session", "token"]],
          lambda r: jwt(r) if r.random() < 0.6 else rand(r, ALNUM + "-_", r.choice([32, 43, 64])),
          parents=[[], ["data"], ["session"]], siblings=["token_type", "expires_in", "scope"],
          weight=3),
        V("BEARER_TOKEN", ("identity", "ecommerce"), [["JSESSIONID"], ["session"], ["sid"],
          ["PHPSESSID"], ["session_id"]], lambda r: rand(r, ALNUM, r.choice([26, 32, 40])),
          protocols=("http",), location="cookie", literal=True, siblings=["_ga", "lang", "theme"],
          weight=2),
        V("BEARER_TOKEN", ("identity",), [[]], jwt, numeric=True),
        # Credentials real APIs carry under other names (issue #15): JSON-RPC `auth`
        # (Zabbix), `authorization` without a scheme (grpc-go), signed-URL signatures.
        V("BEARER_TOKEN", ("identity", "logistics"), [["auth"]],
          lambda r: rand(r, "0123456789abcdef", 32), protocols=("http",), location="body",
          literal=True, siblings=["jsonrpc", "method", "params", "id"], weight=1),
        V("BEARER_TOKEN", ("identity", "payments"), [["authorization"]],
          lambda r: rand(r, ALNUM + "-._~", r.choice([11, 24, 40])), protocols=("http", "grpc"),
          location="header", literal=True, siblings=["host", "user-agent", "te"], weight=1),
        V("BEARER_TOKEN", ("ecommerce", "logistics"), [["X-Amz-Signature"], ["X-Goog-Signature"],
          ["sig"], ["Signature"]], lambda r: rand(r, "0123456789abcdef", 64),
          protocols=("http",), location="query", literal=True,
          siblings=["X-Amz-Credential", "X-Amz-Expires", "Expires", "se", "Key-Pair-Id", "Policy"],
          weight=1),
        V("PRIVATE_KEY", ("identity",), [["private", "key"], ["tls", "key"], ["ssh", "key"],
          ["signing", "key"], ["key", "pem"], ["pem"]], lambda r: pem(r, r.random() < 0.5),
          parents=[["tls"], ["credentials"], []], siblings=["certificate", "key_id", "algorithm"],
          weight=4),
        V("PRIVATE_KEY", ("identity",), [["payload"], ["data"], ["content"]], lambda r: pem(r, True),
          protocols=("kafka", "http"), siblings=["type", "version", "created_at"]),
        V("PRIVATE_KEY", ("identity",), [[]], lambda r: pem(r, False), numeric=True),
        # ---------------------------------------------------------------- PII
        V("EMAIL_ADDRESS", DOMAINS, [["email"], ["email", "address"], ["mail"], ["contact", "email"],
          ["user", "email"], ["recipient"], ["correo"], ["e", "mail"]], email,
          parents=[["customer"], ["user"], ["patient", "telecom"], ["employee"], []],
          siblings=["first_name", "last_name", "phone", "id"], weight=5),
        V("EMAIL_ADDRESS", DOMAINS, [[]], email, numeric=True, weight=1),
        # Test data is data: example-domain addresses as whole values are e-mail fields.
        V("EMAIL_ADDRESS", ("identity", "ecommerce"), [["login"], ["username"]],
          example_email, parents=[["account"], []], siblings=["id", "role"], weight=1),
        V("EMAIL_ADDRESS", DOMAINS, [["login"], ["username"], ["owner"]], email,
          parents=[["account"], []], siblings=["id", "created_at", "role"], weight=1),
        V("PHONE_NUMBER", DOMAINS, [["phone"], ["phone", "number"], ["mobile"], ["telefon"],
          ["tel"], ["msisdn"], ["cell", "phone"], ["contact", "phone"], ["telefono"], ["handy"]],
          per_field_phone, parents=[["customer"], ["contact"], ["employee"], ["patient"], []],
          siblings=["email", "first_name", "last_name", "country"], weight=6),
        V("PHONE_NUMBER", DOMAINS, [[]], lambda r: phone(r, r.choice(PHONE_REGIONS), "e164"),
          numeric=True),
        # A mobile number as the login, under a key that does not say phone.
        V("PHONE_NUMBER", ("identity", "ecommerce"), [["login"], ["account"], ["username"]],
          cn_mobile, parents=[["user"], []], siblings=["password", "captcha"], weight=1),
        V("PERSON_NAME", DOMAINS, [["first", "name"], ["given", "name"], ["vorname"], ["fname"],
          ["prenom"]],
          lambda r: r.choice(FIRST), parents=[["customer"], ["patient"], ["employee"], ["contact"], []],
          siblings=["email", "phone", "date_of_birth", "id"], weight=2),
        V("PERSON_NAME", DOMAINS, [["last", "name"], ["surname"], ["family", "name"], ["nachname"],
          ["apellido"], ["lname"]], lambda r: r.choice(LAST),
          parents=[["customer"], ["patient"], ["employee"], ["contact"], []],
          siblings=["email", "phone", "date_of_birth", "id"], weight=2),
        V("PERSON_NAME", DOMAINS, [["full", "name"], ["customer", "name"], ["patient", "name"],
          ["employee", "name"]], person, parents=[["customer"], ["patient"], ["employee"], []],
          siblings=["email", "phone", "date_of_birth", "id"], weight=2),
        V("PERSON_NAME", DOMAINS, [["name"], ["display", "name"]], person,
          parents=[["customer"], ["patient"], ["employee"], ["recipient"], ["passenger"]],
          siblings=["email", "phone", "id"], weight=2),
        V("STREET_ADDRESS", DOMAINS, [["street"], ["address", "line1"], ["street", "address"],
          ["address1"], ["strasse"], ["direccion"], ["address"]], street,
          parents=[["shipping", "address"], ["address"], ["billing"], ["customer"], []],
          siblings=["city", "postal_code", "country"], weight=5),
        # Split names (FHIR HumanName, `name.first`) and person-role fields (issue #15).
        V("PERSON_NAME", ("health", "identity", "hr"), [["given"], ["first"]],
          lambda r: r.choice(FIRST), parents=[["name"], ["patient", "name"]],
          siblings=["family", "use"], weight=1),
        V("PERSON_NAME", ("health", "identity", "hr"), [["family"], ["last"]],
          lambda r: r.choice(LAST), parents=[["name"], ["patient", "name"]],
          siblings=["given", "use"], weight=1),
        V("PERSON_NAME", ("payments", "logistics"), [["recipient"], ["account", "holder"],
          ["beneficiary"]], person, parents=[["transfer"], ["shipment"], []],
          siblings=["amount", "reference"], weight=1),
        V("STREET_ADDRESS", DOMAINS, [["lines"]], street, parents=[["address"]],
          siblings=["city", "postal_code"], weight=1),
        V("STREET_ADDRESS", DOMAINS, [["line1"], ["line"]], street,
          parents=[["address"], ["shipping", "address"], ["billing", "address"]],
          siblings=["city", "postal_code", "country"], weight=1),
        V("POSTAL_CODE", DOMAINS, [["zip"], ["postal", "code"], ["postcode"], ["zip", "code"], ["plz"],
          ["postleitzahl"], ["cp"]], postal, parents=[["address"], ["shipping", "address"], ["customer"], []],
          siblings=["city", "street", "country"], weight=5),
        V("POSTAL_CODE", DOMAINS, [["code"]], postal,
          parents=[["address"], ["shipping", "address"]], siblings=["city", "line1", "country"]),
        V("DATE_OF_BIRTH", DOMAINS, [["dob"], ["date", "of", "birth"], ["birth", "date"], ["birthdate"],
          ["geburtsdatum"], ["fecha", "nacimiento"], ["date", "naissance"], ["birthday"]],
          per_field_dob, parents=[["patient"], ["employee"], ["customer"], ["person"], []],
          siblings=["first_name", "last_name", "gender"], weight=6),
        V("US_SSN", ("hr", "health", "payments"), [["ssn"], ["social", "security", "number"],
          ["ssn", "last"], ["employee", "ssn"], ["ssn", "number"]],
          lambda r: "-".join(ssn(r)) if r.random() < 0.6 else "".join(ssn(r)),
          parents=[["employee"], ["patient"], ["applicant"], []], siblings=["first_name", "last_name", "dob"],
          weight=5),
        V("US_SSN", ("hr", "health"), [["tax", "id"], ["taxpayer", "id"], [ "id", "number"]],
          lambda r: "-".join(ssn(r)), parents=[["employee"], []], siblings=["name", "address"]),
        V("US_SSN", ("hr",), [[]], lambda r: "-".join(ssn(r)), numeric=True),
        V("NATIONAL_ID", ("hr", "identity", "health"), [["nino"], ["national", "insurance", "number"]],
          nino, siblings=["first_name", "last_name", "employer"], weight=2),
        V("NATIONAL_ID", ("hr", "identity", "payments"), [["dni"], ["nif"], ["nie"], ["documento"]],
          dni, siblings=["nombre", "apellido", "direccion"], weight=2),
        V("NATIONAL_ID", ("hr", "identity", "health"), [["codice", "fiscale"], ["cf"]], codice_fiscale,
          siblings=["nome", "cognome", "indirizzo"], weight=1),
        V("NATIONAL_ID", ("hr", "identity", "payments"), [["aadhaar"], ["aadhaar", "number"]], aadhaar,
          siblings=["name", "pan_card", "mobile"], weight=1),
        V("NATIONAL_ID", ("hr", "identity", "payments"), [["cpf"]], cpf,
          siblings=["nome", "email", "telefone"], weight=1),
        V("NATIONAL_ID", ("hr", "payments"), [["sin"], ["social", "insurance", "number"]], sin,
          siblings=["first_name", "last_name", "province"], weight=1),
        V("NATIONAL_ID", ("hr", "identity", "payments"), [["id", "card"], ["sfz"]], cn_ric,
          siblings=["real_name", "mobile"], weight=1),
        V("NATIONAL_ID", ("hr", "identity"), [[]], cn_ric, numeric=True, weight=1),
        V("NATIONAL_ID", ("hr", "identity"), [["national", "id"], ["national", "id", "number"],
          ["identity", "number"]], lambda r: r.choice([nino, dni, codice_fiscale, cpf])(r),
          parents=[["employee"], ["person"], []], siblings=["nationality", "first_name"], weight=2),
        V("PASSPORT_NUMBER", ("identity", "logistics", "hr"), [["passport", "number"], ["passport", "no"],
          ["passport"], ["reisepass", "nr"], ["passport", "id"]],
          schemed(passport, range(5)),
          parents=[["traveller"], ["passenger"], ["employee"], []],
          siblings=["nationality", "passport_expiry", "given_name"], weight=5),
        V("PASSPORT_NUMBER", ("identity", "logistics"), [["number"]],
          schemed(passport, range(5)),
          parents=[["passport"], ["traveller", "passport"]], siblings=["country", "expiry_date"]),
        V("DRIVER_LICENSE", ("identity", "logistics", "hr"), [["driver", "license", "number"],
          ["drivers", "license"], ["dl", "number"], ["driving", "licence", "no"],
          ["driver", "license"], ["driving", "licence", "number"]],
          schemed(driver_license, range(5)),
          parents=[["driver"], ["applicant"], []], siblings=["license_state", "license_class", "dob"],
          weight=5),
        V("DRIVER_LICENSE", ("logistics",), [["number"], ["license", "number"]],
          schemed(driver_license, range(5)),
          parents=[["driver", "license"], ["drivers", "license"]], siblings=["state", "class", "expires"]),
        V("IP_ADDRESS", DOMAINS, [["client", "ip"], ["ip", "address"], ["remote", "addr"],
          ["source", "ip"], ["ip"], ["ipv4"], ["origin", "ip"]], ip,
          parents=[["request"], ["device"], ["session"], []], siblings=["user_agent", "timestamp", "country"],
          weight=4),
        V("IP_ADDRESS", DOMAINS, [["x-forwarded-for"], ["x-real-ip"], ["x-client-ip"]],
          lambda r: ip(r) if r.random() < 0.6 else f"{public_ipv4(r)}, 10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
          protocols=("http",), location="header", literal=True, siblings=["host", "user-agent"],
          weight=2),
        V("IP_ADDRESS", DOMAINS, [[]], public_ipv4, numeric=True),
        V("IBAN", ("payments", "hr"), [["iban"], ["bank", "account"], ["payee", "iban"],
          ["account", "iban"], ["sepa", "account"]], iban_printed,
          parents=[["bank", "details"], ["payout"], ["employee", "bank"], []],
          siblings=["bic", "account_holder", "bank_name"], weight=5),
        V("IBAN", ("payments", "hr"), [[]], iban, numeric=True),
        V("BANK_ACCOUNT", ("payments", "hr"), [["routing", "number"], ["aba", "routing"], ["routing"],
          ["bank", "routing", "number"]], aba, parents=[["bank", "account"], ["payout"], ["ach"], []],
          siblings=["account_number", "account_type", "bank_name"], weight=3),
        V("BANK_ACCOUNT", ("payments", "hr"), [["account", "number"], ["bank", "account", "number"],
          ["acct", "no"], ["account", "no"]], lambda r: digits(r, r.randint(8, 12)),
          parents=[["bank"], ["bank", "account"], ["payout"], []],
          siblings=["routing_number", "bank_name", "account_type"], weight=3),
        V("BANK_ACCOUNT", ("payments", "hr"), [["sort", "code"]],
          lambda r: f"{r.randint(10, 99)}-{r.randint(10, 99)}-{r.randint(10, 99)}",
          parents=[["bank"], ["bank", "details"], []], siblings=["account_number", "bank_name"]),
        # ---------------------------------------------------------------- PHI
        V("MEDICAL_RECORD_NUMBER", ("health",), [["mrn"], ["medical", "record", "number"],
          ["patient", "id"], ["patient", "number"], ["chart", "number"], ["mrn", "id"]],
          schemed(mrn, range(4)),
          parents=[["patient"], ["encounter"], []], siblings=["first_name", "dob", "admission_date"],
          weight=5),
        V("MEDICAL_RECORD_NUMBER", ("health",), [["id"]],
          schemed(mrn, range(4)),
          parents=[["patient"], ["patients", "[]"]], siblings=["name", "birth_date", "gender"]),
        V("HEALTH_PLAN_ID", ("health",), [["medicare", "id"], ["mbi"], ["medicare", "number"],
          ["medicare", "beneficiary", "id"]], mbi, parents=[["coverage"], ["patient"], []],
          siblings=["plan_name", "effective_date"], weight=2),
        V("HEALTH_PLAN_ID", ("health",), [["member", "id"], ["subscriber", "id"], ["insurance", "id"],
          ["policy", "number"], ["insurance", "member", "id"], ["beneficiary", "id"]], member_id,
          parents=[["insurance"], ["coverage"], ["claim", "subscriber"], []],
          siblings=["payer_name", "group_number", "plan_type"], weight=4),
        V("HEALTH_PLAN_ID", ("health",), [[]], mbi, numeric=True),
        V("NPI", ("health",), [["npi"], ["provider", "npi"], ["npi", "number"], ["rendering", "provider", "id"],
          ["prescriber", "id"], ["attending", "npi"]], npi,
          parents=[["provider"], ["prescriber"], ["practitioner"], ["claim"], []],
          siblings=["provider_name", "taxonomy_code", "specialty"], weight=5),
        V("NPI", ("health",), [[]], npi, numeric=True, siblings=[]),
        V("DEA_NUMBER", ("health",), [["dea"], ["dea", "number"], ["prescriber", "dea"], ["dea", "registration"]],
          dea, parents=[["prescriber"], ["provider"], []], siblings=["npi", "name", "license_state"],
          weight=5),
        V("DEA_NUMBER", ("health",), [["registration"], ["id"]], dea,
          parents=[["prescriber"], ["pharmacist"]], siblings=["npi", "name"]),
        V("DIAGNOSIS_CODE", ("health",), [["diagnosis", "code"], ["icd10"], ["icd10", "code"], ["dx", "code"],
          ["primary", "diagnosis"], ["icd", "code"], ["dx"]], icd,
          parents=[["encounter"], ["claim"], ["diagnoses", "[]"], []],
          siblings=["description", "onset_date", "status"], weight=5),
        V("DIAGNOSIS_CODE", ("health",), [["code"]], icd,
          parents=[["diagnosis"], ["diagnoses", "[]"], ["conditions", "[]", "diagnosis"]],
          siblings=["system", "display", "onset"], weight=2),
        V("DRUG_CODE", ("health",), [["ndc"], ["ndc", "code"], ["drug", "code"], ["product", "ndc"],
          ["ndc11"]], ndc, parents=[["medication"], ["prescription"], ["claim", "line"], []],
          siblings=["quantity", "days_supply", "prescriber_npi"], weight=5),
        V("DRUG_CODE", ("health",), [["code"]], lambda r: ndc(r) if r.random() < 0.7 else f"{digits(r, 5)}-{digits(r, 4)}-{digits(r, 2)}",
          parents=[["medication", "ndc"], ["drug"]], siblings=["name", "strength"]),
        V("HEALTH_CONDITION", ("health",), [["diagnosis", "description"], ["symptoms"], ["allergies"],
          ["medications"], ["chief", "complaint"], ["condition"], ["medical", "history"],
          ["reason", "for", "visit"], ["diagnosis"]],
          lambda r: r.choice(CONDITIONS) if r.random() < 0.8 else r.choice(SYMPTOMS),
          parents=[["encounter"], ["patient"], ["visit"], []],
          siblings=["patient_id", "encounter_date", "provider"], weight=6),
    ]
    # Names seen in the wild beyond the canonical ones: abbreviations, prefixes, other
    # languages. Each type's first variant is reused with these names.
    for data_type, names in EXTRA_NAMES.items():
        base = next(v for v in out if v.expected == data_type and not v.numeric and not v.literal)
        out.append(Variant(**{**base.__dict__, "names": names, "weight": 3}))
    out += hard_negatives() + easy_negatives()
    return out


EXTRA_NAMES: dict[str, list[list[str]]] = {
    "EMAIL_ADDRESS": [["email", "addr"], ["e", "mail"], ["contact", "mail"], ["courriel"],
                      ["str", "email"], ["mail", "adresse"], ["primary", "email"]],
    "PHONE_NUMBER": [["phone", "no"], ["mobile", "no"], ["telefonnummer"], ["tel", "no"],
                     ["phone", "num"], ["cell"], ["mobile", "phone"], ["numero", "telefono"]],
    "DATE_OF_BIRTH": [["cust", "dob"], ["birth", "dt"], ["data", "nascita"], ["fecha", "de", "nacimiento"],
                      ["date", "naissance"], ["pt", "dob"], ["dob", "date"]],
    "US_SSN": [["soc", "sec", "num"], ["emp", "ssn"], ["ssn", "id"], ["social", "security", "no"]],
    "STREET_ADDRESS": [["addr", "line", "1"], ["street", "line"], ["indirizzo"], ["anschrift"],
                       ["addr1"], ["street", "address", "1"], ["home", "address"]],
    "POSTAL_CODE": [["zip5"], ["codigo", "postal"], ["code", "postal"], ["pincode"], ["post", "code"],
                    ["billing", "zip"]],
    "PERSON_NAME": [["emp", "last", "nm"], ["pt", "first", "nm"], ["voornaam"], ["achternaam"],
                    ["cognome"], ["apellidos"], ["first", "nm"]],
    "CARD_NUMBER": [["card", "num"], ["ccnumber"], ["pan", "number"], ["numero", "tarjeta"],
                    ["kartennummer"], ["card", "no"], ["cc", "number"]],
    "CARD_CVV": [["cvn"], ["card", "code"], ["cvc", "code"], ["security", "code"], ["cvv", "code"]],
    "CARDHOLDER_NAME": [["card", "holder", "name"], ["name", "on", "card"], ["cc", "name"],
                        ["card", "name"]],
    "CARD_EXPIRY": [["exp"], ["card", "exp", "date"], ["expiry", "mmyy"], ["cc", "exp", "date"]],
    "IBAN": [["iban", "number"], ["iban", "code"], ["payout", "iban"], ["creditor", "iban"]],
    "NPI": [["provider", "npi", "number"], ["npi", "id"], ["billing", "npi"], ["referring", "npi"]],
    "MEDICAL_RECORD_NUMBER": [["pt", "mrn"], ["patient", "mrn"], ["medical", "record", "no"],
                              ["mrn", "number"], ["chart", "id"]],
    "DIAGNOSIS_CODE": [["icd", "10", "cm"], ["diag", "code"], ["dx", "cd"], ["admitting", "diagnosis"],
                       ["icd", "10"]],
    "DRUG_CODE": [["ndc", "11"], ["ndc", "number"], ["rx", "ndc"], ["dispensed", "ndc"]],
    "PASSWORD": [["user", "pass"], ["kennwort"], ["pass"], ["login", "password"], ["admin", "pwd"]],
    "API_KEY": [["x", "api", "key"], ["api", "secret"], ["access", "key"], ["sendgrid", "api", "key"],
                ["app", "key"]],
    "BEARER_TOKEN": [["session", "id"], ["auth", "token"], ["bearer", "token"], ["jwt"]],
    "PRIVATE_KEY": [["private", "key", "pem"], ["client", "key"], ["server", "key"], ["rsa", "key"]],
    "IP_ADDRESS": [["last", "login", "ip"], ["device", "ip"], ["ip", "addr"], ["remote", "ip"],
                   ["client", "address"]],
    "PASSPORT_NUMBER": [["passport", "num"], ["pasaporte"], ["passport", "nr"], ["travel", "document", "number"]],
    "DRIVER_LICENSE": [["dl", "no"], ["drivers", "license", "no"], ["driver", "licence"],
                       ["driving", "license", "id"]],
    "HEALTH_PLAN_ID": [["member", "number"], ["medicaid", "id"], ["subscriber", "no"], ["policy", "no"],
                       ["insurance", "policy", "number"]],
    "DEA_NUMBER": [["dea", "no"], ["dea", "reg", "num"], ["prescriber", "dea", "number"]],
    "BANK_ACCOUNT": [["acct", "num"], ["checking", "account", "number"], ["aba", "number"],
                     ["bank", "acct", "no"]],
}


def per_field_phone(rng: random.Random) -> str:
    raise NotImplementedError  # replaced per field in `generate` (region and formats)


def per_field_dob(rng: random.Random) -> str:
    raise NotImplementedError  # replaced per field in `generate` (one or two formats)


def hard_negatives() -> list[Variant]:
    V = Variant
    H = {"hard": True}
    return [
        # Card-number look-alikes: order and invoice numbers, 16-digit ids failing Luhn.
        V(None, ("ecommerce", "payments", "logistics"), [["order", "number"], ["order", "id"],
          ["invoice", "number"], ["transaction", "id"], ["reference"], ["confirmation", "number"]],
          lambda r: r.choice("3456") + digits(r, r.choice([12, 15, 15, 17])),
          parents=[["order"], []], siblings=["amount", "currency", "status"], weight=5, **H),
        V(None, ("ecommerce", "payments"), [["invoice", "number"], ["invoice", "id"], ["order", "ref"]],
          lambda r: f"INV-{r.randint(2023, 2026)}-{r.randint(1, 999999):06d}",
          siblings=["amount", "due_date"], weight=2, **H),
        V(None, DOMAINS, [["id"], ["external", "id"], ["merchant", "ref"], ["account", "id"], ["device", "id"]],
          not_luhn_16, parents=[["data"], []], siblings=["created_at", "status", "type"], weight=4, **H),
        V(None, DOMAINS, [[]], not_luhn_16, numeric=True, weight=3, **H),
        V(None, ("ecommerce", "logistics"), [["imei"], ["tracking", "number"], ["serial", "number"]],
          imei,
          siblings=["model", "carrier"], weight=2, **H),
        # UUIDs
        V(None, DOMAINS, [["id"], ["request", "id"], ["correlation", "id"], ["trace", "id"], ["uuid"],
          ["idempotency", "key"]], lambda r: str(uuid.UUID(int=r.getrandbits(128))),
          parents=[["data"], ["meta"], []], siblings=["created_at", "status"], weight=4, **H),
        V(None, DOMAINS, [["x-request-id"], ["x-correlation-id"], ["traceparent"]],
          lambda r: str(uuid.UUID(int=r.getrandbits(128))), protocols=("http", "grpc"),
          location="header", literal=True, siblings=["host", "accept"], weight=2, **H),
        # Timestamps and epoch numbers
        V(None, DOMAINS, [["created", "at"], ["updated", "at"], ["timestamp"], ["ts"], ["event", "time"],
          ["exp"], ["iat"]], lambda r: epoch(r, r.choice(["s", "ms", "ns"])),
          parents=[["meta"], ["claims"], []], siblings=["id", "type", "version"], weight=5, **H),
        V(None, DOMAINS, [[]], lambda r: epoch(r, r.choice(["s", "ms", "ns"])), numeric=True, weight=4, **H),
        V(None, DOMAINS, [["created", "at"], ["order", "date"], ["delivered", "at"], ["start", "date"],
          ["hire", "date"], ["admission", "date"]], iso_ts, parents=[["meta"], []],
          siblings=["id", "status"], weight=3, **H),
        V(None, ("identity",), [["expires", "at"], ["expires", "in"], ["expiry"], ["expiration"]],
          lambda r: str(r.choice([300, 900, 3600, 86400])) if r.random() < 0.5 else epoch(r, "s"),
          parents=[["token"], ["session"], []], siblings=["access_token", "token_type"], weight=2, **H),
        # Prices and amounts
        V(None, ("ecommerce", "payments"), [["price"], ["amount"], ["total"], ["unit", "price"],
          ["tax"]], price, parents=[["items", "[]"], ["order"], []],
          siblings=["currency", "sku", "quantity"], weight=3, **H),
        V(None, ("ecommerce", "payments"), [["amount", "cents"], ["amount"], ["balance"]],
          lambda r: str(r.randint(100, 99999999)), siblings=["currency", "card_last4"], weight=2, **H),
        # Version strings and IPs inside them
        V(None, DOMAINS, [["version"], ["app", "version"], ["os", "version"], ["firmware"], ["build"],
          ["sdk", "version"]], version, parents=[["device"], ["client"], []],
          siblings=["platform", "model", "locale"], weight=4, **H),
        V(None, DOMAINS, [["user-agent"]], user_agent, protocols=("http", "grpc"), location="header",
          literal=True, siblings=["host", "accept"], weight=2, **H),
        V(None, DOMAINS, [["description"], ["release", "notes"], ["message"]],
          lambda r: f"Firmware {version(r)} rolled out to {r.randint(2, 90)}% of devices",
          siblings=["title", "published_at"], weight=1, **H),
        V(None, DOMAINS, [["section"], ["clause"], ["oid"]],
          lambda r: ".".join(str(r.randint(1, 9)) for _ in range(4)), siblings=["title"], weight=1, **H),
        # Product SKUs shaped like ICD-10 codes
        V(None, ("ecommerce", "logistics"), [["sku"], ["product", "code"], ["part", "number"],
          ["variant", "code"], ["code"]], sku_icd_like,
          parents=[["items", "[]"], ["product"], ["line", "items", "[]"], []],
          siblings=["name", "price", "quantity"], weight=5, **H),
        V(None, ("ecommerce",), [["sku"], ["model"]], lambda r: icd(r, 0.9),
          parents=[["items", "[]"], []], siblings=["title", "price", "stock"], weight=2, **H),
        V(None, ("ecommerce", "logistics"), [["sku"], ["product", "code"], ["item", "number"]],
          lambda r: f"{digits(r, 5)}-{digits(r, 3)}-{digits(r, 2)}",
          parents=[["items", "[]"], []], siblings=["price", "quantity"], weight=2, **H),
        # Phone-shaped numbers phonenumbers rejects
        V(None, ("ecommerce", "hr", "logistics"), [["phone"], ["fax"], ["phone", "number"]], bad_phone,
          parents=[["test", "fixture"], ["placeholder"], []], siblings=["name", "email"], weight=3, **H),
        V(None, DOMAINS, [["ticket", "number"], ["case", "id"], ["reference"]],
          lambda r: f"{r.randint(100, 999)}-{r.randint(100, 999)}-{r.randint(1000, 9999)}",
          siblings=["status", "opened_at"], weight=2, **H),
        # Example domains in free text
        V(None, DOMAINS, [["description"], ["comment"], ["help", "text"], ["readme"], ["body"]],
          example_text, siblings=["title", "author_id"], weight=4, **H),
        # Base64 blobs and digests that are not keys
        V(None, DOMAINS, [["thumbnail"], ["signature"], ["payload"], ["data"], ["nonce"], ["blob"]],
          blob, parents=[["attachment"], []], siblings=["content_type", "size"], weight=4, **H),
        V(None, DOMAINS, [["checksum"], ["sha256"], ["etag"], ["digest"], ["commit"], ["hash"]],
          sha256_hex, siblings=["size", "path"], weight=3, **H),
        V(None, ("identity",), [["public", "key"], ["certificate"], ["cert"], ["ca", "bundle"]],
          public_pem, siblings=["key_id", "algorithm"], weight=2, **H),
        # Key and token look-alikes
        V(None, DOMAINS, [["key"], ["cache", "key"], ["routing", "key"], ["object", "key"], ["sort", "key"]],
          lambda r: r.choice(["checkout.button.pay", "orders.created", f"uploads/2025/{r.randint(1, 12):02d}/img_{r.randint(1, 9999)}.png",
                               f"user:{r.randint(1, 99999)}:profile", "i18n.login.title", f"tenant-{r.randint(1, 50)}/reports"]),
          siblings=["ttl", "value"], weight=2, **H),
        V(None, ("ecommerce", "identity"), [["next", "page", "token"], ["page", "token"], ["cursor"],
          ["continuation", "token"]], lambda r: b64url(json.dumps({"offset": r.randint(1, 10**6), "ts": r.randint(1, 10**9)}).encode()),
          siblings=["items", "total"], weight=3, **H),
        V(None, ("identity",), [["token", "type"]], lambda r: r.choice(["Bearer", "bearer", "DPoP"]),
          siblings=["access_token", "expires_in"], weight=1, **H),
        V(None, ("identity", "ecommerce"), [["csrf", "token"], ["xsrf", "token"]],
          lambda r: rand(r, ALNUM, 40), siblings=["form_id"], weight=1, **H),
        V(None, ("payments",), [["publishable", "key"]], lambda r: "pk_live_" + rand(r, ALNUM, 24),
          siblings=["account_id", "country"], weight=1, **H),
        V(None, ("identity",), [["password"], ["password", "hint"], ["password", "changed", "at"],
          ["password", "policy"], ["has", "password"]],
          lambda r: r.choice(["********", "***", "true", "false", iso_ts(r), "null", "••••••••"]),
          parents=[["user"], []], siblings=["username", "email"], weight=2, **H),
        V(None, ("identity", "logistics"), [["license"], ["license", "id"], ["spdx", "license"]],
          lambda r: r.choice(["MIT", "Apache-2.0", "GPL-3.0-only", "BSD-3-Clause", "MPL-2.0"]),
          parents=[["package"], ["dependencies", "[]"]], siblings=["name", "version"], weight=1, **H),
        # Identity-number look-alikes
        V(None, DOMAINS, [[]], lambda r: digits(r, 9), numeric=True, weight=2, **H),
        V(None, ("hr", "payments"), [["ein"], ["employer", "id"], ["tax", "id"]],
          lambda r: f"{r.randint(10, 99)}-{digits(r, 7)}", parents=[["employer"], []],
          siblings=["company_name", "state"], weight=2, **H),
        V(None, ("ecommerce", "logistics"), [["customer", "number"], ["customer", "id"], ["user", "id"],
          ["account", "id"]], lambda r: r.choice("12") + digits(r, 9),
          siblings=["email", "created_at"], weight=3, **H),
        V(None, ("logistics", "ecommerce"), [["model", "number"], ["part", "id"], ["license", "plate"]],
          lambda r: "".join(r.choice(string.ascii_uppercase) for _ in range(2)) + digits(r, 7),
          siblings=["manufacturer", "year"], weight=2, **H),
        V(None, ("health",), [["encounter", "id"], ["claim", "id"], ["appointment", "id"], ["visit", "number"]],
          lambda r: f"{r.choice(['ENC', 'CLM', 'APT'])}-{digits(r, 8)}", parents=[["encounter"], []],
          siblings=["patient_id", "status"], weight=2, **H),
        V(None, ("logistics",), [["driver", "id"], ["vehicle", "id"], ["route", "number"]],
          lambda r: f"DRV-{digits(r, 5)}" if r.random() < 0.5 else digits(r, 6),
          parents=[["driver"], ["vehicle"], []], siblings=["name", "depot"], weight=2, **H),
        V(None, ("ecommerce",), [["member", "id"], ["loyalty", "number"]],
          lambda r: f"LOY{digits(r, 9)}", parents=[["loyalty"], []], siblings=["tier", "points"],
          weight=1, **H),
        V(None, ("payments", "ecommerce"), [["reference"], ["creditor", "reference"], ["payment", "reference"]],
          rf_reference, siblings=["amount", "due_date"], weight=2, **H),
        V(None, ("payments",), [["reference"], ["mandate", "id"], ["iban", "check"]], bad_iban,
          siblings=["amount", "status"], weight=1, **H),
        # Name and address look-alikes
        V(None, ("ecommerce",), [["name"], ["product", "name"], ["title"]], lambda r: r.choice(PRODUCTS),
          parents=[["product"], ["items", "[]"], []], siblings=["sku", "price"], weight=3, **H),
        V(None, DOMAINS, [["company", "name"], ["merchant", "name"], ["employer"], ["org", "name"]],
          lambda r: r.choice(COMPANIES), siblings=["address", "vat_id"], weight=2, **H),
        V(None, DOMAINS, [["username"], ["user", "name"], ["login"], ["screen", "name"]],
          lambda r: r.choice(FIRST).lower().split()[0].encode("ascii", "ignore").decode() + str(r.randint(1, 999)),
          siblings=["email", "last_login"], weight=2, **H),
        V(None, DOMAINS, [["city"], ["town"]], lambda r: r.choice(CITIES), parents=[["address"], []],
          siblings=["street", "zip"], weight=2, **H),
        V(None, DOMAINS, [["ip", "address"], ["email", "address"], ["wallet", "address"], ["mac", "address"]],
          lambda r: "0x" + rand(r, "0123456789abcdef", 40) if r.random() < 0.5 else ":".join(rand(r, "0123456789abcdef", 2) for _ in range(6)),
          siblings=["network", "status"], weight=1, **H),
        V(None, DOMAINS, [["title"], ["subject"]], lambda r: r.choice(["3 Way Handshake explained", "10 Downing Street tour",
          "Top 5 Road Trips", "221B Baker Street Society newsletter", "42 Wallaby Way (film quote)"]),
          siblings=["body", "author"], weight=1, **H),
        # Clinical look-alikes outside health care
        V(None, ("ecommerce",), [["description"], ["summary"]],
          lambda r: r.choice(["Glucose monitor for people with diabetes, 50 test strips",
                              "Hypoallergenic pillow, helps with asthma and allergies",
                              "Blood pressure cuff for hypertension tracking at home",
                              "Vitamin D3 supplement, 90 capsules"]), parents=[["product"], []],
          siblings=["price", "sku"], weight=2, **H),
        V(None, ("ecommerce", "logistics"), [["condition"]], lambda r: r.choice(["new", "used", "refurbished", "like new", "damaged box"]),
          parents=[["item"], []], siblings=["price", "sku"], weight=1, **H),
        V(None, ("logistics",), [["notes"], ["delivery", "notes"], ["instructions"]], lambda r: r.choice(NOTES),
          siblings=["address", "window"], weight=2, **H),
        # Card-field look-alikes
        V(None, ("payments", "ecommerce"), [["card", "last4"], ["last4"]], lambda r: digits(r, 4),
          parents=[["card"], []], siblings=["brand", "exp_month"], weight=2, **H),
        V(None, ("payments",), [["brand"], ["card", "brand"], ["funding"]],
          lambda r: r.choice(["visa", "mastercard", "amex", "Visa", "credit", "debit"]),
          parents=[["card"], []], siblings=["last4", "exp_year"], weight=1, **H),
        V(None, ("payments",), [["cvc", "check"], ["cvv", "result"]],
          lambda r: r.choice(["pass", "fail", "unavailable", "M", "N"]), parents=[["card", "checks"]],
          siblings=["address_line1_check"], weight=1, **H),
        V(None, ("logistics",), [["access", "code"], ["pickup", "code"], ["pin"]], lambda r: digits(r, 4),
          parents=[["locker"], ["parcel"]], siblings=["locker_id", "address"], weight=1, **H),
        V(None, ("identity",), [["cid"], ["client", "id"]], lambda r: digits(r, r.choice([3, 4])),
          siblings=["session", "ts"], weight=1, **H),
        V(None, ("ecommerce",), [["expiry"], ["expires"], ["valid", "until"]],
          lambda r: f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/{r.randint(2025, 2027)}",
          parents=[["coupon"], ["voucher"]], siblings=["code", "discount"], weight=1, **H),
        # E-mail look-alikes
        V(None, ("identity", "logistics"), [["repo", "url"], ["git", "remote"], ["source"]], git_remote,
          siblings=["branch", "commit"], weight=1, **H),
        V(None, ("ecommerce",), [["image"], ["icon"], ["logo"]],
          lambda r: f"https://cdn.fabrikam.io/img/{rand(r, string.ascii_lowercase, 8)}@{r.choice(['2x', '3x'])}.png",
          siblings=["alt", "width"], weight=1, **H),
        # Organisations are not people (issue #15): a merchant's or pharmacy's name.
        V(None, ("ecommerce", "payments", "health"), [["name"]], company,
          parents=[["merchant"], ["pharmacy"], ["employer"], ["vendor"], ["bank"]],
          siblings=["email", "phone", "address"], weight=2, **H),
        V(None, ("ecommerce", "payments"), [["name"], ["holder", "name"]], company,
          parents=[[]], siblings=["email", "phone", "card_number"], weight=1, **H),
        # Anti-CSRF nonces and messaging session UUIDs are not bearer tokens.
        V(None, ("identity", "ecommerce"), [["_token"], ["csrf_token"], ["authenticity_token"]],
          lambda r: rand(r, string.ascii_letters + string.digits, 40), protocols=("http",),
          literal=True, siblings=["email", "password"], weight=1, **H),
        V(None, ("identity",), [["session_id"]], lambda r: str(uuid.UUID(int=r.getrandbits(128))),
          protocols=("http",), location="query", literal=True, siblings=["kernel"], weight=1, **H),
        # Signatures that grant nothing (click tracking, image proxies: no expiry, no
        # signer) and names that describe a signature; templated URL passwords.
        V(None, DOMAINS, [["sig"], ["signature"], ["sig2"]], sha256_hex, protocols=("http",),
          location="query", literal=True, siblings=["url", "q", "usg", "width"], weight=1, **H),
        V(None, ("identity",), [["SigAlg"], ["signature_method"], ["signature_version"]],
          lambda r: r.choice(["rsa-sha256", "HMAC-SHA256", "2", "hmac-sha1"]), protocols=("http",),
          location="query", literal=True, siblings=["Signature", "Expires"], weight=1, **H),
        V(None, ("identity", "logistics"), [["dsn"], ["database", "url"], ["example"]],
          lambda r: r.choice(["postgres://{user}:{password}@db:5432/app",
                              "https://user:***@mirror.fabrikam.io/repo",
                              "amqp://guest:${RABBIT_PASSWORD}@mq.fabrikam.io:5672/",
                              "mysql://app:%(password)s@10.0.0.7/orders"]),
          parents=[["docs"], []], siblings=["title", "description"], weight=1, **H),
        # The host of a URL is routing, not personal data.
        V(None, DOMAINS, [["referer"], ["origin"]],
          lambda r: f"http://{public_ipv4(r)}:{r.choice([80, 8080, 8443])}/{r.choice(['app', 'login', ''])}",
          protocols=("http",), location="header", literal=True, siblings=["host", "accept"],
          weight=1, **H),
    ]


def easy_negatives() -> list[Variant]:
    V = Variant
    return [
        V(None, DOMAINS, [["status"], ["state"]], lambda r: r.choice(["active", "pending", "shipped", "cancelled", "ACTIVE"]),
          siblings=["id", "updated_at"], weight=2),
        V(None, DOMAINS, [["quantity"], ["count"], ["page"], ["limit"]], lambda r: str(r.randint(1, 500)),
          siblings=["sku", "price"], weight=2),
        V(None, DOMAINS, [["currency"], ["country"], ["locale"], ["lang"]],
          lambda r: r.choice(["EUR", "USD", "GBP", "de-DE", "en-US", "FR", "US", "JP"]), siblings=["amount"], weight=2),
        V(None, DOMAINS, [["enabled"], ["is", "active"], ["verified"]], lambda r: r.choice(["true", "false"]),
          siblings=["id"], weight=1),
        V(None, DOMAINS, [["message"], ["comment"], ["text"], ["review"]], lambda r: r.choice(PROSE),
          siblings=["author_id", "created_at"], weight=2),
        V(None, DOMAINS, [["url"], ["callback", "url"], ["href"]],
          lambda r: f"https://api.fabrikam.io/v1/{r.choice(['orders', 'items', 'docs'])}/{r.randint(1, 99999)}?page={r.randint(1, 9)}",
          siblings=["method"], weight=1),
        V(None, DOMAINS, [["color"], ["size"], ["category"]], lambda r: r.choice(["red", "XL", "electronics", "blue", "M", "garden"]),
          siblings=["sku"], weight=1),
        V(None, DOMAINS, [["content-type"], ["accept"]], lambda r: r.choice(["application/json", "application/grpc", "text/html; charset=utf-8"]),
          protocols=("http", "grpc"), location="header", literal=True, siblings=["host"], weight=1),
    ]


# --------------------------------------------------------------------------- main

# Fields per data type (before the variant weights split them) and negatives overall.
PER_TYPE = 46
HARD_NEGATIVES = 780
EASY_NEGATIVES = 220
PHONE_FORMATS = ("e164", "intl", "national", "national_compact", "00")
# Phone regions per domain: a German HR API has German numbers and so on.
DOB_STYLES = ("iso", "us", "de", "eu", "compact", "datetime", "name", "mdy_name")


def field_gen(rng: random.Random, v: Variant) -> Variant:
    """Per-field choices: one region and a couple of formats for a phone field, one or
    two formats for a birth-date field, a scheme per passport/licence field."""
    if v.gen is per_field_phone:
        region = rng.choice(PHONE_REGIONS)
        formats = rng.sample(PHONE_FORMATS, 2)
        if region not in ("US", "GB", "DE", "FR", "IN", "BR", "JP", "AU", "ES", "IT", "NL", "CA", "MX"):
            formats = ["e164", "intl"]  # numbers of other regions are stored with their country code
        return Variant(**{**v.__dict__, "gen": lambda r: phone(r, region, r.choice(formats))})
    if v.gen is per_field_dob:
        styles = rng.sample(DOB_STYLES, rng.choice([1, 1, 2]))
        return Variant(**{**v.__dict__, "gen": lambda r: dob(r, r.choice(styles))})
    if getattr(v.gen, "per_field", False):
        return Variant(**{**v.__dict__, "gen": v.gen(rng)})  # type: ignore[arg-type]
    return v


def allocate(pool: list[Variant], total: int, rng: random.Random) -> list[Variant]:
    weights = sum(v.weight for v in pool)
    chosen: list[Variant] = []
    for v in pool:
        chosen += [v] * max(1, round(total * v.weight / weights))
    return chosen


def generate() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    table = variants()
    fields: list[Variant] = []
    types = sorted({v.expected for v in table if v.expected})
    for t in types:
        fields += allocate([v for v in table if v.expected == t], PER_TYPE, rng)
    fields += allocate([v for v in table if v.expected is None and v.hard], HARD_NEGATIVES, rng)
    fields += allocate([v for v in table if v.expected is None and not v.hard], EASY_NEGATIVES, rng)
    out = []
    for i, v in enumerate(fields):
        out.append(build_field(rng, field_gen(rng, v), i + 1))
    return out


def dump(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if fields.jsonl is stale")
    args = parser.parse_args(argv)
    text = dump(generate())
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print("tests/corpus/fields.jsonl is out of date: run tests/corpus/generate.py",
                  file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines()]
    hard = sum(r["hard_negative"] for r in rows)
    print(f"{len(rows)} fields, {sum(len(r['values']) for r in rows)} values, "
          f"{hard} hard negatives ({hard / len(rows):.0%}), {len(text) / 1e6:.2f} MB -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
