"""What an HTTP probe gets back: a ``Response`` that reads like httpx's."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json as _json
from collections.abc import Mapping
from typing import Any

from sleuth.errors import CheckFailed


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    method: str
    url: str


class Response:
    """An HTTP answer, read the way httpx's ``Response`` reads."""

    def __init__(
        self,
        *,
        status_code: int,
        reason_phrase: str,
        headers: Mapping[str, str],
        content: bytes,
        request: Request,
        elapsed: _dt.timedelta,
        http_version: str = "HTTP/1.1",
        truncated: bool = False,
        encoding: str | None = None,
        attempt: int = 1,
    ) -> None:
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers
        self.content = content
        self.request = request
        self.elapsed = elapsed
        self.http_version = http_version
        self.truncated = truncated
        self.encoding = encoding or "utf-8"
        self.attempt = attempt  # > 1 when it came after retries

    @property
    def url(self) -> str:
        return self.request.url

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding, errors="replace")

    def json(self) -> Any:
        return _json.loads(self.content)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def is_redirect(self) -> bool:
        return 300 <= self.status_code < 400 and "location" in self.headers

    @property
    def is_error(self) -> bool:
        return self.status_code >= 400

    def raise_for_status(self) -> Response:
        """Fail the probe unless the status is 2xx; return the response otherwise."""
        __tracebackhide__ = True
        if not self.is_success and not (100 <= self.status_code < 200):
            raise CheckFailed(
                f"{self.request.method} {self.url}: status {self.status_code} "
                f"{self.reason_phrase}, expected 2xx",
                target=self.url,
                category="http-5xx" if self.status_code >= 500 else "failed",
            )
        return self

    def __repr__(self) -> str:
        return (
            f"<Response [{self.status_code} {self.reason_phrase}] "
            f"{self.request.method} {self.url}>"
        )
