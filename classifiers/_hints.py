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
    # Compounds written in one case (HTTP header names arrive lower-cased: `loginToken`
    # is `logintoken`).
    "logintoken": ("login", "token"),
    "sessionkey": ("session", "key"),
    "newsession": ("new", "session"),
    "usertoken": ("user", "token"),
    "cust": ("customer",),
}

# Words looked for inside an identifier written in capitals without separators
# (`PRODUCTNO`, `SESSIONKEY`, `CUSTNAME`), so that it gives the tokens its camelCase form
# gives. Only a whole split into these words counts: an unknown capitalised word
# (`NSC_TWMBEWJQ`) stays one token.
COMPOUND_WORDS = frozenset(
    {"product", "no", "nbr", "num", "number", "session", "key", "token", "login", "user",
     "name", "first", "last", "full", "given", "family", "middle", "nick", "display", "real",
     "phone", "mobile", "tel", "cell", "email", "mail", "account", "acct", "id", "card",
     "order", "operator", "merchant", "contract", "serial", "customer", "cust", "pass",
     "password", "pwd", "auth", "access", "api", "secret", "private", "refresh", "date",
     "birth", "address", "addr", "street", "city", "zip", "postal", "code", "ip", "client",
     "device", "trace", "request", "old", "new", "contact", "holder", "bank", "iban",
     "expiry", "exp", "cvv", "cert", "ssn", "tax", "national", "passport", "driver",
     "license", "member", "patient", "type", "status", "time", "app", "version", "sid",
     "host", "file", "server", "shop", "store", "company", "org", "open", "union", "trade",
     "trans", "bill", "invoice", "pay", "payer", "payee", "term", "wifi", "sign", "salt",
     "hash", "verify", "check", "sms", "role", "area", "province", "country", "channel",
     "amount", "count", "seq", "cookie", "msisdn", "imei", "imsi", "mac", "sex", "gender"}
)
_MAX_COMPOUND = 40  # longer all-capital tokens are not compounds worth splitting

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
    pieces = [t for t in _SPLIT.split(spaced) if t]
    raw = [t.lower() for t in pieces]
    tokens: set[str] = set(raw)
    for piece in pieces:
        if piece.isupper() and piece.isascii() and piece.lower() not in SYNONYMS:
            words = compound_words(piece.lower())
            if words:
                raw.extend(words)  # their synonyms and pairs count too
                tokens.update(words)
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


@lru_cache(maxsize=4096)
def compound_words(word: str) -> tuple[str, ...]:
    """`productno` -> (product, no): the split of `word` into COMPOUND_WORDS with the
    fewest words (two at least), or () when there is none."""
    if not 4 <= len(word) <= _MAX_COMPOUND or not word.isalpha():
        return ()
    # best[i]: fewest-word split of word[:i]
    best: list[tuple[str, ...] | None] = [None] * (len(word) + 1)
    best[0] = ()
    for end in range(2, len(word) + 1):
        for start in range(max(0, end - 12), end - 1):
            head = best[start]
            piece = word[start:end]
            if head is not None and piece in COMPOUND_WORDS:
                candidate = (*head, piece)
                found = best[end]
                if found is None or len(candidate) < len(found):
                    best[end] = candidate
    split = best[-1]
    return split if split is not None and len(split) >= 2 else ()


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
