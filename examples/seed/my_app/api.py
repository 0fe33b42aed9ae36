"""The app's own API client: ``call(method, endpoint, json=None)``."""

from __future__ import annotations

import json as _json
import os
import urllib.error
import urllib.request
from typing import Any

TIMEOUT_S = 10.0


class Response:
    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.body = body


def base_url() -> str:
    return os.environ.get("MY_APP_URL", "http://127.0.0.1:8000")


def call(method: str, endpoint: str, json: Any = None) -> Response:
    data = None if json is None else _json.dumps(json).encode()
    request = urllib.request.Request(  # noqa: S310 (http only: MY_APP_URL)
        base_url() + endpoint,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:  # noqa: S310
            return Response(answer.status, answer.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read())
