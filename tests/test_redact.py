from __future__ import annotations

import pytest

from sleuth.redact import mask_url


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
