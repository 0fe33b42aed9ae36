from __future__ import annotations

import datetime as _dt

import pytest

from sleuth.history.diff import diff_runs
from sleuth.history.model import (
    ProbePoint,
    ResultRow,
    RunRow,
    RunSnapshot,
    SettingPoint,
    SettingRow,
    SourcePoint,
)
from sleuth.history.timeline import (
    ago,
    clock_time,
    failure_line,
    setting_changes,
    source_line,
    source_timelines,
)

NOW = _dt.datetime(2026, 11, 2, 8, 15, tzinfo=_dt.UTC)


def local(hour: int, minute: int, day: int = 2) -> _dt.datetime:
    """A moment given in local wall time (what the messages show)."""
    return _dt.datetime(2026, 11, day, hour, minute).astimezone(_dt.UTC)


def point(run_id: int, when: _dt.datetime, outcome: str = "passed") -> ProbePoint:
    return ProbePoint(
        run_id=run_id,
        started_at=when,
        agent="a",
        outcome=outcome,
        category="",
        duration_s=0.1,
        message="",
    )


def test_failure_line_says_when_it_last_passed_and_since_when_it_fails():
    line = failure_line(
        last_pass=point(41, local(7, 55)),
        first_failure=point(42, local(8, 5), "failed"),
        ran_it=1,
        kept_runs=30,
        now=local(8, 5),
    )
    assert line == (
        "last passed: run 41, 07:55 (10 min ago); failing since run 42, 08:05"
    )


def test_failure_line_when_this_run_is_the_first_failure():
    line = failure_line(
        last_pass=point(41, local(7, 55)),
        first_failure=None,
        ran_it=1,
        kept_runs=41,
        now=local(9, 55),
    )
    assert line == "last passed: run 41, 07:55 (2 h ago); failing since this run"


def test_failure_line_shows_the_date_when_it_last_passed_on_another_day():
    line = failure_line(
        last_pass=point(3, local(23, 10, day=1)),
        first_failure=point(4, local(7, 0)),
        ran_it=1,
        kept_runs=4,
        now=local(9, 0),
    )
    assert line == (
        "last passed: run 3, 2026-11-01 23:10 (9 h ago); failing since run 4, 07:00"
    )


def test_failure_line_for_a_probe_that_never_passed():
    line = failure_line(
        last_pass=None, first_failure=point(1, NOW), ran_it=30, kept_runs=30, now=NOW
    )
    assert line == "never passed in the 30 runs kept"


def test_failure_line_counts_only_the_runs_that_ran_the_probe():
    line = failure_line(
        last_pass=None, first_failure=point(9, NOW), ran_it=3, kept_runs=30, now=NOW
    )
    assert line == "never passed in the 3 runs that ran it (30 kept)"


def test_failure_line_for_a_probe_new_in_this_run():
    line = failure_line(
        last_pass=None, first_failure=None, ran_it=0, kept_runs=1, now=NOW
    )
    assert line == "a new probe: not in the 1 run kept"


def test_no_failure_line_without_earlier_runs():
    line = failure_line(
        last_pass=None, first_failure=None, ran_it=0, kept_runs=0, now=NOW
    )
    assert line is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "just now"),
        (600, "10 min ago"),
        (3 * 3600, "3 h ago"),
        (3 * 86400, "3 days ago"),
    ],
)
def test_ago(seconds, text):
    assert ago(NOW - _dt.timedelta(seconds=seconds), NOW) == text


def test_clock_time_is_local():
    assert clock_time(local(7, 55), local(8, 0)) == "07:55"


def setting(run_id, source, state, fingerprint, when=NOW):
    return SettingPoint(
        run_id=run_id,
        started_at=when,
        agent="a",
        source=source,
        state=state,
        fingerprint=fingerprint,
    )


