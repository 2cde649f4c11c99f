"""The findings observer: what findings need from a scan besides the inventory rows.

Per API `(protocol, server, api)` of HTTP and gRPC: requests, requests with credentials
(by kind), how uncredentialed requests were answered (rejected with 401/403/407 or not),
error signatures in responses. Per server: headers that disclose the stack. Per server
address: flows, ports, protocols, Host and TLS server names, TLS volumes, and the names
DNS answers gave it. Nothing here keeps a payload value: only counts, names from fixed
vocabularies (`dpi.findings.credentials`, `dpi.findings.leaks`), host names and
addresses. Names from traffic (Host, TLS server name, DNS answers, API paths) are kept
only as `dpi.identifiers` sanitizes them: a part holding a value shows as `{param}`.

Every map is bounded (named limits below): a capture with millions of APIs or flows
costs a fixed amount of memory, and what is beyond a limit is not counted.

Observers of separate scans merge (`merge`, left first, as `Inventory.merge`): batch
scans (`--jobs`, `--dask`, `--state`) gather evidence per file and fold it in file order
(`dpi/runs/evidence.py` carries it between processes and keeps it in the state). Per-flow
bookkeeping is not merged: a file's flows are finished when its observer is. External
clients are kept as salted hashes (`dpi.client_sets.client_hash`), never addresses.
"""

from __future__ import annotations

import os
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dpi.client_sets import client_hash
from dpi.engine import format_endpoint
from dpi.findings.cleartext import CleartextObserver
from dpi.findings.credentials import credential_kinds
from dpi.findings.dns import DnsNames
from dpi.findings.egress import Networks
from dpi.findings.leaks import error_signatures, version_headers
from dpi.identifiers import safe_host
from dpi.inventory import SALT_BYTES
from dpi.observer import Observer
from protocols.base import Direction

if TYPE_CHECKING:
    from dpi.reassembly import Flow
    from protocols.base import Message

# APIs and server addresses tracked (beyond: not counted; real captures have hundreds).
MAX_APIS = 50_000
MAX_ENDPOINTS = 50_000
# Flows remembered for pairing responses with their request's credentials and for
# counting each flow once; the oldest are forgotten first.
MAX_FLOWS = 65_536
# Requests awaiting their response per (flow, api): HTTP/1 pipelines a few, HTTP/2
# streams a hundred at most in practice.
MAX_PENDING_PER_KEY = 256
# Distinct names/ports kept per endpoint, external clients counted per API.
MAX_NAMES = 16
MAX_PORTS = 32
MAX_EXTERNAL_CLIENTS = 10_000
# Statuses answering "you are not allowed": RFC 9110 15.5.2, 15.5.4, 15.5.8.
REJECTED = frozenset({401, 403, 407})
# Protocols whose messages carry credentials per request (Kafka and MySQL authenticate
# the connection, which the capture may not show).
PER_REQUEST_AUTH = frozenset({"http", "grpc"})

ApiKey = tuple[str, str, str]  # (protocol, server, api)


@dataclass(slots=True)
class ApiStats:
    requests: int = 0
    credentialed: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    uncredentialed_rejected: int = 0
    uncredentialed_answered: int = 0
    responses: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    # signature name -> responses showing it, and their status codes
    errors: Counter[str] = field(default_factory=Counter)
    error_statuses: dict[str, Counter[int]] = field(default_factory=dict)
    external_clients: set[bytes] = field(default_factory=set)  # salted hashes

    @property
    def auth_share(self) -> float | None:
        return self.credentialed / self.requests if self.requests else None


@dataclass(slots=True)
class VersionStats:
    product: str
    responses: int = 0
    apis: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Endpoint:
    """What was seen of one server address."""

    address: bytes
    flows: int = 0
    ports: set[int] = field(default_factory=set)
    protocols: Counter[str] = field(default_factory=Counter)
    hosts: set[str] = field(default_factory=set)
    sni: set[str] = field(default_factory=set)
    tls_flows: int = 0
    decrypted_flows: int = 0
    bytes_client: int = 0
    bytes_server: int = 0
    unidentified_flows: int = 0


