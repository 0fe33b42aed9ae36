"""Passwords in DSNs never leave: mask_dsn."""

from __future__ import annotations

import pytest

from sleuth.redact import SecretRegistry, is_dsn, mask_dsn


@pytest.mark.parametrize(
    ("dsn", "masked"),
    [
        pytest.param(
            "postgresql://app:s3cret@db-1:5432/orders",
            "postgresql://app:***@db-1:5432/orders",
            id="url",
        ),
        pytest.param(
            "host=db-1 password=s3cret user=app",
            "host=db-1 password=*** user=app",
            id="key-value",
        ),
        pytest.param(
            "host=db-1 password='s3 c\\'ret' user=app",
            "host=db-1 password=*** user=app",
            id="key-value-quoted",
        ),
        pytest.param(
            "postgresql://app@db-1/orders?sslmode=require&password=s3cret",
            "postgresql://app@db-1/orders?sslmode=require&password=***",
            id="query",
        ),
        pytest.param("PASSWORD = s3cret", "PASSWORD = ***", id="any-case"),
        pytest.param("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        pytest.param("mysql://app:s3cret@[bad", "mysql://app:***@[bad", id="bad-url"),
        pytest.param("redis://cache:6379/0", "redis://cache:6379/0", id="none"),
    ],
)
def test_mask_dsn_hides_passwords(dsn, masked):
    assert mask_dsn(dsn) == masked
    assert "s3" not in mask_dsn(dsn)


@pytest.mark.parametrize(
    "name", ["PG_DSN", "DATABASE_DSN", "REDIS_URL_SECRET", "dsn", "BROKER_KEY"]
)
@pytest.mark.parametrize(
    "dsn",
    [
        pytest.param("postgresql://postgres@db:5432/test", id="url"),
        pytest.param("redis://cache:6379/0", id="redis"),
        pytest.param("host=db port=5432 dbname=test user=postgres", id="key-value"),
    ],
)
def test_a_dsn_without_a_password_is_an_address_whatever_its_name(name, dsn):
    registry = SecretRegistry()
    registry.add_setting(name, dsn)
    message = f"postgres {dsn}: connection refused; {dsn} again"
    assert registry.scrub(message) == message
    assert not registry.is_secret(dsn)


@pytest.mark.parametrize(
    ("dsn", "password"),
    [
        pytest.param("postgresql://app:s3cret-pw@db:5432/test", "s3cret-pw", id="url"),
        pytest.param("host=db password=s3cret-pw user=app", "s3cret-pw", id="kv"),
        pytest.param("amqp://guest:s3cret-pw@mq:5672/", "s3cret-pw", id="amqp"),
    ],
)
def test_a_dsn_with_a_password_has_only_the_password_masked(dsn, password):
    registry = SecretRegistry()
    registry.add_setting("PG_DSN", dsn)
    scrubbed = registry.scrub(f"probe {dsn} failed")
    assert password not in scrubbed
    assert scrubbed == f"probe {dsn.replace(password, '***')} failed"


def test_a_secret_named_url_that_is_not_a_dsn_is_masked_whole():
    # A webhook's path is its credential: only database and broker URLs are
    # read as an address plus a password.
    registry = SecretRegistry()
    hook = "https://hooks.example.com/services/T000/B000/abcdefXYZ"
    registry.add_setting("SLACK_WEBHOOK_SECRET", hook)
    assert registry.scrub(f"posting to {hook}") == "posting to ***"


def test_is_dsn():
    assert is_dsn("postgresql://db/x")
    assert is_dsn("REDIS://cache")
    assert is_dsn("host=db dbname=x")
    assert not is_dsn("https://api.example.com/x")
    assert not is_dsn("s3cret")
