"""``erp run --workers N``: processes sharing one listening socket, refused without Redis."""
from __future__ import annotations

import os
import signal
import socket
import subprocess

import httpx
import pytest

from erp_common.config import ConfigError
from erp_local.cli import check_workers, main, server_module
from tests.conftest import ADMIN_PASSWORD, BACKEND, ErpRun, auth


def test_more_than_one_worker_needs_redis():
    check_workers(1, "")
    check_workers(4, "redis://127.0.0.1:6379/0")
    with pytest.raises(ConfigError, match="REDIS_URL"):
        check_workers(2, "")
    with pytest.raises(ConfigError, match="at least 1"):
        check_workers(0, "redis://127.0.0.1:6379/0")


def test_run_refuses_workers_without_redis_before_touching_anything(monkeypatch, capsys):
    monkeypatch.setenv("REDIS_URL", "")
    assert main(["run", "--port", "0", "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "--workers 2 needs REDIS_URL" in err


def test_the_listening_socket_is_bound_before_the_workers_exist():
    sock = server_module().listening_socket("127.0.0.1", 0)  # the server's, in the template
    try:
        port = sock.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # accepted into the backlog before anyone calls accept()
    finally:
        sock.close()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


@pytest.mark.skipif(BACKEND != "services", reason="more than one worker needs Redis (the services backend)")
def test_two_workers_serve_one_port_and_stop_together(database, make_user):
    gateway = ErpRun(None, "--workers", "2")
    process = gateway.process
    try:
        url = gateway.url
        assert len(_children(process.pid)) == 2
        token = httpx.post(url + "/function/user-login",
                           json={"username": "admin", "password": ADMIN_PASSWORD}).json()["access_token"]
        for _ in range(10):  # a new connection each: the kernel spreads them over both workers
            assert httpx.get(url + "/function/user-me", headers=auth(token)).status_code == 200
        # Each worker keeps the users' states it has read (a copy Redis keeps true): disabling a
        # user must reach both at once, so the very next request anywhere refuses the token.
        user_id, user_token = make_user("cashier")
        for _ in range(10):
            assert httpx.get(url + "/function/user-me", headers=auth(user_token)).status_code == 200
        disabled = httpx.patch(f"{url}/function/user-update/{user_id}", json={"is_active": False},
                               headers=auth(token))
        assert disabled.status_code == 200, disabled.text
        for _ in range(10):
            refused = httpx.get(url + "/function/user-me", headers=auth(user_token))
            assert refused.status_code == 401 and refused.json()["error"]["code"] == "user_disabled", refused.text
        workers = _children(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0
    for pid in workers:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
