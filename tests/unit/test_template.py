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
