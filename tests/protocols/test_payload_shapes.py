"""Payload shapes real APIs use beyond JSON and forms (issue #15 items 6, 7, 9, 11): XML
and SOAP bodies, multipart/related, JSON inside strings, signed URLs, base64 wrappers,
names that embed data. Parts in, (field, value) pairs out, through `field_pairs` as the
engine calls it (a value carried by another, `CarrierValue`, right after its carrier).
Values are synthetic."""

from __future__ import annotations

import base64
import random
from collections import Counter

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols._embedded import CarrierValue, decoded_base64_text, with_inside
from protocols._http_headers import media_type_for_body
from protocols._templated_names import templated_name
from protocols._xml import XML_MEDIA_TYPE
from protocols.base import Limits, Location, MediaType, Part
from protocols.payload import field_pairs

LIMITS = Limits()

SOAP = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soap:Body><m:order xmlns:m=\"urn:shop\" id=\"A-17\">"
    b"<m:customer><m:name>Jane Roe</m:name><m:email>jane.roe@shop.example</m:email>"
    b"</m:customer><m:card number=\"4111111111111111\"/></m:order></soap:Body></soap:Envelope>"
)


def pairs(data: bytes, media: str, location: Location = Location.BODY, name: str = "",
          hits: Counter[str] | None = None, damage: Counter[str] | None = None
          ) -> list[tuple[str, str]]:
    part = Part(location=location, name=name, data=data, media_type=media)
    return with_inside(field_pairs(part, LIMITS, None, hits, damage))


# -- XML -----------------------------------------------------------------------------------


def test_soap_envelope_gives_element_paths_without_prefixes_and_attributes() -> None:
    assert pairs(SOAP, XML_MEDIA_TYPE) == [
        ("Envelope.Body.order.@id", "A-17"),
        ("Envelope.Body.order.customer.name", "Jane Roe"),
        ("Envelope.Body.order.customer.email", "jane.roe@shop.example"),
        ("Envelope.Body.order.card.@number", "4111111111111111"),
    ]


def test_xml_content_types_map_to_the_xml_decoder() -> None:
    for ctype in ("text/xml; charset=utf-8", "application/xml", "application/soap+xml",
                  "application/atom+xml"):
        assert media_type_for_body(ctype, SOAP) == XML_MEDIA_TYPE, ctype
    # Pages and pictures stay undecoded, as HTML does.
    assert media_type_for_body("application/xhtml+xml", SOAP) == MediaType.BINARY
    assert media_type_for_body("image/svg+xml", SOAP) == MediaType.BINARY


def test_escaped_xml_inside_an_element_is_parsed_below_it() -> None:
    inner = b"&lt;user&gt;&lt;email&gt;sam@shop.example&lt;/email&gt;&lt;/user&gt;"
    cdata = b"<![CDATA[<card><pan>4111111111111111</pan></card>]]>"
    body = (b"<Envelope><Body><GetUserResponse><GetUserResult>" + inner +
            b"</GetUserResult><Raw>" + cdata + b"</Raw></GetUserResponse></Body></Envelope>")
    assert pairs(body, XML_MEDIA_TYPE) == [
        ("Envelope.Body.GetUserResponse.GetUserResult.user.email", "sam@shop.example"),
        ("Envelope.Body.GetUserResponse.Raw.card.pan", "4111111111111111"),
    ]


def test_markup_in_an_element_that_is_no_document_stays_text() -> None:
    body = b"<note><text>&lt;b&gt;bold &lt;i&gt; unclosed</text></note>"
    assert pairs(body, XML_MEDIA_TYPE) == [("note.text", "<b>bold <i> unclosed")]


def test_dtd_and_entities_are_refused_never_expanded() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>')
    damage: Counter[str] = Counter()
    found = pairs(bomb, XML_MEDIA_TYPE, damage=damage)
    assert damage["xml_forbidden"] == 1
    # Nothing was parsed: the raw text is classified as one value, unexpanded.
    assert found == [("", bomb.decode())]
    xxe = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    damage.clear()
    assert all("root:" not in v for _, v in pairs(xxe, XML_MEDIA_TYPE, damage=damage))
    assert damage["xml_forbidden"] == 1


def test_cut_xml_gives_what_was_read_and_counts_the_damage() -> None:
    damage: Counter[str] = Counter()
    found = pairs(SOAP[:-60], XML_MEDIA_TYPE, damage=damage)
    assert ("Envelope.Body.order.customer.email", "jane.roe@shop.example") in found
    assert damage["xml_syntax_error"] == 1


