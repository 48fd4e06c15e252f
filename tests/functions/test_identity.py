"""Identity functions through the gateway over HTTP: sign-in, tokens, roles, user administration."""
from __future__ import annotations

import time
from collections import Counter

import jwt
import pytest

from tests.conftest import ADMIN_PASSWORD, TEST_JWT_SECRET, auth, unique
from tests.functions.test_concurrency import race


def assert_error(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    if code:
        assert body["error"]["code"] == code, body
    if field:
        fields = [d.get("field") for d in body["error"]["details"]]
        assert field in fields, body
    return body["error"]


def create_user(client, admin_token, **overrides):
    body = {"username": unique("user"), "password": "s3cret-pass", "full_name": "Li Lei", "roles": ["cashier"]}
    body.update(overrides)
    response = client.post("/function/user-create", json=body, headers=auth(admin_token))
    assert response.status_code == 201, response.text
    return response.json()


def login(client, username, password="s3cret-pass"):
    return client.post("/function/user-login", json={"username": username, "password": password})


class TestLogin:
    def test_admin_signs_in_and_user_me_accepts_the_token(self, client):
        response = client.post("/user/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer" and body["expires_in"] == 30 * 60
        claims = jwt.decode(body["access_token"], TEST_JWT_SECRET, algorithms=["HS256"])
        assert claims["roles"] == ["admin"] and claims["exp"] - claims["iat"] == 1800
        me = client.get("/function/user-me", headers=auth(body["access_token"]))
        assert me.status_code == 200 and me.json()["username"] == "admin"

    def test_wrong_password_and_unknown_user_answer_the_same(self, client):
        a = assert_error(login(client, "admin", "nope-nope"), 401, "invalid_credentials")
        b = assert_error(login(client, unique("ghost")), 401, "invalid_credentials")
        assert a["message"] == b["message"]

    def test_missing_fields_are_named(self, client):
        assert_error(client.post("/function/user-login", json={"username": "admin"}), 422, "validation_error",
                     "password")

    def test_malformed_json_is_400(self, client):
        response = client.post("/function/user-login", content=b'{"username": "admin",',
                               headers={"Content-Type": "application/json"})
        assert_error(response, 400, "malformed_json", "body")

    def test_body_must_be_an_object(self, client):
        assert_error(client.post("/function/user-login", json=["admin"]), 422, field="body")

    def test_wrong_types_are_named(self, client):
        assert_error(client.post("/function/user-login", json={"username": ["a"], "password": 5}), 422,
                     field="username")

    def test_repeated_failures_lock_the_username(self, client, admin_token):
        user = create_user(client, admin_token)
        for _ in range(5):
            assert_error(login(client, user["username"], "wrong-password"), 401)
        locked = login(client, user["username"])  # even the right password waits
        assert_error(locked, 429, "login_locked")
        assert 0 < int(locked.headers["Retry-After"]) <= 300
        other = create_user(client, admin_token)
        assert login(client, other["username"]).status_code == 200

    def test_success_clears_earlier_failures(self, client, admin_token):
        user = create_user(client, admin_token)
        for _ in range(4):
            login(client, user["username"], "wrong-password")
        assert login(client, user["username"]).status_code == 200
        for _ in range(4):
            login(client, user["username"], "wrong-password")
        assert login(client, user["username"]).status_code == 200


@pytest.fixture
def password_checks(monkeypatch) -> list[str]:
    """The passwords user-login checks from now on (the gateway serves from this process)."""
    from erp_common import auth as erp_auth

    checked: list[str] = []
    verify = erp_auth.verify_password

    def counting(password_hash, password):
        checked.append(password)  # list.append is atomic: the gateway's threads may call at once
        return verify(password_hash, password)

    monkeypatch.setattr(erp_auth, "verify_password", counting)
    return checked


class TestLoginThrottling:
    """Attempts are counted atomically before the password is checked (issue 9)."""

    def test_50_parallel_wrong_guesses_get_at_most_5_password_checks(self, client, admin_token, gateway,
                                                                     password_checks):
        user = create_user(client, admin_token)
        responses = race(gateway, 50, lambda http, i: login(http, user["username"], f"wrong-guess-{i}"))
        statuses = Counter(r.status_code for r in responses)
        assert set(statuses) <= {401, 429}, statuses
        assert statuses[401] == len(password_checks) <= 5 and statuses[429] >= 45, statuses
        for response in responses:
            if response.status_code == 429:
                assert_error(response, 429, "login_locked", "username")
                assert 0 < int(response.headers["Retry-After"]) <= 300
            else:
                assert_error(response, 401, "invalid_credentials")

    def test_the_right_password_in_a_parallel_burst_after_the_limit_is_refused(self, client, admin_token, gateway,
                                                                               password_checks):
        user = create_user(client, admin_token)
        for _ in range(5):
            assert_error(login(client, user["username"], "wrong-password"), 401, "invalid_credentials")
        checked = len(password_checks)
        responses = race(gateway, 20, lambda http, i: login(http, user["username"],
                                                            "s3cret-pass" if i % 2 else f"wrong-{i}"))
        assert [r.status_code for r in responses] == [429] * 20
        assert len(password_checks) == checked  # refused without checking a password

    def test_a_success_starts_the_count_again(self, client, admin_token):
        user = create_user(client, admin_token)
        for _ in range(4):
            assert_error(login(client, user["username"], "wrong-password"), 401)
        assert login(client, user["username"]).status_code == 200
        for _ in range(5):
            assert_error(login(client, user["username"], "wrong-password"), 401)
        assert_error(login(client, user["username"]), 429, "login_locked")

    def test_a_disabled_users_right_password_answers_as_a_wrong_one(self, client, admin_token, password_checks):
        user = create_user(client, admin_token)
        client.patch(f"/function/user-update/{user['id']}", json={"is_active": False}, headers=auth(admin_token))
        right, wrong = login(client, user["username"]), login(client, user["username"], "wrong-password")
        ghost = login(client, unique("ghost"))
        assert right.status_code == wrong.status_code == ghost.status_code == 401
        assert right.json() == wrong.json() == ghost.json()  # same code, message and details
        assert len(password_checks) == 3  # each took the hash check: the time tells nothing either


class TestTokens:
    def test_missing_token(self, client):
        assert_error(client.get("/function/user-me"), 401, "missing_token")

    def test_not_a_bearer_token(self, client):
        assert_error(client.get("/function/user-me", headers={"Authorization": "Basic YTpi"}), 401, "invalid_token")

    def test_tampered_token(self, client, admin_token):
        header, payload, signature = admin_token.split(".")
        tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
        assert_error(client.get("/function/user-me", headers=auth(tampered)), 401, "invalid_token")

    def test_token_signed_with_another_secret(self, client):
        forged = jwt.encode({"sub": "1", "roles": ["admin"], "ver": 1, "exp": int(time.time()) + 60},
                            "another-secret-of-sufficient-length-1234", algorithm="HS256")
        assert_error(client.get("/function/user-me", headers=auth(forged)), 401, "invalid_token")

    def test_expired_token(self, client):
        expired = jwt.encode({"sub": "1", "roles": ["admin"], "ver": 1, "exp": int(time.time()) - 5},
                             TEST_JWT_SECRET, algorithm="HS256")
        assert_error(client.get("/function/user-me", headers=auth(expired)), 401, "token_expired")

    def test_token_without_exp_is_refused(self, client):
        forever = jwt.encode({"sub": "1", "roles": ["admin"], "ver": 1}, TEST_JWT_SECRET, algorithm="HS256")
        assert_error(client.get("/function/user-me", headers=auth(forever)), 401, "invalid_token")

    # Signed with the right key, so only the claims' types stand between these and the code.
    @pytest.mark.parametrize("claims", [
        {"exp": "{exp}"},  # a string: PyJWT lets digits through, the comparison with time.time() did not
        {"exp": True}, {"exp": [1]}, {"exp": None}, {"exp": 10**400}, {"exp": 2**62},
        {"sub": 1}, {"sub": "abc"}, {"sub": "-1"}, {"sub": "0"}, {"sub": " 1"}, {"sub": "+1"}, {"sub": "١"},
        {"sub": "9" * 30}, {"sub": None},
        {"roles": "admin"}, {"roles": [1]}, {"roles": {"admin": True}}, {"roles": None},
        {"ver": None}, {"ver": "1"}, {"ver": True}, {"ver": 1.0}, {"ver": [1]},
        {"username": 5}, {"iat": "x"}, {"iat": "1700000000"}, {"nbf": []},
    ], ids=lambda claims: ",".join(f"{k}={v!r}"[:20] for k, v in claims.items()))
    def test_wrongly_typed_claims_are_401_never_500(self, client, admin_token, claims):
        good = jwt.decode(admin_token, TEST_JWT_SECRET, algorithms=["HS256"])
        assert client.get("/function/user-me", headers=auth(jwt.encode(good, TEST_JWT_SECRET))).status_code == 200
        forged = {**good, **claims}
        if forged["exp"] == "{exp}":
            forged["exp"] = str(good["exp"])
        forged = {k: v for k, v in forged.items() if v is not None}
        token = jwt.encode(forged, TEST_JWT_SECRET, algorithm="HS256")
        for path in ("/function/user-me", "/function/user-list"):
            error = assert_error(client.get(path, headers=auth(token)), 401)
            assert error["code"] in ("invalid_token", "token_expired")  # "exp": true is 1970 to PyJWT

    @pytest.mark.parametrize("payload", [b'{"sub": "1", "ver": 1, "roles": [], "exp": Infinity}',
                                         b'{"sub": "1", "ver": 1, "roles": [], "exp": NaN}',
                                         b'["sub", "1"]', b'"a string"', b'{"sub": "1", "ver": 1, "exp": 1e999}'])
    def test_claims_that_are_not_json_numbers_or_objects_are_401(self, client, payload):
        import base64
        import hashlib
        import hmac

        def b64(data: bytes) -> bytes:
            return base64.urlsafe_b64encode(data).rstrip(b"=")

        signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + b"." + b64(payload)
        signature = hmac.new(TEST_JWT_SECRET.encode(), signing_input, hashlib.sha256).digest()
        token = (signing_input + b"." + b64(signature)).decode()
        assert_error(client.get("/function/user-me", headers=auth(token)), 401, "invalid_token")

    def test_disabled_user_token_stops_working(self, client, admin_token):
        user = create_user(client, admin_token)
        token = login(client, user["username"]).json()["access_token"]
        assert client.get("/function/user-me", headers=auth(token)).status_code == 200
        response = client.patch(f"/function/user-update/{user['id']}", json={"is_active": False},
                                headers=auth(admin_token))
        assert response.status_code == 200 and response.json()["is_active"] is False
        assert_error(client.get("/function/user-me", headers=auth(token)), 401)
        assert_error(login(client, user["username"]), 401, "invalid_credentials")

    def test_password_reset_revokes_old_tokens(self, client, admin_token):
        user = create_user(client, admin_token)
        token = login(client, user["username"]).json()["access_token"]
        client.post(f"/function/user-update/{user['id']}", json={"password": "new-password-1"},
                    headers=auth(admin_token))
        assert_error(client.get("/function/user-me", headers=auth(token)), 401, "token_revoked")
        assert login(client, user["username"], "new-password-1").status_code == 200


class TestRoles:
    def test_wrong_role_is_403(self, client, make_user):
        _, cashier = make_user("cashier")
        error = assert_error(client.post("/function/user-create", json={}, headers=auth(cashier)), 403, "forbidden")
        assert "admin" in error["message"]

    def test_manager_reads_but_does_not_write_users(self, client, make_user):
        user_id, manager = make_user("manager")
        assert client.get(f"/function/user-get/{user_id}", headers=auth(manager)).status_code == 200
        assert client.get("/function/user-list", headers=auth(manager)).status_code == 200
        assert_error(client.post(f"/function/user-update/{user_id}", json={"full_name": "x"},
                                 headers=auth(manager)), 403)

    def test_role_change_takes_effect_at_once(self, client, admin_token):
        user = create_user(client, admin_token, roles=["manager"])
        token = login(client, user["username"]).json()["access_token"]
        assert client.get("/function/user-list", headers=auth(token)).status_code == 200
        client.post(f"/function/user-update/{user['id']}", json={"roles": ["cashier"]}, headers=auth(admin_token))
        assert_error(client.get("/function/user-list", headers=auth(token)), 401, "token_revoked")
        fresh = login(client, user["username"]).json()["access_token"]
        assert_error(client.get("/function/user-list", headers=auth(fresh)), 403)


class TestUserAdministration:
    def test_create_get_list_update(self, client, admin_token):
        user = create_user(client, admin_token, roles=["warehouse", "purchaser"], email="li@example.com",
                           full_name="李雷")
        assert user["roles"] == ["purchaser", "warehouse"] and user["full_name"] == "李雷"
        assert "password" not in user and "password_hash" not in user
        got = client.get(f"/function/user-get/{user['id']}", headers=auth(admin_token)).json()
        assert got == user
        listed = client.get("/function/user-list", params={"q": user["username"]}, headers=auth(admin_token))
        assert listed.json()["total"] == 1 and listed.json()["items"][0]["id"] == user["id"]
        page = client.get("/function/user-list", params={"role": "warehouse", "page_size": 1},
                          headers=auth(admin_token)).json()
        assert set(page) == {"items", "total", "page", "page_size"} and len(page["items"]) == 1
        updated = client.put(f"/function/user-update/{user['id']}", json={"full_name": "Han Meimei"},
                             headers=auth(admin_token)).json()
        assert updated["full_name"] == "Han Meimei" and updated["roles"] == ["purchaser", "warehouse"]

    def test_duplicate_username_is_409(self, client, admin_token):
        user = create_user(client, admin_token)
        response = client.post("/function/user-create", headers=auth(admin_token), json={
            "username": user["username"], "password": "another-pass", "roles": ["cashier"]})
        assert_error(response, 409, "username_taken", "username")

    @pytest.mark.parametrize("body, field", [
        ({"password": "s3cret-pass", "roles": ["cashier"]}, "username"),
        ({"username": "ab", "password": "s3cret-pass", "roles": ["cashier"]}, "username"),
        ({"username": "has space", "password": "s3cret-pass", "roles": ["cashier"]}, "username"),
        ({"username": "okname", "password": "short", "roles": ["cashier"]}, "password"),
        ({"username": "okname", "password": "s3cret-pass", "roles": []}, "roles"),
        ({"username": "okname", "password": "s3cret-pass", "roles": ["king"]}, "roles[0]"),
        ({"username": "okname", "password": "s3cret-pass", "roles": ["cashier", "cashier"]}, "roles"),
        ({"username": "okname", "password": "s3cret-pass", "roles": ["cashier"], "email": "nope"}, "email"),
        ({"username": "okname", "password": "s3cret-pass", "roles": ["cashier"], "is_root": True}, "is_root"),
    ])
    def test_create_rejects_bad_input(self, client, admin_token, body, field):
        assert_error(client.post("/function/user-create", json=body, headers=auth(admin_token)), 422,
                     "validation_error", field)

    def test_unknown_user_is_404(self, client, admin_token):
        assert_error(client.get("/function/user-get/999999", headers=auth(admin_token)), 404, "not_found", "user_id")

    def test_bad_user_id_is_422(self, client, admin_token):
        assert_error(client.get("/function/user-get/abc", headers=auth(admin_token)), 422, field="user_id")
        assert_error(client.get("/function/user-get/0", headers=auth(admin_token)), 422, field="user_id")

    def test_bad_list_paging_is_422(self, client, admin_token):
        assert_error(client.get("/function/user-list", params={"page_size": 1000}, headers=auth(admin_token)), 422,
                     field="page_size")
        assert_error(client.get("/function/user-list", params={"page": "x"}, headers=auth(admin_token)), 422,
                     field="page")

    def test_last_admin_cannot_be_disabled(self, client, admin_token):
        me = client.get("/function/user-me", headers=auth(admin_token)).json()
        others = client.get("/function/user-list", params={"role": "admin", "is_active": "true", "page_size": 200},
                            headers=auth(admin_token)).json()["items"]
        for other in others:  # leave the test admin as the only active administrator
            if other["id"] != me["id"]:
                client.patch(f"/function/user-update/{other['id']}", json={"is_active": False},
                             headers=auth(admin_token))
        response = client.patch(f"/function/user-update/{me['id']}", json={"is_active": False},
                                headers=auth(admin_token))
        assert_error(response, 409, "last_admin")
        assert client.get("/function/user-me", headers=auth(admin_token)).status_code == 200

    def test_idempotency_key_replays_the_first_response(self, client, admin_token):
        body = {"username": unique("idem"), "password": "s3cret-pass", "roles": ["cashier"]}
        headers = {**auth(admin_token), "Idempotency-Key": unique("key")}
        first = client.post("/function/user-create", json=body, headers=headers)
        second = client.post("/function/user-create", json=body, headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json() and second.headers["Idempotent-Replayed"] == "true"
        other = client.post("/function/user-create", json={**body, "full_name": "changed"}, headers=headers)
        assert_error(other, 422, "idempotency_key_reused", "Idempotency-Key")

    def test_overlong_idempotency_key_is_400(self, client, admin_token):
        headers = {**auth(admin_token), "Idempotency-Key": "k" * 101}
        assert_error(client.post("/function/user-create", json={}, headers=headers), 400, field="Idempotency-Key")
