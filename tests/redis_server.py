"""A redis-server of a test's own, on a free port, that the test may kill, restart or freeze.

Tests of what happens when Redis fails must not touch the Redis others use (6379): each starts
its own, ``--save '' --appendonly no`` (a restart starts empty), and stops only that one. They
are skipped only where the ``redis-server`` binary is missing.
"""
from __future__ import annotations

import shutil
import signal

import pytest

from tests.own_server import OwnServer

REDIS_SERVER = shutil.which("redis-server")


class OwnRedis(OwnServer):
    name = "redis"

    def __init__(self, password: str = "") -> None:
        self.password = password
        super().__init__()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        """Empty at each start, unless a ``SAVE`` left a snapshot to load."""
        return [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.dir.name, *(["--requirepass", self.password] if self.password else [])]

    def freeze(self) -> None:
        """Stop answering but keep connections and data: a hung or partitioned Redis."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def own_redis():
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    server = OwnRedis()
    try:
        yield server
    finally:
        server.kill()  # (SIGKILL ends a frozen one too)
        server.dir.cleanup()