def test_xml_depth_and_field_limits_hold() -> None:
    deep = b"<a>" * 200 + b"x" + b"</a>" * 200
    hits: Counter[str] = Counter()
    assert pairs(deep, XML_MEDIA_TYPE, hits=hits) == []
    assert hits["xml_depth_limit"] == 1
    wide = b"<r>" + b"<v>1</v>" * 50_000 + b"</r>"
    hits.clear()
    assert len(pairs(wide, XML_MEDIA_TYPE, hits=hits)) == LIMITS.max_fields_per_part
    assert hits["fields_limit"] == 1


def test_unbound_prefixes_are_dropped() -> None:
    assert pairs(b"<s:a><s:b>v</s:b></s:a>", XML_MEDIA_TYPE) == [("a.b", "v")]


# -- multipart/related ---------------------------------------------------------------------


def test_multipart_related_parts_by_their_content_type() -> None:
    boundary = "rel-42"
    body = (
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n"
        '{"name": "report.pdf", "owner": {"email": "ann@shop.example"}}\r\n'
        f"--{boundary}\r\nContent-Type: application/xop+xml\r\n\r\n"
        "<meta><phone>+44 20 7946 0958</phone></meta>\r\n"
        f"--{boundary}\r\nContent-Type: image/png\r\n\r\n"
        "\x89PNG-not-text\r\n"
        f"--{boundary}--\r\n"
    ).encode("latin-1")
    media = media_type_for_body(f'multipart/related; type="application/json"; boundary={boundary}', body)
    assert pairs(body, media) == [
        ("name", "report.pdf"), ("owner.email", "ann@shop.example"),
        ("meta.phone", "+44 20 7946 0958"),
    ]


def test_plain_text_body_is_one_text_value() -> None:
    text = b"Please call Jane at +1 415 555 0100 about order 17."
    assert pairs(text, media_type_for_body("text/plain", text)) == [("", text.decode())]


def test_json_rpc_content_type_is_json() -> None:
    body = orjson.dumps({"jsonrpc": "2.0", "method": "user.get", "params": {},
                         "auth": "0424bd59b807674191e7d77572075f33", "id": 1})
    found = pairs(body, media_type_for_body("application/json-rpc", body))
    assert ("auth", "0424bd59b807674191e7d77572075f33") in found


# -- JSON inside strings -------------------------------------------------------------------


def test_json_document_in_a_json_string_is_walked_below_its_field() -> None:
    inner = orjson.dumps({"user": "amy", "password": "s3cret-Pa55", "tags": ["a"]}).decode()
    body = orjson.dumps({"event": "login", "payload": inner})
    assert pairs(body, MediaType.JSON) == [
        ("event", "login"), ("payload.user", "amy"), ("payload.password", "s3cret-Pa55"),
        ("payload.tags[]", "a"),
    ]


def test_json_in_a_header_a_form_value_and_a_cookie() -> None:
    doc = '{"email": "ben@shop.example"}'
    assert pairs(doc.encode(), MediaType.TEXT, Location.HEADER, "x-user-context") == [
        ("x-user-context.email", "ben@shop.example")
    ]
    form = b"state=%7B%22email%22%3A%22ben%40shop.example%22%7D&go=1"
    assert pairs(form, MediaType.FORM, Location.QUERY) == [
        ("state.email", "ben@shop.example"), ("go", "1")
    ]
    cookie = b"%7B%22email%22%3A%22ben%40shop.example%22%7D"
    assert pairs(cookie, MediaType.TEXT, Location.COOKIE, "prefs") == [
        ("prefs.email", "ben@shop.example")
    ]


def test_text_that_only_looks_like_json_stays_one_value() -> None:
    assert pairs(b"[not json]", MediaType.TEXT, Location.HEADER, "x-note") == [
        ("x-note", "[not json]")
    ]


# -- signed URLs ---------------------------------------------------------------------------


