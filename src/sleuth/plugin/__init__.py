"""pytest hooks: options, markers, the ``target`` fixture, run-ahead, replay, summary.

The plugin is on in every pytest run of an environment where sleuth is
installed, but does nothing beyond registering its markers and options unless
the run belongs to a suite: a sleuth.yaml (or ``[tool.sleuth]``) in the
directory of the tests or above, or ``--sleuth-config``.

This module is the cheap entry point pytest loads (``pytest11``); the rest of
the package is sleuth's pytest side, loaded once a suite is found: the session
(``session``), run-ahead and replay (``runahead``, ``recording``, ``capture``),
marks, report scrubbing, the outputs, probe tables as items (``tables``), and
a run spread by pytest-xdist (``distributed``).
What pytest offers only through private names is in ``sleuth._compat.pytest``.
"""

from __future__ import annotations

import argparse
from collections.abc import Generator
from typing import Any

import pytest

from sleuth.errors import ConfigError
from sleuth.plugin.keys import session_key

# Only what every pytest run needs: the rest loads once a suite is found.
from sleuth.suite.discovery import CONFIG_FILE, PYPROJECT_FILE, find_config_file

CONFIG_HELP = (
    "the suite's config file (default: the nearest sleuth.yaml, or pyproject.toml "
    "with [tool.sleuth])"
)
TARGET_HELP = "the target to probe, by name from the config (env SLEUTH_TARGET)"
TIMEOUT_HELP = "each probe's timeout, e.g. 2.5 or 2s (env SLEUTH_TIMEOUT; default 5 s)"
BUDGET_HELP = (
    "the whole run's budget, e.g. 30s: no probe runs past it (env SLEUTH_BUDGET)"
)
WORKERS_HELP = (
    "how many 'def' probes may run at the same moment (env SLEUTH_WORKERS; default 512)"
)
ALLOW_WRITES_HELP = (
    "let probes marked @pytest.mark.writes send POST, PUT, PATCH and DELETE"
)
IN_ORDER_HELP = "run every probe in order, one at a time, as plain pytest would"
HISTORY_HELP = (
    "where to keep the run history: a file, sqlite:///path or postgresql://... "
    "(env SLEUTH_HISTORY; default .sleuth/history.db beside sleuth.yaml)"
)
NO_HISTORY_HELP = "do not read or write the run history"
HISTORY_KEEP_HELP = (
    "how much history to keep per target: a number of runs (200) or an age (30d) "
    "(env SLEUTH_HISTORY_KEEP; default 1000 runs)"
)
AGENT_HELP = (
    "the name this run is stored under in a shared history (env SLEUTH_AGENT; "
    "default the host name)"
)
JSON_HELP = "write the run as JSON (schema sleuth.run/1, docs/outputs.md) to PATH"
REPORT_HELP = "write a Markdown incident report to PATH"
REPORT_FULL_HELP = (
    "make the --sleuth-report whole: every failure's diagnosis and evidence, "
    "every change, the settings table (default: what is wrong first, the "
    "evidence folded)"
)
METRICS_HELP = "write Prometheus text (node_exporter textfile collector) to PATH"
EXIT_HELP = (
    "exit codes: 'pytest' (default) or 'nagios' (0 OK, 1 WARNING, 2 CRITICAL, "
    "3 UNKNOWN, with one status line)"
)

MARKERS = (
    "probe(timeout=None, retries=0): sleuth probe options, e.g. "
    "@pytest.mark.probe(timeout=2, retries=2) for a 2-second deadline and up to 2 "
    "retries of each idempotent request",
    "writes: this probe may change the target (POST, PUT, ...); it still needs "
    "--allow-writes to do so",
    "needs(*names): this probe depends on the probes with these names or tags; "
    "when one of them fails, this one is reported as blocked by it",
)


