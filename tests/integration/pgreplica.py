"""Throwaway PostgreSQL servers: a primary with a streaming replica, for the
replication tests, and one that asks for a password.

Made from this machine's own server programs: ``initdb`` in a temporary
directory, started on a free loopback port, then ``pg_basebackup -R`` into
another directory and a replica started from it on another port. Both are
stopped (``pg_ctl -m immediate``: nothing in them is worth a clean shutdown)
and their directories removed when the block ends, whatever happened.
initdb refuses to run as root, so as root every program runs as the postgres
OS user. The machine's own PostgreSQL (5432) is not touched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import free_port, require_program, wait_until
from tests.required import skip_unless_required

# Debian keeps the server programs of each version in a directory of its own.
_DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"
_HBA = """\
local all all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
"""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StreamingPair:
    primary_port: int
    replica_port: int
    start_s: float  # how long making both took, for the report

    @property
    def primary_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.primary_port}/postgres"

    @property
    def replica_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.replica_port}/postgres"


def connect(dsn: str) -> Any:
    """A direct autocommit connection, for the test's own set-up and inspection."""
    import psycopg

    return psycopg.connect(dsn, autocommit=True)


@contextlib.contextmanager
def streaming_pair() -> Iterator[StreamingPair]:
    started = time.monotonic()
    elsewhere = os.pathsep.join([os.environ.get("PATH", ""), *_newest_first()])
    initdb = shutil.which("initdb", path=elsewhere) or require_program("initdb")
    # Resolved: a link to initdb on PATH may stand alone, without pg_basebackup.
    server = _Server(bindir=Path(initdb).resolve().parent, as_owner=_as_owner())
    root = Path(tempfile.mkdtemp(prefix="sleuth-pg-"))
    primary, replica = root / "primary", root / "replica"
    try:
        server.own(root)
        server.run(
            "initdb", "-D", primary, "-U", "postgres", "--auth=trust", "--no-sync"
        )
        (primary / "pg_hba.conf").write_text(_HBA)  # replication from 127.0.0.1
        primary_port = server.start(primary, port=free_port(), sockets=root)
        server.run(
            "pg_basebackup",
            *("-D", replica, "-R", "-c", "fast", "--no-sync"),
            *("-h", "127.0.0.1", "-p", primary_port, "-U", "postgres"),
        )
        replica_port = server.start(replica, port=free_port(), sockets=root)
        with connect(f"postgresql://postgres@127.0.0.1:{primary_port}") as conn:
            wait_until(
                "the replica streams from the primary",
                lambda: (
                    conn.execute(
                        "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
                    ).fetchone()[0]
                    == 1
                ),
            )
        yield StreamingPair(
            primary_port=primary_port,
            replica_port=replica_port,
            start_s=time.monotonic() - started,
        )
    finally:
        server.stop_all()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def password_server(password: str) -> Iterator[int]:
    """A throwaway PostgreSQL that asks for ``password`` (SCRAM) on 127.0.0.1;
    yields its port. The user is postgres."""
    elsewhere = os.pathsep.join([os.environ.get("PATH", ""), *_newest_first()])
    initdb = shutil.which("initdb", path=elsewhere) or require_program("initdb")
    server = _Server(bindir=Path(initdb).resolve().parent, as_owner=_as_owner())
    root = Path(tempfile.mkdtemp(prefix="sleuth-pg-"))
    data, pwfile = root / "data", root / "pwfile"
    try:
        server.own(root)
        pwfile.write_text(password + "\n")
        server.own(pwfile)
        server.run(
            "initdb", "-D", data, "-U", "postgres", "--auth=scram-sha-256",
            "--pwfile", pwfile, "--no-sync",
        )  # fmt: skip
        (data / "pg_hba.conf").write_text(
            "local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        yield server.start(data, port=free_port(), sockets=root)
    finally:
        server.stop_all()
        shutil.rmtree(root, ignore_errors=True)


@dataclasses.dataclass(slots=True, kw_only=True)
class _Server:
    """PostgreSQL's server programs of one version, run as the data's owner."""

    bindir: Path
    as_owner: list[str]  # runuser -u postgres --, as root
    started: list[Path] = dataclasses.field(default_factory=list)

    def run(self, program: str, *args: object, check: bool = True) -> None:
        argv = [*self.as_owner, str(self.bindir / program), *map(str, args)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            pytest.fail(f"{program} failed ({done.returncode}): {done.stderr}")

    def own(self, path: Path) -> None:
        if self.as_owner:
            owner = pwd.getpwnam("postgres")
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def start(self, data: Path, *, port: int, sockets: Path) -> int:
        settings = {
            "port": port,
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": sockets,
            "fsync": "off",  # a throwaway: it need not survive a crash
            "wal_level": "replica",
            "max_wal_senders": 4,
        }
        options = " ".join(f"-c {key}={value}" for key, value in settings.items())
        log = data.parent / f"{data.name}.log"
        self.run(
            "pg_ctl", "start", "-D", data, "-w", "-t", 30, "-l", log, "-o", options
        )
        self.started.append(data)
        return port

    def stop_all(self) -> None:
        for data in reversed(self.started):
            self.run(
                "pg_ctl", "stop", "-D", data, "-m", "immediate", "-t", 30, check=False
            )


def _newest_first(pattern: str = _DEBIAN_BINDIRS) -> list[str]:
    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(part) for part in name.split(".") if part.isdigit())

    return sorted(glob.glob(pattern), key=version, reverse=True)


def _as_owner() -> list[str]:
    """How to run the server programs: as root, as the postgres OS user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        skip_unless_required(
            "this runs as root, and there is no postgres OS user for initdb"
        )
    return ["runuser", "-u", "postgres", "--"]