def _add_name(names: set[str], name: str) -> None:
    if name and len(names) < MAX_NAMES:
        names.add(name[:253])  # a DNS name is at most 253 characters


def _add_bounded(into: Counter[int], other: Counter[int], limit: int) -> None:
    """Counts of `other` into `into`, new keys only while `into` has fewer than `limit`
    (first sight wins, as during a scan)."""
    for key, count in other.items():
        if key in into or len(into) < limit:
            into[key] += count


class MergeableCleartext(CleartextObserver):
    """`CleartextObserver` plus the plain-flow counts of merged (finished) scans."""

    def __init__(self) -> None:
        super().__init__()
        self.merged: Counter[str] = Counter()

    def plain_servers(self) -> dict[str, int]:
        out = Counter(self.merged)
        out.update(super().plain_servers())
        return dict(out)


class FindingsObserver(Observer):
    """Gathers per-API, per-server and per-address evidence during a scan.

    `salt`: the key of the external-client hashes; observers that are merged must share
    it (a batch scan's salt, the state's). Default: random, for one scan."""

    def __init__(self, networks: Networks | None = None, salt: bytes | None = None) -> None:
        self.networks = networks or Networks()
        self.salt = salt if salt is not None else os.urandom(SALT_BYTES)
        self.apis: dict[ApiKey, ApiStats] = {}
        self.versions: dict[tuple[str, str, str], VersionStats] = {}  # (protocol, server, header)
        self.endpoints: dict[bytes, Endpoint] = {}
        self.dns = DnsNames()
        self._flows: OrderedDict[int, tuple[int, int]] = OrderedDict()  # id -> TLS bytes counted
        # Which servers carried readable flows outside TLS (cleartext_credentials).
        self.cleartext = MergeableCleartext()
        self._pending: OrderedDict[tuple[int, str], deque[bool]] = OrderedDict()
        self._servers: dict[tuple[bytes, int], str] = {}
        self._layered: OrderedDict[tuple[int, str], None] = OrderedDict()

    # -- helpers ----------------------------------------------------------------------

    def _server(self, flow: Flow) -> str:
        name = self._servers.get(flow.server)
        if name is None:
            name = format_endpoint(flow.server)
            if len(self._servers) < MAX_ENDPOINTS:
                self._servers[flow.server] = name
        return name

    def _endpoint(self, flow: Flow, count: bool = True) -> Endpoint | None:
        """The flow's server's record; the flow counted there on its first flow event
        (`count`). Messages never count a flow: it was counted when identified, and a
        shard of a capture split by API sees the messages of flows that shard 0 counts
        (dpi/runs/shard_plan.py)."""
        address, port = flow.server
        endpoint = self.endpoints.get(address)
        if endpoint is None:
            if len(self.endpoints) >= MAX_ENDPOINTS:
                return None
            endpoint = self.endpoints[address] = Endpoint(address)
        if count and flow.id not in self._flows:
            self._flows[flow.id] = (0, 0)
            if len(self._flows) > MAX_FLOWS:
                self._flows.popitem(last=False)
            endpoint.flows += 1
            if len(endpoint.ports) < MAX_PORTS:
                endpoint.ports.add(port)
        return endpoint

    def _api(self, key: ApiKey) -> ApiStats | None:
        stats = self.apis.get(key)
        if stats is None and len(self.apis) < MAX_APIS:
            stats = self.apis[key] = ApiStats()
        return stats

    # -- observer methods -------------------------------------------------------------

    def flow_identified(self, flow: Flow, protocol: str) -> None:
        self.cleartext.flow_identified(flow, protocol)
        endpoint = self._endpoint(flow)
        if endpoint is not None:
            endpoint.protocols[protocol] += 1

    def flow_unidentified(self, flow: Flow) -> None:
        endpoint = self._endpoint(flow)
        if endpoint is not None:
            endpoint.unidentified_flows += 1

    def flow_layer(self, flow: Flow, layer: str, info: dict[str, object]) -> None:
        self.cleartext.flow_layer(flow, layer, info)
        endpoint = self._endpoint(flow)
        if endpoint is None:
            return
        sni = info.get("sni")
        if isinstance(sni, str):
            _add_name(endpoint.sni, safe_host(sni).lower())
        # Called again when the info changes: count the flow once, the bytes as deltas.
        seen_client, seen_server = self._flows.get(flow.id, (0, 0))
        bytes_client = info.get("bytes_client")
        bytes_server = info.get("bytes_server")
        now_client = bytes_client if isinstance(bytes_client, int) else seen_client
        now_server = bytes_server if isinstance(bytes_server, int) else seen_server
        endpoint.bytes_client += max(now_client - seen_client, 0)
        endpoint.bytes_server += max(now_server - seen_server, 0)
        self._flows[flow.id] = (max(now_client, seen_client), max(now_server, seen_server))
        if self._once((flow.id, layer)):
            endpoint.protocols[layer] += 1
            endpoint.tls_flows += layer == "tls"
        if info.get("decrypted") is True and self._once((flow.id, layer + "+decrypted")):
            endpoint.decrypted_flows += 1

    def _once(self, key: tuple[int, str]) -> bool:
        """True the first time `key` is seen (a bounded memory of flows and layers)."""
        if key in self._layered:
            return False
        self._layered[key] = None
        if len(self._layered) > MAX_FLOWS:
            self._layered.popitem(last=False)
        return True

    def _remember(self, key: tuple[int, str]) -> deque[bool]:
        queue = self._pending.get(key)
        if queue is None:
            queue = self._pending[key] = deque(maxlen=MAX_PENDING_PER_KEY)
            if len(self._pending) > MAX_FLOWS:
                self._pending.popitem(last=False)
        return queue

    def datagram(self, src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, ts_ns: int) -> None:
        self.dns.add_datagram(sport, payload)

    def message(self, flow: Flow, message: Message) -> None:
        endpoint = self._endpoint(flow, count=False)
        if endpoint is not None and message.host:
            _add_name(endpoint.hosts, message.host.lower())
        protocol = message.protocol
        if protocol not in PER_REQUEST_AUTH:
            return
        server = self._server(flow)
        stats = self._api((protocol, server, message.api))
        if stats is None:
            return
        if message.direction is Direction.REQUEST:
            kinds = credential_kinds(message.parts)
            stats.requests += 1
            if kinds:
                stats.credentialed += 1
                stats.kinds.update(set(kinds))
            self._remember((flow.id, message.api)).append(bool(kinds))
            client = flow.client[0]
            if (
                len(stats.external_clients) < MAX_EXTERNAL_CLIENTS
                and not self.networks.packed_is_internal(client)
            ):
                stats.external_clients.add(client_hash(self.salt, client))
            return
        self._response(flow, message, server, stats)

    def _response(self, flow: Flow, message: Message, server: str, stats: ApiStats) -> None:
        stats.responses += 1
        status = message.status
        if status:
            stats.statuses[status] += 1
        queue = self._pending.get((flow.id, message.api))
        if queue:
            credentialed = queue.popleft()
            if not credentialed:
                if status in REJECTED:
                    stats.uncredentialed_rejected += 1
                else:
                    stats.uncredentialed_answered += 1
        for name in error_signatures(message.parts, status):
            stats.errors[name] += 1
            statuses = stats.error_statuses.setdefault(name, Counter())
            if status and (status in statuses or len(statuses) < 16):
                statuses[status] += 1
        for header, product in version_headers(message.parts):
            key = (message.protocol, server, header)
            version = self.versions.get(key)
            if version is None:
                if len(self.versions) >= MAX_APIS:
                    continue
                version = self.versions[key] = VersionStats(product)
            version.responses += 1
            if len(version.apis) < MAX_NAMES:
                version.apis.add(message.api)

    # -- merging ----------------------------------------------------------------------

    def merge(self, other: FindingsObserver) -> None:
        """Adds the evidence of `other` (a later, finished scan; same salt) to this one,
        with the bounds a single scan has."""
        if other.salt != self.salt:
            raise ValueError("findings evidence of another salt")  # a bug: clients would count twice
        for key, theirs in other.apis.items():
            mine = self._api(key)
            if mine is not None:
                _merge_api(mine, theirs)
        for vkey, version in other.versions.items():
            have = self.versions.get(vkey)
            if have is None:
                if len(self.versions) >= MAX_APIS:
                    continue
                have = self.versions[vkey] = VersionStats(version.product)
            have.responses += version.responses
            for api in sorted(version.apis):
                if len(have.apis) >= MAX_NAMES:
                    break
                have.apis.add(api)
        for address, endpoint in other.endpoints.items():
            mine_endpoint = self.endpoints.get(address)
            if mine_endpoint is None:
                if len(self.endpoints) >= MAX_ENDPOINTS:
                    continue
                mine_endpoint = self.endpoints[address] = Endpoint(address)
            _merge_endpoint(mine_endpoint, endpoint)
        for address, names in other.dns_items():
            for name in names:
                self.dns.add(address, name)
        self.dns.errors += other.dns.errors
        self.cleartext.merged.update(other.cleartext.plain_servers())

    def dns_items(self) -> list[tuple[bytes, list[str]]]:
        """(address, names) of every DNS answer remembered, oldest first."""
        return [(address, self.dns.names(address)) for address in self.dns._names]

    # -- results ----------------------------------------------------------------------

    def auth_shares(self) -> dict[ApiKey, float]:
        """Share of requests with credentials per API (APIs with requests only)."""
        return {
            key: share for key, stats in self.apis.items() if (share := stats.auth_share) is not None
        }

    def names(self, address: bytes) -> list[str]:
        """Every name the capture gave an address: Host, TLS server name, DNS answers."""
        endpoint = self.endpoints.get(address)
        names: list[str] = []
        if endpoint is not None:
            names += sorted(endpoint.hosts) + sorted(endpoint.sni)
        # Host names reach here sanitized (the engine's messages); DNS answers do not.
        names += [safe_host(name) for name in self.dns.names(address)]
        out: list[str] = []
        for name in names:
            bare = name.rsplit(":", 1)[0] if name.count(":") == 1 else name  # Host may carry a port
            if bare not in out:
                out.append(bare)
        return out


