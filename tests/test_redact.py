from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

from sleuth.redact import Secret, SecretRegistry, is_weak, looks_secret, mask_url


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        pytest.param(
            "amqp://guest:guest@127.0.0.1:5672/",
            "amqp://guest:***@127.0.0.1:5672/",
            id="amqp",
        ),
        pytest.param(
            "postgresql://app:p%40ss@db-1:5432/orders?sslmode=require",
            "postgresql://app:***@db-1:5432/orders?sslmode=require",
            id="encoded-password-and-query",
        ),
        pytest.param(
            "redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0", id="no-user"
        ),
        pytest.param(
            "nats://127.0.0.1:4222", "nats://127.0.0.1:4222", id="no-password"
        ),
        pytest.param(
            "nats://token@host:4222", "nats://token@host:4222", id="user-only"
        ),
        pytest.param("mqtt://u:p@[::1]:1883", "mqtt://u:***@[::1]:1883", id="ipv6"),
        pytest.param("not a url", "not a url", id="plain-text"),
    ],
)
def test_mask_url_replaces_the_password(url: str, masked: str):
    assert mask_url(url) == masked


def test_mask_url_masks_even_what_urlsplit_rejects():
    assert (
        mask_url("amqp://guest:guest@host:99999999/")
        == "amqp://guest:***@host:99999999/"
    )


# -- the registry ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("API_KEY", True), ("DB_PASSWORD", True), ("GITHUB_TOKEN", True),
        ("SESSION_COOKIE", True), ("DATABASE_DSN", True), ("client_secret", True),
        ("CACHE_HOST", False), ("FEATURE_FLAG_X", False), ("DATABASE_URL", False),
    ],
)  # fmt: skip
def test_secret_looking_names(name, secret):
    assert looks_secret(name) is secret


def test_secret_values_are_scrubbed_in_their_common_encodings():
    registry = SecretRegistry()
    registry.add_setting("API_TOKEN", "tok/en+value 1")
    raw = "tok/en+value 1"
    text = " ".join([
        raw,
        urllib.parse.quote(raw, safe=""),
        urllib.parse.quote_plus(raw),
        json.dumps({"t": raw}),
        base64.b64encode(raw.encode()).decode(),
    ])  # fmt: skip
    scrubbed = registry.scrub(text)
    assert "tok/en" not in scrubbed
    assert "dG9r" not in scrubbed  # base64 of it
    assert scrubbed.count("***") == 5


def test_a_secret_inside_a_longer_string_is_masked():
    registry = SecretRegistry()
    registry.add("s3cr3t-value")
    assert registry.scrub("prefix-s3cr3t-value-suffix") == "prefix-***-suffix"


def test_the_longest_secret_wins_when_one_contains_another():
    registry = SecretRegistry()
    registry.add("abcd")
    registry.add("abcdefgh")
    assert registry.scrub("abcdefgh abcd") == "*** ***"


@pytest.mark.parametrize(
    ("text", "register", "scrubbed"),
    [
        pytest.param(
            "id[later-s3cret]",
            lambda r: r.add("later-s3cret"),
            "id[***]",
            id="value",
        ),
        pytest.param(
            "PIN_SECRET=ab1",
            lambda r: r.add_setting("PIN_SECRET", "ab1"),
            "PIN_SECRET=***",
            id="weak-value",
        ),
        pytest.param(
            "id[later-s3cret]",
            lambda r: r.add_urls_in("postgresql://app:later-s3cret@db/x"),
            "id[***]",
            id="url-password",
        ),
    ],
)
def test_a_text_found_clean_is_scrubbed_again_once_a_secret_comes(
    text, register, scrubbed
):
    # scrub() remembers short texts it found clean; a secret registered since
    # must not be let through by that memory.
    registry = SecretRegistry()
    registry.add("first-s3cret")
    assert registry.scrub(text) == text
    assert registry.known_clean([text, 1, None])
    register(registry)
    assert not registry.known_clean([text])
    assert registry.scrub(text) == scrubbed


