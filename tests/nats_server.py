"""A nats-server of a test's own (JetStream on, its store in a temporary folder), on a free port,
that the test may kill and start again on the same port and store.

Tests of what happens when NATS fails must not touch the NATS others use (4222): each starts its
own and stops only that one. They are skipped only where the ``nats-server`` binary is missing
(``.ci/run`` installs it).
"""
from __future__ import annotations

import shutil

import pytest

from tests.own_server import OwnServer

NATS_SERVER = shutil.which("nats-server") or (shutil.which("nats-server", path="/usr/sbin:/usr/local/bin"))


class OwnNats(OwnServer):
    name = "nats"

    def __init__(self) -> None:
        super().__init__()
        self.url = f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """JetStream on, its store in the server's own folder (kept across restarts)."""
        return [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", self.dir.name]


@pytest.fixture
def own_nats():
    if NATS_SERVER is None:
        pytest.skip("nats-server is not installed")
    server = OwnNats()
    try:
        yield server
    finally:
        server.kill()
        server.dir.cleanup()
