"""``sleuth history`` and ``sleuth diff``: the store read back, as tables or JSON.

The store is found the way a run finds it: the nearest sleuth.yaml upward from
the working directory, or ``--history URL``. Reading never creates a store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleuth import _timing as timing
from sleuth._timing import format_duration
from sleuth.errors import HistoryUnavailable
from sleuth.history.model import PASSING, RunRow, RunSnapshot, SettingPoint
from sleuth.history.options import HISTORY_ENV, resolve_history
from sleuth.history.recorder import describe_error, display_store
from sleuth.history.timeline import (
    ago,
    clock_time,
    runs_text,
    setting_changes,
    source_line,
    source_timelines,
)
from sleuth.reports.mdtext import counted, in_outcome_order, outcome_counts
from sleuth.suite.config import empty_suite_config, load_suite_config
from sleuth.suite.discovery import find_suite_config
from sleuth.suite.validate import did_you_mean

if TYPE_CHECKING:
    from rich.console import Console

    from sleuth.history.store import HistoryStore

MATCHES_SHOWN = 10


def open_store(url_option: str | None, *, cwd: Path) -> tuple[HistoryStore, str]:
    """The suite's store (or ``url_option``'s), opened for reading; and its name.

    Raises:
        HistoryUnavailable: saying where it looked and what to do.
    """
    url = find_store_url(url_option, cwd=cwd)
    name = display_store(url)
    from sleuth.history.store import HistoryStore

    try:
        return HistoryStore.open(url, create_dir=False), name
    except Exception as exc:
        raise HistoryUnavailable(
            f"the history store {name} could not be opened ({describe_error(exc, url)})"
        ) from exc


def find_store_url(url_option: str | None, *, cwd: Path) -> str:
    """The suite's store URL (or ``url_option``), checked to exist if SQLite.

    Raises:
        HistoryUnavailable: saying where it looked and what to do.
    """
    config_path = find_suite_config(cwd)
    # SLEUTH_HISTORY alone names a store too: an agent's page (docs/agents.md)
    # keeps the store's password out of the command line, and needs no suite.
    if config_path is None and url_option is None and not os.environ.get(HISTORY_ENV):
        raise HistoryUnavailable(
            f"no sleuth.yaml (nor pyproject.toml with [tool.sleuth]) in {cwd} or any "
            f"parent, so no history to read. Run this from the suite's directory, "
            f"or name the store with --history URL or {HISTORY_ENV}."
        )
    # Only the history: key: the targets' ${env:...} values (a token, a URL)
    # may be unset where someone reads the history after the fact.
    suite = (
        load_suite_config(config_path, only=("history",))
        if config_path
        else empty_suite_config(cwd)
    )
    options = resolve_history(
        suite, cli={"history": url_option}, environ=os.environ, cwd=cwd
    )
    if options.url is None:
        raise HistoryUnavailable(
            f"the history is off ({options.origin}). Name a store with --history URL."
        )
    name = display_store(options.url)
    sqlite_file = options.url.startswith("sqlite:///") and "?" not in options.url
    if sqlite_file and not Path(options.url[len("sqlite:///") :]).is_file():
        raise HistoryUnavailable(
            f"no history yet at {name}: it is written by each run of the suite "
            f"(sleuth run), unless --no-history is given."
        )
    return options.url


def flush_buffer(store: HistoryStore, *, cwd: Path) -> str:
    """Write the runs kept in this suite's buffer for ``store`` (``--flush``);
    a line saying how many."""
    from sleuth._localdir import LOCAL_DIR
    from sleuth.history.buffer import RunBuffer, buffer_path
    from sleuth.history.recorder import display_path

    config_path = find_suite_config(cwd)
    root = config_path.parent if config_path is not None else cwd
    buffer = RunBuffer(buffer_path(store.db.url, local_dir=root / LOCAL_DIR))
    name = display_store(store.db.url)
    if not buffer.count():
        return f"history: no run waits in a buffer for {name}"
    try:
        done = buffer.flush(store)
    except Exception as exc:
        raise HistoryUnavailable(
            f"the runs kept in {display_path(buffer.path)} could not be written to "
            f"{name} ({describe_error(exc, store.db.url)}); they stay there"
        ) from exc
    return (
        f"history: {runs_text(done.total)} kept in {display_path(buffer.path)} "
        f"written to {name}"
    )


# -- sleuth history ------------------------------------------------------------


def show_history(
    store: HistoryStore,
    name: str | None,
    *,
    console: Console,
    target: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The runs, or one probe's or one setting's timeline."""
    if name is None:
        rows = store.runs(target=target, limit=limit)
        if as_json:
            _print_json(console, {"runs": [_run_json(r) for r in rows]})
        else:
            _runs_table(console, rows)
        return
    probes, settings = store.names(target=target)
    kind, found = _pick(name, probes, settings)
    if target is None:  # one timeline per target: staging's is not prod's
        index = 0 if kind == "probe" else 1
        holding = [t for t in store.targets() if found in store.names(target=t)[index]]
        if len(holding) > 1:
            raise HistoryUnavailable(
                f"{found} is in the runs of {len(holding)} targets "
                f"({', '.join(holding)}), each with a timeline of its own: "
                f"add --target {holding[0]}"
            )
    if kind == "probe":
        _probe_timeline(
            console, store, found, target=target, limit=limit, as_json=as_json
        )
    else:
        _setting_timeline(
            console, store, found, target=target, limit=limit, as_json=as_json
        )


