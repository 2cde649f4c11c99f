"""The confidence sample: a row's confidence is the mean over its first hits in scan
order, the same however the scan was split (shards, files), merged or resumed."""

from __future__ import annotations

import base64
import itertools
from pathlib import Path

import pytest

from classifiers.base import Category, Finding
from dpi.inventory import CONF_UNIT, CONFIDENCE_SAMPLE, KEY_BYTES, SETTLE_HIT_AFTER, Inventory
from dpi.runs.codec import CodecError, inventory_from_obj, inventory_to_obj
from dpi.runs.state import STATE_NAME, State, encode_state, read_state_document

KEY = ("http", "10.0.0.5:8080", "GET /v1/users", "response", "body", "data[].name")
T0 = 1_764_324_902_123_000_000
SALT = bytes(range(16))


def _finding(n: int, k: int) -> list[Finding]:
    # Confidences vary from value to value (0.80 to 0.99), as real classifiers' do.
    return [Finding(data_type="PERSON_NAME", category=Category.PII,
                    confidence=0.80 + (n * 7 + k * 13) % 20 / 100, reason="listed name")]


Message = tuple[int, int, bytes, list[list[Finding]]]  # (order key, time, client, findings)


def _messages(count: int, per_message: int = 3) -> list[Message]:
    return [
        ((n + 1) << 64, T0 + n * 1_000_000, bytes([10, 0, n >> 8 & 255, n & 255]),
         [_finding(n, k) for k in range(per_message)])
        for n in range(count)
    ]


def _scan_like_the_engine(inv: Inventory, messages: list[Message]) -> None:
    """As dpi/field_scoring.py does: each message gets its key (`Inventory.order`), values
    are scored until the field settles, then only counted (`repeat`)."""
    for order, ts, client, findings in messages:
        inv.order = order
        evidence = inv.field(KEY, "api.shop.example")  # type: ignore[arg-type]
        assert evidence is not None
        evidence.seen += len(findings)
        if evidence.settled_type:
            inv.repeat(evidence, ts, client, len(findings))
            continue
        for i, found in enumerate(findings, 1):
            inv.record(evidence, found, "Ann Example", ts, client)
            if evidence.settled_type:
                if i < len(findings):
                    inv.repeat(evidence, ts, client, len(findings) - i)
                break


def _mean_of_first(messages: list[Message], count: int) -> float:
    confidences = [round(f[0].confidence * CONF_UNIT) for *_, fs in messages for f in fs][:count]
    return round(sum(confidences) / CONF_UNIT / len(confidences), 2)


def test_the_sample_is_as_big_as_the_hits_a_field_scores_before_it_settles() -> None:
    # 64 values scored, 97% of them hits: at least 63 hits before a field settles.
    assert CONFIDENCE_SAMPLE == 63 <= SETTLE_HIT_AFTER


def test_a_settled_field_reports_the_mean_of_its_first_hits() -> None:
    messages = _messages(400)
    inv = Inventory({"PERSON_NAME": 0.5})
    _scan_like_the_engine(inv, messages)
    assert inv.fields[KEY].settled_type == "PERSON_NAME"  # type: ignore[index]
    (row,) = inv.rows()
    assert row.count == 1200
    assert row.confidence == _mean_of_first(messages, CONFIDENCE_SAMPLE)
    # ... which is not the mean of all 1,200: the test would pass for the wrong reason.
    assert _mean_of_first(messages, 1200) != row.confidence


def test_a_row_with_few_hits_reports_the_mean_of_all() -> None:
    messages = _messages(10)
    inv = Inventory({"PERSON_NAME": 0.5})
    _scan_like_the_engine(inv, messages)
    assert inv.rows()[0].confidence == _mean_of_first(messages, 30)


SPLITS = {
    "alternate": lambda n: n % 2,
    "thirds": lambda n: n % 3,
    "head": lambda n: int(n >= 40),
    "tail": lambda n: int(n >= 380),
    "blocks": lambda n: n // 25 % 3,
}


