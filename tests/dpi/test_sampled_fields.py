"""A field's values past SETTLE_CLEAN_AFTER are sampled only while the field has no hit:
one long array in one message is checked value by value, so its hits after the first
are all counted (an npm registry answer's 715 contributor e-mail addresses in one body
were counted as 284 when the sample was fixed before any value was scored)."""

from __future__ import annotations

import json
from pathlib import Path

from dpi.api import scan_engine
from dpi.inventory import SETTLE_CLEAN_AFTER
from tests.builders.conversation import Conversation, http_request, http_response

ADDRESSES = 400  # past SETTLE_CLEAN_AFTER in one array
CLEAN = 300  # clean notes before the first address in another array


def _capture(path: Path) -> Path:
    emails = [f"buyer{i}.whitfield@mail.shopper-demo.net" for i in range(ADDRESSES)]
    notes = [f"order {i} packed" for i in range(CLEAN)] + emails[:100]
    body = json.dumps({"contacts": [{"email": e} for e in emails], "notes": notes}).encode()
    conv = Conversation().handshake()
    conv.request(http_request("GET", "/v1/contacts"))
    conv.response(http_response(body))
    return conv.close().write(path)


def test_a_long_array_is_counted_in_full_from_its_first_hit(tmp_path: Path) -> None:
    assert ADDRESSES > SETTLE_CLEAN_AFTER and CLEAN > SETTLE_CLEAN_AFTER
    engine = scan_engine(_capture(tmp_path / "contacts.pcap"), strict=True)
    counts = {(row.field, row.data_type): row.count for row in engine.inventory.rows()}
    assert counts[("contacts[].email", "EMAIL_ADDRESS")] == ADDRESSES
    # 300 clean values, then 100 addresses: past SETTLE_CLEAN_AFTER one value in 16 is
    # due while the field has no hit; the first due address is the 304th value, and
    # from there every value is scored: 97 (a sample fixed beforehand found 7).
    first_due = next(i for i in range(CLEAN + 1, CLEAN + 101) if i % 16 == 0)
    assert counts[("notes[]", "EMAIL_ADDRESS")] == CLEAN + 100 - first_due + 1 == 97
