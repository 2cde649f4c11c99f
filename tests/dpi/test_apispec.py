"""`dpi spec`: OpenAPI 3.1 and AsyncAPI 3.0 documents from captures (dpi/outputs/apispec/).

End to end on the bundled samples (compared with the expected documents under samples/,
validated with openapi-spec-validator and the vendored AsyncAPI 3.0 JSON Schema), on a
crafted capture for the inference rules, and checked for leaks: no value from the
traffic may appear in a document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from dpi.cli import main
from tests.builders.conversation import Conversation, http_request, http_response

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
ASYNCAPI_SCHEMA = ROOT / "tests" / "schemas" / "asyncapi-3.0.0-without-$id.json"

openapi_spec_validator = pytest.importorskip("openapi_spec_validator")
jsonschema = pytest.importorskip("jsonschema")


def _spec(tmp_path: Path, *captures: Path | str, extra: tuple[str, ...] = ()) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    openapi, asyncapi = tmp_path / "api.yaml", tmp_path / "events.yaml"
    args = ["spec", *map(str, captures), "--openapi", str(openapi), "--asyncapi", str(asyncapi), "-q", *extra]
    assert main(args) == 0
    return yaml.safe_load(openapi.read_text()), yaml.safe_load(asyncapi.read_text())


def _validate_openapi(doc: dict[str, Any]) -> None:
    openapi_spec_validator.validate(doc)


def _validate_asyncapi(doc: dict[str, Any]) -> None:
    schema = json.loads(ASYNCAPI_SCHEMA.read_text())
    errors = [e.message[:200] for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]
    assert errors == []
    _refs_resolve(doc, doc)


def _refs_resolve(doc: dict[str, Any], node: object) -> None:
    """Every local `$ref` points at something (the JSON Schema does not check that)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith("#/"), ref
            target: Any = doc
            for token in ref[2:].split("/"):
                target = target[token.replace("~1", "/").replace("~0", "~")]
        for value in node.values():
            _refs_resolve(doc, value)
    elif isinstance(node, list):
        for value in node:
            _refs_resolve(doc, value)


