"""Internal networks, external endpoints, and the inventory's extra columns.

`--internal CIDR` (repeatable) says which addresses are ours; by default the ranges no
internet host can have: RFC 1918 private IPv4, RFC 6598 shared (carrier-grade NAT)
space, loopback, link-local, and the IPv6 equivalents (RFC 4193 unique local, RFC 4291
loopback and link-local). A server outside them receives data that leaves the
organisation: its inventory rows are `egress=yes`.

The extra columns (spec/inventory.md: "new columns at the end") are written only when
findings were asked for (`--findings` or `--internal`): the default output stays exactly
the contract's columns, which golden files and strict readers compare byte for byte.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dpi.inventory import Row

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_INTERNAL = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
    "::1/128",
)
# Appended after the contract's columns, in this order (never reordered).
EXTRA_COLUMNS = ("egress", "auth_share")


class NetworkError(ValueError):
    """A `--internal` value that is not a CIDR (the message quotes the user's argument)."""


class Networks:
    """The internal networks of a scan; everything else is external."""

    def __init__(self, cidrs: Iterable[str] = DEFAULT_INTERNAL) -> None:
        self.networks: list[IPNetwork] = []
        for cidr in cidrs:
            try:
                self.networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
            except ValueError:
                raise NetworkError(f"--internal {cidr!r}: not an IP network (CIDR)") from None
        self._cache: dict[bytes | str, bool] = {}

    def is_internal(self, address: IPAddress) -> bool:
        # IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are the IPv4 host.
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == n.version and address in n for n in self.networks)

    def packed_is_internal(self, packed: bytes) -> bool:
        hit = self._cache.get(packed)
        if hit is None:
            hit = self.is_internal(ipaddress.ip_address(packed))
            if len(self._cache) < 65_536:  # a bounded memo: flows repeat few addresses
                self._cache[packed] = hit
        return hit

    def endpoint_is_internal(self, endpoint: str) -> bool:
        """`10.0.0.5:8080` / `[2001:db8::1]:443` / a bare address. Unparseable: internal
        (nothing is claimed to leave when we cannot tell where it goes)."""
        address = endpoint_address(endpoint)
        return True if address is None else self.is_internal(address)


def endpoint_address(endpoint: str) -> IPAddress | None:
    """The address of an `ip:port` / `[v6]:port` endpoint (spec's `server`), or None."""
    text = endpoint.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def endpoint_host(endpoint: str) -> str:
    """The address part of an endpoint as text (`203.0.113.7`, `2001:db8::1`)."""
    address = endpoint_address(endpoint)
    return str(address) if address is not None else endpoint


def extra_values(
    row: Row, networks: Networks, auth_shares: Mapping[tuple[str, str, str], float]
) -> list[str]:
    """`egress` (yes/no) and `auth_share` (blank where the protocol has no per-request
    credentials, or no request of the API was seen) for one row."""
    egress = "no" if networks.endpoint_is_internal(row.server) else "yes"
    share = auth_shares.get((row.protocol, row.server, row.api))
    return [egress, "" if share is None else f"{share:.2f}"]



def extra_json_values(
    row: Row, networks: Networks, auth_shares: Mapping[tuple[str, str, str], float]
) -> dict[str, Any]:
    """The same two values as JSON writes them: `auth_share` a number, or null."""
    egress, share = extra_values(row, networks, auth_shares)
    return {"egress": egress, "auth_share": float(share) if share else None}
