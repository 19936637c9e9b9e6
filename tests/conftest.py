"""Shared test fixtures: no network beyond loopback, and a runner for the real `keysweep` CLI."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_real_connect = socket.socket.connect


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # AF_UNIX paths


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may only reach loopback, not {address!r}")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def _no_network_beyond_loopback() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Keysweep:
    """Runs the installed `keysweep` command in a subprocess, as a user would, with its own database."""

    db: Path
    cache: Path

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KEYSWEEP_DB"] = str(self.db)
        env["KEYSWEEP_CACHE_DIR"] = str(self.cache)
        return env

    def __call__(self, *args: str | Path, cwd: Path | None = None, timeout: float = 120) -> Run:
        command = [sys.executable, "-m", "scanner", *map(str, args)]
        done = subprocess.run(
            command,
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def rule_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rule-cache")


@pytest.fixture
def keysweep(tmp_path: Path, rule_cache: Path) -> Keysweep:
    return Keysweep(db=tmp_path / "keysweep.db", cache=rule_cache)
