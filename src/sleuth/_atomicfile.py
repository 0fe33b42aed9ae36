"""Files sleuth writes for people and other programs: whole, and readable as
a plain ``open()`` would have made them.

Every file a run leaves (``--sleuth-json``, ``--sleuth-report``,
``--sleuth-metrics``, the parse cache, the SQLite history) is made here or
with ``create_file``. A reader (node_exporter's textfile collector, a tail, a
second run) sees the old content or the new, never half of either.

Permissions are the ones ``open()`` gives, because the temporary file is made
by ``os.open(..., 0o666)``: the kernel takes the umask (or the directory's
default ACL) off as it does for ``open()``, so nothing reads the process-wide
umask, which a thread could be changing. ``tempfile.mkstemp`` makes 0600
instead, which node_exporter running as another user cannot read.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

# What open() asks for; the umask or a default ACL takes bits away.
PLAIN_MODE = 0o666
# Names tried for the temporary file before giving up (tempfile's TMP_MAX is
# 10000; a collision among 2**32 names means something else is wrong).
_ATTEMPTS = 100


def write_atomically(path: Path, data: str | bytes, *, durable: bool = True) -> None:
    """Replace ``path``'s content with ``data`` through a rename.

    A new file gets the mode ``open()`` would give it. A file already there
    keeps its permission bits, and its owner and group where this process may
    set them, as ``open(path, "w")`` truncating it would: an operator's
    ``chmod 640`` and ``chgrp node-exp`` on a metrics file outlive the next run.

    Args:
        data: text is written as UTF-8.
        durable: flush the file to disk before the rename and the directory
            after it, so a crash leaves the old file or the new one whole. A
            cache that is rebuilt when unreadable can skip the cost.

    Raises:
        OSError: the file could not be written; ``path`` is as it was, and no
            temporary file is left behind.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = _open_partial(path)
    try:
        try:
            _keep_owner_and_mode(fd, path)
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
    if durable:
        _sync_directory(path.parent)


def create_file(path: Path) -> None:
    """Create ``path`` empty, as ``open()`` would, unless it is there already.

    For a file another library then fills in place: SQLite makes a new
    database 0644 whatever the umask, so a team's history under umask 002
    would not be writable by the rest of the group. An empty file is a valid
    empty SQLite database, and SQLite gives its -wal and -shm files the
    database file's mode.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PLAIN_MODE))


def _open_partial(path: Path) -> tuple[int, Path]:
    """A new, uniquely named file beside ``path``, open for writing."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_ATTEMPTS):
        # Dot-prefixed and not ending like the file: node_exporter reads only
        # *.prom, a glob of *.json skips it.
        partial = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(partial, flags, PLAIN_MODE), partial
        except FileExistsError:
            continue
    raise FileExistsError(
        errno.EEXIST, f"no free temporary name beside {path.name}", str(path.parent)
    )


def _keep_owner_and_mode(fd: int, path: Path) -> None:
    try:
        old = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(old.st_mode):
        return  # a directory or a device there: the rename will say so
    new = os.fstat(fd)
    if (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid):
        # The owner back needs root; the group back, membership of it. What
        # cannot be kept is left as made, never a reason to fail the write.
        for uid in (old.st_uid, -1):
            try:
                os.fchown(fd, uid, old.st_gid)
                break
            except OSError:
                continue
    # After chown, which may clear bits; permission bits only (no set-id).
    os.fchmod(fd, stat.S_IMODE(old.st_mode) & 0o777)


def _sync_directory(directory: Path) -> None:
    # The rename is durable once the directory is; some file systems cannot
    # sync a directory, and the file itself already is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
