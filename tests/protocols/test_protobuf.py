"""protocols.protobuf: schema-less wire decoding, descriptors from .proto files compiled
at test time, descriptor sets, reflection, and `fields_from_part` on every media type."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from protocols.base import Limits, Location, MediaType, Part
from protocols.protobuf import (
    MAX_FIELD_NUMBER,
    MAX_SNIFF_FIELDS,
    SchemaError,
    SchemaRegistry,
    decode_message,
    fields_from_part,
    is_message,
    reflection_file_descriptors,
    scan,
)
from tests.builders.http2 import (
    grpc_gzip_message,
    grpc_message,
    grpc_web_trailers,
    pb_bytes,
    pb_fixed32,
    pb_fixed64,
    pb_packed,
    pb_varint,
)

LIMITS = Limits()

PATIENTS_PROTO = """
syntax = "proto3";
package clinic.v1;
import "google/protobuf/timestamp.proto";

enum Sex { SEX_UNSPECIFIED = 0; FEMALE = 1; MALE = 2; }

message Address { string street = 1; string postal_code = 2; }

message Patient {
  string name = 1;
  string email = 2;
  repeated Address addresses = 3;
  Sex sex = 4;
  sint32 balance = 5;
  repeated int32 scores = 6;
  bytes photo = 7;
  double weight = 8;
  google.protobuf.Timestamp born = 9;
  map<string, string> labels = 10;
}

message GetPatientRequest { string patient_id = 1; }

