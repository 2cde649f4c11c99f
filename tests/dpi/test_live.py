"""Live capture: `dpi watch` on the loopback interface with real HTTP traffic made here,
periodic and final inventory writes, rotation, signals, the BPF filter."""

from __future__ import annotations

import csv
import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dpi.runs.live import LiveError, compile_filter, linktype_of, write_rotated

ROOT = Path(__file__).resolve().parents[2]
needs_root_lo = pytest.mark.skipif(
    sys.platform != "linux" or os.geteuid() != 0 or not Path("/sys/class/net/lo").exists(),
    reason="live capture needs Linux, root and the lo interface",
)
CARD = "4111111111111111"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, Content-Length framing

    def do_POST(self) -> None:  # http.server dispatches on this name
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"contact": {"email": "jane.roe@mail.shopper-demo.net"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _traffic(port: int, requests: int = 3) -> None:
    """A real server on 127.0.0.1 and a keep-alive client posting card numbers."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for i in range(requests):
            body = json.dumps({"card": {"number": CARD}, "email": f"u{i}@mail.shopper-demo.net"})
            client.request("POST", f"/v1/users/{1000 + i}/cards", body=body,
                           headers={"Content-Type": "application/json", "Host": "cards.local"})
            client.getresponse().read()
        client.close()
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def watcher(tmp_path: Path) -> Iterator[tuple[Path, int, list[subprocess.Popen[str]]]]:
    procs: list[subprocess.Popen[str]] = []
    yield tmp_path, _free_port(), procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _start(procs: list[subprocess.Popen[str]], *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dpi", "watch", *args],
        cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    procs.append(proc)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # printed once the socket is bound and filtered
    assert "watching" in line, line
    return proc


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@needs_root_lo
def test_watch_loopback_writes_inventory_on_sigint(watcher: tuple[Path, int, list[subprocess.Popen[str]]]) -> None:
    tmp, port, procs = watcher
    out = tmp / "inventory.csv"
    other = _free_port()
    proc = _start(procs, "-i", "lo", "--bpf", f"tcp port {port}", "-o", str(out), "--every", "60")
    _traffic(port)
    _traffic(other, requests=1)  # filtered out by the BPF program
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    rows = _rows(out)
    found = {(r["server"], r["api"], r["direction"], r["field"], r["data_type"], r["count"]) for r in rows}
    server = f"127.0.0.1:{port}"
    assert (server, "POST /v1/users/{id}/cards", "request", "card.number", "CARD_NUMBER", "3") in found
    assert (server, "POST /v1/users/{id}/cards", "request", "email", "EMAIL_ADDRESS", "3") in found
    assert (server, "POST /v1/users/{id}/cards", "response", "contact.email", "EMAIL_ADDRESS", "3") in found
    assert {r["server"] for r in rows} == {server}
    assert all(CARD not in value for r in rows for value in r.values())
    assert "live:" in err and "dropped by the kernel" in err


@needs_root_lo
def test_watch_flushes_periodically_and_rotates_then_stops_on_sigterm(
    watcher: tuple[Path, int, list[subprocess.Popen[str]]],
) -> None:
    tmp, port, procs = watcher
    out = tmp / "inv.csv"
    # Every 0.3 s; keep two older snapshots.
    proc = _start(procs, "-i", "lo", "--bpf", f"tcp port {port}", "-o", str(out),
                  "--every", "0.005", "--keep", "2", "-q")
    _traffic(port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if out.exists() and any(r["data_type"] == "CARD_NUMBER" for r in _rows(out)):
            break
        time.sleep(0.1)
    else:
        pytest.fail("no periodic inventory with the card number")
    assert proc.poll() is None  # written while still running
    time.sleep(1.0)
    assert (tmp / "inv.csv.1").exists() and (tmp / "inv.csv.2").exists()
    assert not (tmp / "inv.csv.3").exists()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert any(r["data_type"] == "CARD_NUMBER" for r in _rows(out))


@needs_root_lo
def test_watch_bad_filter_and_interface_are_usage_errors(tmp_path: Path) -> None:
    for args in (["-i", "lo", "--bpf", "tcp port nonsense((("], ["-i", "no-such-if0"]):
        done = subprocess.run(
            [sys.executable, "-m", "dpi", "watch", *args, "-o", str(tmp_path / "x.csv")],
            cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("dpi: error:") and "Traceback" not in done.stderr


def test_watch_applies_the_configs_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # dpi watch used to build its engine with the default bounds, ignoring [limits].
    import dpi.build
    import dpi.runs.live
    from dpi.cli import main

    built: list[Any] = []
    real_build = dpi.build.build_engine

    def recording_build(spec: Any) -> Any:
        built.append(real_build(spec))
        return built[-1]

    class NoInterface:
        def __init__(self, *args: object) -> None:
            raise dpi.runs.live.LiveError("no capture in this test")

    monkeypatch.setattr(dpi.build, "build_engine", recording_build)
    monkeypatch.setattr(dpi.runs.live, "LiveCapture", NoInterface)
    config = tmp_path / "dpi.toml"
    config.write_text('[limits]\nmax_body_bytes = "1k"\n')
    code = main(["watch", "--interface", "lo", "--config", str(config), "-o", str(tmp_path / "x.csv")])
    assert code == 2  # the capture could not start, after the engine was built
    assert built and built[0].limits.max_body_bytes == 1024


def test_write_rotated_keeps_the_newest_snapshots(tmp_path: Path) -> None:
    out = tmp_path / "inv.csv"
    for i in range(5):
        write_rotated(out, f"v{i}", keep=3)
    assert out.read_text() == "v4"
    assert [(tmp_path / f"inv.csv.{n}").read_text() for n in (1, 2, 3)] == ["v3", "v2", "v1"]
    assert not (tmp_path / "inv.csv.4").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inv.csv", "inv.csv.1", "inv.csv.2", "inv.csv.3"]


@pytest.mark.skipif(not Path("/sys/class/net/lo").exists(), reason="no lo interface")
def test_loopback_is_ethernet_and_unknown_interfaces_are_refused() -> None:
    assert linktype_of("lo") == 1
    with pytest.raises(LiveError, match="no such network interface"):
        linktype_of("no-such-if0")


def test_filter_compiles_once_to_kernel_bpf() -> None:
    try:
        program = compile_filter("tcp port 8080", 1)
    except LiveError as exc:
        pytest.skip(str(exc))
    assert program[0] == (0x28, 0, 0, 12)  # ldh [12]: the EtherType
    assert program[-1][0] == 0x06  # ret
    with pytest.raises(LiveError, match="bad BPF filter"):
        compile_filter("tcp port (((", 1)
