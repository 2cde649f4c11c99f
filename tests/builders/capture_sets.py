"""Sets of small rotated-looking capture files for batch, state and parallel tests.

Each file holds a few whole HTTP conversations from distinct clients, one minute of
capture time after the previous file, so counts, first/last seen and client counts all
depend on which files were merged.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import zstandard

from tests.builders.conversation import T0, Conversation, http_request, http_response

CARDS = ("4111111111111111", "5555555555554444", "378282246310005")


def write_file(path: Path, index: int, conversations: int = 2) -> Path:
    """One capture: `conversations` clients posting a user with e-mail and card, reading
    it back; sensitive types vary a little with `index` so diffs have something to see."""
    packets = []
    for c in range(conversations):
        conv = Conversation(
            client=f"10.1.{index % 250}.{c + 1}",
            cport=40000 + c,
            ts=T0 + index * 60 + c,
        ).handshake()
        user = {
            "email": f"user{index}.{c}@mail.example-shop.net",
            "card": {"number": CARDS[(index + c) % len(CARDS)]},
        }
        if index % 3 == 0:
            user["phone"] = "+14155552671"
        conv.request(http_request("POST", f"/v1/users/{1000 + index}", json.dumps(user).encode()))
        conv.response(http_response(json.dumps({"id": 1000 + index, "ssn": "372-81-5526"}).encode()))
        conv.close()
        packets.extend(conv.packets)
    out = Conversation()
    out.packets = packets
    return out.write(path)


def write_set(directory: Path, count: int, start: int = 0, compress: str = "") -> list[Path]:
    """`count` files named like tcpdump -G rotation; `compress` is "", "gz" or "zst"."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = write_file(directory / f"mirror-{i:04d}.pcap", i)
        if compress == "gz":
            target = path.with_name(path.name + ".gz")
            target.write_bytes(gzip.compress(path.read_bytes()))
            path.unlink()
            path = target
        elif compress == "zst":
            target = path.with_name(path.name + ".zst")
            target.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
            path.unlink()
            path = target
        paths.append(path)
    return paths