@pytest.mark.parametrize("split", SPLITS)
def test_parts_merged_in_any_grouping_and_order_give_the_whole_scans_rows(split: str) -> None:
    messages = _messages(400)
    whole = Inventory({"PERSON_NAME": 0.5}, salt=SALT)
    _scan_like_the_engine(whole, messages)
    side = SPLITS[split]
    count = 1 + max(side(n) for n in range(len(messages)))

    def parts() -> list[Inventory]:
        out = [Inventory({"PERSON_NAME": 0.5}, salt=SALT) for _ in range(count)]
        for i, part in enumerate(out):
            _scan_like_the_engine(part, [m for n, m in enumerate(messages) if side(n) == i])
            assert part.fields[KEY].settled_type or part.rows()[0].count < 64  # type: ignore[index]
        return out

    for order in itertools.permutations(range(count)):
        left = parts()
        merged = left[order[0]]
        for i in order[1:]:
            merged.merge(left[i])
        assert merged.rows() == whole.rows()
    if count == 3:  # a tree: (a + (b + c))
        a, b, c = parts()
        b.merge(c)
        a.merge(b)
        assert a.rows() == whole.rows()


def test_a_hit_that_comes_after_later_ones_still_takes_its_place() -> None:
    # Flows closed for a limit can give an earlier message after later ones.
    messages = _messages(100)
    inv = Inventory({"PERSON_NAME": 0.9})  # never settles: every value is scored
    shuffled = messages[50:] + messages[:50]
    for order, ts, client, findings in shuffled:
        inv.order = order
        evidence = inv.field(KEY, "h")  # type: ignore[arg-type]
        assert evidence is not None
        for found in findings:
            inv.record(evidence, found, "Ann Example", ts, client)
    assert inv.rows()[0].confidence == _mean_of_first(messages, CONFIDENCE_SAMPLE)


def _scanned() -> tuple[Inventory, list[Message]]:
    messages = _messages(200)
    inv = Inventory({"PERSON_NAME": 0.5}, salt=SALT)
    _scan_like_the_engine(inv, messages)
    return inv, messages


def test_codec_round_trip_keeps_the_sample_keys_and_confidences() -> None:
    inv, _ = _scanned()
    again = inventory_from_obj(inventory_to_obj(inv), SALT)
    typed, restored = inv.fields[KEY].types["PERSON_NAME"], again.fields[KEY].types["PERSON_NAME"]  # type: ignore[index]
    assert (restored.conf_keys, restored.confs, restored.conf_sum) == (typed.conf_keys, typed.confs, typed.conf_sum)
    assert again.rows() == inv.rows()


def test_codec_refuses_a_damaged_sample() -> None:
    inv, _ = _scanned()
    obj = inventory_to_obj(inv)
    typed = obj["fields"][0][5]["PERSON_NAME"]
    keys = base64.b64decode(typed[10])
    for damage in (
        lambda t: t.__setitem__(10, base64.b64encode(keys[KEY_BYTES:] + keys[:KEY_BYTES]).decode()),  # not ascending
        lambda t: t.__setitem__(10, t[10][:-4]),  # not whole keys
        lambda t: t.__setitem__(10, "not base64!"),
        lambda t: t[11].__setitem__(0, t[11][0] + 1),  # not the stored sum
        lambda t: t.__setitem__(11, t[11][:-1]),  # keys and confidences differ in number
        lambda t: t.__setitem__(1, 40),  # more sampled hits than hits
        # Confidences that are not millionths (sums kept, so only the values are wrong).
        lambda t: t.__setitem__(11, [t[11][0] + t[11][1] + 1, -1, *t[11][2:]]),
        lambda t: t.__setitem__(11, [t[11][0] + 2**32, t[11][1] - 2**32, *t[11][2:]]),
        lambda t: t.__setitem__(11, [t[11][0] + t[11][1], 0, *t[11][2:]]),  # above the unit
        lambda t: t.__setitem__(11, [True, t[11][0] + t[11][1] - 1, *t[11][2:]]),
        lambda t: t.__setitem__(11, [float(t[11][0]), *t[11][1:]]),
    ):
        broken = [*typed[:10], typed[10], list(typed[11])]
        damage(broken)
        obj["fields"][0][5]["PERSON_NAME"] = broken
        with pytest.raises(CodecError, match="confidence sample"):
            inventory_from_obj(obj, SALT)


