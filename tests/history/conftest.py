from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import require_service
from tests.history.helpers import postgres_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped after it."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A store URL on each backend: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/.sleuth/history.db"
    url: str = request.getfixturevalue("pg_url")
    return url.replace("postgresql://", "postgresql+psycopg://", 1)
