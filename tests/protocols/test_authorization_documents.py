"""Authorization credentials that are JSON documents (issue #15, a mobile payment app's
`Authorization: Basic {"sessionKey": ..., "productNo": ...}`): the value keeps its own
pair and every scalar inside is a value of the header field itself, carried by it
(`CarrierValue.inside`, named by its key for the classifiers); base64 of such a
document too. Other credentials (RFC 7617 `user:password`, bearer tokens, JSON in other
headers) are decoded as before. Synthetic values only."""

from __future__ import annotations

import base64

import orjson
import pytest

from protocols._embedded import CarrierValue, with_inside
from protocols.base import Limits, Location, MediaType, Part
from protocols.payload import field_pairs

TOKEN = "9f86d081884c7d659a2feaa0c55ad015"
EMAIL = "jane.roe@mail.example"
DOCUMENT = orjson.dumps(
    {"productNo": "15550001234", "sessionKey": TOKEN, "device": {"ip": "198.51.100.7"},
     "latitude": 31.5, "flags": [True, None]}
).decode()  # fmt: skip


def _pairs(name: str, value: str, location: Location = Location.HEADER) -> list[tuple[str, str]]:
    part = Part(location=location, name=name, data=value.encode(), media_type=MediaType.TEXT)
    return field_pairs(part, Limits())


@pytest.mark.parametrize(
    "credentials",
    [DOCUMENT, base64.b64encode(DOCUMENT.encode()).decode(),
     base64.urlsafe_b64encode(DOCUMENT.encode()).decode().rstrip("=")],
    ids=["json", "base64", "base64url"],
)  # fmt: skip
@pytest.mark.parametrize("name", ["authorization", "proxy-authorization"])
def test_document_credentials_are_values_of_the_header(name: str, credentials: str) -> None:
    value = f"Basic {credentials}"
    pairs = _pairs(name, value)
    # One value of the header: the scalars inside do not dilute the field's values.
    assert pairs == [(name, value)]
    carrier = pairs[0][1]
    assert type(carrier) is CarrierValue
    assert sorted(carrier.inside) == sorted(
        [(f"{name}.productNo", "15550001234"), (f"{name}.sessionKey", TOKEN),
         (f"{name}.device.ip", "198.51.100.7"), (f"{name}.latitude", "31.5")]
    )  # fmt: skip


def test_grpc_metadata_authorization_document() -> None:
    pairs = _pairs("authorization", f"Token {DOCUMENT}", Location.METADATA)
    assert ("authorization.sessionKey", TOKEN) in with_inside(pairs)


def test_json_strings_inside_the_document_are_opened_too() -> None:
    inner = orjson.dumps({"user": orjson.dumps({"email": EMAIL}).decode()}).decode()
    pairs = _pairs("authorization", f"Basic {inner}")
    assert ("authorization.user.email", EMAIL) in with_inside(pairs)


@pytest.mark.parametrize(
    "value",
    [
        "Basic " + base64.b64encode(b"amy:Corr3ct-Horse").decode(),  # RFC 7617
        f"Bearer {TOKEN}",
        "Basic {not json}",
        "Basic " + base64.b64encode(b"[not json").decode(),
        "{" + " " * 10 + "}",  # no scheme
        "Digest username=\"amy\", realm=\"x\", response=\"" + TOKEN + "\"",
    ],
)
def test_other_credentials_stay_one_value(value: str) -> None:
    pairs = _pairs("authorization", value)
    assert pairs == [("authorization", value)]
    assert type(pairs[0][1]) is str


def test_other_headers_keep_json_paths() -> None:
    # JSON in any other header is still named below the header (`x-user.email`).
    assert _pairs("x-user", f"Basic {orjson.dumps({'email': EMAIL}).decode()}") == [
        ("x-user", f"Basic {orjson.dumps({'email': EMAIL}).decode()}")
    ]
    assert _pairs("x-user", orjson.dumps({"email": EMAIL}).decode()) == [("x-user.email", EMAIL)]


def test_cookie_named_authorization_is_not_a_header() -> None:
    value = f"Basic {DOCUMENT}"
    assert _pairs("authorization", value, Location.COOKIE) == [("authorization", value)]
