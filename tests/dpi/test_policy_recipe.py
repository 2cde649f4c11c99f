"""The README's CI recipe, for real: a service on loopback, its traffic captured by
tcpdump (or dumpcap) during a client's calls, then `dpi check` on the capture."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dpi.cli import main

API_KEY = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"


class _Service(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # http.server dispatches on this name
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _capturer(port: int, out: Path) -> list[str] | None:
    if sys.platform != "linux" or os.geteuid() != 0 or not Path("/sys/class/net/lo").exists():
        return None
    if shutil.which("tcpdump"):
        return ["tcpdump", "-i", "lo", "-U", "-w", str(out), f"tcp port {port}"]
    if shutil.which("dumpcap"):
        return ["dumpcap", "-q", "-P", "-i", "lo", "-w", str(out), "-f", f"tcp port {port}"]
    return None


def test_capture_integration_traffic_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    capture = tmp_path / "traffic.pcap"
    cmd = _capturer(port, capture)
    if cmd is None:
        pytest.skip("needs Linux, root, the lo interface and tcpdump or dumpcap")
    sniffer = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        time.sleep(1.5)  # the capturer opens the interface
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for _ in range(3):  # the integration tests: calls with a key in the URL
            client.request("GET", f"/v1/reports?api_key={API_KEY}&day=1")
            client.getresponse().read()
        client.close()
        time.sleep(1.0)
    finally:
        server.shutdown()
        sniffer.terminate()
        sniffer.wait(timeout=10)
    junit = tmp_path / "dpi.xml"
    status = main(["check", str(capture), "--junit", str(junit), "-q"])
    err = capsys.readouterr().err
    assert status == 1, err
    cases = {c.get("name"): c.findall("failure") for c in ET.parse(junit).getroot().iter("testcase")}
    assert any("GET /v1/reports" in (f.text or "") for f in cases["no-secrets-in-urls"])
    assert cases["no-cleartext-credentials"]
    assert API_KEY not in err and API_KEY not in junit.read_text()
