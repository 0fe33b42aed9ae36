"""The demo's web app: a small shop API with a staged incident.

What is staged: the deployment renamed FEATURE_FLAG_X to FEATURE_FLAGX (a typo),
so /orders, which reads it, answers 500 with a KeyError; and /search waits on a
"recommendation service" that never answers, so it hangs.
"""

from __future__ import annotations

import asyncio
from typing import Any

# How long the staged slow endpoint holds a request; far past the probes' deadline.
SLOW_ENDPOINT_S = 30.0


def create_app(settings: dict[str, str]) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def user(request: Request) -> Response:
        return JSONResponse({"id": int(request.path_params["user_id"]), "name": "Ada"})

    async def create_user(request: Request) -> Response:
        body = await request.json()
        return JSONResponse(
            {"id": 124, "username": body.get("username")}, status_code=201
        )

    async def items(request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            return JSONResponse({"id": 7, **body}, status_code=201)
        return JSONResponse([{"id": 1, "name": "gadget", "price": 10.99}])

    async def orders(request: Request) -> Response:
        try:
            flag = settings["FEATURE_FLAG_X"]
        except KeyError as exc:
            return PlainTextResponse(
                f"Internal Server Error\nKeyError: {exc}", status_code=500
            )
        return JSONResponse({"orders": [], "flag": flag})

    async def search(request: Request) -> Response:
        await asyncio.sleep(SLOW_ENDPOINT_S)  # the recommendation service never answers
        return JSONResponse({"results": []})

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/users", create_user, methods=["POST"]),
            Route("/users/{user_id:int}", user),
            Route("/items", items, methods=["GET", "POST"]),
            Route("/orders", orders),
            Route("/search", search),
        ]
    )