service PatientDirectory {
  rpc GetPatient(GetPatientRequest) returns (Patient);
  rpc Echo(Patient) returns (Patient);
}
"""


def _pairs(values: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(v.path, v.value) for v in values]


def _patient_bytes() -> bytes:
    return (
        pb_bytes(1, "Jane Roe")
        + pb_bytes(2, "jane.roe@example.com")
        + pb_bytes(3, pb_bytes(1, "1 Main St") + pb_bytes(2, "94105"))
        + pb_bytes(3, pb_bytes(2, "10001"))
        + pb_varint(4, 1)
        + pb_varint(5, 3)  # zig-zag -2
        + pb_packed(6, [7, 300])
        + pb_bytes(7, b"\xff\xd8\xff\xe0")
        + pb_fixed64(8, 0x4050C00000000000)  # 67.0
        + pb_bytes(9, pb_varint(1, 1_700_000_000))
        + pb_bytes(10, pb_bytes(1, "team") + pb_bytes(2, "blue"))
        + pb_varint(99, 5)  # not declared: number path
    )


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> SchemaRegistry:
    root = tmp_path_factory.mktemp("protos")
    (root / "clinic").mkdir()
    (root / "clinic" / "patients.proto").write_text(PATIENTS_PROTO)
    reg = SchemaRegistry()
    assert reg.load_proto_dirs([root]) == []
    return reg


# -- schema-less -------------------------------------------------------------------------


def test_schemaless_nested_strings_and_ints_get_number_paths() -> None:
    msg = pb_bytes(1, "Clement") + pb_bytes(2, pb_bytes(1, pb_varint(4, 42) + pb_bytes(3, "x")))
    assert _pairs(decode_message(msg, None, None, LIMITS)) == [
        ("1", "Clement"),
        ("2.1.4", "42"),
        ("2.1.3", "x"),
    ]


def test_schemaless_packed_varints_become_repeated_numbers() -> None:
    msg = pb_packed(5, [1, 2, 150])
    assert _pairs(decode_message(msg, None, None, LIMITS)) == [("5", "1"), ("5", "2"), ("5", "150")]


def test_schemaless_fixed_widths_read_as_unsigned_or_double() -> None:
    msg = pb_fixed32(1, 123456) + pb_fixed64(2, 0x3FF8000000000000)  # 1.5
    assert _pairs(decode_message(msg, None, None, LIMITS)) == [("1", "123456"), ("2", "1.5")]


def test_schemaless_binary_bytes_are_skipped() -> None:
    msg = pb_bytes(1, b"\xff\xfe\xfd\x80") + pb_bytes(2, "ok")
    assert _pairs(decode_message(msg, None, None, LIMITS)) == [("2", "ok")]


def test_schemaless_printable_text_wins_over_accidental_message() -> None:
    # "(0" parses as a message (field 5 varint 48) but is printable text.
    assert _pairs(decode_message(pb_bytes(1, "(0"), None, None, LIMITS)) == [("1", "(0")]


def test_schemaless_garbage_gives_no_fields_and_no_exception() -> None:
    for blob in (b"\xff" * 20, b"\x0a\xff\xff\xff\xff\x0f", b"\x00", b"\x0b\x01"):
        assert decode_message(blob, None, None, LIMITS) == []


def test_schemaless_depth_is_bounded() -> None:
    msg = pb_bytes(1, "deep")
    for _ in range(100):
        msg = pb_bytes(1, msg)
    values = decode_message(msg, None, None, Limits(max_depth=10))
    assert values == []


def test_field_count_is_bounded() -> None:
    msg = b"".join(pb_varint(1, i) for i in range(50))
    assert len(decode_message(msg, None, None, Limits(max_fields_per_part=10))) == 10


# -- descriptors ---------------------------------------------------------------------------


def test_proto_dir_gives_declared_names_repeated_and_enums(registry: SchemaRegistry) -> None:
    schema = registry.message("clinic.v1.Patient")
    assert schema is not None
    got = _pairs(decode_message(_patient_bytes(), schema, registry, LIMITS))
    assert got == [
        ("name", "Jane Roe"),
        ("email", "jane.roe@example.com"),
        ("addresses[].street", "1 Main St"),
        ("addresses[].postal_code", "94105"),
        ("addresses[].postal_code", "10001"),
        ("sex", "FEMALE"),
        ("balance", "-2"),
        ("scores[]", "7"),
        ("scores[]", "300"),
        ("weight", "67"),
        ("born.seconds", "1700000000"),
        ("labels[].key", "team"),
        ("labels[].value", "blue"),
        ("99", "5"),
    ]


def test_rpc_path_with_direction_suffix_selects_input_or_output(registry: SchemaRegistry) -> None:
    request = Part(
        location=Location.BODY,
        name="",
        data=pb_bytes(1, "P-1"),
        media_type=MediaType.PROTOBUF,
        schema="/clinic.v1.PatientDirectory/GetPatient#request",
    )
    response = Part(
        location=Location.BODY,
        name="",
        data=pb_bytes(2, "a@example.com"),
        media_type=MediaType.PROTOBUF,
        schema="/clinic.v1.PatientDirectory/GetPatient#response",
    )
    assert _pairs(fields_from_part(request, registry, LIMITS)) == [("patient_id", "P-1")]
    assert _pairs(fields_from_part(response, registry, LIMITS)) == [("email", "a@example.com")]


def test_rpc_path_without_suffix_uses_type_only_when_unambiguous(registry: SchemaRegistry) -> None:
    def part(schema: str) -> Part:
        return Part(
            location=Location.BODY,
            name="",
            data=pb_bytes(1, "Jane"),
            media_type=MediaType.PROTOBUF,
            schema=schema,
        )

    assert _pairs(fields_from_part(part("/clinic.v1.PatientDirectory/Echo"), registry, LIMITS)) == [
        ("name", "Jane")
    ]
    assert _pairs(
        fields_from_part(part("/clinic.v1.PatientDirectory/GetPatient"), registry, LIMITS)
    ) == [("1", "Jane")]


def test_wire_type_mismatch_falls_back_to_number_path(registry: SchemaRegistry) -> None:
    schema = registry.message("clinic.v1.Patient")
    assert _pairs(decode_message(pb_varint(1, 7), schema, registry, LIMITS)) == [("1", "7")]


def test_descriptor_set_file_loads(tmp_path: Path) -> None:
    (tmp_path / "p.proto").write_text(PATIENTS_PROTO)
    out = tmp_path / "set.pb"
    from grpc_tools import protoc

    include = Path(protoc.__file__).parent / "_proto"
    code = subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{tmp_path}",
            f"-I{include}",
            "--include_imports",
            f"--descriptor_set_out={out}",
            "p.proto",
        ],
        check=False,
    ).returncode
    assert code == 0
    reg = SchemaRegistry()
    reg.load_descriptor_set(out)
    assert "/clinic.v1.PatientDirectory/GetPatient" in reg.methods
    schema = reg.message_for("/clinic.v1.PatientDirectory/GetPatient", "response")
    assert schema is not None and schema.full_name == "clinic.v1.Patient"


def test_broken_proto_is_reported_and_good_ones_kept(tmp_path: Path) -> None:
    (tmp_path / "good.proto").write_text(PATIENTS_PROTO)
    (tmp_path / "bad.proto").write_text("syntax = 'proto3'; message {")
    reg = SchemaRegistry()
    warnings = reg.load_proto_dirs([tmp_path])
    assert warnings == ["bad.proto: does not compile"]
    assert reg.message("clinic.v1.Patient") is not None


def test_no_proto_files_is_a_schema_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaError):
        SchemaRegistry().load_proto_dirs([tmp_path])


def test_reflection_descriptors_are_added_in_dependency_order(registry: SchemaRegistry) -> None:
    from google.protobuf import descriptor_pb2

    dep = descriptor_pb2.FileDescriptorProto(name="dep.proto", package="refl")
    dep.message_type.add(name="Inner").field.add(name="secret_code", number=1, type=9, label=1)
    main = descriptor_pb2.FileDescriptorProto(
        name="main.proto", package="refl", dependency=["dep.proto"]
    )
    outer = main.message_type.add(name="Outer")
    outer.field.add(name="inner", number=1, type=11, type_name=".refl.Inner", label=1)
    svc = main.service.add(name="Svc")
    svc.method.add(name="Get", input_type=".refl.Outer", output_type=".refl.Outer")
    # A ServerReflectionResponse: field 4 (file_descriptor_response) with repeated
    # bytes field 1; the requested file comes before its dependency.
    response = pb_bytes(
        4, pb_bytes(1, main.SerializeToString()) + pb_bytes(1, dep.SerializeToString())
    )
    blobs = reflection_file_descriptors(response)
    assert len(blobs) == 2
    reg = SchemaRegistry()
    assert all(reg.add_file_descriptor(b) for b in blobs)
    assert reg.add_file_descriptor(b"\xff\xff") is False
    part = Part(
        location=Location.BODY,
        name="",
        data=pb_bytes(1, pb_bytes(1, "X-42")),
        media_type=MediaType.PROTOBUF,
        schema="/refl.Svc/Get#request",
    )
    assert _pairs(fields_from_part(part, reg, LIMITS)) == [("inner.secret_code", "X-42")]


# -- gRPC media types through fields_from_part ---------------------------------------------


def test_grpc_body_with_several_and_compressed_messages() -> None:
    body = grpc_message(pb_bytes(1, "one")) + grpc_gzip_message(pb_bytes(1, "two"))
    part = Part(location=Location.BODY, name="", data=body, media_type="application/grpc")
    assert _pairs(fields_from_part(part, None, LIMITS)) == [("1", "one"), ("1", "two")]


def test_grpc_web_trailers_frame_gives_metadata_fields() -> None:
    body = grpc_message(pb_bytes(1, "one")) + grpc_web_trailers(
        [("grpc-status", "0"), ("x-user-email", "a@example.com")]
    )
    part = Part(location=Location.BODY, name="", data=body, media_type="application/grpc-web+proto")
    values = fields_from_part(part, None, LIMITS)
    assert [(v.location, v.path, v.value) for v in values] == [
        (Location.BODY, "1", "one"),
        (Location.METADATA, "x-user-email", "a@example.com"),
    ]


def test_grpc_web_text_is_base64_of_frames_in_padded_chunks() -> None:
    import base64

    body = base64.b64encode(grpc_message(pb_bytes(1, "ab"))) + base64.b64encode(
        grpc_message(pb_bytes(2, "cde"))
    )
    part = Part(location=Location.BODY, name="", data=body, media_type="application/grpc-web-text")
    assert _pairs(fields_from_part(part, None, LIMITS)) == [("1", "ab"), ("2", "cde")]


def test_undecodable_grpc_parts_give_no_fields() -> None:
    for media, data in (
        ("application/grpc-web-text", b"!!!not base64"),
        ("application/grpc", b"\x07\x00\x00\x00\x01x"),
        ("application/grpc", grpc_message(b"\x1f\x8b broken", compressed=True)),
        ("application/grpc+json", grpc_message(b'{"a": 1}')),
    ):
        part = Part(location=Location.BODY, name="", data=data, media_type=media)
        assert fields_from_part(part, None, LIMITS) == []


# -- the one wire walker (scan, is_message: also Kafka's "is this protobuf") -------------


def test_is_message_judges_a_message_from_an_offset() -> None:
    body = pb_bytes(1, "jane.doe@example.com") + pb_varint(2, 42)
    assert is_message(body)
    assert is_message(b"\x02\x00" + body, 2)  # after a Confluent message-index list
    assert not is_message(b"\x02\x00" + body, 1)  # a zero tag is no field
    assert not is_message(b"")


def test_is_message_refuses_field_numbers_beyond_29_bits() -> None:
    assert is_message(pb_varint(MAX_FIELD_NUMBER, 1))
    assert not is_message(pb_varint(MAX_FIELD_NUMBER + 1, 1))
    assert scan(pb_varint(MAX_FIELD_NUMBER + 1, 1)) is None


def test_is_message_judges_only_the_first_sniff_fields() -> None:
    fields = pb_varint(1, 1)
    assert is_message(fields * MAX_SNIFF_FIELDS + b"\xff")
    assert not is_message(fields * (MAX_SNIFF_FIELDS - 1) + b"\xff")
    # scan itself walks everything unless capped
    assert scan(fields * MAX_SNIFF_FIELDS + b"\xff") is None
    assert scan(fields * 3 + b"\xff", 0, 2) == [(1, 0, 1), (1, 0, 1)]