def _without_confidence(node: Any) -> Any:
    """Confidences are the classifiers' (they move when a classifier is tuned): compared
    as present and within [0.5, 1], not by value."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "x-confidence":
                assert 0.5 <= value <= 1
                value = "checked"
            out[key] = _without_confidence(value)
        return out
    if isinstance(node, list):
        return [_without_confidence(v) for v in node]
    return node


def _annotated(node: Any, path: str = "") -> dict[str, str]:
    """Every place with an x-data-type: JSON-pointer-ish path -> data type."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        if "x-data-type" in node:
            found[path] = node["x-data-type"]
        for key, value in node.items():
            found |= _annotated(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found |= _annotated(value, f"{path}/{i}")
    return found


# -- the bundled samples -----------------------------------------------------------------


def test_rest_shop_openapi_matches_expected_and_validates(tmp_path: Path) -> None:
    openapi, asyncapi = _spec(tmp_path, SAMPLES / "rest-shop.pcap")
    assert openapi is not None and asyncapi is not None
    expected = yaml.safe_load((SAMPLES / "rest-shop.openapi.yaml").read_text())
    assert _without_confidence(openapi) == _without_confidence(expected)
    _validate_openapi(openapi)
    _validate_asyncapi(asyncapi)  # no Kafka: an empty but valid document
    assert asyncapi["channels"] == {}
    # Every sensitive field of the golden inventory is annotated in the document.
    marks = _annotated(openapi)
    paths = openapi["paths"]
    body = paths["/v1/users/{id}/cards"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["card"]["properties"]["cvv"]["x-data-type"] == "CARD_CVV"
    assert body["required"] == ["card", "make_default", "client_ref"]
    users = paths["/v1/users"]["get"]["parameters"]
    assert {p["name"]: p.get("x-data-type") for p in users} == {"email": "EMAIL_ADDRESS", "limit": None}
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["bearer"]["bearerFormat"] == "JWT" and schemes["bearer"]["x-data-type"] == "BEARER_TOKEN"
    assert schemes["header.x-api-key"]["x-data-type"] == "API_KEY"
    assert schemes["cookie.session"]["x-category"] == "SECRET"
    golden = (SAMPLES / "rest-shop.expected.csv").read_text().splitlines()[1:]
    types = sorted(line.split(",")[7] for line in golden)
    # Every data type of the 33 golden rows is annotated somewhere (a security scheme
    # stands for all the operations whose requests carried it).
    assert set(marks.values()) == set(types)


def test_kafka_asyncapi_matches_expected_and_validates(tmp_path: Path) -> None:
    openapi, asyncapi = _spec(tmp_path, SAMPLES / "kafka-v3-gzip-snappy.pcap")
    assert openapi is not None and asyncapi is not None
    expected = yaml.safe_load((SAMPLES / "kafka-v3-gzip-snappy.asyncapi.yaml").read_text())
    assert _without_confidence(asyncapi) == _without_confidence(expected)
    _validate_asyncapi(asyncapi)
    _validate_openapi(openapi)  # no HTTP: valid, with no paths
    assert openapi["paths"] == {}
    message = asyncapi["components"]["messages"]["payments"]
    assert message["payload"]["properties"]["card"]["properties"]["number"]["x-data-type"] == "CARD_NUMBER"
    assert message["headers"]["properties"]["x-user-email"]["x-data-type"] == "EMAIL_ADDRESS"
    assert message["bindings"]["kafka"]["key"] == {"type": "string"}  # keys never become enums
    assert {op["action"] for op in asyncapi["operations"].values()} == {"send", "receive"}


def test_all_bundled_samples_give_valid_documents(tmp_path: Path) -> None:
    openapi, asyncapi = _spec(
        tmp_path,
        SAMPLES / "rest-shop.pcap",
        SAMPLES / "graphql-patients.pcap",
        SAMPLES / "kafka-v3-gzip-snappy.pcap",
        SAMPLES / "kafka-flexible-lz4-zstd.pcap",
    )
    assert openapi is not None and asyncapi is not None
    _validate_openapi(openapi)
    _validate_asyncapi(asyncapi)
    graphql = openapi["paths"]["/graphql"]["post"]
    titles = [s["title"] for s in graphql["requestBody"]["content"]["application/json"]["schema"]["anyOf"]]
    assert titles == ["mutation UpdateCard", "mutation createUser", "query GetPatient"]
    assert len(openapi["servers"]) == 4
    assert set(asyncapi["channels"]) == {"customers", "payments"}
    # Both Kafka samples' records counted on the one channel (4 from the first alone).
    assert asyncapi["operations"]["produce.payments"]["x-observed-records"] > 4


def test_grpc_with_proto_names_fields(tmp_path: Path) -> None:
    openapi, _ = _spec(tmp_path, SAMPLES / "grpc-patients.pcap", extra=("--proto", str(SAMPLES / "grpc")))
    assert openapi is not None
    _validate_openapi(openapi)
    request = openapi["paths"]["/clinic.v1.PatientService/GetPatient"]["post"]["requestBody"]
    schema = request["content"]["application/grpc"]["schema"]
    assert schema["properties"]["patient_id"]["x-data-type"] == "MEDICAL_RECORD_NUMBER"


# -- no value from traffic in a document ---------------------------------------------------


class _Values:
    """Every value the messages carried (bodies, parameters, headers, records)."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def collect(self, path: Path) -> set[str]:
        from dpi.engine import Engine
        from dpi.observer import Observer
        from dpi.runs.scanner import expand, scan_inputs
        from protocols.base import Limits
        from protocols.payload import field_pairs

        values = self.values

        class Collector(Observer):
            def message(self, flow: Any, message: Any) -> None:
                for part in message.parts:
                    if part.name == "content-type":
                        continue  # media types name the content in the document
                    for _, text in field_pairs(part, Limits()):
                        values.add(text)

        engine = Engine(observers=[Collector()])
        scan_inputs(engine, expand([path], []))
        return values


@pytest.mark.parametrize("sample", ["rest-shop.pcap", "kafka-v3-gzip-snappy.pcap", "graphql-patients.pcap"])
def test_no_value_from_traffic_in_documents(tmp_path: Path, sample: str) -> None:
    openapi, asyncapi = _spec(tmp_path, SAMPLES / sample)
    enums = {v for doc in (openapi, asyncapi) for v in _enum_values(doc)}
    # Values of the documents (keys are names: properties, parameters, media types).
    # Server URLs are built from Host headers, enums are allowed values.
    strings = [v for doc in (openapi, asyncapi) for v in _strings(doc)]
    strings = [v for v in strings if v not in enums and not v.startswith("http://")]
    leaked = sorted(
        v for v in _Values().collect(SAMPLES / sample)
        if len(v) >= 6 and any(v in text for text in strings)
    )
    assert leaked == []
    for value in enums:  # enums: short word-like values only
        assert len(value) <= 32 and " " not in value and "@" not in value


# Keys whose values are names from the api, not values: property names (`required`),
# parameter and scheme names, GraphQL operations and topics (`summary`, `title`,
# `address`), operation ids made of path words, cookie names in a description.
NAME_KEYS = frozenset({"required", "name", "summary", "title", "address", "operationId", "description"})


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() if key not in NAME_KEYS for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def _enum_values(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        out += [v for v in node.get("enum", []) if isinstance(v, str)]
        for value in node.values():
            out += _enum_values(value)
    elif isinstance(node, list):
        for value in node:
            out += _enum_values(value)
    return out


# -- the inference rules, on a crafted capture ---------------------------------------------


def _crafted(tmp_path: Path) -> Path:
    """Six requests to one server: Basic auth and a query API key, two placeholders of
    one kind in a path, a map keyed by ids, a low-cardinality status, a field present in
    some messages only, a nullable field, a 404."""
    conv = Conversation(client="10.9.0.2", server="10.9.0.9", sport=8081).handshake()
    statuses = ["active", "blocked", "active", "active", "blocked", "active"]
    for i in range(6):
        user, friend = 1000 + i, 5000 + i
        body: dict[str, Any] = {
            "status": statuses[i],
            "nickname": f"Blue Falcon {i}",
            "balances": {f"acc-{7000 + i}-{j}": {"amount": j * 10} for j in range(3)},
            "owner_email": f"owner{i}@mail.shopper-demo.net",
            "note": None if i % 2 else "late delivery",
        }
        if i < 3:
            body["coupon"] = f"SPRING{i}"
        auth = {"Authorization": "Basic dXNlcjpMYW50ZXJuLVF1YXJyeS01OCE="}
        conv.request(http_request("GET", f"/v2/users/{user}/friends/{friend}?api_key=k{i}Zx9QwErTyUiOp&verbose=1", headers=auth))
        conv.response(http_response(orjson.dumps(body)))
    conv.request(http_request("GET", "/v2/users/1/friends/2"))  # no credential
    conv.response(http_response(b'{"error":"not found"}', status="404 Not Found"))
    return conv.close().write(tmp_path / "crafted.pcap")


def test_inference_rules_on_crafted_capture(tmp_path: Path) -> None:
    openapi, _ = _spec(tmp_path, _crafted(tmp_path))
    assert openapi is not None
    _validate_openapi(openapi)
    item = openapi["paths"]["/v2/users/{id}/friends/{id2}"]  # one name once per path
    assert [p["name"] for p in item["parameters"]] == ["id", "id2"]
    op = item["get"]
    assert set(op["responses"]) == {"200", "404"}
    assert [p["name"] for p in op.get("parameters", [])] == ["verbose"]  # api_key is a scheme
    assert op["security"] == [{"basic": []}, {"query.api_key": []}, {}]
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["basic"] == {"type": "http", "scheme": "basic", **{k: v for k, v in schemes["basic"].items() if k.startswith("x-")}}
    assert schemes["query.api_key"]["in"] == "query"
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    props = schema["properties"]
    assert props["status"]["enum"] == ["active", "blocked"]
    assert "enum" not in props["nickname"]  # spaces and as many values as messages
    assert "enum" not in props["coupon"]  # codes with digits
    assert props["owner_email"]["format"] == "email"
    assert props["owner_email"]["x-data-type"] == "EMAIL_ADDRESS"
    assert props["note"]["type"] == ["string", "null"]
    assert props["balances"]["additionalProperties"]["properties"]["amount"]["type"] == "integer"
    assert "properties" not in props["balances"]
    assert "coupon" not in schema["required"] and "status" in schema["required"]


def test_sensitive_field_never_gets_an_enum() -> None:
    from dpi.outputs.apispec.shapes import Budget, Shape

    shape = Shape("tier", Budget())
    for value in ["gold", "gold", "silver", "silver", "gold"]:
        shape.observe(value)
    assert shape.schema(lambda path: None, lambda values: True)["enum"] == ["gold", "silver"]
    flagged = {"x-data-type": "PERSON_NAME", "x-category": "PII", "x-confidence": 0.9}
    assert "enum" not in shape.schema(lambda path: flagged, lambda values: True)
    assert "enum" not in shape.schema(lambda path: None, lambda values: False)


def test_enum_candidates_are_bounded_and_forgotten() -> None:
    from dpi.outputs.apispec.shapes import MAX_ENUM_VALUES, Budget, Shape

    shape = Shape("kind", Budget())
    for i in range(MAX_ENUM_VALUES + 1):
        shape.observe("kind" + "abcdefghijklmnop"[i])
    assert shape.enum is None  # ruled out, and the values dropped


def test_formats_from_value_shape() -> None:
    from dpi.outputs.apispec.shapes import string_format

    assert string_format("a.b@mail.shopper-demo.net") == "email"
    assert string_format("2026-01-15") == "date"
    assert string_format("2026-13-15") == ""
    assert string_format("2026-01-15T09:00:00Z") == "date-time"
    assert string_format("07f1cda7-1eee-49db-80ba-290f82c24e8c") == "uuid"
    assert string_format("10.0.3.11") == "ipv4"
    assert string_format("999.0.3.11") == ""
    assert string_format("2001:db8::1") == "ipv6"
    assert string_format("https://api.shop.example/v1") == "uri"
    assert string_format("hello world") == ""


def test_bounds_depth_properties_and_budget() -> None:
    from dpi.outputs.apispec.shapes import MAX_DEPTH, MAX_PROPERTIES, Budget, Shape

    deep: Any = "leaf"
    for _ in range(MAX_DEPTH + 5):
        deep = {"n": deep}
    shape = Shape("", Budget())
    shape.observe(deep)
    text = json.dumps(shape.schema(lambda p: None, lambda v: True))
    assert "not described" in text and '"leaf"' not in text
    wide = Shape("", Budget())
    wide.observe({f"field_{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{chr(97 + i // 676)}": 1 for i in range(MAX_PROPERTIES + 10)})
    assert len(wide.properties) == MAX_PROPERTIES and wide.more_properties
    small = Budget(3)
    tight = Shape("", small)
    tight.observe({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert len(tight.properties) == 3 and small.exhausted


def test_kafka_records_split_back_from_parts() -> None:
    from dpi.outputs.apispec.observer import _records
    from protocols.base import Location, Part

    def part(location: Location, name: str = "") -> Part:
        return Part(location=location, name=name, data=b"x")

    parts = (
        part(Location.KEY), part(Location.VALUE), part(Location.HEADER, "h"),
        part(Location.VALUE),  # no key: a new record
        part(Location.VALUE), part(Location.HEADER, "h"), part(Location.HEADER, "i"),
        part(Location.KEY),  # a key without value
    )
    records = _records(parts)
    assert [(r.key is not None, r.value is not None, len(r.headers)) for r in records] == [
        (True, True, 1), (False, True, 0), (False, True, 2), (True, False, 0)
    ]


# -- the command line ------------------------------------------------------------------


def test_spec_needs_an_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", str(SAMPLES / "rest-shop.pcap"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--openapi" in err


def test_spec_unreadable_capture_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all")
    assert main(["spec", str(bad), "--openapi", str(tmp_path / "a.yaml"), "-q"]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "a.yaml").exists()


def test_spec_writes_json_for_json_names(tmp_path: Path) -> None:
    out = tmp_path / "api.json"
    assert main(["spec", str(SAMPLES / "rest-shop.pcap"), "--openapi", str(out), "-q"]) == 0
    doc = json.loads(out.read_text())
    _validate_openapi(doc)
    assert doc["openapi"] == "3.1.0"
