"""Field names -> tokens, the evidence that the name of a field gives.

`userEmail`, `user_email`, `user-email` and `USER.EMAIL` all give {user, email}.
Abbreviations and synonyms are expanded to a canonical token (`dob` -> also
`birth`+`date`), so that classifiers list canonical hints only.

Hand-written: tokenizing identifiers is a few regexes; no library does the
abbreviation table for this taxonomy.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

# camelCase and PascalCase boundaries, digits, then any non-alphanumeric separator.
_CAMEL = re.compile(r"([a-z0-9])([A-Z])|([A-Z]+)([A-Z][a-z])")
# Letters of every script count as letters (`téléphone`, `teléfono`, `姓名` stay whole words).
_SPLIT = re.compile(r"[\W_]+|(?<=[^\W\d_])(?=[0-9])|(?<=[0-9])(?=[^\W\d_])")

# Common abbreviations and synonyms (several languages where cheap) -> extra tokens.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "dob": ("birth", "date"),
    "birthdate": ("birth", "date"),
    "birthday": ("birth", "date"),
    "geburtsdatum": ("birth", "date"),
    "naissance": ("birth",),
    "nacimiento": ("birth",),
    "ssn": ("ssn",),
    "socialsecurity": ("ssn",),
    "socsec": ("ssn",),
    "pan": ("card", "number"),
    "ccnum": ("card", "number"),
    "cc": ("card",),
    "creditcard": ("card",),
    "cardnumber": ("card", "number"),
    "kreditkarte": ("card",),
    "tarjeta": ("card",),
    "carte": ("card",),
    "cvc": ("cvv",),
    "cvv2": ("cvv",),
    "cvc2": ("cvv",),
    "cid": ("cvv",),
    "cvn": ("cvv",),
    "csc": ("cvv",),
    "securitycode": ("cvv",),
    "exp": ("expiry",),
    "expiration": ("expiry",),
    "expires": ("expiry",),
    "expdate": ("expiry", "date"),
    "msisdn": ("phone",),
    "tel": ("phone",),
    "telephone": ("phone",),
    "telefon": ("phone",),
    "telefonnummer": ("phone",),
    "rufnummer": ("phone",),
    "telefone": ("phone",),
    "telefono": ("phone",),
    "mobile": ("phone",),
    "cell": ("phone",),
    "cellphone": ("phone",),
    "handy": ("phone",),
    "téléphone": ("phone",),
    "teléfono": ("phone",),
    "telefoonnummer": ("phone",),
    "celular": ("phone",),
    "movil": ("phone",),
    "móvil": ("phone",),
    "cellulare": ("phone",),
    "portable": ("phone",),
    "mobil": ("phone",),
    "mobilnummer": ("phone",),
    "phoneno": ("phone",),
    "mobileno": ("phone",),
    "телефон": ("phone",),
    "мобильный": ("phone",),
    "mail": ("email",),
    "emailaddress": ("email",),
    "courriel": ("email",),
    "correo": ("email",),
    "mrn": ("mrn",),
    "icd": ("icd",),
    "icd10": ("icd",),
    "icd10cm": ("icd",),
    "dx": ("diagnosis",),
    "diag": ("diagnosis",),
    "diagnose": ("diagnosis",),
    "memberid": ("member", "id"),
    "mbi": ("medicare",),
    "zip": ("postal",),
    "zipcode": ("postal",),
    "postcode": ("postal",),
    "plz": ("postal",),
    "postleitzahl": ("postal",),
    "cp": ("postal",),
    "fname": ("first", "name"),
    "lname": ("last", "name"),
    "firstname": ("first", "name"),
    "lastname": ("last", "name"),
    "fullname": ("full", "name"),
    "surname": ("last", "name"),
    "givenname": ("first", "name"),
    "familyname": ("last", "name"),
    "vorname": ("first", "name"),
    "nachname": ("last", "name"),
    "nom": ("last", "name"),
    "prenom": ("first", "name"),
    "nombre": ("name",),
    "apellido": ("last", "name"),
    "apellidos": ("last", "name"),
    "cognome": ("last", "name"),
    "nome": ("name",),
    "voornaam": ("first", "name"),
    "achternaam": ("last", "name"),
    "имя": ("first", "name"),
    "фамилия": ("last", "name"),
    # FHIR HumanName and similar split names: `name.given`, `name.family` (the parent
    # `name` is checked by the PERSON_NAME classifier; alone these are no hint).
    # Database-column abbreviation: `first_nm`, `emp_last_nm`.
    "nm": ("name",),
    "pwd": ("password",),
    "passwd": ("password",),
    "pass": ("password",),
    "passphrase": ("password",),
    "passwort": ("password",),
    "kennwort": ("password",),
    "senha": ("password",),
    "motdepasse": ("password",),
    "wachtwoord": ("password",),
    "contrasena": ("password",),
    "apikey": ("api", "key"),
    "accesskey": ("access", "key"),
    "secretkey": ("secret", "key"),
    "privatekey": ("private", "key"),
    "authtoken": ("auth", "token"),
    "accesstoken": ("access", "token"),
    "jwt": ("token",),
    "addr": ("address",),
    "street": ("street", "address"),
    "adresse": ("address",),
    "direccion": ("address",),
    "iban": ("iban",),
    "routing": ("routing",),
    "aba": ("routing",),
    "acct": ("account",),
    "ndc": ("ndc",),
    "npi": ("npi",),
    "dea": ("dea",),
    "nino": ("nino",),
    "idcard": ("idcard",),
    "shenfenzheng": ("idcard",),
    "dl": ("driver", "license"),
    "licence": ("license",),
    "passportno": ("passport", "number"),
    # ICAO 9303 calls the passport a travel document (`travelDocumentNumber`).
    "traveldocument": ("passport",),
    "ip": ("ip",),
    "ipaddr": ("ip", "address"),
}

# Field names in scripts written without spaces (CJK): a name is one token, so the
# words below are looked for inside it (`手机号码` holds `手机`, mobile phone).
CJK_SYNONYMS: dict[str, tuple[str, ...]] = {
    "手机": ("phone",),
    "手機": ("phone",),
    "电话": ("phone",),
    "電話": ("phone",),
    "携帯": ("phone",),
    "姓名": ("full", "name"),
    "名字": ("name",),
    "氏名": ("full", "name"),
    "邮箱": ("email",),
    "郵箱": ("email",),
    "地址": ("address",),
    "住所": ("address",),
    "身份证": ("national", "identity"),
    "密码": ("password",),
}

_PLACEHOLDER = re.compile(r"\{[a-z]*\}")
_MAX_NAME = 256  # longer "names" are not identifiers; tokenizing them is wasted work


@lru_cache(maxsize=65536)
def name_tokens(name: str) -> frozenset[str]:
    """Tokens of one identifier, lower-cased, with synonyms expanded."""
    if name[:1] == "{":
        # A placeholder (`{key}` for an object key that is data) is no name: its `key`
        # must not read as an API key.
        return frozenset()
    name = name[:_MAX_NAME]
    if "{" in name:
        # Templated parts of a name (`jupyterhub-user-{key}`) are data, not words.
        name = _PLACEHOLDER.sub(" ", name)
    spaced = _CAMEL.sub(lambda m: f"{m.group(1) or m.group(3)}_{m.group(2) or m.group(4)}", name)
    raw = [t.lower() for t in _SPLIT.split(spaced) if t]
    tokens: set[str] = set(raw)
    # The joined name catches compounds written without separators (`cardnumber`).
    joined = "".join(raw)
    for candidate in (*raw, joined):
        extra = SYNONYMS.get(candidate)
        if extra:
            tokens.update(extra)
    # Adjacent pairs joined, so `cc_num` or `api-key` hit `ccnum` / `apikey` synonyms.
    for a, b in pairwise(raw):
        extra = SYNONYMS.get(a + b)
        if extra:
            tokens.update(extra)
    if not joined.isascii():
        for word, extra in CJK_SYNONYMS.items():
            if word in joined:
                tokens.update(extra)
    return frozenset(tokens)


def last_segment(path: str) -> str:
    """`patients[].address.zip` -> `zip`; a path of numbers keeps its last number."""
    segment = path.rsplit(".", 1)[-1]
    return segment.replace("[]", "")


@lru_cache(maxsize=65536)
def path_tokens(path: str) -> frozenset[str]:
    tokens: set[str] = set()
    for segment in path.split("."):
        if segment[:1].isdigit():
            # Keys that start with a digit are data, not names: versions and ids used as
            # map keys (`versions.1.0.0-gh-cc74126.name` must not read as "cc" = card).
            continue
        tokens |= name_tokens(segment.replace("[]", ""))
    return frozenset(tokens)