def _pick(name: str, probes: list[str], settings: list[str]) -> tuple[str, str]:
    if name in probes:
        return "probe", name
    if name in settings:
        return "setting", name
    matches = [p for p in probes if name in p]
    if len(matches) == 1:
        return "probe", matches[0]
    if matches:
        shown = "\n  ".join(matches[:MATCHES_SHOWN])
        more = len(matches) - MATCHES_SHOWN
        tail = f"\n  ... and {more} more" if more > 0 else ""
        raise HistoryUnavailable(
            f"{name!r} matches {len(matches)} probes; give one of them in full:"
            f"\n  {shown}{tail}"
        )
    raise HistoryUnavailable(
        f"no probe or setting named {name!r} in the history "
        f"({counted(len(probes), 'probe')}, {counted(len(settings), 'setting')})."
        f"{did_you_mean(name, [*settings, *probes])}"
    )


def _probe_timeline(
    console: Console,
    store: HistoryStore,
    probe_id: str,
    *,
    target: str | None,
    limit: int,
    as_json: bool,
) -> None:
    points = store.probe_points(probe_id, target=target, limit=limit)
    if as_json:
        _print_json(
            console,
            {
                "probe": probe_id,
                "points": [
                    {
                        "run": p.run_id,
                        "started_at": p.started_at.isoformat(),
                        "agent": p.agent,
                        "outcome": p.outcome,
                        "category": p.category,
                        "duration_s": p.duration_s,
                        "message": p.message,
                    }
                    for p in points
                ],
            },
        )
        return
    from rich.table import Table

    now = timing.utcnow()
    table = Table(title=f"probe {probe_id}", title_justify="left")
    for column in ("run", "started", "agent", "outcome", "took", "why"):
        table.add_column(column, overflow="fold")
    for p in points:
        style = "green" if p.outcome in PASSING else "red"
        outcome = p.outcome + (f" ({p.category})" if p.category else "")
        table.add_row(
            str(p.run_id),
            f"{clock_time(p.started_at, now)} ({ago(p.started_at, now)})",
            p.agent,
            f"[{style}]{outcome}[/]",
            format_duration(p.duration_s),
            p.message,
        )
    console.print(table)


def _setting_timeline(
    console: Console,
    store: HistoryStore,
    name: str,
    *,
    target: str | None,
    limit: int,
    as_json: bool,
) -> None:
    points = store.setting_points(name, target=target, limit=limit)
    changes = {c.point.run_id: c.what for c in setting_changes(points)}
    oldest = min((p.run_id for p in points), default=0)
    sources = source_timelines(
        points, store.source_points(name, target=target, since=oldest)
    )
    if as_json:
        _print_json(
            console,
            {
                "setting": name,
                "points": [
                    {
                        "run": p.run_id,
                        "started_at": p.started_at.isoformat(),
                        "agent": p.agent,
                        "source": p.source,
                        "state": p.state,
                        "fingerprint": p.fingerprint,
                        "change": changes.get(p.run_id, ""),
                    }
                    for p in points
                ],
                "sources": [
                    {
                        "source": t.source,
                        "role": t.role,
                        "points": [
                            {
                                "run": p.run_id,
                                "started_at": p.started_at.isoformat(),
                                "agent": p.agent,
                                "state": p.state,
                                "fingerprint": p.fingerprint,
                            }
                            for p in t.points
                        ],
                        "changes": [
                            {"run": c.point.run_id, "change": c.what} for c in t.changes
                        ],
                    }
                    for t in sources
                ],
            },
        )
        return
    from rich.table import Table

    now = timing.utcnow()
    table = Table(title=f"setting {name}", title_justify="left")
    for column in ("run", "started", "agent", "found in", "state", "print", "change"):
        table.add_column(column, overflow="fold")
    for p in points:
        change = changes.get(p.run_id, "")
        table.add_row(
            str(p.run_id),
            f"{clock_time(p.started_at, now)} ({ago(p.started_at, now)})",
            p.agent,
            p.source or "-",
            p.state,
            (p.fingerprint or "")[:8],
            f"[yellow]{change}[/]" if change else "",
        )
    console.print(table)
    # Each change against the same agent's run before (timeline.setting_changes).
    several = len({p.agent for p in points}) > 1
    previous: dict[str, SettingPoint] = {}
    for after in sorted(points, key=lambda p: p.run_id):
        before, previous[after.agent] = previous.get(after.agent), after
        what = changes.get(after.run_id)
        if before is None or not what:
            continue
        console.print(
            f"{name}: {what} between run {before.run_id} "
            f"({clock_time(before.started_at, now)}) and run {after.run_id} "
            f"({clock_time(after.started_at, now)})"
            + (f", both from {after.agent}" if several else ""),
            highlight=False,
        )
    if sources:
        console.print(f"{name} by source (runs {oldest} to {points[0].run_id}):")
        for timeline in sources:
            console.print(
                "  " + source_line(timeline, oldest_run=oldest, now=now),
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
    console.print(
        "print: the first characters of a keyed fingerprint of the value "
        "(the value itself is never stored); a run that did not ask a source "
        "is skipped in its line",
        style="dim",
        highlight=False,
    )


def _runs_table(console: Console, rows: list[RunRow]) -> None:
    from rich.table import Table

    if not rows:
        console.print("no runs in the history yet")
        return
    now = timing.utcnow()
    table = Table(title="runs, newest first", title_justify="left")
    for column in ("run", "started", "target", "agent", "took", "result", "git"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row.id),
            f"{clock_time(row.started_at, now)} ({ago(row.started_at, now)})",
            row.target,
            row.agent,
            format_duration(row.duration_s),
            _result_text(row),
            (row.git_revision or "")[:10],
        )
    console.print(table)


