"""Access tokens: the per-process cache of verified claims never outlives a token's expiry or secret."""
from __future__ import annotations

import time
from dataclasses import replace

import jwt
import pytest

from erp_common import auth, config
from erp_common.errors import Unauthorized


def _token(secret: str, exp: float) -> str:
    return jwt.encode({"sub": "7", "username": "u", "roles": ["cashier"], "ver": 1, "exp": int(exp)}, secret,
                      algorithm="HS256")


def _refused_with(token: str) -> str:
    with pytest.raises(Unauthorized) as raised:
        auth.decode_token(token)
    return raised.value.code


def test_a_verified_token_is_refused_once_it_expires():
    secret = config.get_settings().jwt_secret_key
    token = _token(secret, time.time() + 2)
    assert auth.decode_token(token)["sub"] == "7"
    assert auth.decode_token(token)["sub"] == "7"  # the second time from the cache of verified claims
    time.sleep(2.1)
    assert _refused_with(token) == "token_expired"


def test_a_new_secret_refuses_tokens_verified_with_the_old_one():
    settings = config.get_settings()
    token = _token(settings.jwt_secret_key, time.time() + 60)
    assert auth.decode_token(token)["sub"] == "7"
    config.configure(replace(settings, jwt_secret_key="another-secret-" + "x" * 40))
    try:
        assert _refused_with(token) == "invalid_token"
    finally:
        config.configure(settings)


def test_tampered_and_garbage_tokens_are_refused_every_time():
    secret = config.get_settings().jwt_secret_key
    good = _token(secret, time.time() + 60)
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    for _ in range(2):
        assert _refused_with(tampered) == "invalid_token"
        assert _refused_with("not.a.token") == "invalid_token"


def test_a_token_living_longer_than_any_issued_is_refused():
    settings = config.get_settings()
    lifetime = settings.jwt_expire_minutes * 60
    assert auth.decode_token(_token(settings.jwt_secret_key, time.time() + lifetime))["sub"] == "7"
    assert _refused_with(_token(settings.jwt_secret_key, time.time() + lifetime + 3600)) == "invalid_token"
    assert _refused_with(_token(settings.jwt_secret_key, 10**400)) == "invalid_token"  # no OverflowError