def test_signed_url_parameters_are_sub_fields_and_the_url_stays() -> None:
    url = ("https://bucket.s3.amazonaws.com/k.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
           "&X-Amz-Signature=" + "ab12" * 16 + "&X-Amz-Expires=300")
    body = orjson.dumps({"download_url": url})
    assert pairs(body, MediaType.JSON) == [
        ("download_url", url),
        ("download_url.X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/s3/aws4_request"),
        ("download_url.X-Amz-Signature", "ab12" * 16),
    ]
    location = b"/callback?code=1&access_token=Zx81bQ4pLw0e7Rt2Yk9s&state=x"
    assert pairs(location, MediaType.TEXT, Location.HEADER, "location")[1:] == [
        ("location.access_token", "Zx81bQ4pLw0e7Rt2Yk9s")
    ]


def test_a_bare_signature_brings_its_urls_expiry_and_signer_along() -> None:
    # Azure SAS and CloudFront: the evidence that the signature grants access is in the
    # same URL; it becomes sub-fields beside the signature, other parameters do not.
    sas = ("https://acct.blob.core.windows.net/c/b?sv=2020-08-04&se=2031-01-01T00%3A00%3A00Z"
           "&sr=b&sp=r&sig=Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh%3D")
    cloudfront = ("https://cdn.example/i.jpg?Expires=1900000000&Signature=Zx81bQ4pLw0e7Rt2"
                  "&Key-Pair-Id=K2JCJMDEHXQW5F&w=200")
    body = orjson.dumps({"az1": sas, "cf": cloudfront})
    assert pairs(body, MediaType.JSON) == [
        ("az1", sas), ("az1.sv", "2020-08-04"), ("az1.se", "2031-01-01T00:00:00Z"),
        ("az1.sp", "r"), ("az1.sig", "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh="),
        ("cf", cloudfront), ("cf.Expires", "1900000000"), ("cf.Signature", "Zx81bQ4pLw0e7Rt2"),
        ("cf.Key-Pair-Id", "K2JCJMDEHXQW5F"),
    ]
    # Without a bare signature, an expiry stays inside the URL.
    url = "https://files.example/7?expires=9&access_token=Zx81bQ4pLw0e7Rt2Yk9s"
    assert pairs(orjson.dumps({"u": url}), MediaType.JSON) == [
        ("u", url), ("u.access_token", "Zx81bQ4pLw0e7Rt2Yk9s")]


def test_urls_without_signature_parameters_add_nothing() -> None:
    referer = b"http://shop.example/screens.php?ddreset=1&sid=de0f11aa22"
    assert pairs(referer, MediaType.TEXT, Location.HEADER, "referer") == [
        ("referer", referer.decode())
    ]


# -- base64 wrappers -----------------------------------------------------------------------


def test_base64_text_is_classified_at_the_same_field_beside_the_original() -> None:
    raw = base64.b64encode(b"carol.jones@shop.example").decode()
    assert pairs(raw.encode(), MediaType.TEXT, Location.HEADER, "x-data") == [
        ("x-data", raw), ("x-data", "carol.jones@shop.example")
    ]


def test_url_safe_base64_json_gives_fields_below_the_field() -> None:
    raw = base64.urlsafe_b64encode(b'{"sub": "dan", "email": "dan@shop.example"}').rstrip(b"=")
    found = pairs(raw, MediaType.TEXT, Location.COOKIE, "profile")
    assert found == [("profile", raw.decode()), ("profile.sub", "dan"),
                     ("profile.email", "dan@shop.example")]


def test_base64_user_password_in_a_cookie_names_the_password() -> None:
    raw = base64.b64encode(b"alice:Tr0ub4dor&3").decode()
    found = pairs(raw.encode(), MediaType.TEXT, Location.COOKIE, "remember")
    assert ("remember.password", "Tr0ub4dor&3") in found
    assert ("remember", "alice:Tr0ub4dor&3") in found


def test_random_tokens_hex_and_words_are_not_opened() -> None:
    for value in ("hevg1p9b21l70jqd3od9pt0503", "0424bd59b807674191e7d77572075f33",
                  "internationalization", "dGhpcyBpcyBub3Q" + "\u00e9"):
        assert decoded_base64_text(value) is None, value
    assert pairs(b"0424bd59b807674191e7d77572075f33", MediaType.TEXT, Location.COOKIE,
                 "sid") == [("sid", "0424bd59b807674191e7d77572075f33")]


def test_nested_wrappers_stop_at_the_bound() -> None:
    level = b'{"email": "eve@shop.example"}'
    for _ in range(6):
        level = base64.b64encode(level)
    found = pairs(level, MediaType.TEXT, Location.HEADER, "x-blob")
    assert all("eve@shop.example" not in value for _, value in found)
    assert len(found) <= 3


