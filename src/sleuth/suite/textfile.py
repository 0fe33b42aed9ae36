"""Reading a config file or probe table as text, or saying in one line why not.

sleuth.yaml, ``[tool.sleuth]`` in pyproject.toml and probe tables are all read
here: a file too large to be a config (``MAX_FILE_BYTES``), one that is not
UTF-8, one that cannot be read, each ends the run with the file's name and,
where there is one, the line. A UTF-8 byte order mark, which some Windows
editors write, is dropped: it is not part of the text.
"""

from __future__ import annotations

from pathlib import Path

from sleuth.errors import ConfigError
from sleuth.suite.units import format_bytes

# A config or a table this size is thousands of probes; a larger file is a
# mistake (a log or a dump picked up by a glob), and reading and parsing it
# would stall the run for seconds before saying so.
MAX_FILE_BYTES = 4 * 1024 * 1024
_BOM = "\ufeff"


def read_config_text(path: Path, *, display: str) -> str:
    """The text of ``path``, checked to be a readable, sane-sized UTF-8 file.

    Raises:
        ConfigError: naming the file (and the line of a byte that is not UTF-8).
    """
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        raise ConfigError(
            "is a directory, not a file: sleuth reads a file by this name here. "
            "Rename the directory",
            where=display,
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file: {exc.strerror or exc}. Check that it exists "
            f"and that the user running sleuth may read it",
            where=display,
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(
            f"the file is larger than {format_bytes(MAX_FILE_BYTES)}, the most "
            f"sleuth reads as a config or probe table: is it the file you meant? "
            f"Split a table that large into several files",
            where=display,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        line_start = before.rfind(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", "replace")) + 1
        raise ConfigError(
            f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be "
            f"read. Save the file as UTF-8",
            where=f"{display} line {line}, column {column}",
        ) from None
    return text.removeprefix(_BOM)
