"""A PostgreSQL server of a test's own: initdb on a temporary directory, a free port, pg_ctl.

Tests that stop and start the database cannot share the suite's server. PostgreSQL refuses to
run as root, so as root the binaries run as the `postgres` user (runuser).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

BINARIES = "/usr/lib/postgresql/*/bin"


def _bin_dir() -> Path:
    found = sorted(glob.glob(f"{BINARIES}/pg_ctl"))
    if not found:
        pytest.fail(
            f"This test runs a PostgreSQL server of its own and needs initdb and pg_ctl in "
            f"{BINARIES} (Debian/Ubuntu: apt-get install postgresql).",
            pytrace=False,
        )
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresInstance:
    """One throwaway server; `url` is ready for SQLAlchemy (asyncpg)."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.as_root = os.geteuid() == 0
        self.home = Path(tempfile.mkdtemp(prefix="cc-pg-"))
        self.data = self.home / "data"
        self.log = self.home / "server.log"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        if self.as_root:
            shutil.chown(self.home, "postgres", "postgres")

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(  # noqa: S603 - our own fixed binaries and arguments
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}\n{done.stderr}\n{self._tail()}")
        return done

    def _tail(self) -> str:
        try:
            return self.log.read_text()[-2000:]
        except OSError:
            return ""

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _options(self) -> str:
        # Our own socket directory, loopback only; fsync off (a process crash, not a power cut,
        # is what these tests cause, and the OS keeps what PostgreSQL wrote).
        return (
            f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c max_connections=200"
        )

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            self._options(),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> None:
        """Stop (fast: end sessions cleanly; immediate: as if it crashed) and start again."""
        self.stop(mode)
        self.start()

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop("immediate")
        shutil.rmtree(self.home, ignore_errors=True)
