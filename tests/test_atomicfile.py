"""Files sleuth writes: whole or not at all, with the mode open() would give.

The umask is process-wide, so each test that sets one runs its writer in a
child process started with it (``subprocess.run(umask=...)``).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sleuth._atomicfile import write_atomically

UMASKS = [
    pytest.param(0o022, id="umask-022"),
    pytest.param(0o027, id="umask-027"),
    pytest.param(0o002, id="umask-002"),
]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_child(code: str, *, umask: int, cwd: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        umask=umask,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("umask", UMASKS)
def test_a_new_file_gets_the_mode_open_would_give(tmp_path, umask):
    run_child(
        """
        from pathlib import Path
        from sleuth._atomicfile import write_atomically

        write_atomically(Path("sleuth.prom"), "up 1\\n")
        write_atomically(Path("cache.parsed"), b"raw", durable=False)
        Path("plain.txt").write_text("made by open()")
        """,
        umask=umask,
        cwd=tmp_path,
    )
    expected = 0o666 & ~umask
    assert mode(tmp_path / "plain.txt") == expected  # what open() itself gave
    assert mode(tmp_path / "sleuth.prom") == expected
    assert mode(tmp_path / "cache.parsed") == expected
    assert (tmp_path / "sleuth.prom").read_text() == "up 1\n"
    assert (tmp_path / "cache.parsed").read_bytes() == b"raw"
    assert leftovers(tmp_path) == []


def test_a_file_already_there_keeps_its_mode(tmp_path):
    # An operator made it readable to node_exporter's group only; a stricter
    # umask in the next run's shell must not take that away, nor a looser
    # one widen it.
    metrics = tmp_path / "sleuth.prom"
    metrics.write_text("old\n")
    metrics.chmod(0o640)
    run_child(
        """
        from pathlib import Path
        from sleuth._atomicfile import write_atomically

        write_atomically(Path("sleuth.prom"), "new\\n")
        """,
        umask=0o077,
        cwd=tmp_path,
    )
    assert metrics.read_text() == "new\n"
    assert mode(metrics) == 0o640
    metrics.chmod(0o604)
    run_child(
        """
        from pathlib import Path
        from sleuth._atomicfile import write_atomically

        write_atomically(Path("sleuth.prom"), "newer\\n")
        """,
        umask=0o000,
        cwd=tmp_path,
    )
    assert (metrics.read_text(), mode(metrics)) == ("newer\n", 0o604)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="giving a file another group needs root here",
)
def test_a_file_already_there_keeps_its_group(tmp_path):
    metrics = tmp_path / "sleuth.prom"
    metrics.write_text("old\n")
    other_gid = os.getgid() + 4242  # no group needs to exist for the number
    os.chown(metrics, -1, other_gid)
    metrics.chmod(0o640)

    write_atomically(metrics, "new\n")

    assert (metrics.stat().st_gid, mode(metrics)) == (other_gid, 0o640)
    assert metrics.read_text() == "new\n"


def test_a_write_that_fails_leaves_the_old_file_whole(tmp_path):
    # A file-size limit makes the disk refuse the write part way through, as
    # a full disk would: the old content stays, and no partial file is left.
    metrics = tmp_path / "sleuth.prom"
    metrics.write_text("old content\n")
    metrics.chmod(0o644)
    run_child(
        """
        import resource, signal
        from pathlib import Path
        from sleuth._atomicfile import write_atomically

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            write_atomically(Path("sleuth.prom"), "x" * 100_000)
        except OSError as exc:
            assert exc.errno == 27, exc  # EFBIG
        else:
            raise SystemExit("the write went through")
        """,
        umask=0o022,
        cwd=tmp_path,
    )
    assert metrics.read_text() == "old content\n"
    assert leftovers(tmp_path) == []


def test_a_rename_that_fails_leaves_no_partial_file(tmp_path):
    (tmp_path / "run.json").mkdir()  # a directory where the file should go
    with pytest.raises(IsADirectoryError):
        write_atomically(tmp_path / "run.json", "{}\n")
    assert leftovers(tmp_path) == []
    assert (tmp_path / "run.json").is_dir()


def test_text_is_written_as_utf8_whatever_the_locale(tmp_path):
    path = tmp_path / "nested" / "report.md"
    write_atomically(path, "# sleuth: ✗ 2 of 4 probes failing\n")
    assert path.read_bytes() == "# sleuth: ✗ 2 of 4 probes failing\n".encode()


@pytest.mark.parametrize("umask", UMASKS)
def test_the_sqlite_history_and_its_wal_files_get_the_mode_open_would_give(
    tmp_path, umask
):
    # SQLite alone makes a new database 0644 whatever the umask: under 002 a
    # team's shared history would not be writable by the rest of the group.
    run_child(
        """
        import json, stat
        from pathlib import Path
        from sleuth.history.store import HistoryStore

        store = HistoryStore.open(f"sqlite:///{Path.cwd()}/.sleuth/history.db")
        with store.db.write() as tx:
            tx.execute("CREATE TABLE IF NOT EXISTS probe_mode_check (x INTEGER)")
        modes = {
            p.name: stat.S_IMODE(p.stat().st_mode)
            for p in Path(".sleuth").iterdir()
        }
        store.close()
        Path("modes.json").write_text(json.dumps(modes))
        """,
        umask=umask,
        cwd=tmp_path,
    )
    modes = json.loads((tmp_path / "modes.json").read_text())
    expected = 0o666 & ~umask
    assert modes == {
        ".gitignore": expected,
        "history.db": expected,
        "history.db-wal": expected,
        "history.db-shm": expected,
    }
    assert mode(tmp_path / ".sleuth") == 0o777 & ~umask