def test_state_round_trip_keeps_confidences_and_ranks_them_before_the_next_run(tmp_path: Path) -> None:
    messages = _messages(200)
    with State.open(tmp_path / "state") as state:
        state.inventory = Inventory({"PERSON_NAME": 0.5}, salt=state.salt)
        first = Inventory({"PERSON_NAME": 0.5}, salt=state.salt)
        _scan_like_the_engine(first, messages)
        state.inventory.merge(first)
        state.save()
        rows = state.inventory.rows()
    with State.open(tmp_path / "state") as state:
        assert state.inventory.rows() == rows
        typed = state.inventory.fields[KEY].types["PERSON_NAME"]  # type: ignore[index]
        assert typed.sample_keys() == list(range(-CONFIDENCE_SAMPLE, 0))  # order only
        # The next run's hits (keys from 0 up, however small) come after the stored ones.
        later = Inventory({"PERSON_NAME": 0.5}, salt=state.salt)
        _scan_like_the_engine(later, [(n, *rest) for n, (_, *rest) in enumerate(_messages(100)[60:])])
        state.inventory.merge(later)
        (row,) = state.inventory.rows()
        assert row.confidence == rows[0].confidence and row.count == rows[0].count + 120


def test_a_format_1_state_is_read_at_its_rows_mean_confidence(tmp_path: Path) -> None:
    with State.open(tmp_path / "state") as state:
        state.inventory = Inventory({"PERSON_NAME": 0.5}, salt=state.salt)
        _scan_like_the_engine(state.inventory, _messages(200))
        state.save()
    path = tmp_path / "state" / STATE_NAME
    doc = read_state_document(path)
    # Format 1: no sample; the sum of the confidences of every hit, at the mean for
    # the repeated ones (0.873456 a hit here).
    typed = doc["inventory"]["fields"][0][5]["PERSON_NAME"]
    hits = typed[1]
    doc["inventory"]["fields"][0][5]["PERSON_NAME"] = [*typed[:3], 873_456 * hits, *typed[4:10]]
    doc["version"] = 1
    path.write_bytes(encode_state(doc))
    with State.open(tmp_path / "state") as state:
        (row,) = state.inventory.rows()
        assert (row.count, row.confidence) == (hits, 0.87)
        typed_now = state.inventory.fields[KEY].types["PERSON_NAME"]  # type: ignore[index]
        assert len(typed_now.confs) == CONFIDENCE_SAMPLE
        assert typed_now.conf_sum == 873_456 * CONFIDENCE_SAMPLE
        state.save()
    assert read_state_document(path)["version"] == 2


def test_two_findings_of_one_type_in_one_value_count_once_and_round_trip() -> None:
    # Two user classifiers of one data type (dpi.toml) can both find a value: one value
    # is one hit per type, and its one scan-order key enters the sample once (a worker
    # result or state with it twice was refused as a damaged sample).
    inv = Inventory({"EMPLOYEE_ID": 0.5}, salt=SALT)
    evidence = inv.field(KEY, "api.shop.example")  # type: ignore[arg-type]
    assert evidence is not None
    for n in range(3):
        inv.order = (n + 1) << 64
        found = [Finding(data_type="EMPLOYEE_ID", category=Category.PII, confidence=c,
                         reason="pattern") for c in (0.8, 0.9)]
        inv.record(evidence, found, "EMP-123456 and STAFF-654321", T0 + n, b"\x0a\x00\x00\x01")
    typed = evidence.types["EMPLOYEE_ID"]
    assert typed.hits == 3
    assert typed.conf_sum == 3 * round(0.9 * CONF_UNIT)
    again = inventory_from_obj(inventory_to_obj(inv), SALT)
    assert again.rows() == inv.rows()


def test_codec_refuses_damage_that_would_raise_elsewhere() -> None:
    base = {"min_share": {}, "dropped_fields": 0}
    key = ["http", "s", "GET /a", "request", "body", "f"]
    huge = ["PII", 1, 0, 2**40, 0, 0, "", 0, "", {}]  # format 1: a sum no hit can make
    with pytest.raises(CodecError):
        inventory_from_obj(dict(base, fields=[[key, "", 1, 1, "", {"PHONE_NUMBER": huge}]]),
                           SALT, 1)
    superscript = {"maps": [], "pending": [[*key[:5], "p", {"\u00b2": [1]}]]}
    with pytest.raises(CodecError):
        inventory_from_obj(dict(base, fields=[], map_keys=superscript), SALT)
