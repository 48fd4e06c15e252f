"""The template's Flask-free adapter (``create_wsgi_app``) against its Flask app (``create_app``) for
what no function of the project returns or does: other results, a handler that raises. (Every
function, with real requests, is compared in tests/functions/test_adapter_equivalence.py.)"""
from __future__ import annotations

import logging

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Response

from tests.unit.test_template import index

RESULTS = [
    None,
    {},
    {"statusCode": 201, "body": {"k": "值"}, "headers": {"X-A": "1"}},
    {"body": [1, "a"]},
    {"body": b"\x00raw", "headers": [("Content-Type", "application/octet-stream")]},
    {"body": 12.5},
    {"body": None, "statusCode": "202"},
    {"statusCode": 204, "body": "dropped", "headers": {"X-B": "2"}},
    {"statusCode": 304, "body": "x", "headers": {"ETag": '"e"', "Content-Type": "text/plain"}},
    {"statusCode": 299, "body": "unknown status"},
    {"statusCode": 302, "headers": {"Location": "/elsewhere", "content-type": "text/plain"}},
    {"body": "x", "headers": {"Content-Length": "1", "X-Many": 3}},
    Response(b"a werkzeug response", status=207, headers={"X-W": "w"}),
]


def both(handle, method: str = "GET", path: str = "/x", **builder) -> list[tuple]:
    answers = []
    for app in (index.create_app(handle, "adapter-test"), index.create_wsgi_app(handle, "adapter-test")):
        environ = EnvironBuilder(method=method, path=path, **builder).get_environ()
        environ["SCRIPT_NAME"] = "/function/adapter-test"
        app_iter, status, headers = run_wsgi_app(app, environ)
        answers.append((status, headers.to_wsgi_list(), b"".join(app_iter)))
    return answers


@pytest.mark.parametrize("result", RESULTS, ids=range(len(RESULTS)))
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_every_kind_of_result_is_answered_alike(result, method):
    flask_answer, plain_answer = both(lambda event, context: result, method)
    assert plain_answer == flask_answer


def test_a_handler_that_raises_is_a_json_500_logged_as_flask_logs_it(caplog):
    def handle(event, context):
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="adapter-test"):
        flask_answer, plain_answer = both(handle, "POST", data=b"{}")
    assert plain_answer == flask_answer and flask_answer[0] == "500 INTERNAL SERVER ERROR"
    assert b'"code": "internal_server_error"' in flask_answer[2]
    logged = [(r.name, r.getMessage(), r.exc_info[0]) for r in caplog.records if r.name == "adapter-test"]
    assert logged == [("adapter-test", "Exception on /x [POST]", RuntimeError)] * 2


def test_a_tuple_is_flask_s_only_the_other_answers_500():
    flask_answer, plain_answer = both(lambda event, context: ("text", 201))
    assert flask_answer[0] == "201 CREATED" and plain_answer[0] == "500 INTERNAL SERVER ERROR"


def test_the_event_is_the_same_object_kinds_with_the_same_values():
    seen = []

    def handle(event, context):
        seen.append((type(event.headers), list(event.headers.items()), type(event.query), list(event.query.lists()),
                     event.body, event.method, event.path, event.remote_addr, context.hostname))
        return {"body": "ok"}

    both(handle, "PATCH", "/orders/42", query_string="x=1&x=2&y=%E4%BD%A0", headers={"X-Thing": "t"},
         data=b"raw")
    assert len(seen) == 2 and seen[0] == seen[1]
    assert seen[0][3] == [("x", ["1", "2"]), ("y", ["你"])]