# -- names that embed data ------------------------------------------------------------------


def test_cookie_and_parameter_names_that_embed_data_are_templated() -> None:
    cases = {
        "jupyterhub-user-christian": "jupyterhub-user-{key}",
        "wordpress_logged_in_9a8b7c6d5e4f30211234567890abcdef": "wordpress_logged_in_{key}",
        "SESSd41d8cd98f00b204e9800998ecf8427e": "SESS{key}",
        "SSESSd41d8cd98f00b204e9800998ecf8427e": "SSESS{key}",
        "wp-settings-time-1": "wp-settings-time-{key}",
        "cart_20240131": "cart_{key}",
    }
    for name, expected in cases.items():
        assert templated_name(name) == expected, name
    for name in ("PHPSESSID", "ui-tabs-1", "address_2", "line1", "sha256", "_ga", "zbx_sessionid"):
        assert templated_name(name) == name
    cookie = pairs(b"x", MediaType.TEXT, Location.COOKIE, "wordpress_sec_" + "0f" * 16)
    assert cookie == [("wordpress_sec_{key}", "x")]
    form = pairs(b"SESS0123456789abcdef0123=1&PASSWORD=pw", MediaType.FORM)
    assert form == [("SESS{key}", "1"), ("PASSWORD", "pw")]


def test_drupal_session_names_keep_their_prefix_whatever_the_hash() -> None:
    # About half of random `SESS<md5>` names read as random ids as a whole (case changes):
    # the word before the hex still says which part is data.
    rng = random.Random(15)
    for _ in range(500):
        digest = "".join(rng.choice("0123456789abcdef") for _ in range(32))
        assert templated_name("SESS" + digest) == "SESS{key}", digest
        assert templated_name("SSESS" + digest) == "SSESS{key}", digest
    # A hash alone (its first letters are hex digits) is still one placeholder.
    assert templated_name("deadbeef0123456789abcdef01234567") == "{key}"
    assert templated_name("Ab3fXk9Qz1Lm8Np2Rt5Vw7") == "{key}"


# -- bounds under any input ----------------------------------------------------------------

SMALL = Limits(max_fields_per_part=20, max_value_chars=64, max_depth=8, max_path_chars=80)


def _in_bounds(found: list[tuple[str, str]]) -> None:
    assert len(found) <= SMALL.max_fields_per_part
    for _, value in found:
        if type(value) is CarrierValue:
            assert len(value.inside) <= SMALL.max_fields_per_part
    for path, value in with_inside(found):
        assert isinstance(path, str) and isinstance(value, str)
        assert len(value) <= SMALL.max_value_chars
        assert len(path) <= SMALL.max_path_chars + 1  # + the cut mark


_XML_BITS = st.sampled_from([b"<a>", b"</a>", b"<b x='1'>", b"</b>", b"&lt;c&gt;", b"&lt;/c&gt;",
                             b"<![CDATA[<d>", b"]]>", b"<!DOCTYPE a>", b"text", b"<e/>", b"\xff"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_XML_BITS, max_size=60) | st.lists(st.binary(max_size=30), max_size=8))
def test_any_xml_like_bytes_stay_in_bounds(bits: list[bytes]) -> None:
    part = Part(location=Location.BODY, name="", data=b"".join(bits), media_type=XML_MEDIA_TYPE)
    _in_bounds(field_pairs(part, SMALL))


_WRAPPED = st.recursive(
    st.text(max_size=30) | st.just('{"password": "x"}'),
    lambda inner: inner.map(lambda t: base64.b64encode(t.encode()).decode())
    | inner.map(lambda t: orjson.dumps({"v": t, "w": [t, t]}).decode())
    | inner.map(lambda t: "https://h.example/p?sig=" + t[:20] + "&token=" + t[:20]),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WRAPPED, max_size=12))
def test_values_inside_values_stay_in_bounds(values: list[str]) -> None:
    body = orjson.dumps({f"k{i}": v for i, v in enumerate(values)})
    part = Part(location=Location.BODY, name="", data=body, media_type=MediaType.JSON)
    _in_bounds(field_pairs(part, SMALL))
    cookie = Part(location=Location.COOKIE, name="c", data=body, media_type=MediaType.TEXT)
    _in_bounds(field_pairs(cookie, SMALL))
