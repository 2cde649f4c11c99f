"""A throwaway MariaDB server for sample generation and tests: Debian's `mariadbd` on
127.0.0.1, a private port and a temporary data directory, stopped and removed on exit.

`MariaDB.start()` raises `ServerUnavailable` when mariadb-server is not installed (tests
skip on it). As root the server runs with `--user=root`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

# Seconds a fresh data directory takes to come up on a slow CI machine, with margin.
START_TIMEOUT = 60.0


class ServerUnavailable(RuntimeError):
    pass


class MariaDB:
    def __init__(self, port: int, user: str = "app", password: str = "app-pass") -> None:
        self.port = port
        self.user = user
        self.password = password
        self.datadir = Path(tempfile.mkdtemp(prefix="dpi-mariadb-"))
        self.socket = self.datadir / "mysqld.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def binaries() -> tuple[str, str, str] | None:
        found = tuple(shutil.which(n) for n in ("mariadbd", "mariadb-install-db", "mariadb"))
        if any(f is None for f in found):
            # Debian installs mariadbd under /usr/sbin, not always on a user's PATH.
            found = tuple(f or shutil.which(n, path="/usr/sbin:/usr/bin") for f, n in
                          zip(found, ("mariadbd", "mariadb-install-db", "mariadb"), strict=True))
        if any(f is None for f in found):
            return None
        return found  # type: ignore[return-value]

    def _root_args(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def start(self) -> MariaDB:
        bins = self.binaries()
        if bins is None:
            raise ServerUnavailable("mariadb-server is not installed")
        mariadbd, install_db, _ = bins
        subprocess.run(
            [install_db, "--no-defaults", f"--datadir={self.datadir}", "--auth-root-authentication-method=normal",
             "--skip-test-db", *self._root_args()],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.process = subprocess.Popen(
            [mariadbd, "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.socket}", "--skip-name-resolve",
             f"--pid-file={self.datadir / 'mysqld.pid'}", "--innodb-buffer-pool-size=16M",
             "--skip-log-bin", *self._root_args()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerUnavailable("mariadbd exited during start-up")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            self.stop()
            raise ServerUnavailable("mariadbd did not start in time")
        self.admin(
            f"CREATE USER '{self.user}'@'%' IDENTIFIED BY '{self.password}';"
            f" GRANT ALL ON *.* TO '{self.user}'@'%';"
        )
        return self

    def admin(self, sql: str) -> str:
        """Run statements as root over the Unix socket (never on the captured port)."""
        bins = self.binaries()
        assert bins is not None
        result = subprocess.run(
            [bins[2], "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B", "-e", sql],
            check=True, capture_output=True, text=True,
        )
        return result.stdout

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        shutil.rmtree(self.datadir, ignore_errors=True)

    def __enter__(self) -> MariaDB:  # noqa: PYI034 - start() may fail: not Self-typed
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
