"""The values `bench/realsoftware_quality.py` sends through real software, written by hand.

Not from the project's lists or generators (the name lists in classifiers/pii/data come
from Faker, tests/corpus/generate.py is in-sample): people from several countries and
scripts with coherent data (e-mail at a real-world or reserved domain, a mobile number
valid for the country in international and national writing, a street address as that
country writes it), card numbers from the networks' published test numbers, IBANs from
the registries' published examples, SSN-shaped numbers that pass the SSA's rules, and
non-sensitive values of the kinds that sit next to them (organisations, SKUs, statuses).

Every value is fiction or a published example; the phone numbers were checked valid with
phonenumbers, the IBANs with python-stdnum, the card numbers with Luhn.
"""

from __future__ import annotations

from typing import NamedTuple


class Person(NamedTuple):
    given: str
    family: str
    email: str
    phone_intl: str
    phone_national: str
    dob: str  # ISO 8601; other formats are derived in `bench/realsoftware_traffic.py`
    street: str
    city: str
    postal_code: str
    country: str
    region: str


PEOPLE: tuple[Person, ...] = (
    Person("Aoife", "Ó Briain", "aoife.obriain@gmail.com", "+353 87 234 5671", "087 234 5671",
           "1988-04-12", "27 Harcourt Street", "Dublin", "D02 H729", "IE", "Leinster"),
    Person("Małgorzata", "Kowalczyk", "m.kowalczyk84@wp.pl", "+48 512 345 678", "512 345 678",
           "1984-11-03", "ul. Marszałkowska 84/92", "Warszawa", "00-514", "PL", "Mazowieckie"),
    Person("Chidi", "Nwosu", "chidi.nwosu@yahoo.com", "+234 803 555 0192", "0803 555 0192",
           "1991-07-22", "12 Adeola Odeku Street", "Lagos", "101241", "NG", "Lagos"),
    Person("Priya", "Raghunathan", "priya.r+orders@outlook.com", "+91 98450 12345",
           "098450 12345", "1979-02-28", "14 Mahatma Gandhi Road", "Bengaluru", "560001", "IN",
           "Karnataka"),
    Person("太郎", "山田", "yamada.taro@docomo.ne.jp", "+81 90-3456-7812", "090-3456-7812",
           "1975-09-09", "渋谷区神南1-2-3", "東京都", "150-0041", "JP", "Tokyo"),
    Person("Дмитрий", "Волков", "d.volkov@mail.ru", "+7 916 123-45-67", "8 916 123-45-67",
           "1982-06-15", "ул. Тверская, д. 7, кв. 12", "Москва", "125009", "RU", "Moscow"),
    Person("Σοφία", "Παπαδοπούλου", "sofia.papadopoulou@otenet.gr", "+30 694 123 4567",
           "694 123 4567", "1993-01-30", "Οδός Ερμού 25", "Αθήνα", "105 63", "GR", "Attica"),
    Person("محمد", "العلي", "m.alali@hotmail.com", "+966 50 123 4567", "050 123 4567",
           "1987-12-01", "طريق الملك فهد 3120", "الرياض", "12271", "SA", "Riyadh"),
    Person("민준", "김", "minjun.kim@naver.com", "+82 10-2345-6789", "010-2345-6789",
           "1996-03-18", "테헤란로 152", "서울", "06236", "KR", "Seoul"),
    Person("Björn", "Lindqvist", "bjorn.lindqvist@telia.se", "+46 70 123 45 67", "070-123 45 67",
           "1970-08-25", "Drottninggatan 53", "Stockholm", "111 21", "SE", "Stockholm"),
    Person("José Luis", "Pérez García", "joseluis.perez@telefonica.es", "+34 612 34 56 78",
           "612 34 56 78", "1965-10-10", "Calle de Alcalá 42, 3º izq.", "Madrid", "28014", "ES",
           "Madrid"),
    Person("Thandiwe", "Mahlangu", "thandi.mahlangu@icloud.com", "+27 82 555 0147",
           "082 555 0147", "1999-05-05", "45 Jan Smuts Avenue", "Johannesburg", "2196", "ZA",
           "Gauteng"),
    Person("Jean-Baptiste", "Lefèvre", "jb.lefevre@free.fr", "+33 6 12 34 56 78",
           "06 12 34 56 78", "1980-12-24", "14 rue de la Paix", "Paris", "75002", "FR",
           "Île-de-France"),
    Person("Lukas", "van der Berg", "l.vanderberg@ziggo.nl", "+31 6 12345678", "06-12345678",
           "1990-02-14", "Prinsengracht 263", "Amsterdam", "1016 GV", "NL", "Noord-Holland"),
    Person("Emily", "Fitzgerald", "emily.fitz@example.com", "+1 (415) 555-0132",
           "(415) 555-0132", "1986-07-04", "1600 Amphitheatre Parkway", "Mountain View",
           "94043", "US", "CA"),
    Person("Oluwaseun", "Adeyemi", "seun.adeyemi@proton.me", "+44 7911 123456", "07911 123456",
           "1994-09-30", "Flat 4, 221B Baker Street", "London", "NW1 6XE", "GB", "England"),
    Person("Hans-Jürgen", "Müller", "hj.mueller@web.de", "+49 151 23456789", "0151 23456789",
           "1958-03-17", "Hauptstraße 5", "Berlin", "10115", "DE", "Berlin"),
    Person("Lan", "Nguyễn", "lan.nguyen@gmail.com", "+84 912 345 678", "0912 345 678",
           "1997-11-11", "12 Lý Thái Tổ", "Hà Nội", "100000", "VN", "Hà Nội"),
    Person("Ana Clara", "Souza", "anaclara.souza@uol.com.br", "+55 11 91234-5678",
           "(11) 91234-5678", "1989-06-06", "Av. Paulista, 1578", "São Paulo", "01310-200", "BR",
           "SP"),
    Person("Kwame", "Mensah", "kwame.mensah@example.org", "+233 24 412 3456", "024 412 3456",
           "1983-04-01", "7 Independence Avenue", "Accra", "GA-110-1234", "GH", "Greater Accra"),
    # Real names that are in neither of the project's name lists (given nor family): most
    # common names of the countries above are, since Faker draws on real name statistics.
    Person("Siobhán", "Mac Giolla Phádraig", "siobhan.macgp@eircom.net", "+353 86 417 2093",
           "086 417 2093", "1977-01-19", "3 Bóthar na Trá", "Gaillimh", "H91 E2K3", "IE",
           "Connacht"),
    Person("Aigerim", "Yusupova", "aigerim.yusupova@mail.kz", "+7 701 234 5678",
           "8 (701) 234 5678", "1992-10-08", "пр. Абая, 52", "Алматы", "050008", "KZ", "Almaty"),
    Person("Pema", "Wangchuk", "pema.wangchuk@druknet.bt", "+975 17 12 34 56", "17 12 34 56",
           "1985-05-21", "Norzin Lam 14", "Thimphu", "11001", "BT", "Thimphu"),
    Person("Mele", "Fifita", "mele.fifita@kalianet.to", "+676 771 2345", "771 2345",
           "1998-08-13", "Taufa'ahau Road", "Nuku'alofa", "00676", "TO", "Tongatapu"),
    Person("Ikaika", "Kahananui", "ikaika.k@hawaiiantel.net", "+1 808 294 6613",
           "(808) 294-6613", "1981-11-29", "1450 Ala Moana Blvd", "Honolulu", "96814", "US", "HI"),
    Person("Rangi", "Parata", "rangi.parata@xtra.co.nz", "+64 21 123 4567", "021 123 4567",
           "1973-03-02", "12 Tainui Street", "Rotorua", "3010", "NZ", "Bay of Plenty"),
    Person("Yerlan", "Karimov", "y.karimov@example.kz", "+7 777 345 6789", "8 (777) 345 6789",
           "1968-12-30", "ул. Достык, 105", "Астана", "010000", "KZ", "Astana"),
)