def _merge_api(mine: ApiStats, theirs: ApiStats) -> None:
    mine.requests += theirs.requests
    mine.credentialed += theirs.credentialed
    mine.kinds.update(theirs.kinds)
    mine.uncredentialed_rejected += theirs.uncredentialed_rejected
    mine.uncredentialed_answered += theirs.uncredentialed_answered
    mine.responses += theirs.responses
    mine.statuses.update(theirs.statuses)
    mine.errors.update(theirs.errors)
    for name, statuses in theirs.error_statuses.items():
        _add_bounded(mine.error_statuses.setdefault(name, Counter()), statuses, 16)
    for client in sorted(theirs.external_clients):
        if len(mine.external_clients) >= MAX_EXTERNAL_CLIENTS:
            break
        mine.external_clients.add(client)


def _merge_endpoint(mine: Endpoint, theirs: Endpoint) -> None:
    mine.flows += theirs.flows
    for port in sorted(theirs.ports):
        if len(mine.ports) >= MAX_PORTS:
            break
        mine.ports.add(port)
    mine.protocols.update(theirs.protocols)
    for name in sorted(theirs.hosts):
        _add_name(mine.hosts, name)
    for name in sorted(theirs.sni):
        _add_name(mine.sni, name)
    mine.tls_flows += theirs.tls_flows
    mine.decrypted_flows += theirs.decrypted_flows
    mine.bytes_client += theirs.bytes_client
    mine.bytes_server += theirs.bytes_server
    mine.unidentified_flows += theirs.unidentified_flows
