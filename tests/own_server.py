"""A server of a test's own (redis-server, nats-server) on a free port, that the test may kill and
start again on the same port and data folder: tests of a backing service failing never touch the
one the suite uses."""
from __future__ import annotations

import socket
import subprocess
import tempfile
import time


class OwnServer:
    """Subclasses say how to start the binary (``command``) and what its URL is (``url``)."""

    name = "server"

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.dir = tempfile.TemporaryDirectory(prefix=f"erp-test-{self.name}-")
        self.process: subprocess.Popen | None = None
        self.start()

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        """Start it (again, on the same port and folder) and wait until it accepts connections."""
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                assert self.process.poll() is None, f"{self.name} exited"
                assert time.monotonic() < deadline, f"{self.name} did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, as a crash or a lost host."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