# Test logins at reserved and staging domains (test data is data: spec, "Test data is data").
TEST_LOGINS: tuple[str, ...] = (
    "qa.user7@example.org", "staging-buyer@example.net", "loadtest+42@test.example.com",
    "demo.customer@example.com", "alice.tester@example.co.uk", "e2e-runner-3@example.io",
)

# The card networks' published test numbers (Visa, Mastercard, Amex, Discover, JCB, Diners,
# UnionPay), some grouped as a form would send them.
CARDS: tuple[str, ...] = (
    "4111111111111111", "4012 8888 8888 1881", "4242424242424242", "5555555555554444",
    "5105 1051 0510 5100", "2223003122003222", "378282246310005", "3714 496353 98431",
    "6011111111111117", "6011000990139424", "3530111333300000", "3566 0020 2036 0505",
    "30569309025904", "38520000023237", "6200000000000005",
)

# Published example IBANs (each country's registry entry).
IBANS: tuple[str, ...] = (
    "GB82WEST12345698765432", "DE89370400440532013000", "FR1420041010050500013M02606",
    "NL91ABNA0417164300", "ES9121000418450200051332", "IT60X0542811101000000123456",
    "AT611904300234573201", "CH9300762011623852957", "PL61109010140000071219812874",
    "IE29AIBK93115212345678",
)

