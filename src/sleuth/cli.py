"""The ``sleuth`` command's entry point.

``sleuth run ARGS`` is pytest with sleuth on, and starts as fast as pytest: it
goes straight to ``pytest.main`` without loading click. Every other command
(demo, history, diff, and ``--help``) is in ``commands``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

# `sleuth run` accepts these short forms and hands pytest the long ones.
RUN_ALIASES = {
    "--target": "--sleuth-target",
    "--timeout": "--sleuth-timeout",
    "--workers": "--sleuth-workers",
    "--config": "--sleuth-config",
}


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["run"] and not {"-h", "--help"} & set(args[1:]):
        from pathlib import Path

        from sleuth import http_worker
        from sleuth.discovery import may_use_http

        pytest_args = run_args(args[1:], os.environ)
        # Loads aiohttp on another core while pytest starts; the run's session
        # takes it over from the plugins pytest is given.
        worker = http_worker.start() if may_use_http(pytest_args, Path.cwd()) else None
        import pytest

        sys.exit(int(pytest.main(pytest_args, plugins=[worker] if worker else None)))
    from sleuth.commands import group

    group.main(args=args, prog_name="sleuth")


def run_args(args: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """pytest's arguments for ``sleuth run ARGS``.

    With plugin autoloading turned off (PYTEST_DISABLE_PLUGIN_AUTOLOAD, as many
    CI setups do), sleuth's own plugin is named explicitly: it is the point.
    ``--sleuth-run`` tells the plugin that sleuth was asked for, so that a run
    without a sleuth.yaml still runs with sleuth (on its defaults).
    """
    translated = ["--sleuth-run", *translate_run_args(args)]
    if environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return ["-p", "sleuth.plugin", *translated]
    return translated


def translate_run_args(args: Sequence[str]) -> list[str]:
    """``--target prod`` -> ``--sleuth-target prod`` (and ``--target=prod``)."""
    out: list[str] = []
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in RUN_ALIASES:
            out.append(RUN_ALIASES[name] + eq + value)
        else:
            out.append(arg)
    return out
