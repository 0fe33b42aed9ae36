"""``sleuth run ARGS`` into pytest's arguments.

Its own module so that both ways into ``sleuth run`` share it without importing
each other: ``cli.main``'s fast path straight to pytest, and ``commands`` (click)
for ``sleuth run --help``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# `sleuth run` accepts these short forms and hands pytest the long ones.
RUN_ALIASES = {
    "--target": "--sleuth-target",
    "--timeout": "--sleuth-timeout",
    "--workers": "--sleuth-workers",
    "--config": "--sleuth-config",
}


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


def hands_tests_to_xdist(args: Sequence[str]) -> bool:
    """Whether pytest-xdist will run the tests in worker processes: ``-n N``
    (N not 0), ``--numprocesses``, ``--tx`` or ``--dist`` other than ``no``, on
    the command line. Each xdist worker makes its own requests, so the run's
    HTTP worker process would only wait, unused (docs/xdist.md)."""
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name in ("-n", "--numprocesses", "--dist") and not eq:
            value = args[i + 1] if i + 1 < len(args) else ""
        elif name.startswith("-n") and not name.startswith("--") and len(name) > 2:
            name, value = "-n", name[2:]
        if name in ("-n", "--numprocesses") and value not in ("", "0"):
            return True
        if name == "--dist" and value not in ("", "no"):
            return True
        if name == "--tx":
            return True
    return False
