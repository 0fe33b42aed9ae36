"""The Starlette app: the page, a probe's page, the API, metrics, health, badges.

Everything is read from the history store at each request, under one lock
(the SQLite store has one connection); nothing is cached, so what the page
says is what the store holds. What the store holds is scrubbed when written,
so no page shows a value sleuth masks in any other output.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode

from sleuth import _timing as timing
from sleuth._timing import format_duration
from sleuth.history.model import ProbePoint
from sleuth.history.recorder import describe_error, display_store
from sleuth.history.timeline import ago
from sleuth.web.status import Memo, Status, read_status, state_of

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from sleuth.history.store import HistoryStore
    from sleuth.web.auth import Auth

REFRESH_S = 30
TIMELINE_POINTS = 50
T = TypeVar("T")


class StoreDown(Exception):
    """The store could not be read; the message names it (password masked)."""


class StoreReader:
    """The store, opened on first use and after a failure; one reader at a time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = display_store(url)
        self._store: HistoryStore | None = None
        self._lock = threading.Lock()
        self._memo: Memo = {}

    def read(self, action: Callable[[HistoryStore], T]) -> T:
        from sleuth.history.store import HistoryStore

        with self._lock:
            try:
                if self._store is None:
                    self._store = HistoryStore.open(self.url, create_dir=False)
                return action(self._store)
            except Exception as exc:
                if self._store is not None:
                    self._store.close()
                    self._store = None
                raise StoreDown(
                    f"the history store {self.name} could not be read "
                    f"({describe_error(exc, self.url)})"
                ) from None

    def status(self, agent: str | None = None) -> Status:
        """Every target's status, or as ``agent`` alone saw it."""
        return self.read(
            lambda store: read_status(
                store, now=timing.utcnow(), memo=self._memo, agent=agent
            )
        )

    def agents(self) -> list[str]:
        """Every agent with a run of some target shown."""
        return sorted({a for t in self.status().targets for a in t.agents})

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def create_app(
    history_url: str, *, auth: Auth | None = None, refresh_s: int = REFRESH_S
) -> Starlette:
    """The ASGI app serving the store at ``history_url``."""
    import jinja2
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    from sleuth.web.api import status_json
    from sleuth.web.metrics import registry_for
    from sleuth.web.svg import badge, sparkline

    reader = StoreReader(history_url)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
    )
    env.globals.update(
        refresh_s=refresh_s,
        store_name=reader.name,
        probe_url=probe_url,
        sparkline=sparkline,
        state_of=state_of,
        format_duration=format_duration,
    )
    env.filters["when"] = _when
    registry = registry_for(reader.status)

    def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("now", timing.utcnow())
        html = env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status_code)

    async def guarded(build: Callable[[], Response], *, html: bool) -> Response:
        try:
            return await run_in_threadpool(build)
        except StoreDown as exc:
            if html:
                return page("error.html", 503, message=str(exc))
            return JSONResponse({"error": str(exc)}, status_code=503)

    async def index(request: Request) -> Response:
        agent = _agent_of(request)

        def build() -> Response:
            status = reader.status(agent)
            if agent is not None and not status.targets:
                return page("error.html", 404, message=_no_agent(agent, reader))
            return page("index.html", status=status, agent=agent)

        return await guarded(build, html=True)

    async def probe(request: Request) -> Response:
        probe_id = request.path_params["probe_id"]
        target = request.query_params.get("target")
        run = request.query_params.get("run")

        def build() -> Response:
            found = reader.read(
                lambda store: _probe_page(
                    store,
                    probe_id,
                    target=target,
                    run=int(run) if run and run.isdigit() else None,
                )
            )
            if found is None:
                return page(
                    "error.html",
                    404,
                    message=f"no probe {probe_id!r} in the history"
                    + (f" of target {target!r}" if target else ""),
                )
            return page("probe.html", **found)

        return await guarded(build, html=True)

    async def api_status(request: Request) -> Response:
        target = request.query_params.get("target")
        agent = _agent_of(request)

        def build() -> Response:
            status = reader.status(agent)
            if agent is not None and not status.targets:
                return JSONResponse({"error": _no_agent(agent, reader)}, 404)
            data = status_json(status)
            if target is not None:
                data["targets"] = [t for t in data["targets"] if t["name"] == target]
                if not data["targets"]:
                    return JSONResponse({"error": f"no target {target!r}"}, 404)
                data["healthy"] = data["targets"][0]["healthy"]
            return JSONResponse(data)

        return await guarded(build, html=False)

    async def metrics(request: Request) -> Response:
        def build() -> Response:
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

        return await guarded(build, html=False)

    async def healthz(request: Request) -> Response:
        target = request.query_params.get("target")
        agent = _agent_of(request)

        def build() -> Response:
            status = reader.status(agent)
            if agent is not None and not status.targets:
                return _text(f"unknown: {_no_agent(agent, reader)}\n", 404)
            return _health(status, target)

        try:
            return await run_in_threadpool(build)
        except StoreDown as exc:
            return _text(f"unknown: {exc}\n", 503)

    async def badge_svg(request: Request) -> Response:
        name = request.path_params["target"]

        def build() -> Response:
            found = reader.status().target(name)
            if found is None:
                svg, code = badge("sleuth", "no runs", state="unknown"), 404
            elif found.healthy:
                svg, code = badge("sleuth", "passing", state="passing"), 200
            else:
                svg, code = (
                    badge("sleuth", f"{found.failing} failing", state="failing"),
                    200,
                )
            return Response(
                svg,
                status_code=code,
                media_type="image/svg+xml",
                headers={"Cache-Control": "no-cache"},
            )

        return await guarded(build, html=False)

    middleware = []
    if auth is not None:
        from sleuth.web.auth import AuthMiddleware

        middleware.append(Middleware(AuthMiddleware, auth=auth))
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/probes/{probe_id:path}", probe),
            Route("/api/v1/status", api_status),
            Route("/metrics", metrics),
            Route("/healthz", healthz),
            Route("/badge/{target}.svg", badge_svg),
        ],
        middleware=middleware,
        lifespan=_closing(reader),
    )
    app.state.reader = reader
    return app


