"""The template adapter: the python3-http contract, real JSON, chunked bodies."""
from __future__ import annotations

import importlib.util
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("erp_template_index", ROOT / "templates/python3-http-erp/index.py")
index = importlib.util.module_from_spec(spec)
spec.loader.exec_module(index)


def app_returning(result, seen=None):
    def handle(event, context):
        if seen is not None:
            seen.append((event, context))
        return result

    return index.create_app(handle).test_client()


def test_event_carries_body_headers_method_query_path():
    seen = []
    client = app_returning({"statusCode": 204}, seen)
    response = client.patch("/orders/42?x=1&x=2", data=b"raw", headers={"X-Thing": "t"})
    assert response.status_code == 204
    event, context = seen[0]
    assert event.body == b"raw" and event.method == "PATCH" and event.path == "/orders/42"
    assert event.headers.get("x-thing") == "t" and event.query.getlist("x") == ["1", "2"]
    assert context.hostname


def test_dict_and_list_bodies_are_real_json():
    response = app_returning({"body": [{"a": "x"}]}).get("/")
    assert response.get_json() == [{"a": "x"}] and response.content_type.startswith("application/json")
    response = app_returning({"statusCode": 201, "body": {"k": "值"}, "headers": {"X-A": "1"}}).post("/")
    assert response.status_code == 201 and response.get_json() == {"k": "值"} and response.headers["X-A"] == "1"


def test_string_bodies_pass_through_with_the_handlers_headers():
    response = app_returning({"body": '{"a":1}', "headers": {"Content-Type": "application/json"}}).get("/")
    assert response.data == b'{"a":1}' and response.content_type == "application/json"


def test_none_is_an_empty_200():
    response = app_returning(None).delete("/x")
    assert response.status_code == 200 and response.data == b""


def test_chunked_bodies_are_read():
    seen = []
    client = app_returning({"body": "ok"}, seen)

    client.post("/", input_stream=io.BytesIO(b'{"a": 1}'), headers={"Transfer-Encoding": "chunked"})
    assert seen[0][0].body == b'{"a": 1}'


def test_watchdog_durations_read_as_seconds():
    seconds = index.duration_seconds
    assert [seconds(v, -1.0) for v in ("35s", "1m5s", "500ms", "30", "1.5s", "2h")] == [35, 65, 0.5, 30, 1.5, 7200]
    assert [seconds(v, -1.0) for v in (None, "", "soon", "5s later")] == [-1.0] * 4


def test_a_request_in_flight_is_finished_and_a_late_one_refused():
    import socket
    import threading

    entered, release = threading.Event(), threading.Event()

    def slow_app(environ, start_response):
        entered.set()
        assert release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"done"]

    server = index.GracefulServer(slow_app, host="127.0.0.1", port=0, threads=2, timeout=10)
    finished = []
    runner = threading.Thread(target=lambda: finished.append(server.run()))
    runner.start()
    try:
        in_flight = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        in_flight.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        assert entered.wait(10)
        server.stop()
        assert server.draining.wait(10)  # the loop takes the stop at its next turn
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
            refused = False
        except ConnectionRefusedError:
            refused = True
        assert refused, "a new connection after the stop must be refused"
        release.set()
        response = b""
        while chunk := in_flight.recv(4096):
            response += chunk
        assert response.startswith(b"HTTP/1.1 200 OK") and response.endswith(b"done")
        assert b"connection: close" in response.lower()  # granian (hyper) writes header names in lower case
        runner.join(10)
        assert finished == [True]
    finally:
        release.set()
        server.stop()
        runner.join(10)


def test_the_server_reads_chunked_bodies_and_refuses_one_over_the_limit():
    """of-watchdog forwards every body chunked, with no length: the app gets it whole, with its length;
    a body over the limit, chunked or announced, is 413 in the JSON shape."""
    import json
    import socket
    import threading

    def echo(environ, start_response):
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Length", environ.get("CONTENT_LENGTH", ""))])
        return [body]

    def exchange(request: bytes) -> tuple[bytes, bytes]:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return head.lower(), body

    server = index.GracefulServer(echo, host="127.0.0.1", port=0, threads=2, timeout=10, max_body=10)
    runner = threading.Thread(target=server.run)
    runner.start()
    try:
        head, body = exchange(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                              b"4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n")
        assert head.startswith(b"http/1.1 200") and b"x-length: 7" in head and body == b"abcdefg", (head, body)
        for request in (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                        b"6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n",
                        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nConnection: close\r\n\r\n"):
            head, body = exchange(request)
            assert head.startswith(b"http/1.1 413"), head
            assert json.loads(body)["error"]["code"] == "payload_too_large"
    finally:
        server.stop()
        runner.join(15)


def test_the_listening_socket_sends_small_answers_at_once():
    """TCP_NODELAY on the listener is inherited by every accepted connection (Linux): without it, on a
    keep-alive connection one answer in four waited ~40 ms for the client's delayed ACK."""
    import socket

    sock = index.listening_socket("127.0.0.1", 0)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        with socket.create_connection(sock.getsockname()) as client:
            while True:
                try:
                    accepted, _ = sock.accept()
                    break
                except BlockingIOError:
                    continue
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                assert client
    finally:
        sock.close()
