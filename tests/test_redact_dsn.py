"""Passwords in DSNs never leave: mask_dsn."""

from __future__ import annotations

import pytest

from sleuth.redact import mask_dsn


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
