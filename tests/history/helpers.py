"""Building runs and stores for the history tests."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import hmac
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from sleuth._evidence import (
    Exchange,
    ProbeOutcome,
    ProbeRecord,
    RunRecord,
    SettingSeen,
    SettingState,
    SourceHeld,
)
from sleuth.history.recorder import CLOSING_THREAD

PG_ADMIN_URL = os.environ.get(
    "SLEUTH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def make_record(
    outcomes: dict[str, ProbeOutcome],
    *,
    target: str = "local",
    settings: dict[str, tuple[str | None, SettingState, str | None]] | None = None,
    started_at: _dt.datetime | None = None,
    durations: dict[str, float] | None = None,
    messages: dict[str, str] | None = None,
    scrub: object = None,
    sources: dict[str, list[tuple[str, str, str | None]]] | None = None,
    selection: list[str] | None = None,
) -> RunRecord:
    """A run: probe id -> outcome; setting name -> (source, state, value);
    setting name -> what each source held, [(source, state, value), ...]."""
    settings = settings or {}
    values = {name: value for name, (_, _, value) in settings.items()}

    def digest(key: bytes, value: str | None) -> str | None:
        if value is None:
            return None
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    def fingerprint(key: bytes, name: str) -> str | None:
        return digest(key, values.get(name))

    def source_fingerprints(key: bytes, name: str) -> tuple[SourceHeld, ...]:
        return tuple(
            SourceHeld(source=label, state=state, fingerprint=digest(key, value))
            for label, state, value in (sources or {}).get(name, [])
        )

    probes = [
        ProbeRecord(
            probe_id=probe_id,
            outcome=outcome,
            duration_s=(durations or {}).get(probe_id, 0.01),
            diagnosis=(messages or {}).get(probe_id, ""),
            exchanges=[
                Exchange(
                    kind="http",
                    request=f"GET http://127.0.0.1:1/{probe_id}",
                    status=200 if outcome == "passed" else 503,
                    headers={"content-type": "text/plain"},
                    body_excerpt="body of " + probe_id,
                    timings_ms={"total": 1.0},
                )
            ],
        )
        for probe_id, outcome in outcomes.items()
    ]
    failed = any(o in ("failed", "error") for o in outcomes.values())
    extra: dict[str, object] = {} if scrub is None else {"scrub": scrub}
    return RunRecord(
        target=target,
        base_url="http://127.0.0.1:1",
        started_at=started_at or _dt.datetime.now(_dt.UTC),
        duration_s=0.5,
        exit_status=1 if failed else 0,
        selection=selection or [],
        sleuth_version="0.1.0",
        probes=probes,
        settings=[
            SettingSeen(name=name, source=source, state=state)
            for name, (source, state, _) in settings.items()
        ],
        fingerprint=fingerprint,
        source_fingerprints=source_fingerprints,
        **extra,  # type: ignore[arg-type]
    )


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, uniquely named PostgreSQL database; its SQLAlchemy-style URL."""
    import psycopg

    name = f"sleuth_hist_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def with_password(url: str, *, port: int | None = None) -> str:
    """A test database's URL with a planted password (trust auth ignores it)
    and, for a proxy, another port."""
    scheme, rest = url.split("://", 1)
    user, _, hostpath = rest.partition("@")
    host, _, path = hostpath.partition("/")
    if port is not None:
        host = f"127.0.0.1:{port}"
    return f"{scheme}://{user}:{CANARY_DSN_PASSWORD}@{host}/{path}"


def join_closing_threads() -> None:
    """Wait for the in-process runs to have closed their stores: a run closes
    SQLite on a thread (it folds the -wal file into the database and removes
    -wal and -shm) that may still be working when ``pytester.runpytest``
    returns."""
    for thread in threading.enumerate():
        if thread.name == CLOSING_THREAD:
            thread.join(timeout=30)


def history_file_bytes(folder: Path) -> bytes:
    """Every byte of the files in a history folder, its stores closed."""
    join_closing_threads()
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()))


def raw_store(pytester, store_url: str) -> bytes:
    """The store's raw bytes: the files of a SQLite store in the suite's
    ``.sleuth/``, a ``pg_dump`` of a PostgreSQL one."""
    if store_url.startswith("sqlite:///"):
        return history_file_bytes(pytester.path / ".sleuth")
    url = store_url.replace("postgresql+psycopg://", "postgresql://", 1)
    return subprocess.run(
        ["pg_dump", "--data-only", url],  # noqa: S607 (the client on PATH)
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout


# A suite for the incident scenario: secrets planted where they could leak.
CANARY_KEY = "canary-key-7f3a9c41e2"
CANARY_DSN_PASSWORD = "canary-pw-55d0b8"  # noqa: S105 (a planted test secret)

SUITE = """
targets:
  local:
    base_url: {url}
    timeout: 5s
    sources: [env, {{dotenv: deploy.env}}]
"""

PROBES = """
import pytest

PATH = "{path}"

def test_feature_flag_is_on(target):
    assert target.setting("FEATURE_FLAG_X") == "on"

def test_database_url_is_set(target):
    assert target.setting("DATABASE_URL") is not None

def test_items(target):
    key = target.setting("API_KEY")
    response = target.http.get(PATH, params={{"key": key, "body": "down for " + key}})
    assert response.status_code == 200, f"items: {{response.status_code}} for {{key}}"
"""


def write_suite(pytester, url: str, *, flag: str = "on", path: str = "/status/200"):
    pytester.makefile(".yaml", sleuth=SUITE.format(url=url))
    pytester.path.joinpath("deploy.env").write_text(
        f"FEATURE_FLAG_X={flag}\nAPI_KEY={CANARY_KEY}\n"
        f"DATABASE_URL=postgresql://app:{CANARY_DSN_PASSWORD}@db/orders\n"
    )
    pytester.makepyfile(test_api=PROBES.format(path=path))
