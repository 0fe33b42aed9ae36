"""The ``sleuth`` commands, with click: run, watch, demo, history, diff, init, serve.

``sleuth run`` normally goes straight to pytest from ``cli.main`` without
loading this module; it is here for ``sleuth run --help`` and completeness.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

    from sleuth.history.store import HistoryStore

from sleuth.cli.runargs import translate_run_args

STORE_HELP = (
    "the history store: a file, sqlite:///path or postgresql://... "
    "(default: the one of the suite around the working directory)"
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sleuth")
def group() -> None:
    """Probe suites for live systems: what is broken, with the evidence."""


@group.command(
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


@group.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--every",
    metavar="DURATION",
    help="The interval between cycles' starts, e.g. 30s or 5m; 0: back to back.",
)
@click.option(
    "--jitter",
    metavar="DURATION",
    help="Start each cycle up to this much later, at random (default: a tenth "
    "of --every; 0 for none).",
)
@click.option("--agent", metavar="NAME", help="The agent name the runs are kept under.")
@click.option("--history", metavar="URL", help=STORE_HELP)
@click.option("--cycles", metavar="N", help="Stop after N cycles (default: never).")
@click.option(
    "--cycle-timeout",
    metavar="DURATION",
    help="Kill a cycle still running after this long (default: its --budget "
    "and a minute, or 10m).",
)
@click.option(
    "--show-output",
    is_flag=True,
    help="Print each cycle's own pytest output, not only its one line.",
)
@click.option(
    "--serve",
    metavar="ADDR",
    help="Serve the status page and API on ADDR (e.g. 127.0.0.1:9464) while watching.",
)
@click.option(
    "--auth",
    metavar="SPEC",
    help="For --serve beyond loopback: bearer:ENVVAR or basic:USER:HASH.",
)
def watch(
    pytest_args: Sequence[str],
    every: str | None,
    jitter: str | None,
    agent: str | None,
    history: str | None,
    cycles: str | None,
    cycle_timeout: str | None,
    show_output: bool,
    serve: str | None,
    auth: str | None,
) -> None:
    """Run the suite every interval, each cycle a run kept in the history.

    \b
    sleuth watch --every 30s
    sleuth watch -k api --every 1m --agent eu-1 --history postgresql://...
    Ctrl-C or SIGTERM ends after the running cycle; a second one at once.
    Every other option goes to each cycle's sleuth run (see docs/watch.md).
    """
    from sleuth.watch.command import watch_command

    sys.exit(
        watch_command(
            pytest_args,
            every=every,
            jitter=jitter,
            cycles=cycles,
            history=history,
            agent=agent,
            verbose=show_output,
            serve=serve,
            auth=auth,
            cycle_timeout=cycle_timeout,
        )
    )


class _LintCommand(click.Command):
    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from sleuth.lint.findings import RULES  # only when help is asked for

        with formatter.section("Rules"):
            formatter.write_dl(list(RULES.items()))


@group.command(cls=_LintCommand)
@click.argument("path", default=".", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="For people, as JSON, or as GitHub workflow annotations.",
)
@click.option(
    "--budget",
    metavar="DURATION",
    help="The run's budget, as given to sleuth run (default: budget: in the config).",
)
def lint(path: Path, fmt: str, budget: str | None) -> None:
    """Check a suite without running it: exit 0 clean, 1 findings, 4 unreadable.

    \b
    sleuth lint                        the suite in the working directory
    sleuth lint probes/ --format github
    Silence a finding on its line: # sleuth: allow RULE (see docs/lint.md).
    """
    from sleuth.lint.command import run_lint

    sys.exit(run_lint(path, fmt, budget=budget))


@group.command()
@click.option("--keep", is_flag=True, help="Leave the demo app running until Ctrl-C.")
def demo(keep: bool) -> None:
    """Start a small app with a staged incident, and diagnose it."""
    from sleuth.demo import run_demo

    sys.exit(run_demo(keep=keep))


@group.command()
@click.argument("name", required=False)
@click.option("--history", "url", metavar="URL", help=STORE_HELP)
@click.option("--target", help="Only the runs of this target.")
@click.option("-n", "--limit", default=20, show_default=True, help="How many runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option(
    "--flush",
    is_flag=True,
    help="First write the runs this agent kept while the shared store was away.",
)
def history(
    name: str | None,
    url: str | None,
    target: str | None,
    limit: int,
    as_json: bool,
    flush: bool,
) -> None:
    """The runs kept, or one probe's or one setting's timeline.

    \b
    sleuth history                    the latest runs
    sleuth history FEATURE_FLAG_X     where it was found, when it changed
    sleuth history test_endpoints     a probe's outcomes (any unique part of its id)
    """
    from sleuth.history.views import flush_buffer, show_history

    with _store(url) as (store, console):
        if flush:
            console.print(
                flush_buffer(store, cwd=Path.cwd()), highlight=False, soft_wrap=True
            )
        show_history(
            store, name, console=console, target=target, limit=limit, as_json=as_json
        )


@group.command()
@click.argument("a", type=int, required=False)
@click.argument("b", type=int, required=False)
@click.option("--history", "url", metavar="URL", help=STORE_HELP)
@click.option("--target", help="Only the runs of this target.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def diff(
    a: int | None, b: int | None, url: str | None, target: str | None, as_json: bool
) -> None:
    """What differs between two runs: outcomes, probes, settings, latency.

    \b
    sleuth diff          the last run in which everything passed -> the latest
    sleuth diff 41       run 41 -> the latest
    sleuth diff 41 43    run 41 -> run 43
    """
    from sleuth.history.views import show_diff

    with _store(url) as (store, console):
        show_diff(store, a, b, console=console, target=target, as_json=as_json)


@group.command()
@click.option(
    "--openapi", metavar="URL-OR-FILE", help="An OpenAPI 3.x or Swagger 2.0 document."
)
@click.option(
    "--settings",
    "settings_model",
    metavar="MODULE:CLASS",
    help="The app's pydantic-settings model, e.g. shop_app.settings:Settings.",
)
@click.option(
    "--env-example", metavar="FILE", help="A .env.example listing the settings."
)
@click.option(
    "--target",
    metavar="NAME",
    default="prod",
    show_default=True,
    help="The target's name.",
)
@click.option(
    "--base-url", metavar="URL", help="Where the API is (default: the spec's server)."
)
@click.option(
    "--dir",
    "directory",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the suite.",
)
@click.option("--force", is_flag=True, help="Replace files that exist.")
def init(directory: Path, **options: Any) -> None:
    """Write a first suite: sleuth.yaml and probe tables, read-only.

    \b
    sleuth init --openapi https://api.example.com/openapi.json
    sleuth init --settings shop_app.settings:Settings
    sleuth init --env-example .env.example
    """
    from sleuth.init.errors import InitError
    from sleuth.init.files import Request, write_suite

    try:
        written = write_suite(Request(directory=directory, **options), cwd=Path.cwd())
    except InitError as exc:
        raise _InitFailed(str(exc)) from None
    for path in written:
        click.echo(f"wrote {path}")
    where = "" if directory == Path() else f"cd {directory} && "
    click.echo(f"Next: {where}sleuth run -rs  (the files' comments say what and why)")


@group.command()
@click.argument("address", required=False, default="127.0.0.1:9464")
@click.option("--history", "url", metavar="URL", help=STORE_HELP)
@click.option(
    "--auth",
    metavar="bearer:ENVVAR|basic:USER:HASH",
    help="Required to serve beyond loopback: a token read from the environment "
    "variable ENVVAR, or a user and a password hash (see --hash-password).",
)
@click.option(
    "--hash-password",
    is_flag=True,
    help="Ask for a password and print its hash for --auth basic:USER:HASH.",
)
def serve(address: str, url: str | None, auth: str | None, hash_password: bool) -> None:
    """The status page, /api/v1/status, /metrics, /healthz and badges.

    \b
    sleuth serve                                 127.0.0.1:9464, the suite's store
    sleuth serve 127.0.0.1:8080 --history sqlite:///var/lib/sleuth/history.db
    SLEUTH_TOKEN=... sleuth serve 0.0.0.0:9464 --auth bearer:SLEUTH_TOKEN
    """
    from sleuth.errors import SleuthError

    try:
        if hash_password:
            from sleuth.web.auth import hash_password as make_hash

            password = click.prompt(
                "password", hide_input=True, confirmation_prompt=True, err=True
            )
            click.echo(make_hash(password))
            return
        from sleuth.history.views import find_store_url
        from sleuth.web.server import serve_forever

        parsed = None
        if auth is not None:
            from sleuth.web.auth import parse_auth

            parsed = parse_auth(auth)
        history_url = find_store_url(url, cwd=Path.cwd())
        serve_forever(address, history_url=history_url, auth=parsed)
    except SleuthError as exc:
        raise _Unusable(str(exc)) from None


class _Unusable(click.ClickException):
    exit_code = 4  # a usage error, as pytest's

    def show(self, file: Any = None) -> None:
        click.echo(f"sleuth serve: {self.format_message()}", err=True)


class _InitFailed(click.ClickException):
    exit_code = 4  # a usage error, as pytest's

    def show(self, file: Any = None) -> None:
        click.echo(self.format_message(), err=True)  # the sentence, no "Error:"


@contextmanager
def _store(url: str | None) -> Iterator[tuple[HistoryStore, Console]]:
    from rich import console as rich_console

    from sleuth.errors import SleuthError
    from sleuth.history.views import open_store

    try:
        store, _ = open_store(url, cwd=Path.cwd())
    except SleuthError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield store, rich_console.Console()
    except SleuthError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
