"""A small FastAPI app whose generated OpenAPI 3.1 document sleuth init reads.

Its operations cover what the generator must handle: path parameters with an
example, an enum, a default, and none at all; a required query parameter;
OAuth2 and API-key auth; writes. The auth checks are real: a probe without
the token is refused.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Query
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from pydantic import BaseModel

TOKEN = "probe-token-51Hq"  # noqa: S105 (the test's own token)
API_KEY = "probe-key-7Fx2"


class Colour(StrEnum):
    red = "red"
    blue = "blue"


# Module level: the routes' annotations are strings (from __future__), which
# FastAPI resolves in this module's namespace.
oauth = OAuth2PasswordBearer(tokenUrl="token")
api_key = APIKeyHeader(name="X-API-Key")


class Item(BaseModel):
    name: str


def create_app() -> FastAPI:
    app = FastAPI(title="Shop", version="1.2.0")

    @app.get("/health", summary="Is the shop up")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/items/{item_id}")
    def read_item(item_id: Annotated[int, Path(examples=[42])]) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/colours/{colour}")
    def colour(colour: Colour) -> dict[str, str]:
        return {"colour": colour.value}

    @app.get("/files/{name}")
    def files(name: str) -> dict[str, str]:
        return {"name": name}

    @app.get("/search")
    def search(q: Annotated[str, Query(examples=["gadget"])]) -> list[str]:
        if q != "gadget":
            raise HTTPException(404)
        return [q]

    @app.get("/me")
    def me(token: Annotated[str, Depends(oauth)]) -> dict[str, str]:
        if token != TOKEN:
            raise HTTPException(401)
        return {"user": "probe"}

    @app.get("/stock", status_code=203)
    def stock(key: Annotated[str, Depends(api_key)]) -> dict[str, int]:
        if key != API_KEY:
            raise HTTPException(403)
        return {"count": 3}

    @app.post("/items", status_code=201)
    def create_item(item: Item) -> Item:
        return item

    @app.delete("/items/{item_id}")
    def delete_item(item_id: int) -> None:
        return None

    return app