def test_setting_changes_name_each_kind_of_change():
    points = [
        setting(1, "environment", "present", "aa"),
        setting(2, "environment", "present", "aa"),
        setting(3, "environment", "present", "bb"),
        setting(4, "dotenv .env", "present", "bb"),
        setting(5, "dotenv .env", "empty", "cc"),
        setting(6, None, "absent", None),
        setting(7, None, "absent", None),
        setting(8, "environment", "present", "aa"),
    ]
    changes = [
        (c.point.run_id, c.what) for c in setting_changes(list(reversed(points)))
    ]
    assert changes == [
        (1, "first seen in environment"),
        (3, "value changed"),
        (4, "moved from environment to dotenv .env"),
        (5, "now empty"),
        (6, "vanished (was in dotenv .env)"),
        (8, "appeared in environment"),
    ]


def held(run_id, position, source, state, fingerprint, when=NOW):
    return SourcePoint(
        run_id=run_id,
        started_at=when,
        agent="a",
        position=position,
        source=source,
        state=state,
        fingerprint=fingerprint,
    )


def test_each_source_has_its_own_changes_and_its_role_in_the_latest_run():
    # The environment wins throughout; the dotenv file below it shadows
    # another value, then the same one; a config file gains the name, loses
    # it, cannot be read. Run 3 asked the environment only (the app's own
    # function called it itself).
    winners = [setting(n, "environment", "present", "aa") for n in (1, 2, 3, 4, 5)]
    winners[3] = setting(4, "environment", "present", "bb")
    winners[4] = setting(5, "environment", "present", "bb")
    sources = [
        held(1, 0, "environment", "present", "aa"),
        held(1, 1, "dotenv deploy.env", "present", "zz"),
        held(1, 2, "config app.yaml", "absent", None),
        held(2, 0, "environment", "present", "aa"),
        held(2, 1, "dotenv deploy.env", "present", "zz"),
        held(2, 2, "config app.yaml", "present", "aa"),
        held(3, 0, "environment", "present", "aa"),
        held(4, 0, "environment", "present", "bb"),
        held(4, 1, "dotenv deploy.env", "present", "bb"),
        held(4, 2, "config app.yaml", "absent", None),
        held(5, 0, "environment", "present", "bb"),
        held(5, 1, "dotenv deploy.env", "empty", "ee"),
        held(5, 2, "config app.yaml", "error", None),
    ]
    timelines = source_timelines(winners, list(reversed(sources)))
    assert [
        (t.source, t.role, [(c.point.run_id, c.what) for c in t.changes])
        for t in timelines
    ] == [
        ("environment", "wins", [(4, "changed")]),
        (
            "dotenv deploy.env",
            "differs from environment, which wins",
            [(4, "changed"), (5, "now empty")],
        ),
        (
            "config app.yaml",
            "no value",
            [(2, "appeared"), (4, "disappeared"), (5, "could not be read")],
        ),
    ]
    # run 3 did not ask the dotenv file: it is compared with run 2
    assert [p.run_id for p in timelines[1].points] == [1, 2, 4, 5]


def test_a_source_agreeing_with_the_winner_or_not_asked_says_so():
    winners = [setting(7, "environment", "present", "aa")]
    sources = [
        held(6, 1, "dotenv .env", "present", "aa"),
        held(7, 0, "environment", "present", "aa"),
        held(7, 1, "config app.yaml", "present", "aa"),
    ]
    roles = {t.source: t.role for t in source_timelines(winners, sources)}
    assert roles == {
        "environment": "wins",
        "config app.yaml": "same value as environment",
        "dotenv .env": "not asked in run 7",
    }


