"""EMAIL_ADDRESS: RFC 5322 addr-spec shape (RFC 6531 internationalised), in whole values
and inside free text; at reserved example domains (RFC 2606/6761) whole values count
(spec: "Test data is data"), mentions in free text only with a hint."""

from __future__ import annotations

import pytest

from classifiers.pii.email_address import EmailAddressClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = EmailAddressClassifier()


POSITIVES = [
    # (value, field path, minimum confidence)
    ("jane.doe@shop-mail.io", "email", 0.95),
    ("jane.doe@shop-mail.io", "contact", 0.8),
    ("j.o+tag@sub.domain.co.uk", "user.mail", 0.95),
    ("ÄNNE@bücher.de", "", 0.8),  # RFC 6531: UTF-8 local part and IDN domain
    ("x_y-z@xn--bcher-kva.de", "", 0.8),
    ("please write to sam.fake@corp-mail.net today", "comment", 0.7),
    ("mailto:ops.team@corp-mail.net", "link", 0.7),
    # Reserved example domain: still a hit when the field is named e-mail.
    ("alice@example.com", "emailAddress", 0.6),
    # Test data is data: a whole value at an example domain, whatever the field.
    ("carol@example.org", "note", 0.8),
    ("sam@example.net", "", 0.8),
    ("kafka-user@shop.test", "key", 0.8),
    ("bob@mailhost.test", "user_email", 0.6),
]

NEGATIVES = [
    ("no at sign here", "email"),
    ("@handle", "twitter"),
    ("user@localhost", "email"),  # no dot-separated domain with a TLD
    ("icon@2x.png", "image"),  # retina asset name, TLD is a file extension
    ("pkg@1.2.3", "dependency"),
    ("https://user:secret@host-a.net/x", "url"),  # URL userinfo, not an address
    ("a..b@corp-mail.net", "email"),  # consecutive dots are not a valid local part
    (".ab@corp-mail.net", "email"),
    ("123e4567-e89b-12d3-a456-426614174000", "id"),
    # Example domains in free text with no hint: below the reporting threshold.
    ("see alice@example.com for details", "description"),
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_positive_is_found(value: str, path: str, minimum: float) -> None:
    found = assert_reported(CLF.score(value, ctx(path)), minimum)
    assert found.data_type == "EMAIL_ADDRESS"


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_near_miss_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


def test_free_text_match_has_span_of_address() -> None:
    text = "please write to sam.fake@corp-mail.net today"
    found = CLF.score(text, ctx("comment"))
    assert found is not None and found.span is not None
    assert text[found.span[0] : found.span[1]] == "sam.fake@corp-mail.net"


def test_example_domain_reason_says_so() -> None:
    found = CLF.score("alice@example.com", ctx("email"))
    assert found is not None
    assert "example" in found.reason


def test_hint_raises_confidence() -> None:
    plain = CLF.score("jane.doe@shop-mail.io", ctx("contact"))
    hinted = CLF.score("jane.doe@shop-mail.io", ctx("email"))
    assert plain is not None and hinted is not None
    assert hinted.confidence > plain.confidence


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    local = value.split("@")[0].split()[-1]
    assert_reason_hides(CLF.score(value, ctx(path)), value, local)


def test_paths_and_ssh_urls_are_not_addresses() -> None:
    from classifiers.base import FieldContext as _Ctx
    from classifiers.pii.email_address import EmailAddressClassifier as _Clf

    for value in ("/var/log/rabbitmq/rabbit@BLN01SM0001.log",
                  "git+ssh://git@github.com/acme/widgets.git", "logs/user@host.example.org"):
        found = _Clf().score(value, _Ctx(path="log_file"))
        assert found is None, value