def _result_text(row: RunRow) -> str:
    counts = outcome_counts(in_outcome_order(row.counts))
    style = "green" if row.all_passed else "red"
    return f"[{style}]{counts or 'nothing ran'}[/]"


def _run_json(row: RunRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "target": row.target,
        "base_url": row.base_url,
        "agent": row.agent,
        "started_at": row.started_at.isoformat(),
        "duration_s": row.duration_s,
        "sleuth_version": row.sleuth_version,
        "git_revision": row.git_revision,
        "exit_status": row.exit_status,
        "selection": list(row.selection),
        "counts": dict(row.counts),
    }


# -- sleuth diff ---------------------------------------------------------------


def show_diff(
    store: HistoryStore,
    a: int | None,
    b: int | None,
    *,
    console: Console,
    target: str | None,
    as_json: bool,
) -> None:
    """Run ``a`` (default: the last where everything passed) against ``b`` (latest)."""
    from sleuth.history.diff import diff_runs

    if b is None:
        b = store.latest_run_id(target=target)
        if b is None:
            raise HistoryUnavailable("no runs in the history yet")
    if a is None:
        # A green run of a subset is no baseline for the probes it left out,
        # nor is another agent's (store.py, _BASELINE).
        latest = _run_of(store, b)
        of_b = target or latest.target
        a = store.baseline_run_id(b, target=of_b, agent=latest.agent)
        if a is None:
            kept = store.count_runs(target=of_b, agent=latest.agent)
            several = len(store.agent_runs(target=of_b)) > 1
            mine = f" from agent {latest.agent}" if several else ""
            raise HistoryUnavailable(
                f"no run before run {b} (of {kept} kept{mine}) in which everything "
                f"passed and every probe of run {b} ran. Name the runs to "
                f"compare: sleuth diff A B"
            )
    before, after = _snapshot(store, a), _snapshot(store, b)
    known = store.probes_run_before(a, target=before.run.target)
    diff = diff_runs(before, after, known_before_a=known)
    if as_json:
        _print_json(console, diff.to_json())
        return
    now = timing.utcnow()

    def describe(row: RunRow) -> str:
        verdict = "everything passed" if row.all_passed else f"exit {row.exit_status}"
        when = f"{clock_time(row.started_at, now)}, {ago(row.started_at, now)}"
        return f"run {row.id} ({when}, {row.agent}, {verdict})"

    console.print(
        f"{describe(diff.a)} -> {describe(diff.b)}", highlight=False, soft_wrap=True
    )
    lines = diff.render()
    if not lines:
        console.print("no probe, setting or latency differs", highlight=False)
    for line in lines:
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def _snapshot(store: HistoryStore, run_id: int) -> RunSnapshot:
    snap = store.snapshot(run_id)
    if snap is None:
        raise HistoryUnavailable(
            f"no run {run_id} in the history; 'sleuth history' lists the runs kept"
        )
    return snap


def _run_of(store: HistoryStore, run_id: int) -> RunRow:
    row = store.run(run_id)
    if row is None:
        raise HistoryUnavailable(f"no run {run_id} in the history")
    return row


def _print_json(console: Console, data: Any) -> None:
    console.file.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
