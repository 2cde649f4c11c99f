"""Generates the gRPC sample captures and their expected inventories.

Run `python samples/make_grpc_samples.py [--out-dir DIR]` as root (dumpcap on `lo`).

A real grpcio server and client talk over 127.0.0.1:PORT with `samples/grpc/patients.proto`
(compiled at run time with grpcio-tools): unary GetPatient with a bearer token in the
metadata, server-streaming ListVisits, client-streaming UploadVitals sent gzip-compressed,
and bidirectional Chat. dumpcap records the loopback traffic; the capture is then made
deterministic where it can be: every packet of call k gets the fixed time
T0 + k seconds (packets before the first call get T0), so first/last seen follow from
the ground truth without parsing the capture. Packetization and the client's ephemeral
port come from the kernel and may differ between runs.

Files:
- `grpc-patients.pcap`: the whole connection;
- `grpc-patients-midstream.pcap`: the same packets from the first packet of call 2 on
  (the handshake, the preface and the whole GetPatient call are dropped, so the HPACK
  dynamic table is unknown: headers indexed there, such as `content-type` and
  `:authority` (so host is empty), are lost, while new `:path` literals still name the
  calls). Without the SYN the engine guesses roles from the ports, and PORT (61777, above
  Linux's ephemeral range) makes that guess always wrong: the http2 probe's orientation
  check (a request HEADERS block on the guessed server side) swaps them back.

Expected CSVs follow spec/inventory.md and assume the scan is given the schema
(`dpi scan --proto samples/grpc`), so fields are the declared names. Only values a
correct classifier must flag are listed (`SENSITIVE`: `patient_id` is a
MEDICAL_RECORD_NUMBER in both directions of every rpc that carries it); sample =
`dpi.masking.mask(value, category, data_type)`; confidence 0.5 (the minimum the golden
test `tests/samples/test_grpc_samples.py` accepts: a scan must equal the CSV in every
other column and reach at least that confidence). Checked: `--proto samples/grpc` gives
exactly the 19 rows of the full sample and the 7 of the midstream one.

Without `--proto` (no descriptor, no reflection in the capture) fields are protobuf field
numbers and only values that need no field-name hint are reported: the full sample gives
7 rows (GetPatient request metadata `authorization` BEARER_TOKEN; GetPatient response `4`
PHONE_NUMBER, `5` US_SSN, `7` CARD_NUMBER, `8` DIAGNOSIS_CODE; ListVisits response `2`
DIAGNOSIS_CODE; UploadVitals response `2` PHONE_NUMBER), the midstream one the last two;
names, e-mails at the reserved example domains, street, postal code, birth date and
patient ids need the field name, and are not in the expected CSVs' scope without it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import struct
import sys
import tempfile
import time
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import grpc
from grpc_tools import protoc

from samples._capture_tools import (
    dumpcap_loopback,
    expected_row,
    pcap_is_nanosecond,
    pcap_linktype,
    pcap_records,
    sort_rows,
    write_csv,
)

# Above Linux's ip_local_port_range (32768-60999): the client's ephemeral port is always
# the lower one, so a scan that guesses roles from ports (no SYN: the midstream capture)
# always starts with them reversed and must be put right by the http2 probe.
PORT = 61777
HOST = "127.0.0.1"
AUTHORITY = f"{HOST}:{PORT}"
T0 = 1_768_467_600  # 2026-01-15T09:00:00Z
PKG = "/clinic.v1.PatientService"
CATEGORY = {
    "PERSON_NAME": "PII", "EMAIL_ADDRESS": "PII", "PHONE_NUMBER": "PII", "US_SSN": "PII",
    "DATE_OF_BIRTH": "PII", "POSTAL_CODE": "PII", "STREET_ADDRESS": "PII",
    "CARD_NUMBER": "PCI", "DIAGNOSIS_CODE": "PHI", "BEARER_TOKEN": "SECRET",
    "MEDICAL_RECORD_NUMBER": "PHI",
}

# Synthetic values only. The SSN follows the SSA rules (area 001-665 or 667-899, group
# 01-99, serial 0001-9999) and is none of the published fakes (078-05-1120, the Woolworth
# wallet card, is one, and the US_SSN classifier rightly rejects it); the card is a test
# PAN.
PATIENT_ID = "P-000123"
TOKEN = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzYW1wbGUtdXNlciJ9.c2lnbmF0dXJlLXN5bnRoZXRpYw"
PATIENT = {
    "patient_id": PATIENT_ID,
    "name": "Jane Roe",
    "email": "jane.roe@example.com",
    "phone": "+1 415 555 0134",
    "ssn": "512-44-3187",
    "date_of_birth": "1984-03-07",
    "card_number": "4111111111111111",
    "diagnosis_code": "E11.9",
    "address": {"street": "1 Market Street", "city": "San Francisco", "postal_code": "94105"},
}
VISITS = [
    {"visit_id": "V-1", "diagnosis_code": "I10", "clinician_email": "dr.smith@example.org",
     "duration_minutes": 30},
    {"visit_id": "V-2", "diagnosis_code": "J45.909", "clinician_email": "dr.lee@example.org",
     "duration_minutes": 20},
    {"visit_id": "V-3", "diagnosis_code": "E11.9", "clinician_email": "dr.smith@example.org",
     "duration_minutes": 15},
]
VITALS = [{"patient_id": PATIENT_ID, "kind": "heart_rate", "value": 60.0 + i} for i in range(3)]
SUMMARY = {"accepted": 3, "contact_phone": "+1 415 555 0199"}
CHAT = [
    {"sender_email": "jane.roe@example.com", "text": "hello"},
    {"sender_email": "nurse.kim@example.org", "text": "hi"},
]

# field path -> data type a correct classifier gives; other fields stay unflagged.
# `patient_id` in this clinical service is a MEDICAL_RECORD_NUMBER (spec taxonomy: "MRN /
# patient id in a clinical context") wherever it travels, request or response.
SENSITIVE = {
    "patient_id": "MEDICAL_RECORD_NUMBER",
    "name": "PERSON_NAME", "email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER",
    "ssn": "US_SSN", "date_of_birth": "DATE_OF_BIRTH", "card_number": "CARD_NUMBER",
    "diagnosis_code": "DIAGNOSIS_CODE", "address.street": "STREET_ADDRESS",
    "address.postal_code": "POSTAL_CODE", "clinician_email": "EMAIL_ADDRESS",
    "contact_phone": "PHONE_NUMBER", "sender_email": "EMAIL_ADDRESS",
}


@dataclass
class Sent:
    """Ground truth: what went where, in which call."""

    call: int
    api: str
    direction: str
    location: str
    values: list[tuple[str, str]] = field(default_factory=list)


def _leaves(obj: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in obj.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out += _leaves(value, path)
        else:
            out.append((path, str(value)))
    return out


def _compile(tmp: Path) -> tuple[Any, Any]:
    code = protoc.main(
        ["protoc", f"-I{SAMPLES_DIR / 'grpc'}", f"--python_out={tmp}", f"--grpc_python_out={tmp}",
         "patients.proto"]
    )
    if code != 0:
        raise SystemExit("patients.proto does not compile")
    sys.path.insert(0, str(tmp))
    return importlib.import_module("patients_pb2"), importlib.import_module("patients_pb2_grpc")


def _serve(pb2: Any, pb2_grpc: Any) -> grpc.Server:
    class Service(pb2_grpc.PatientServiceServicer):  # type: ignore[misc,name-defined]
        def GetPatient(self, request: Any, context: Any) -> Any:
            return pb2.Patient(**{**PATIENT, "address": pb2.Address(**PATIENT["address"])})

        def ListVisits(self, request: Any, context: Any) -> Any:
            for visit in VISITS:
                yield pb2.Visit(**visit)

        def UploadVitals(self, request_iterator: Any, context: Any) -> Any:
            for _ in request_iterator:
                pass
            return pb2.UploadSummary(**SUMMARY)

        def Chat(self, request_iterator: Any, context: Any) -> Any:
            for message, reply in zip(request_iterator, CHAT[1:] + CHAT[:1], strict=False):
                del message
                yield pb2.ChatMessage(**reply)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb2_grpc.add_PatientServiceServicer_to_server(Service(), server)
    server.add_insecure_port(AUTHORITY)
    server.start()
    return server


def _calls(pb2: Any, pb2_grpc: Any) -> tuple[list[Sent], list[tuple[float, float]]]:
    """Run the four calls; ground truth and each call's wall-clock window."""
    sent: list[Sent] = []
    windows: list[tuple[float, float]] = []
    with grpc.insecure_channel(AUTHORITY) as channel:
        stub = pb2_grpc.PatientServiceStub(channel)
        grpc.channel_ready_future(channel).result(timeout=10)
        time.sleep(0.3)

        def window(fn: Any) -> None:
            start = time.time()
            time.sleep(0.2)
            fn()
            time.sleep(0.3)
            windows.append((start, time.time()))

        window(lambda: stub.GetPatient(
            pb2.GetPatientRequest(patient_id=PATIENT_ID), metadata=[("authorization", TOKEN)]
        ))
        sent.append(Sent(1, f"{PKG}/GetPatient", "request", "metadata", [("authorization", TOKEN)]))
        sent.append(Sent(1, f"{PKG}/GetPatient", "request", "body", [("patient_id", PATIENT_ID)]))
        sent.append(Sent(1, f"{PKG}/GetPatient", "response", "body", _leaves(PATIENT)))

        window(lambda: list(stub.ListVisits(pb2.ListVisitsRequest(patient_id=PATIENT_ID))))
        sent.append(Sent(2, f"{PKG}/ListVisits", "request", "body", [("patient_id", PATIENT_ID)]))
        for visit in VISITS:
            sent.append(Sent(2, f"{PKG}/ListVisits", "response", "body", _leaves(visit)))

        window(lambda: stub.UploadVitals(
            iter([pb2.Vital(**v) for v in VITALS]), compression=grpc.Compression.Gzip
        ))
        for vital in VITALS:
            sent.append(Sent(3, f"{PKG}/UploadVitals", "request", "body", _leaves(vital)))
        sent.append(Sent(3, f"{PKG}/UploadVitals", "response", "body", _leaves(SUMMARY)))

        window(lambda: list(stub.Chat(iter([pb2.ChatMessage(**m) for m in CHAT]))))
        for message in CHAT:
            sent.append(Sent(4, f"{PKG}/Chat", "request", "body", _leaves(message)))
        for message in CHAT[1:] + CHAT[:1]:
            sent.append(Sent(4, f"{PKG}/Chat", "response", "body", _leaves(message)))
    return sent, windows


