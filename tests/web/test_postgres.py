"""The page on a shared PostgreSQL history, as agents in several places write it."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import HttpTarget, require_service
from tests.history.helpers import postgres_database
from tests.web.conftest import CANARY_DSN_PASSWORD, CANARY_KEY, fill_history

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette asks for httpx2 over httpx
    from starlette.testclient import TestClient

pytestmark = pytest.mark.services


@pytest.fixture
def pg_store(tmp_path: Path, _http_server: HttpTarget) -> Iterator[str]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with postgres_database() as url:
        # A password in the URL (trust auth ignores it): never shown anywhere.
        url = url.replace("postgresql://", "postgresql+psycopg://", 1).replace(
            "@", f":{CANARY_DSN_PASSWORD}@", 1
        )
        yield fill_history(tmp_path, _http_server.url, url)


def test_two_agents_on_postgres(pg_store: str):
    from sleuth.web.app import create_app

    with TestClient(create_app(pg_store)) as client:
        data = client.get("/api/v1/status").json()
        (target,) = data["targets"]
        assert [a["name"] for a in target["agents"]] == ["eu-1", "us-1"]
        first = target["probes"][0]
        assert first["id"] == "test_shop.py::test_orders"
        assert first["spread"] == (
            "fails from eu-1, passes from us-1: "
            "compare the evidence from eu-1 with that from us-1"
        )
        for path in ("/", "/metrics", "/probes/test_shop.py::test_orders"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert CANARY_DSN_PASSWORD not in answer.text
            assert CANARY_KEY not in answer.text
