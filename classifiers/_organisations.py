"""Organisations are not people: what makes a `name` the name of a company, shop or
institution rather than of a person (used by PERSON_NAME and CARDHOLDER_NAME).

Two kinds of evidence, both hand-listed (no library lists legal-form suffixes and
institution words across languages in a form cheap enough for every value):
- the path: the object the `name` belongs to (`merchant.name`, `pharmacy.name`,
  `employer.name`);
- the record: a bare `tel` or `address` whose sibling fields name an organisation
  (`merchantName`, `shopName`) and nothing a person has (`firstName`, `birthDate`);
- the value: a legal form (`Inc`, `LLC`, `GmbH`, `S.A.`, `Pty Ltd`) or a word naming an
  institution or trade (`Pharmacy`, `Hospital`, `Bank`, `Store`), or an `&`.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Objects whose `name` is an organisation's (compared in singular form).
ORGANISATION_PARENTS = frozenset(
    {"merchant", "pharmacy", "company", "vendor", "bank", "employer", "hospital", "store",
     "shop", "organization", "organisation", "org", "business", "supplier", "clinic",
     "facility", "insurer", "payer", "manufacturer", "school", "university", "agency",
     "institution", "laboratory", "lab", "restaurant", "hotel", "airline", "carrier",
     "brand", "issuer", "acquirer", "retailer", "seller_company", "firm", "corporation",
     "practice", "dealer", "distributor", "publisher", "tenant_org", "workplace"}
)
# Legal forms, lower case: they follow the name (`Acme Corp`), and short ones are given
# names or particles when first (`Co`, `Se`, `Ab`), so they count after the first word.
_LEGAL = (
    r"inc|incorporated|llc|l\.l\.c|ltd|limited|corp|corporation|co|company|plc|llp|lp"
    r"|gmbh|ag|kg|ohg|ug|se|sa|s\.a|sas|sarl|sàrl|srl|s\.r\.l|spa|s\.p\.a|bv|b\.v|nv|n\.v"
    r"|oy|ab|as|a/s|aps|pty|kk|k\.k|pte|sdn|bhd|pvt"
)
# Institution and trade words, anywhere in the value.
_WORDS = (
    r"pharmacy|apotheke|pharmacie|farmacia|drugstore|chemist|hospital|klinik|clinic"
    r"|clinique|medical|health|healthcare|bank|banque|sparkasse|store|stores|shop|market"
    r"|supermarket|mart|group|holdings|holding|foundation|university|college|school"
    r"|institute|services|service|solutions|technologies|technology|systems|software"
    r"|labs|laboratories|laboratory|center|centre|insurance|partners|associates"
    r"|restaurant|hotel|cafe|café|bakery|airlines|airways|industries|international"
    r"|enterprises|consulting|agency|ministry|department|council|association|society"
    r"|church|trust|fund|capital|ventures|media|studio|studios|motors|logistics|energy"
    r"|telecom|communications|networks|pharma|pharmaceuticals"
)
_ORGANISATION_WORD = re.compile(rf"(?<![\w])(?:{_WORDS})\.?(?![\w])", re.IGNORECASE)
_LEGAL_FORM = re.compile(rf"\s,?(?:{_LEGAL})\.?(?![\w])", re.IGNORECASE)


def organisation_shaped(value: str) -> bool:
    """A legal form, an institution word or an `&` in the value."""
    return ("&" in value or _ORGANISATION_WORD.search(value) is not None
            or _LEGAL_FORM.search(value) is not None)


def organisation_path(path_tokens: frozenset[str]) -> bool:
    singular = path_tokens | {t[:-1] for t in path_tokens if t.endswith("s")}
    return not singular.isdisjoint(ORGANISATION_PARENTS)


# Sibling fields only a person has: with one of them the record is a person's even if it
# also names a merchant (an order with the buyer's details).
_PERSON_ONLY = frozenset({"first", "last", "surname", "given", "family", "birth", "gender",
                          "ssn", "passport", "nationality", "patient", "full", "middle",
                          "maiden", "home", "personal", "spouse", "dob"})
# Path words that make the field a person's whatever its siblings say.
_PERSON_PATH = frozenset({"customer", "patient", "person", "user", "member", "employee",
                          "contact", "buyer", "recipient", "shipping", "billing", "owner",
                          "holder", "guest", "passenger", "profile", "client", "home",
                          "personal", "private", "mobile"})


# Every sibling token `organisation_record` asks about, plural forms included (it reads
# `shops` as `shop`): a classifier that calls it declares these (`Classifier.context_words`).
RECORD_WORDS = (ORGANISATION_PARENTS | {word + "s" for word in ORGANISATION_PARENTS}
                | _PERSON_ONLY)


@lru_cache(maxsize=4096)  # asked per value by PHONE_NUMBER; frozensets cache their hash
def organisation_record(path_tokens: frozenset[str], sibling_tokens: frozenset[str]) -> bool:
    """The field is an organisation's: its path names one (`merchant.phone`,
    `merchantAddress`), or its siblings do and nothing in the path or the siblings says
    person (a shop's `tel` next to `shopName`)."""
    if organisation_path(path_tokens):
        return True
    singular = sibling_tokens | {t[:-1] for t in sibling_tokens if t.endswith("s")}
    return (not singular.isdisjoint(ORGANISATION_PARENTS)
            and sibling_tokens.isdisjoint(_PERSON_ONLY)
            and path_tokens.isdisjoint(_PERSON_PATH))