# SSN-shaped numbers the SSA could issue (area not 000/666/9xx, group and serial not 0).
SSNS: tuple[str, ...] = (
    "512-38-2746", "671-20-4419", "401-55-9032", "288-71-6604", "145-62-3398", "530-14-8821",
    "742-09-1156", "318-47-2290",
)

PASSWORDS: tuple[str, ...] = (
    "Tr0ub4dor&3", "correct horse battery staple", "Sommer2025!", "p@ssW0rd-lagos",
    "kX9#mQ2v!zL", "ilovemycat1987", "Zima_2024_Wroclaw", "hunter2hunter2",
)

# Organisations: the `name` of a merchant, company, employer, pharmacy, hospital.
ORGANISATIONS: tuple[str, ...] = (
    "Bäckerei Schneider GmbH", "Nordwind Logistics AG", "Café Lumière SARL",
    "Green Valley Pharmacy", "St. Brigid's University Hospital", "Tokyo Ramen Ichiban",
    "Acme Hardware Ltd", "Lagos Fresh Mart", "Oficina Técnica Ibérica S.L.",
    "Blue Harbour Dental Clinic", "Kowalski i Synowie Sp. z o.o.", "Sunrise Electronics Inc.",
)

DEPARTMENTS: tuple[str, ...] = ("Finance", "Logistics", "Customer Care", "R&D", "Legal")
STATUSES: tuple[str, ...] = ("active", "pending", "suspended", "closed")
PAYMENT_STATUSES: tuple[str, ...] = ("AUTHORISED", "DECLINED", "PENDING_3DS", "CAPTURED")
TIERS: tuple[str, ...] = ("bronze", "silver", "gold", "platinum")
CURRENCIES: tuple[str, ...] = ("EUR", "USD", "GBP", "JPY", "PLN", "BRL")
LOCALES: tuple[str, ...] = ("en-IE", "pl-PL", "ja-JP", "de-DE", "pt-BR", "es-ES")
CHANNELS: tuple[str, ...] = ("web", "ios", "android", "pos")
ROLES: tuple[str, ...] = ("viewer", "editor", "admin", "billing")
GENDERS: tuple[str, ...] = ("female", "male", "other", "unknown")
# Merchant category codes (ISO 18245) and product SKUs as shops write them.
MCCS: tuple[str, ...] = ("5411", "5812", "5912", "8062", "5732", "5251")
SKUS: tuple[str, ...] = (
    "SKU-48213-BLK", "TSHIRT-M-NAVY", "B07XJ8C8F5", "978-0-306-40615-7", "HDMI-2M-V21",
    "COF-ETH-250G", "LEGO-42115",
)
NOTES: tuple[str, ...] = (
    "Leave the parcel at the back door", "Gift wrap please", "Deliver after 6pm",
    "Second attempt, customer was out", "",
)