def test_source_line_says_when_it_changed_or_since_when_it_did_not():
    winners = [setting(n, "environment", "present", "bb" * 32) for n in (40, 41, 42)]
    sources = [
        held(40, 0, "environment", "present", "aa" * 32, local(7, 55, day=1)),
        held(41, 0, "environment", "present", "bb" * 32, local(8, 5)),
        held(42, 0, "environment", "present", "bb" * 32, local(8, 10)),
        held(40, 1, "dotenv deploy.env", "present", "cc" * 32, local(7, 55, day=1)),
        held(42, 1, "dotenv deploy.env", "present", "cc" * 32, local(8, 10)),
        held(41, 2, "app cfg:get", "absent", None, local(8, 5)),
        held(42, 2, "app cfg:get", "present", "bb" * 32, local(8, 10)),
        held(41, 3, "config app.yaml", "present", "bb" * 32, local(8, 5)),
        held(42, 3, "config app.yaml", "present", "bb" * 32, local(8, 10)),
    ]
    now = local(8, 15)
    lines = [
        source_line(t, oldest_run=40, now=now)
        for t in source_timelines(winners, sources)
    ]
    assert lines == [
        "environment: present (print bbbbbbbb), wins; changed 08:05 (run 41, 10 min ago)",
        "dotenv deploy.env: present (print cccccccc), differs from environment, "
        "which wins; unchanged since 2026-11-01 07:55 (run 40, the oldest run read)",
        "app cfg:get: present (print bbbbbbbb), same value as environment; "
        "appeared 08:10 (run 42, 5 min ago)",
        "config app.yaml: present (print bbbbbbbb), same value as environment; "
        "unchanged since 08:05 (run 41, first asked)",
    ]


def test_source_line_names_the_runs_whose_value_it_could_not_compare():
    # Runs 42 and 44 kept no fingerprint (an xdist run whose workers saw the
    # value otherwise, a run buffered before its agent knew the store's key):
    # "unchanged since run 41" holds only as far as the prints go.
    prints = {41: "aa", 42: None, 43: "aa", 44: None}
    winners = [setting(n, "environment", "present", p) for n, p in prints.items()]
    sources = [held(n, 0, "environment", "present", p) for n, p in prints.items()]
    (timeline,) = source_timelines(winners, sources)
    assert source_line(timeline, oldest_run=41, now=NOW) == (
        f"environment: present, wins; unchanged since {clock_time(NOW, NOW)} "
        "(run 41, the oldest run read); runs 42 and 44 kept no fingerprint of "
        "it (a change of value is dated from the next run that did)"
    )
    # A value that changed across a run without a print shows at the next
    # run with one (compared with the last print known), not nowhere; the
    # note says the change may be older.
    sources.append(held(45, 0, "environment", "present", "bb"))
    winners.append(setting(45, "environment", "present", "bb"))
    (timeline,) = source_timelines(winners, sources)
    assert source_line(timeline, oldest_run=41, now=NOW) == (
        f"environment: present (print bb), wins; changed {clock_time(NOW, NOW)} "
        "(run 45, just now); runs 42 and 44 kept no fingerprint of it (a change "
        "of value is dated from the next run that did)"
    )
    assert [(c.point.run_id, c.what) for c in setting_changes(winners)] == [
        (41, "first seen in environment"),
        (45, "value changed"),
    ]


def test_source_line_lists_the_latest_changes_first_and_counts_the_rest():
    winners = [setting(n, None, "absent", None) for n in range(1, 7)]
    states = ["absent", "present", "absent", "present", "absent", "absent"]
    sources = [
        held(n, 0, "environment", state, "aa" if state == "present" else None)
        for n, state in enumerate(states, start=1)
    ]
    (timeline,) = source_timelines(winners, sources)
    assert source_line(timeline, oldest_run=1, now=NOW) == (
        f"environment: absent; disappeared {clock_time(NOW, NOW)} (run 5, just now); "
        f"appeared {clock_time(NOW, NOW)} (run 4); "
        f"disappeared {clock_time(NOW, NOW)} (run 3); and 1 earlier"
    )


def run_row(run_id, exit_status=0):
    return RunRow(
        id=run_id,
        target="local",
        base_url=None,
        agent="a",
        started_at=NOW,
        duration_s=1.0,
        sleuth_version="0.1.0",
        git_revision=None,
        exit_status=exit_status,
        selection=(),
    )


def snapshot(run_id, results, settings, exit_status=0):
    return RunSnapshot(
        run=run_row(run_id, exit_status),
        results={
            probe: ResultRow(
                run_id=run_id,
                probe_id=probe,
                outcome=outcome,
                category="",
                duration_s=duration,
                message="boom" if outcome == "failed" else "",
            )
            for probe, (outcome, duration) in results.items()
        },
        settings={
            name: SettingRow(
                run_id=run_id, name=name, source=source, state=state, fingerprint=fp
            )
            for name, (source, state, fp) in settings.items()
        },
    )


