"""moto's real server on a loopback port, and an AWS environment pointing at it.

The AWS settings sources are tested against moto's server mode: boto3 sends
real HTTP to it, nothing is mocked. The server runs in this process, so its
state is moto's (module-wide): ``reset`` empties it between tests.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REGION = "eu-west-1"
# What each test's environment holds: moto accepts any key until auth is on.
DUMMY_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Variables that would reach this machine's own AWS setup, or the network.
_CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_SSM",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A ThreadedMotoServer on a free loopback port; yields its URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def post(url: str, path: str, data: bytes = b"") -> None:
    """moto's own API (``/moto-api/reset``, ``/moto-api/reset-auth``)."""
    # Not urllib's default form type: Flask would take the body as a form.
    request = urllib.request.Request(  # noqa: S310 (loopback, http)
        url + path, data=data, method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
        answer.read()


def aws_environ(url: str, home: Path, *, keys: bool = True) -> dict[str, str]:
    """An AWS environment that reaches only ``url``: dummy keys, no config
    files, no instance metadata (169.254.169.254 is not loopback)."""
    env = {
        "AWS_ENDPOINT_URL": url,
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if keys:
        env.update(DUMMY_KEYS)
    return env


def use_aws(
    monkeypatch: pytest.MonkeyPatch, url: str, home: Path, *, keys: bool = True
) -> None:
    for name in (*_CLEARED, *DUMMY_KEYS):
        monkeypatch.delenv(name, raising=False)
    for name, value in aws_environ(url, home, keys=keys).items():
        monkeypatch.setenv(name, value)


def client(service: str, url: str) -> Any:
    """A boto3 client for seeding moto (the tests' own, not the source's)."""
    import boto3

    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 (moto's dummy)
    )