def pytest_addoption(
    parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager
) -> None:
    # Before the rest of sleuth loads: its modules are not test code.
    from sleuth._compat.rewriting import keep_from_rewriting

    keep_from_rewriting(pluginmanager.rewrite_hook, "sleuth")
    group = parser.getgroup("sleuth", "sleuth: probe suites for live systems")
    group.addoption("--sleuth-config", metavar="PATH", help=CONFIG_HELP)
    group.addoption("--sleuth-target", metavar="NAME", help=TARGET_HELP)
    group.addoption("--sleuth-timeout", metavar="SECONDS", help=TIMEOUT_HELP)
    group.addoption(
        "--budget",
        "--sleuth-budget",
        dest="sleuth_budget",
        metavar="SECONDS",
        help=BUDGET_HELP,
    )
    group.addoption("--sleuth-workers", metavar="N", help=WORKERS_HELP)
    group.addoption(
        "--allow-writes",
        "--sleuth-allow-writes",
        dest="sleuth_allow_writes",
        action="store_true",
        default=False,
        help=ALLOW_WRITES_HELP,
    )
    group.addoption(
        "--sleuth-in-order", action="store_true", default=False, help=IN_ORDER_HELP
    )
    group.addoption(
        "--history", "--sleuth-history", dest="sleuth_history", help=HISTORY_HELP
    )
    group.addoption(
        "--no-history",
        "--sleuth-no-history",
        dest="sleuth_no_history",
        action="store_true",
        default=False,
        help=NO_HISTORY_HELP,
    )
    group.addoption(
        "--history-keep",
        "--sleuth-history-keep",
        dest="sleuth_history_keep",
        metavar="RUNS_OR_AGE",
        help=HISTORY_KEEP_HELP,
    )
    group.addoption(
        "--agent",
        "--sleuth-agent",
        dest="sleuth_agent",
        metavar="NAME",
        help=AGENT_HELP,
    )
    group.addoption(  # given by `sleuth run`: sleuth was asked for, suite or not
        "--sleuth-run", action="store_true", default=False, help=argparse.SUPPRESS
    )
    group.addoption("--sleuth-json", metavar="PATH", help=JSON_HELP)
    group.addoption("--sleuth-report", metavar="PATH", help=REPORT_HELP)
    group.addoption(
        "--sleuth-report-full",
        action="store_true",
        default=False,
        help=REPORT_FULL_HELP,
    )
    group.addoption("--sleuth-metrics", metavar="PATH", help=METRICS_HELP)
    group.addoption(
        "--sleuth-exit",
        default="pytest",
        help=EXIT_HELP,  # checked in configure
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, args: list[str]
) -> Generator[None]:
    # Before pytest's capture starts (it is a wrapper too; tryfirst puts us
    # outside it), so that the stream it restores between tests is our proxy
    # and output from probes running ahead never reaches the terminal directly.
    try:
        explicit = early_config.known_args_namespace.sleuth_config
        found = find_config_file(args, early_config.invocation_params.dir, explicit)
    except ConfigError:
        found = None  # reported properly in pytest_configure
    if found is not None:
        from sleuth.plugin import capture

        capture.wrap_std_streams()
        early_config.add_cleanup(capture.unwrap_std_streams)
    return (yield)


# trylast: after the terminal reporter exists, which Nagios mode takes away.
@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    check_exit_mode(config)
    try:
        path = find_config_file(
            [str(a) for a in config.args],
            config.invocation_params.dir,
            config.getoption("sleuth_config"),
        )
        if path is None and not asked_for_sleuth(config):
            return  # plain pytest outside a suite: not ours
        from sleuth.plugin.session import SleuthSession

        session = SleuthSession.from_pytest_config(config, path)
    except ConfigError as exc:
        if config.getoption("sleuth_exit") == "nagios":
            from sleuth.plugin.outputs import exit_unknown

            exit_unknown(config, str(exc))
            return
        raise pytest.UsageError(str(exc)) from None
    config.stash[session_key] = session
    session.install()
    if path is None:
        session.warn(
            f"no {CONFIG_FILE} (nor {PYPROJECT_FILE} with [tool.sleuth]) in "
            f"{config.invocation_params.dir} or its parents: running with defaults "
            f"(settings from the environment, no base_url)"
        )


EXIT_MODES = ("pytest", "nagios")


def check_exit_mode(config: pytest.Config) -> None:
    """``--sleuth-exit`` is one of ``EXIT_MODES``, or one line says so (not a
    usage). Here, not with the outputs: every pytest run asks, and a run
    outside a suite loads nothing more of sleuth's."""
    value = config.getoption("sleuth_exit", "pytest")
    if value not in EXIT_MODES:
        from sleuth.suite.validate import did_you_mean

        raise pytest.UsageError(
            f"--sleuth-exit {value!r}: expected {' or '.join(EXIT_MODES)}."
            f"{did_you_mean(str(value), EXIT_MODES)}"
        )


def asked_for_sleuth(config: pytest.Config) -> bool:
    """``sleuth run``, or an option only sleuth reads: then a run without a
    suite still runs with sleuth, on its defaults, rather than ignore them."""
    return bool(
        config.getoption("sleuth_run")
        or config.getoption("sleuth_json")
        or config.getoption("sleuth_report")
        or config.getoption("sleuth_metrics")
        or config.getoption("sleuth_exit") == "nagios"
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(session_key, None)
    if session is not None:
        del config.stash[session_key]
        session.uninstall()


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Any:
    """The system under investigation: ``target.http``, ``target.setting(name)``."""
    session = request.config.stash.get(session_key, None)
    if session is None:
        where = request.config.invocation_params.dir
        pytest.fail(
            f"the target fixture needs a sleuth suite: no sleuth.yaml (nor "
            f"pyproject.toml with [tool.sleuth]) in {where} or any parent. Create "
            f"one (see docs/config.md) or pass --sleuth-config PATH.",
            pytrace=False,
        )
    return session.target