def test_diff_finds_flips_new_and_removed_probes_settings_and_latency():
    a = snapshot(
        41,
        {
            "t::flag": ("passed", 0.01),
            "t::items": ("passed", 0.10),
            "t::slow": ("passed", 0.10),
            "t::noise": ("passed", 0.001),
            "t::old": ("passed", 0.01),
        },
        {
            "FEATURE_FLAG_X": ("environment", "present", "aa"),
            "API_KEY": ("environment", "present", "kk"),
            "GONE": ("environment", "present", "gg"),
            "ONLY_A": ("environment", "present", "oo"),
        },
    )
    b = snapshot(
        43,
        {
            "t::flag": ("failed", 0.01),
            "t::items": ("passed", 0.11),
            "t::slow": ("passed", 0.35),
            "t::noise": ("passed", 0.009),
            "t::new": ("passed", 0.01),
        },
        {
            "FEATURE_FLAG_X": ("environment", "present", "bb"),
            "API_KEY": ("environment", "present", "kk"),
            "GONE": (None, "absent", None),
        },
        exit_status=1,
    )
    diff = diff_runs(a, b)
    assert diff.render() == [
        "probes that now fail (1):",
        "  t::flag (passed -> failed)",
        "settings (2):",
        "  FEATURE_FLAG_X: value changed",
        "  GONE: vanished (was in environment)",
        "latency that moved more than 2x (1):",
        "  t::slow: 0.10 s -> 0.35 s",
        "probes new in run 43 (1):",
        "  t::new",
        "probes not in run 43 (1):",
        "  t::old",
    ]
    data = diff.to_json()
    assert data["flipped"] == [
        {
            "probe_id": "t::flag",
            "before": "passed",
            "after": "failed",
            "message": "boom",
        }
    ]
    assert data["latency"][0]["factor"] == 3.5
    assert [s["name"] for s in data["settings"]] == ["FEATURE_FLAG_X", "GONE"]
    assert (data["a"]["id"], data["b"]["id"]) == (41, 43)


def test_diff_says_a_value_it_could_not_compare_rather_than_no_change():
    # A run kept without a fingerprint (buffered before its agent knew the
    # store's key, or an xdist run whose workers saw the value otherwise):
    # its value may have changed; "no setting changed" would be a guess.
    a = snapshot(
        1, {}, {"A": ("environment", "present", "aa"), "GONE": (None, "absent", None)}
    )
    b = snapshot(
        2, {}, {"A": ("environment", "present", None), "GONE": (None, "absent", None)}
    )
    assert diff_runs(a, b).render() == [
        "settings (1):",
        "  A: value not compared (run 2 kept no fingerprint of it)",
    ]
    assert diff_runs(b, a).render()[1] == (
        "  A: value not compared (run 2 kept no fingerprint of it)"
    )
    neither = diff_runs(b, snapshot(3, {}, {"A": ("environment", "present", None)}))
    assert neither.render()[1] == (
        "  A: value not compared (runs 2 and 3 kept no fingerprint of it)"
    )
    # A change seen otherwise is said as such.
    moved = snapshot(4, {}, {"A": ("dotenv .env", "present", None)})
    assert (
        diff_runs(a, moved).render()[1] == "  A: moved from environment to dotenv .env"
    )


def test_diff_of_identical_runs_is_empty_and_render_caps_long_lists():
    same = {"t::a": ("passed", 0.1)}
    assert diff_runs(snapshot(1, same, {}), snapshot(2, same, {})).is_empty
    many = {f"t::p{i}": ("passed", 0.1) for i in range(15)}
    diff = diff_runs(snapshot(1, {}, {}), snapshot(2, many, {}))
    lines = diff.render(most=10)
    assert lines[0] == "probes new in run 2 (15):"
    assert lines[-1] == "  ... and 5 more"
    assert len(lines) == 12
