"""``sleuth demo``: a live app with a staged incident, diagnosed by a probe suite.

The app (``demo/app.py``) runs on a free loopback port; the suite
(``demo/suite/``) is copied to a temporary directory and run with sleuth, as
``sleuth run`` would; then the demo checks that the diagnosis found each
staged fault and says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sleuth import _timing as timing
from sleuth._evidence import ProbeRecord

SUITE = Path(__file__).parent / "suite"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StagedFault:
    what: str
    probe: str  # node id suffix of the probe that must catch it
    found: Callable[[ProbeRecord], bool]


STAGED = (
    StagedFault(
        what="FEATURE_FLAG_X was renamed FEATURE_FLAGX in deploy.env",
        probe="test_critical_settings_are_present[FEATURE_FLAG_X]",
        found=lambda r: r.outcome == "failed" and "FEATURE_FLAGX" in r.diagnosis,
    ),
    StagedFault(
        what="/orders answers 500: it reads FEATURE_FLAG_X (a consequence)",
        probe="test_api_endpoints[/orders-200]",
        found=lambda r: (
            r.outcome == "blocked"
            and r.blocked_by == "settings"
            and "500" in r.diagnosis
        ),
    ),
    StagedFault(
        what="/search hangs on a service that never answers",
        probe="test_api_endpoints[/search?q=gadget-200]",
        found=lambda r: r.category == "timeout" and "timed out" in r.diagnosis,
    ),
)


class _Collector:
    """Keeps the sleuth records of the run for the verdict."""

    def __init__(self) -> None:
        self.records: list[ProbeRecord] = []

    def pytest_sessionfinish(self, session: Any) -> None:
        from sleuth.plugin.keys import session_key

        sleuth_session = session.config.stash.get(session_key, None)
        if sleuth_session is not None:
            self.records = list(sleuth_session.records.values())


def run_demo(*, keep: bool = False) -> int:
    """Run the demo; 0 when every staged fault was found and nothing else failed."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        click.echo(
            "sleuth demo needs the demo app's server. Install it with: "
            "pip install 'sleuth[demo]'",
            err=True,
        )
        return 4
    import pytest
    from dotenv import dotenv_values

    from sleuth.demo.app import create_app
    from sleuth.demo.server import BackgroundServer

    with tempfile.TemporaryDirectory(prefix="sleuth-demo-") as tmp:
        suite = Path(tmp) / "suite"
        shutil.copytree(SUITE, suite)
        app_settings = {
            k: v for k, v in dotenv_values(suite / "deploy.env").items() if v
        }
        with BackgroundServer(create_app(app_settings)) as server:
            os.environ["SLEUTH_DEMO_URL"] = server.url
            _intro(server.url, suite)
            collector = _Collector()
            started = timing.monotonic()
            previous = Path.cwd()
            os.chdir(
                suite
            )  # so pytest shows paths as a user in the suite would see them
            try:
                # The app's own imports (starlette brings anyio, whose pytest plugin
                # then cannot be assertion-rewritten) are no business of the demo's.
                pytest.main(
                    [
                        "-v",
                        "-p",
                        "no:cacheprovider",
                        "--no-history",  # a throwaway suite: nothing to compare with
                        "-W",
                        "ignore::pytest.PytestAssertRewriteWarning",
                    ],
                    plugins=[collector],
                )
            finally:
                os.chdir(previous)
            took = timing.monotonic() - started
            verdict = _verdict(collector.records, took)
            if keep:
                click.echo(
                    f"\nThe app stays up at {server.url}; try:\n"
                    f"  SLEUTH_DEMO_URL={server.url} sleuth run {suite} -k settings\n"
                    f"Ctrl-C stops it."
                )
                _wait_for_interrupt()
    return verdict


def _intro(url: str, suite: Path) -> None:
    click.echo(
        click.style("sleuth demo", bold=True) + f": a live shop API on {url}, with an "
        "incident staged in it.\nThe suite asks it, all at once: are the four "
        "critical settings there, and do five endpoints answer 200?\n"
    )


def _verdict(records: list[ProbeRecord], took: float) -> int:
    by_id = {r.probe_id.rsplit("::", 1)[-1]: r for r in records}
    click.echo("")
    click.echo(
        click.style(
            f"What the staged incident was, and what sleuth found in {took:.1f} s:",
            bold=True,
        )
    )
    all_found = True
    for fault in STAGED:
        record = by_id.get(fault.probe)
        found = record is not None and fault.found(record)
        all_found &= found
        mark = (
            click.style("found", fg="green")
            if found
            else click.style("MISSED", fg="red")
        )
        click.echo(f"  [{mark}] {fault.what}")
        if record is not None and record.diagnosis:
            click.echo(f"          {record.diagnosis}")
    staged = {f.probe for f in STAGED}
    others = [r for r in records if r.probe_id.rsplit("::", 1)[-1] not in staged]
    unexpected = [r for r in others if r.outcome != "passed"]
    for record in unexpected:
        click.echo(
            f"  [{click.style('UNEXPECTED', fg='red')}] {record.probe_id}: "
            f"{record.outcome} {record.diagnosis}"
        )
    healthy = len(others) - len(unexpected)
    click.echo(f"  and {healthy} probes found the rest healthy.")
    if all_found and not unexpected and records:
        click.echo(
            "\nEach fault was named with its evidence: the setting and where it was "
            "looked for,\nthe endpoint and what it answered, the hang and what it "
            "waited on. That is sleuth."
        )
        return 0
    click.echo("\nThe diagnosis did not match what was staged; see above.")
    return 1


def _wait_for_interrupt() -> None:
    import threading

    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
