"""What batch scans carry beside the inventory: findings evidence and TLS coverage.

`dpi scan --findings/--internal/--tls-coverage` with `--state`, `--jobs` or `--dask` scans
file by file like the inventory (`dpi/runs/batch.py`): each worker's engine gets the same
observers as a one-process scan (`observers_for`), its result carries what they gathered
as a JSON-safe object (`evidence_to_obj`), and results fold in file order
(`Evidence.merge`, left first) into what the command line turns into the same findings
and coverage list as a one-process scan of the same files. With `--state` the merged
evidence is kept in the state (`dpi/runs/state.py`) and grows with every run, as the
inventory does.

Nothing here holds a payload value: external clients are salted hashes (the state's
salt), names from traffic are stored sanitized (`dpi.identifiers.safe_host`), the rest
are counts, server addresses (the inventory's `server`), ports and names from fixed
vocabularies. What is read back is validated field by field: a malformed object raises
`CodecError` with a one-line reason, never quoting content.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dpi.client_sets import CLIENT_HASH_BYTES
from dpi.findings.coverage import TlsCoverage
from dpi.findings.egress import DEFAULT_INTERNAL, NetworkError, Networks
from dpi.findings.observe import ApiStats, Endpoint, FindingsObserver, VersionStats
from dpi.identifiers import safe_host
from dpi.observer import Observer
from dpi.runs.codec import CodecError

FINDINGS_KEY = "findings"
COVERAGE_KEY = "tls_coverage"


@dataclass(slots=True)
class Evidence:
    """Merged evidence of the files scanned so far; None: not gathered."""

    findings: FindingsObserver | None = None
    tls_coverage: TlsCoverage | None = None

    def merge(self, other: Evidence) -> None:
        """`other` (later files) after this. A kind this side lacks is taken as is."""
        if other.findings is not None:
            if self.findings is None:
                self.findings = other.findings
            else:
                self.findings.merge(other.findings)
        if other.tls_coverage is not None:
            if self.tls_coverage is None:
                self.tls_coverage = other.tls_coverage
            else:
                self.tls_coverage.merge(other.tls_coverage)

    @classmethod
    def of(cls, observers: Iterable[Observer]) -> Evidence:
        evidence = cls()
        for observer in observers:
            if isinstance(observer, FindingsObserver):
                evidence.findings = observer
            elif isinstance(observer, TlsCoverage):
                evidence.tls_coverage = observer
        return evidence


def internal_cidrs(networks: Networks) -> list[str]:
    return [str(network) for network in networks.networks]


def observers_for(
    findings: bool, internal: Sequence[str], tls_coverage: bool, salt: bytes
) -> list[Observer]:
    """The observers a worker's engine gets (none when nothing beside the inventory is
    wanted: an engine without observers skips the UDP hook)."""
    observers: list[Observer] = []
    if tls_coverage:
        observers.append(TlsCoverage())
    if findings:
        observers.append(FindingsObserver(Networks(internal or DEFAULT_INTERNAL), salt))
    return observers


@dataclass(frozen=True, slots=True)
class EvidencePlan:
    """What a batch run gathers (decided against the state) and what it warns about."""

    findings: bool
    internal: tuple[str, ...]
    tls_coverage: bool
    warnings: tuple[str, ...]


def plan_evidence(
    kept: Evidence, has_files: bool, findings: bool, internal: Sequence[str], tls_coverage: bool
) -> EvidencePlan:
    """A state that keeps a kind of evidence goes on gathering it (it must cover every
    file of the ledger); a kind asked for that the state lacks covers only the files
    scanned from now on, which is said."""
    warnings = []
    wanted_internal = tuple(internal)
    if kept.findings is not None:
        stored = tuple(internal_cidrs(kept.findings.networks))
        if internal and internal_cidrs(Networks(internal)) != list(stored):
            warnings.append(
                "--internal changed since earlier runs of this state; its counts of "
                "external clients mix both"
            )
        wanted_internal = wanted_internal or stored
    for asked, have, what in (
        (findings, kept.findings, "findings"),
        (tls_coverage, kept.tls_coverage, "TLS coverage"),
    ):
        if asked and have is None and has_files:
            warnings.append(
                f"this state was made without {what}: they cover only the files scanned "
                "from this run on (--rebuild-state covers them all)"
            )
    return EvidencePlan(
        findings=findings or kept.findings is not None,
        internal=wanted_internal,
        tls_coverage=tls_coverage or kept.tls_coverage is not None,
        warnings=tuple(warnings),
    )


# -- JSON-safe form -------------------------------------------------------------------


def evidence_to_obj(evidence: Evidence) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if evidence.findings is not None:
        obj[FINDINGS_KEY] = findings_to_obj(evidence.findings)
    if evidence.tls_coverage is not None:
        obj[COVERAGE_KEY] = evidence.tls_coverage.to_obj()
    return obj


def evidence_from_obj(obj: Any, salt: bytes) -> Evidence:
    """`None` (a result or a state without any): nothing gathered."""
    if obj is None:
        return Evidence()
    _check(isinstance(obj, dict), "evidence")
    evidence = Evidence()
    if FINDINGS_KEY in obj:
        evidence.findings = findings_from_obj(obj[FINDINGS_KEY], salt)
    if COVERAGE_KEY in obj:
        try:
            evidence.tls_coverage = TlsCoverage.from_obj(obj[COVERAGE_KEY])
        except ValueError:
            raise CodecError("malformed TLS coverage") from None
    return evidence


def findings_to_obj(observer: FindingsObserver) -> dict[str, Any]:
    apis = [
        [
            *key,
            s.requests, s.credentialed, dict(s.kinds), s.uncredentialed_rejected,
            s.uncredentialed_answered, s.responses, _int_keys(s.statuses), dict(s.errors),
            {name: _int_keys(c) for name, c in s.error_statuses.items()},
            base64.b64encode(b"".join(sorted(s.external_clients))).decode("ascii"),
        ]
        for key, s in observer.apis.items()
    ]  # fmt: skip
    versions = [
        [*key, v.product, v.responses, sorted(v.apis)] for key, v in observer.versions.items()
    ]
    endpoints = [
        [
            address.hex(), e.flows, sorted(e.ports), dict(e.protocols), sorted(e.hosts),
            sorted(e.sni), e.tls_flows, e.decrypted_flows, e.bytes_client, e.bytes_server,
            e.unidentified_flows,
        ]
        for address, e in observer.endpoints.items()
    ]  # fmt: skip
    dns = [
        [address.hex(), _unique(safe_host(name) for name in names)]
        for address, names in observer.dns_items()
    ]
    return {
        "internal": internal_cidrs(observer.networks),
        "apis": apis,
        "versions": versions,
        "endpoints": endpoints,
        "dns": dns,
        "dns_errors": observer.dns.errors,
        "plain": observer.cleartext.plain_servers(),
    }


def findings_from_obj(obj: Any, salt: bytes) -> FindingsObserver:
    _check(isinstance(obj, dict), "findings evidence")
    internal = obj.get("internal")
    _check(isinstance(internal, list) and all(isinstance(c, str) for c in internal), "internal")
    try:
        networks = Networks(internal)
    except NetworkError:
        raise CodecError("malformed internal networks") from None
    observer = FindingsObserver(networks, salt)
    for entry in _list(obj.get("apis"), "apis"):
        _check(isinstance(entry, list) and len(entry) == 13, "api evidence")
        key = (_str(entry[0]), _str(entry[1]), _str(entry[2]))
        observer.apis[key] = ApiStats(
            requests=_int(entry[3]),
            credentialed=_int(entry[4]),
            kinds=_counter(entry[5]),
            uncredentialed_rejected=_int(entry[6]),
            uncredentialed_answered=_int(entry[7]),
            responses=_int(entry[8]),
            statuses=_int_counter(entry[9]),
            errors=_counter(entry[10]),
            error_statuses={_str(k): _int_counter(v) for k, v in _dict(entry[11]).items()},
            external_clients=_hashes(entry[12]),
        )
    for entry in _list(obj.get("versions"), "versions"):
        _check(isinstance(entry, list) and len(entry) == 6, "version evidence")
        observer.versions[(_str(entry[0]), _str(entry[1]), _str(entry[2]))] = VersionStats(
            _str(entry[3]), _int(entry[4]), {_str(a) for a in _list(entry[5], "apis")}
        )
    for entry in _list(obj.get("endpoints"), "endpoints"):
        _check(isinstance(entry, list) and len(entry) == 11, "endpoint evidence")
        address = _address(entry[0])
        observer.endpoints[address] = Endpoint(
            address=address,
            flows=_int(entry[1]),
            ports={_int(p) for p in _list(entry[2], "ports")},
            protocols=_counter(entry[3]),
            hosts={_str(h) for h in _list(entry[4], "hosts")},
            sni={_str(h) for h in _list(entry[5], "sni")},
            tls_flows=_int(entry[6]),
            decrypted_flows=_int(entry[7]),
            bytes_client=_int(entry[8]),
            bytes_server=_int(entry[9]),
            unidentified_flows=_int(entry[10]),
        )
    for entry in _list(obj.get("dns"), "dns"):
        _check(isinstance(entry, list) and len(entry) == 2, "dns evidence")
        address = _address(entry[0])
        for name in _list(entry[1], "dns names"):
            observer.dns.add(address, _str(name))
    observer.dns.errors = _int(obj.get("dns_errors"))
    observer.cleartext.merged.update(_counter(obj.get("plain")))
    return observer


# -- checks (one-line reasons, never content) -------------------------------------------


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise CodecError(f"malformed {what}")


def _int(value: Any) -> int:
    _check(isinstance(value, int) and not isinstance(value, bool) and value >= 0, "count")
    return int(value)


def _str(value: Any) -> str:
    _check(isinstance(value, str), "name")
    return str(value)


def _list(value: Any, what: str) -> list[Any]:
    _check(isinstance(value, list), what)
    return list(value)


def _dict(value: Any) -> dict[Any, Any]:
    _check(isinstance(value, dict), "map")
    return dict(value)


def _counter(value: Any) -> Counter[str]:
    return Counter({_str(k): _int(v) for k, v in _dict(value).items()})


def _int_keys(counter: Counter[int]) -> dict[str, int]:
    return {str(k): v for k, v in counter.items()}


def _int_counter(value: Any) -> Counter[int]:
    out: Counter[int] = Counter()
    for key, count in _dict(value).items():
        _check(isinstance(key, str) and key.isdigit(), "status")
        out[int(key)] = _int(count)
    return out


def _address(value: Any) -> bytes:
    try:
        address = bytes.fromhex(_str(value))
    except ValueError:
        raise CodecError("malformed address") from None
    _check(len(address) in (4, 16), "address")
    return address


def _hashes(value: Any) -> set[bytes]:
    try:
        raw = base64.b64decode(_str(value), validate=True)
    except binascii.Error:
        raise CodecError("malformed clients") from None
    _check(len(raw) % CLIENT_HASH_BYTES == 0, "clients")
    return {raw[i : i + CLIENT_HASH_BYTES] for i in range(0, len(raw), CLIENT_HASH_BYTES)}


def _unique(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        if name not in out:
            out.append(name)
    return out
