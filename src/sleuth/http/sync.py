"""HTTP for ``def`` probes: a blocking facade over the async client.

Each call hands the request to the engine's event loop and waits for it, so a
``def`` probe's request runs through the same deadlines, in-flight caps,
retries and evidence as an ``async def`` probe's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sleuth.engine import Engine, context as _context
from sleuth.engine.readonly import check_write_allowed
from sleuth.http.client import AsyncHttpClient, RequestOptions
from sleuth.http.response import Response

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is Python 3.12+


class HttpClient:
    """HTTP for ``def`` probes: ``target.http.get("/health").status_code``.

    Each call hands the request to the engine's loop and waits for it, so the
    probe's deadline and the run's in-flight caps apply as for async probes.
    """

    def __init__(
        self, async_client: AsyncHttpClient, engine: Engine, default_timeout_s: float
    ) -> None:
        self._async = async_client
        self._engine = engine
        self._default_timeout_s = default_timeout_s

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncHttpClient", "HttpClient")

    def get(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        __tracebackhide__ = True
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        __tracebackhide__ = True
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        __tracebackhide__ = True
        return self.request("OPTIONS", url, **kwargs)

    def post(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        __tracebackhide__ = True
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        __tracebackhide__ = True
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        __tracebackhide__ = True
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        __tracebackhide__ = True
        return self.request("DELETE", url, **kwargs)

    def request(
        self, method: str, url: str, **kwargs: Unpack[RequestOptions]
    ) -> Response:
        __tracebackhide__ = True
        ctx = _context.get_or_default(self._default_timeout_s)
        # Refuse before anything is queued, with the probe's own line in the traceback.
        check_write_allowed(ctx, method.upper(), self._async.absolute_url(url))
        return self._engine.call(self._async.send(ctx, method, url, **kwargs), ctx=ctx)
