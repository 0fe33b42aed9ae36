"""Writing the suite: ``sleuth.yaml`` and the tables, never over a file unasked.

Every file is checked before any is written: one that exists stops the whole
command (nothing half-written), unless ``--force``.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

from sleuth._atomicfile import write_atomically
from sleuth._timing import utcnow
from sleuth.init import render
from sleuth.init.errors import InitError
from sleuth.suite.discovery import CONFIG_FILE

API_TABLE = "probes/api.yaml"
SETTINGS_TABLE = "probes/settings.yaml"
CONFTEST = "conftest.py"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What ``sleuth init`` was asked for."""

    directory: Path
    openapi: str | None = None
    settings_model: str | None = None
    env_example: str | None = None
    target: str = "prod"
    base_url: str | None = None
    force: bool = False

    @property
    def command(self) -> str:
        """The command as it was given, for the files' headers."""
        words = ["sleuth init"]
        for flag, value in (
            ("--openapi", self.openapi),
            ("--settings", self.settings_model),
            ("--env-example", self.env_example),
            ("--target", None if self.target == "prod" else self.target),
            ("--base-url", self.base_url),
            ("--dir", None if self.directory == Path() else str(self.directory)),
        ):
            if value:
                words.append(f"{flag} {shlex.quote(value)}")
        return " ".join(words)


def write_suite(request: Request, *, cwd: Path) -> list[Path]:
    """Write the files ``request`` asks for; returns them, in order.

    Raises:
        InitError: nothing asked for, an input that cannot be used, or a file
            that exists (without ``force``).
    """
    if not (request.openapi or request.settings_model or request.env_example):
        raise InitError(
            "sleuth init needs something to write from: --openapi URL-or-FILE, "
            "--settings module:Class or --env-example FILE"
        )
    if request.settings_model and request.env_example:
        raise InitError(
            f"give --settings or --env-example, not both: each writes {SETTINGS_TABLE}"
        )
    date = utcnow().strftime("%Y-%m-%d %H:%M UTC")
    files: dict[str, str] = {}
    base_url = request.base_url
    sources: list[str | dict[str, str]] = ["env"]
    config_notes: list[str] = []
    origins: list[str] = []
    if request.openapi:
        from sleuth.init import openapi
        from sleuth.init.spec import load_spec

        spec = load_spec(request.openapi, cwd=cwd)
        source = f"{request.openapi} ({spec.title}, {spec.version})".replace(
            " (, ", " ("
        )
        origins.append(source)
        header = render.Header(command=request.command, date=date, source=source)
        entries = openapi.plan(spec)
        files[API_TABLE] = render.api_table(entries, header)
        ignored = _yaml_in(spec.files, request.directory.resolve())
        if ignored:
            files[CONFTEST] = render.conftest(ignored, header)
        base_url = base_url or openapi.base_url(spec)
        if base_url is None:
            raise InitError(
                f"{request.openapi} names no server the API is at (no servers: or "
                f"host:); give it with --base-url https://api.example.com"
            )
        needed = sorted(
            {s for e in entries if isinstance(e, openapi.Probe) for s in e.settings}
        )
        if needed:
            config_notes.append(
                "The probes' auth headers read these settings (from sources: "
                "below): " + ", ".join(needed) + "."
            )
    for flag, value in (
        ("--settings", request.settings_model),
        ("--env-example", request.env_example),
    ):
        if not value:
            continue
        from sleuth.init import settings

        plan = (
            settings.from_model(value, cwd=cwd)
            if flag == "--settings"
            else settings.from_env_example(value, cwd=cwd)
        )
        origins.append(value)
        header = render.Header(command=request.command, date=date, source=value)
        files[SETTINGS_TABLE] = render.settings_table(
            plan.rules, plan.comments, header, plan.notes
        )
        sources = plan.sources
    header = render.Header(
        command=request.command, date=date, source=" and ".join(origins)
    )
    files = {
        CONFIG_FILE: render.config_file(
            header=header,
            target=request.target,
            base_url=base_url,
            sources=sources,
            notes=config_notes,
        ),
        **files,
    }
    return _write(files, request.directory, force=request.force)


def _yaml_in(files: tuple[Path, ...], directory: Path) -> list[str]:
    """The spec's YAML files inside the suite, which would be read as tables."""
    inside = []
    for path in dict.fromkeys(p.resolve() for p in files):
        if path.suffix in (".yaml", ".yml") and path.is_relative_to(directory):
            inside.append(path.relative_to(directory).as_posix())
    return inside


def _write(files: dict[str, str], directory: Path, *, force: bool) -> list[Path]:
    paths = {name: directory / name for name in files}
    existing = [name for name, path in paths.items() if path.exists()]
    if existing and not force:
        one = len(existing) == 1
        raise InitError(
            f"{', '.join(existing)} already {'exists' if one else 'exist'} in "
            f"{directory.resolve()}: sleuth init does not overwrite a suite. Move "
            f"{'it' if one else 'them'} away, or give --force to replace "
            f"{'it' if one else 'them'}."
        )
    written = []
    for name, text in files.items():
        path = paths[name]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, text, durable=False)
        written.append(path)
    return written
