"""The ``sleuth`` command. Thin: ``sleuth run`` is pytest with the plugin on."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

# `sleuth run` accepts these short forms and hands pytest the long ones.
RUN_ALIASES = {
    "--target": "--sleuth-target",
    "--timeout": "--sleuth-timeout",
    "--workers": "--sleuth-workers",
    "--config": "--sleuth-config",
}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sleuth")
def main() -> None:
    """Probe suites for live systems: what is broken, with the evidence."""


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def run(pytest_args: Sequence[str]) -> None:
    """Run the suite: pytest with sleuth on. Every pytest option works.

    \b
    sleuth run --target prod -k settings
    sleuth run --budget 30s --junitxml out.xml
    Short forms: --target, --timeout, --workers, --config, --budget, --allow-writes.
    """
    import pytest

    if "-h" in pytest_args or "--help" in pytest_args:
        click.echo(click.get_current_context().get_help())
        click.echo("\nEvery pytest option is accepted too; see 'pytest --help'.")
        return
    sys.exit(int(pytest.main(translate_run_args(pytest_args))))


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


@main.command()
@click.option("--keep", is_flag=True, help="Leave the demo app running until Ctrl-C.")
def demo(keep: bool) -> None:
    """Start a small app with a staged incident, and diagnose it."""
    from sleuth.demo import run_demo

    sys.exit(run_demo(keep=keep))
