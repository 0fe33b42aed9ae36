"""max_age: a secret changed within the limit its source's change date allows."""

from __future__ import annotations

import datetime

import pytest

from sleuth.settings.checks import SettingChecks

NOW = datetime.datetime(2026, 12, 5, 12, 0, tzinfo=datetime.UTC)


def ago(**delta: float) -> datetime.datetime:
    return NOW - datetime.timedelta(**delta)


def test_a_value_older_than_max_age_fails_saying_when_it_changed():
    checks = SettingChecks.build(max_age="90d")
    reason = checks.age_failure(ago(days=120), source="aws-secrets prod/shop", now=NOW)
    assert reason == "changed 120 days ago (2026-08-07), max_age 90d"


@pytest.mark.parametrize(
    ("max_age", "changed", "reason"),
    [
        pytest.param("90d", ago(days=89, hours=23), "", id="just-within"),
        pytest.param("2w", ago(days=15), "changed 15 days ago (2026-11-20), max_age 2w", id="weeks"),
        pytest.param("12h", ago(hours=30), "changed 30 hours ago (2026-12-04), max_age 12h", id="hours"),
        pytest.param("0.01d", ago(minutes=20), "changed 20 minutes ago (2026-12-05), max_age 0.01d", id="minutes"),
        pytest.param(30, ago(days=31), "changed 31 days ago (2026-11-04), max_age 30d", id="a-number"),
        pytest.param(datetime.timedelta(days=7), ago(days=8), "changed 8 days ago (2026-11-27), max_age 7d", id="timedelta"),
    ],
)  # fmt: skip
def test_max_age_reads_the_duration_grammar(max_age, changed, reason):
    checks = SettingChecks.build(max_age=max_age)
    assert checks.age_failure(changed, source="aws-ssm /p/", now=NOW) == reason


def test_a_source_without_change_dates_cannot_pass_max_age():
    checks = SettingChecks.build(max_age="90d")
    assert checks.age_failure(None, source="environment", now=NOW) == (
        "max_age 90d cannot be judged: environment does not say when a value "
        "changed (aws-secrets and aws-ssm do)"
    )


def test_no_max_age_judges_nothing():
    assert SettingChecks.build().age_failure(None, source="environment", now=NOW) == ""


@pytest.mark.parametrize("bad", ["soon", "-3d", True, "90 parsecs"])
def test_a_max_age_that_is_not_days_is_a_value_error(bad):
    with pytest.raises(
        ValueError, match=r"invalid max_age .*: expected days, e.g\. 30, 30d or 2w"
    ):
        SettingChecks.build(max_age=bad)


def test_a_table_max_age_that_is_not_days_names_its_line(tmp_path):
    from sleuth.errors import ConfigError
    from sleuth.rows import load_table

    path = tmp_path / "settings.yaml"
    path.write_text("settings:\n  API_KEY: {max_age: soon}\n")
    with pytest.raises(ConfigError) as caught:
        load_table(path, display="probes/settings.yaml", environ={})
    assert str(caught.value) == (
        "probes/settings.yaml line 2: invalid max_age 'soon': expected days, "
        "e.g. 30, 30d or 2w"
    )


def test_a_table_max_age_is_read_as_written(tmp_path):
    from sleuth.rows import load_table

    path = tmp_path / "settings.yaml"
    path.write_text("settings:\n  API_KEY: {max_age: 2w}\n")
    (row,) = load_table(path, display="settings.yaml", environ={})
    checks = row.body.__self__.checks  # type: ignore[attr-defined]
    assert (checks.max_age_days, checks.max_age) == (14.0, "2w")