def _closing(reader: StoreReader) -> Callable[[Any], Any]:
    """The app's lifespan: the store is closed when the server stops."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            reader.close()

    return lifespan


def _agent_of(request: Request) -> str | None:
    """``?agent=NAME``: one agent's view; an empty one is every agent's."""
    return request.query_params.get("agent") or None


def _no_agent(agent: str, reader: StoreReader) -> str:
    known = reader.agents()
    return f"no runs from agent {agent!r} in the history" + (
        f" (agents: {', '.join(known)})" if known else ""
    )


def _text(body: str, code: int) -> Response:
    from starlette.responses import PlainTextResponse

    return PlainTextResponse(body, status_code=code)


def _health(status: Status, target: str | None) -> Response:
    if target is not None:
        found = status.target(target)
        if found is None:
            return _text(f"unknown: no runs of target {target!r} in the history\n", 404)
        targets = [found]
    else:
        targets = list(status.targets)
    if not targets:
        return _text("unknown: no runs in the history yet\n", 503)
    failing = [(t.name, t.failing) for t in targets if not t.healthy]
    if not failing:
        return _text("ok\n", 200)
    said = ", ".join(f"{name}: {n} failing" for name, n in failing)
    return _text(f"failing: {said}\n", 503)


def probe_url(probe_id: str, target: str, run: int | None = None) -> str:
    query = {"target": target, **({"run": str(run)} if run is not None else {})}
    return f"/probes/{quote(probe_id, safe='/:[]')}?{urlencode(query)}"


def _probe_page(
    store: HistoryStore, probe_id: str, *, target: str | None, run: int | None
) -> dict[str, Any] | None:
    others: list[str] = []
    if target is None:  # a link without ?target=: the first, the rest named
        holding = [t for t in store.targets() if store.probe_point(probe_id, target=t)]
        if not holding:
            return None
        target, others = holding[0], holding[1:]
    points = store.probe_points(probe_id, target=target, limit=TIMELINE_POINTS)
    if not points:
        return None
    shown = [p for p in points if p.run_id == run] if run is not None else []
    if not shown:  # each agent's latest point
        latest: dict[str, ProbePoint] = {}
        for p in points:
            latest.setdefault(p.agent, p)
        shown = list(latest.values())
    shown.sort(key=lambda p: (state_of(p.outcome) != "failing", -p.run_id))
    evidence = [(p, store.evidence(p.run_id, probe_id) or {}) for p in shown]
    return {
        "probe_id": probe_id,
        "target": target,
        "others": others,
        "points": points,
        "evidence": evidence,
        "json": json.dumps,
    }


def _when(moment: _dt.datetime | None, now: _dt.datetime) -> str:
    if moment is None:
        return "-"
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC ({ago(moment, now)})"