def _records(path: Path) -> tuple[bytes, list[tuple[float, bytes]]]:
    data = path.read_bytes()
    scale = 1e9 if pcap_is_nanosecond(data) else 1e6
    out = [(sec + frac / scale, frame) for sec, frac, _incl, _orig, frame in pcap_records(data)]
    linktype = pcap_linktype(data)
    # Rewrite as little-endian microsecond pcap with our own header.
    new_header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)
    return new_header, out


def _call_of(ts: float, windows: list[tuple[float, float]]) -> int:
    call = 0
    for index, (start, _end) in enumerate(windows, 1):
        if ts >= start:
            call = index
    return call


def _write(path: Path, header: bytes, frames: list[tuple[int, bytes]]) -> None:
    out = bytearray(header)
    for call, frame in frames:
        out += struct.pack("<IIII", T0 + call, 0, len(frame), len(frame)) + frame
    path.write_bytes(bytes(out))
    os.chmod(path, 0o644)


def _us(call: int) -> int:
    """The time of every packet of call `call` (0: before the first call)."""
    return (T0 + call) * 1_000_000


def _rows(sent: list[Sent], first_call: int, host: str) -> list[dict[str, str]]:
    agg: dict[tuple[str, ...], list[Any]] = {}
    for item in sent:
        if item.call < first_call:
            continue
        for path, value in item.values:
            data_type = "BEARER_TOKEN" if path == "authorization" else SENSITIVE.get(path)
            if data_type is None:
                continue
            key = (item.api, item.direction, item.location, path, data_type)
            row = agg.setdefault(key, [0, item.call, item.call, value])
            row[0] += 1
            row[2] = max(row[2], item.call)
    rows = []
    for (api, direction, location, path, data_type), (count, first, last, value) in agg.items():
        rows.append(expected_row(
            protocol="grpc", server=AUTHORITY, host=host, api=api,
            direction=direction, location=location, field=path,
            data_type=data_type, category=CATEGORY[data_type], count=count,
            first_us=_us(first), last_us=_us(last), value=value,
        ))
    return sort_rows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=SAMPLES_DIR)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dpi-grpc-samples-") as tmp_name:
        tmp = Path(tmp_name)
        pb2, pb2_grpc = _compile(tmp)
        raw = tmp / "raw.pcap"
        with dumpcap_loopback(raw, PORT):
            server = _serve(pb2, pb2_grpc)
            try:
                sent, windows = _calls(pb2, pb2_grpc)
                time.sleep(0.5)
            finally:
                server.stop(1).wait(5)
                time.sleep(0.3)
        header, records = _records(raw)
    frames = [(_call_of(ts, windows), frame) for ts, frame in records]
    out = args.out_dir
    _write(out / "grpc-patients.pcap", header, frames)
    write_csv(out / "grpc-patients.expected.csv", _rows(sent, 1, AUTHORITY))
    _write(out / "grpc-patients-midstream.pcap", header, [f for f in frames if f[0] >= 2])
    write_csv(out / "grpc-patients-midstream.expected.csv", _rows(sent, 2, ""))
    for name in ("grpc-patients.pcap", "grpc-patients-midstream.pcap"):
        print(f"{name}: {(out / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
