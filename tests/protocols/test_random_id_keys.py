"""Object keys that are random ids (issue #15: Elasticsearch's `nodes.<node id>` maps hold
one node, so the map rule never sees three keys): `protocols._json_keys` templates a
16+ character base64url key that reads as random to `{key}` on its own, and keeps every
real field name with digits a name: the 373 names of `field_names.txt` (the keys of the
repository's captures, the shared captures, the held-out captures and the corpus, and
names as public APIs write them)."""

from __future__ import annotations

import random
import string
from pathlib import Path

import orjson
import pytest

from protocols._json_keys import DATA, key_class
from protocols.base import Limits, Location, MediaType, Part
from protocols.payload import field_pairs

NAMES = [
    line.strip()
    for line in (Path(__file__).parent / "field_names.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
BASE64URL = string.ascii_letters + string.digits + "-_"
# Ids as real services write them: Elasticsearch node ids (base64url of 16 random bytes)
# and document ids (time-based flake ids), nanoid's README example, a Firebase push id,
# Stripe object ids after their type prefix.
REAL_IDS = [
    "YsYS37z_QFm6_g_IacfMRw", "rL0Y20zC-Fzt72VPzMSk2A", "AVrY5u0ekvbRXkA3lHbz",
    "8KcbwXQBQ3K5JYrpBpLT", "V1StGXR8_Z5jdHi6B-myT", "-KaNRk4vqK9rVzgA2gyT",
    "ch_3MmlLrLkdIwHu7ix0snN0B15", "pi_3N4b2c2eZvKYlo2C0lY7b1Wn",
]  # fmt: skip


def test_the_name_list_is_long_and_has_the_hard_cases() -> None:
    assert len(NAMES) >= 300 and len(set(NAMES)) == len(NAMES)
    for hard in ("sha256Fingerprint", "ipV4Address", "line2Street", "oauth2ClientSecret",
                 "Tls12EcdheRsaAes128GcmSha256", "GlobalIPv6PrefixLen", "addressLine1Check"):
        assert hard in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_real_field_names_stay_names(name: str) -> None:
    assert key_class(name) != DATA


@pytest.mark.parametrize("key", REAL_IDS)
def test_real_random_ids_are_data(key: str) -> None:
    assert key_class(key) == DATA


@pytest.mark.parametrize("length", [16, 20, 22, 27, 32])
def test_most_random_base64url_keys_are_data(length: int) -> None:
    rng = random.Random(length)
    keys = ["".join(rng.choice(BASE64URL) for _ in range(length)) for _ in range(2000)]
    share = sum(key_class(k) == DATA for k in keys) / len(keys)
    assert share >= 0.7


@pytest.mark.parametrize(
    "key",
    ["ysys37zqfm6giacfmrw1234",  # no upper case
     "YSYS37ZQFM6GIACFMRW1234",  # no lower case
     "YsYSzQFmgIacfMRwAbCdEfG",  # no digit
     "YsYS37z.QFm6_g_IacfMRw",  # not the base64url alphabet
     "YsYS37z_QFm6_g_Ia"[:15]],  # too short
)  # fmt: skip
def test_random_looking_keys_outside_the_rule_are_not_data(key: str) -> None:
    assert key_class(key) != DATA


def test_node_id_map_of_one_node_is_templated_in_a_body() -> None:
    body = {"cluster_name": "elasticsearch",
            "nodes": {"YsYS37z_QFm6_g_IacfMRw": {"name": "Spellbinder", "ip": "192.0.2.7",
                                                 "sha256Fingerprint": "ab"}}}  # fmt: skip
    part = Part(location=Location.BODY, name="", data=orjson.dumps(body),
                media_type=MediaType.JSON)  # fmt: skip
    paths = [path for path, _ in field_pairs(part, Limits())]
    assert paths == ["cluster_name", "nodes.{key}", "nodes.{key}.name", "nodes.{key}.ip",
                     "nodes.{key}.sha256Fingerprint"]  # fmt: skip


def test_keys_and_names_that_are_data_are_not_kept_in_the_caches() -> None:
    """The classes and templated names of keys are cached for names only: a key that is
    an e-mail address or a random id, or a cookie name that embeds a user name, is a value
    from the traffic and must not outlive the body it came in."""
    from protocols import _json_keys, _templated_names
    from protocols._templated_names import templated_name

    for key in ("jane.roe@example.com", "Ml8qXYwYSvSoz7Bz8t8z2Q", "2.0.0-beta.3", "email"):
        _json_keys.key_class(key)
    assert "email" in _json_keys._CACHE
    kept = set(_json_keys._CACHE) | _json_keys.PLAIN_NAMES
    assert not {"jane.roe@example.com", "Ml8qXYwYSvSoz7Bz8t8z2Q", "2.0.0-beta.3"} & kept
    assert templated_name("wp-settings-time-42") != "wp-settings-time-42"
    assert templated_name("session") == "session"
    assert "wp-settings-time-42" not in _templated_names._CACHE
    assert "session" in _templated_names._CACHE