def test_known_clean_is_false_for_what_was_never_scrubbed_or_holds_containers():
    registry = SecretRegistry()
    registry.add("first-s3cret")
    assert registry.scrub("plain") == "plain"
    assert registry.known_clean(["plain", 3, 2.5, True, None])
    assert not registry.known_clean(["plain", "never seen"])
    assert not registry.known_clean([["plain"]])
    assert registry.scrub("has first-s3cret") == "has ***"
    assert not registry.known_clean(["has first-s3cret"])


def test_url_passwords_are_found_in_any_setting():
    registry = SecretRegistry()
    registry.add_setting("DATABASE_URL", "postgresql://app:p%40ss-99@db:5432/orders")
    assert registry.scrub("raw p@ss-99 and postgresql://app:p%40ss-99@db") == (
        "raw *** and postgresql://app:***@db"
    )
    basic = base64.b64encode(b"app:p@ss-99").decode()
    assert registry.scrub(f"Authorization: Basic {basic}") == "Authorization: Basic ***"


def test_sensitive_headers_and_their_parts_are_secrets():
    registry = SecretRegistry()
    registry.add_header("Authorization", "Bearer abc.def.ghi")
    registry.add_header("X-Api-Key", "key-123456")
    registry.add_header("Accept", "application/json")
    assert registry.scrub("abc.def.ghi key-123456 application/json") == (
        "*** *** application/json"
    )


def test_weak_values_are_masked_only_where_they_stand_as_the_secret():
    registry = SecretRegistry()
    registry.add_setting("ADMIN_PASSWORD", "admin")
    registry.add_setting("PIN_SECRET", "123")
    text = "ADMIN_PASSWORD=admin, {'ADMIN_PASSWORD': 'admin'} the admin page; PIN_SECRET: 123 of 1234"
    assert registry.scrub(text) == (
        "ADMIN_PASSWORD=***, {'ADMIN_PASSWORD': '***'} the admin page; PIN_SECRET: *** of 1234"
    )
    assert registry.is_secret("admin")


@pytest.mark.parametrize(
    ("value", "weak"),
    [
        ("true", True),
        ("ab1", True),
        ("Admin", True),
        ("s3cret!", False),
        ("4242", False),
    ],
)
def test_weak_values(value, weak):
    assert is_weak(value) is weak


def test_secret_strings_hide_only_their_repr():
    value = Secret("hunter22")
    assert value == "hunter22"
    assert f"{value}" == "hunter22"
    assert repr(value) == "'***'"
    assert repr({"password": value}) == "{'password': '***'}"


def test_scrub_any_walks_containers_and_keys():
    registry = SecretRegistry()
    registry.add("topsecret1")
    assert registry.scrub_any({"topsecret1": ["a topsecret1", ("topsecret1", 3)]}) == {
        "***": ["a ***", ("***", 3)]
    }


def test_register_reaches_every_active_registry_and_nothing_after():
    from sleuth import redact

    registry = SecretRegistry()
    redact.register("not-yet-active-1")
    redact.activate(registry)
    try:
        redact.register("active-secret-2")
        assert (
            redact.scrub("active-secret-2 not-yet-active-1") == "*** not-yet-active-1"
        )
        assert redact.secret("by-hand-3") == "by-hand-3"
        assert registry.is_secret("by-hand-3")
    finally:
        redact.deactivate(registry)
    assert redact.scrub("active-secret-2") == "active-secret-2"


CUT = "canary-cut-5f0c2a9e"  # a planted test secret


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        # pytest's saferepr keeps both ends of a long repr around "..."
        (
            "assert {'token': 'ca...cut-5f0c2a9e'} == {'token': 'x'}",
            "assert {'token': '***'} == {'token': 'x'}",
        ),
        ("x = 'canary-cu...", "x = '***..."),  # a truncated explanation line
        ("...ut-5f0c2a9e', 'b'", "...***', 'b'"),
        ("a column cut: canary-c\u2026", "a column cut: ***\u2026"),
        ("both: canary-cut-5f0c2a9e and c...9e", "both: *** and ***"),
        # Nothing of a secret: left alone, the pytest progress dots too.
        ("test_api.py ...F..", "test_api.py ...F.."),
        ("ab...cd and ca...", "ab...cd and ca..."),
    ],
)
def test_a_secret_cut_short_around_an_ellipsis_is_masked(text: str, scrubbed: str):
    registry = SecretRegistry()
    registry.add(CUT)
    assert registry.scrub(text) == scrubbed
