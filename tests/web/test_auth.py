"""Password hashes and --auth values."""

from __future__ import annotations

import base64

import pytest

from sleuth.web.auth import Auth, AuthError, check_password, hash_password, parse_auth


def test_a_hash_checks_its_password_only():
    hashed = hash_password("correct horse")
    assert hashed.startswith("scrypt$16384$8$1$")
    assert check_password("correct horse", hashed)
    assert not check_password("correct horsf", hashed)
    assert hash_password("correct horse") != hashed  # salted


def test_a_broken_hash_is_a_clear_error():
    with pytest.raises(AuthError, match="not one 'sleuth serve --hash-password' makes"):
        parse_auth("basic:ops:md5$abc")


def test_the_bearer_token_comes_from_the_environment():
    auth = parse_auth("bearer:TOKEN_VAR", environ={"TOKEN_VAR": "t0k"})
    assert auth.allows("Bearer t0k")
    assert not auth.allows("Bearer t0")
    assert not auth.allows(None)
    assert not auth.allows("Basic " + base64.b64encode(b"x:t0k").decode())
    assert "t0k" not in repr(auth)
    with pytest.raises(AuthError, match="TOKEN_VAR is unset"):
        parse_auth("bearer:TOKEN_VAR", environ={})
    with pytest.raises(AuthError, match="never the token itself"):
        parse_auth("bearer:abc-def.ghi", environ={})


@pytest.mark.parametrize("value", ["token:X", "basic:onlyuser", "basic::hash", ""])
def test_unknown_or_incomplete_auth_is_refused(value: str):
    with pytest.raises(AuthError):
        parse_auth(value, environ={})


def test_basic_auth_rejects_garbage_headers():
    auth = Auth(scheme="basic", user="ops", password_hash=hash_password("pw"))
    assert not auth.allows("Basic !!!not-base64")
    assert not auth.allows("Bearer pw")
    good = "Basic " + base64.b64encode(b"ops:pw").decode()
    assert auth.allows(good)
    assert auth.allows(good)
