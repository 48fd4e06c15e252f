"""A nats-server of a test's own (JetStream on, its store in a temporary folder), on a free port,
that the test may kill and start again on the same port and store.

Tests of what happens when NATS fails must not touch the NATS others use (4222): each starts its
own and stops only that one. They are skipped only where the ``nats-server`` binary is missing
(``.ci/run`` installs it).
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

import pytest

NATS_SERVER = shutil.which("nats-server") or (shutil.which("nats-server", path="/usr/sbin:/usr/local/bin"))


class OwnNats:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"nats://127.0.0.1:{self.port}"
        self.dir = tempfile.TemporaryDirectory(prefix="erp-test-nats-")
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        """Start it (again, on the same port and JetStream store)."""
        self.process = subprocess.Popen(
            [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", self.dir.name],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                assert self.process.poll() is None, "nats-server exited"
                assert time.monotonic() < deadline, "nats-server did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, as a crash or a lost host."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


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
